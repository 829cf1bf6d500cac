package analytics_test

import (
	"fmt"
	"net/http"
	"testing"
)

// A contact merge drops the organization's cached reports like a deal write, though no
// counted fact changes: after the merge the summary is computed again (here from a read
// model tampered with behind the cache), and another organization's cache stays.
func TestAContactMergeDropsTheCachedReports(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // ANALYTICS_CACHE_TTL 30s
	a, b := e.newOrg("a"), e.newOrg("b")
	a.deal(nil)
	b.deal(nil)
	for _, o := range []org{a, b} {
		if n := newCount(t, o.report(summaryPath)); n != 1 {
			t.Fatalf("org %d: %v new deals", o.id, n)
		}
	}
	e.tamper(a.id)
	e.tamper(b.id)
	if n := newCount(t, a.report(summaryPath)); n != 1 {
		t.Fatalf("summary counts %v new deals, want the cached 1", n)
	}
	other := id(a.must(http.StatusCreated, "POST", "/api/v1/contacts", map[string]any{"name": "Customer again"}))
	a.must(http.StatusOK, "POST", fmt.Sprintf("/api/v1/contacts/%d/merge", a.contact), map[string]any{"from": []int64{other}})
	if n := newCount(t, a.report(summaryPath)); n != 101 {
		t.Fatalf("after the merge the summary counts %v new deals, want 101 (computed anew)", n)
	}
	if n := newCount(t, b.report(summaryPath)); n != 1 {
		t.Fatalf("another organization's summary counts %v, want its cached 1", n)
	}
}
