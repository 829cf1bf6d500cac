package cache_test

import (
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/cache"
)

func TestEntriesBelongToTheirOrganization(t *testing.T) {
	t.Parallel()
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
	t.Parallel()
	now := time.Date(2030, 1, 15, 12, 0, 0, 0, time.UTC)
	c := cache.New(time.Minute, cache.WithClock(func() time.Time { return now }))
	c.Set(1, "k", 1)
	now = now.Add(time.Minute - time.Nanosecond)
	if v, ok := c.Get(1, "k"); !ok || v != 1 {
		t.Fatalf("entry gone before its TTL: %v %v", v, ok)
	}
	now = now.Add(time.Nanosecond)
	if _, ok := c.Get(1, "k"); ok {
		t.Fatal("entry outlived its TTL")
	}
	c.Set(1, "k", 2) // a new value lives a full TTL again
	if v, ok := c.Get(1, "k"); !ok || v != 2 {
		t.Fatalf("entry set again: %v %v", v, ok)
	}
	off := cache.New(0)
	off.Set(1, "k", 1)
	if _, ok := off.Get(1, "k"); ok || off.Enabled() {
		t.Fatal("a zero TTL must disable the cache")
	}
}
