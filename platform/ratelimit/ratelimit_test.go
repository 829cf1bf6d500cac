package ratelimit_test

import (
	"context"
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/ratelimit"
)

// A window counts the hits of its key from the first one until it ends; then the count
// starts again from zero.
func TestMemoryWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2030, 1, 15, 12, 0, 0, 0, time.UTC)
	m := ratelimit.NewMemory(ratelimit.WithClock(func() time.Time { return now }))
	rule := ratelimit.Rule{Name: "r", Limit: 2, Window: time.Minute}
	hit := func(key string, wantCount int64, wantReset time.Duration) {
		t.Helper()
		n, reset, err := m.Hit(ctx, rule, key)
		if err != nil || n != wantCount || reset != wantReset {
			t.Fatalf("hit %s: %d %v %v, want %d %v", key, n, reset, err, wantCount, wantReset)
		}
	}
	hit("a", 1, time.Minute)
	now = now.Add(20 * time.Second)
	hit("a", 2, 40*time.Second)
	hit("b", 1, time.Minute) // another key has its own window
	if n, reset, err := m.Peek(ctx, rule, "a"); err != nil || n != 2 || reset != 40*time.Second {
		t.Fatalf("peek: %d %v %v", n, reset, err)
	}
	if n, _, _ := m.Peek(ctx, ratelimit.Rule{Name: "other", Window: time.Minute}, "a"); n != 0 {
		t.Fatalf("another rule shares the counter: %d", n)
	}
	now = now.Add(40*time.Second - time.Nanosecond)
	hit("a", 3, time.Nanosecond)
	now = now.Add(time.Nanosecond) // a's window is over
	if n, _, _ := m.Peek(ctx, rule, "a"); n != 0 {
		t.Fatalf("count after the window: %d", n)
	}
	hit("a", 1, time.Minute)
	hit("b", 2, 20*time.Second)
	if err := m.Reset(ctx, rule, "b"); err != nil {
		t.Fatal(err)
	}
	hit("b", 1, time.Minute)
}
