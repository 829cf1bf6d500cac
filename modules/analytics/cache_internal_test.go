package analytics

import (
	"errors"
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/cache"
)

func TestCachedStoresNoReportComputedWhileAWriteCommitted(t *testing.T) {
	t.Parallel()
	s := &Service{cache: cache.New(time.Minute)}
	calls := 0
	compute := func(v int, invalidate bool) func() (int, error) {
		return func() (int, error) {
			calls++
			if invalidate {
				s.cache.DropOrg(1) // a deal write of org 1 commits while the report is computed
			}
			return v, nil
		}
	}
	if v, _ := cached(s, 1, "k", compute(1, true)); v != 1 {
		t.Fatalf("got %d", v)
	}
	if _, ok := s.cache.Get(1, "k"); ok {
		t.Fatal("a report computed across an invalidation was cached")
	}
	if v, _ := cached(s, 1, "k", compute(2, false)); v != 2 {
		t.Fatalf("got %d", v)
	}
	if v, _ := cached(s, 1, "k", compute(3, false)); v != 2 || calls != 2 {
		t.Fatalf("got %d after %d computations, want the cached 2 after 2", v, calls)
	}
	// Another organization's reports are neither dropped nor blocked by org 1's writes.
	if v, _ := cached(s, 2, "k", compute(20, false)); v != 20 {
		t.Fatalf("got %d", v)
	}
	s.cache.DropOrg(1)
	if v, _ := cached(s, 2, "k", compute(21, false)); v != 20 {
		t.Fatalf("org 2 got %d, want its cached 20", v)
	}
	if v, _ := cached(s, 1, "k", compute(4, false)); v != 4 {
		t.Fatalf("org 1 got %d after its invalidation", v)
	}
	// Errors are returned and never cached.
	boom := errors.New("boom")
	if _, err := cached(s, 3, "k", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	if _, ok := s.cache.Get(3, "k"); ok {
		t.Fatal("a failed report was cached")
	}
}

func TestCachedWithTheCacheDisabledAlwaysComputes(t *testing.T) {
	t.Parallel()
	s := &Service{cache: cache.New(0)}
	for i := range 3 {
		if v, _ := cached(s, 1, "k", func() (int, error) { return i, nil }); v != i {
			t.Fatalf("got %d, want %d", v, i)
		}
	}
}
