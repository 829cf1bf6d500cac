package cache_test

import (
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/cache"
)

func TestEntriesBelongToTheirOrganization(t *testing.T) {
	c := cache.New(time.Minute)
	c.Set(1, "summary", "one")
	c.Set(2, "summary", "two")
	if v, ok := c.Get(1, "summary"); !ok || v != "one" {
		t.Fatalf("org 1: %v %v", v, ok)
	}
	c.DropOrg(1)
	if _, ok := c.Get(1, "summary"); ok {
		t.Fatal("org 1 entry survived DropOrg")
	}
	if v, ok := c.Get(2, "summary"); !ok || v != "two" {
		t.Fatalf("org 2 lost its entry: %v %v", v, ok)
	}
}

func TestExpiryAndDisabled(t *testing.T) {
	c := cache.New(20 * time.Millisecond)
	c.Set(1, "k", 1)
	time.Sleep(40 * time.Millisecond)
	if _, ok := c.Get(1, "k"); ok {
		t.Fatal("entry outlived its TTL")
	}
	off := cache.New(0)
	off.Set(1, "k", 1)
	if _, ok := off.Get(1, "k"); ok || off.Enabled() {
		t.Fatal("a zero TTL must disable the cache")
	}
}
