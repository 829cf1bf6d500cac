package analytics

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/money"
)

func TestPercentRoundsHalfUpToOneDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		part, whole int64
		want        string // "" for null
	}{
		{0, 0, ""},
		{5, 0, ""},
		{0, 3, "0.0"},
		{1, 1, "100.0"},
		{2, 3, "66.7"},  // 66.666…
		{1, 3, "33.3"},  // 33.333…
		{1, 8, "12.5"},  // exact
		{1, 16, "6.3"},  // 6.25: half-up
		{3, 16, "18.8"}, // 18.75: half-up
		{7, 12, "58.3"}, // 58.333…
		{3, 7, "42.9"},  // 42.857…
		{1, 2000, "0.1"},
		{1, 2001, "0.0"}, // 0.04997…
		{999_999, 1_000_000, "100.0"},
		{1_000_000, 1_000_000, "100.0"},
	}
	for _, tt := range tests {
		p := percent(tt.part, tt.whole)
		got := ""
		if p != nil {
			b, err := json.Marshal(p)
			if err != nil {
				t.Fatal(err)
			}
			got = string(b)
		}
		if got != tt.want {
			t.Errorf("percent(%d, %d) = %q, want %q", tt.part, tt.whole, got, tt.want)
		}
	}
}

func TestParseDays(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want int
		ok   bool
	}{
		{"", 30, true}, {"1", 1, true}, {"30", 30, true}, {"365", 365, true}, {"007", 7, true},
		{"0", 0, false}, {"366", 0, false}, {"-1", 0, false}, {"+5", 0, false}, {"1.5", 0, false},
		{"1e2", 0, false}, {"abc", 0, false}, {" 5", 0, false}, {"0030", 0, false}, {"99999999999999999999", 0, false},
	}
	for _, tt := range tests {
		got, ok := parseDays(tt.in)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("parseDays(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestWindowStartsNDaysBackAndSplitsItsFirstDay(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 10, 15, 30, 0, 0, time.UTC)
	from, end := window(now, 30)
	if !from.Equal(time.Date(2026, 2, 8, 15, 30, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 2, 9, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("window = %v, %v", from, end)
	}
	// A start at midnight: the whole first day is counted from the deals.
	from, end = window(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC), 1)
	if !from.Equal(time.Date(2026, 3, 9, 0, 0, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("window = %v, %v", from, end)
	}
	// Another zone: the same instant, the same UTC days.
	from, end = window(now.In(time.FixedZone("X", -11*3600)), 1)
	if !from.Equal(time.Date(2026, 3, 9, 15, 30, 0, 0, time.UTC)) || !end.Equal(time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("window = %v, %v", from, end)
	}
}

// facts builds the facts of a deal as deals reports them: stages with their positions (an
// unknown key has none), an exact amount (a leading "-" makes one below zero, which no deal
// has).
func facts(status, stage, maxStage, currency, amount string, created time.Time) *dealsapi.DealFacts {
	st, _ := dealsapi.StageOf(stage)
	ms, _ := dealsapi.StageOf(maxStage)
	a := money.MustParse(strings.TrimPrefix(amount, "-"))
	if strings.HasPrefix(amount, "-") {
		a = money.Zero.Sub(a)
	}
	return &dealsapi.DealFacts{PipelineID: 1, Status: status, Stage: st, MaxStage: ms, Currency: currency, Amount: a, CreatedAt: created}
}

func TestDeltas(t *testing.T) {
	t.Parallel()
	day1 := time.Date(2026, 1, 2, 23, 59, 0, 0, time.FixedZone("X", -3600)) // 2026-01-03 UTC
	d1 := time.Date(2026, 1, 3, 0, 0, 0, 0, time.UTC)
	a := money.MustParse
	tests := []struct {
		name    string
		e       dealsapi.DealWritten
		totals  []totalsDelta
		created []createdDelta
	}{
		{"create", dealsapi.DealWritten{After: facts("new", "proposal", "proposal", "EUR", "10.50", day1)},
			[]totalsDelta{{key{1, "new", "proposal", 2, "EUR"}, 1, a("10.50")}}, []createdDelta{{d1, 1}}},
		{"delete", dealsapi.DealWritten{Before: facts("won", "proposal", "closed", "USD", "7.00", day1)},
			[]totalsDelta{{key{1, "won", "proposal", 4, "USD"}, -1, a("7").Sub(a("14"))}}, []createdDelta{{d1, -1}}},
		{"amount change stays in its row", dealsapi.DealWritten{
			Before: facts("new", "closed", "closed", "USD", "7.00", day1), After: facts("new", "closed", "closed", "USD", "9.25", day1)},
			[]totalsDelta{{key{1, "new", "closed", 4, "USD"}, 0, a("2.25")}}, nil},
		{"nothing analytics sees changed", dealsapi.DealWritten{
			Before: facts("new", "closed", "closed", "USD", "7.00", day1), After: facts("new", "closed", "closed", "USD", "7", day1)},
			nil, nil},
		{"rollback moves the deal between rows, in key order", dealsapi.DealWritten{
			Before: facts("won", "closed", "closed", "USD", "5.00", day1), After: facts("won", "qualification", "closed", "USD", "5.00", day1)},
			[]totalsDelta{{key{1, "won", "closed", 4, "USD"}, -1, a("0").Sub(a("5"))}, {key{1, "won", "qualification", 4, "USD"}, 1, a("5")}}, nil},
		{"currency and status change", dealsapi.DealWritten{
			Before: facts("new", "qualification", "qualification", "USD", "1.00", day1), After: facts("lost", "qualification", "qualification", "EUR", "2.00", day1)},
			[]totalsDelta{{key{1, "lost", "qualification", 1, "EUR"}, 1, a("2")}, {key{1, "new", "qualification", 1, "USD"}, -1, a("0").Sub(a("1"))}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts, cs, err := deltas(tt.e)
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != len(tt.totals) {
				t.Fatalf("totals %+v, want %+v", ts, tt.totals)
			}
			for i := range ts {
				if ts[i].key != tt.totals[i].key || ts[i].Deals != tt.totals[i].Deals || !ts[i].Amount.Equal(tt.totals[i].Amount) {
					t.Fatalf("totals %+v, want %+v", ts, tt.totals)
				}
			}
			if !reflect.DeepEqual(cs, tt.created) {
				t.Fatalf("created %+v, want %+v", cs, tt.created)
			}
		})
	}
}

func TestDeltasRefuseFactsOutOfRange(t *testing.T) {
	t.Parallel()
	now := time.Now()
	for _, f := range []*dealsapi.DealFacts{
		facts("open", "proposal", "proposal", "USD", "1.00", now),
		facts("new", "pitch", "proposal", "USD", "1.00", now),
		facts("new", "closed", "proposal", "USD", "1.00", now), // furthest stage behind the stage
		facts("new", "proposal", "proposal", "US", "1.00", now),
		facts("new", "proposal", "proposal", "USD", "-1.00", now),
	} {
		if _, _, err := deltas(dealsapi.DealWritten{After: f}); err == nil {
			t.Errorf("deltas accepted %+v", *f)
		}
	}
}

func rows(rs ...totalsRow) []totalsRow { return rs }

func TestSummarize(t *testing.T) {
	t.Parallel()
	a := money.MustParse
	s := summarize(rows(
		totalsRow{1, "new", "qualification", 1, "EUR", 2, a("300.50")},
		totalsRow{1, "won", "closed", 4, "USD", 1, a("0.01")},
		totalsRow{1, "won", "proposal", 4, "USD", 1, a("0.02")},     // 0.03 / 2 = 0.015 → 0.02
		totalsRow{1, "won", "negotiation", 3, "EUR", 3, a("30.02")}, // 10.00666… → 10.01
		totalsRow{1, "lost", "qualification", 1, "GBP", 1, a("0")},
		totalsRow{1, "lost", "proposal", 2, "USD", 0, a("0")}, // an emptied row is skipped
	), 7, 4)
	want := map[string]struct {
		count  int64
		amount map[string]string
	}{
		"new":         {2, map[string]string{"EUR": "300.50"}},
		"in_progress": {0, map[string]string{}},
		"won":         {5, map[string]string{"USD": "0.03", "EUR": "30.02"}},
		"lost":        {1, map[string]string{"GBP": "0.00"}},
	}
	for st, w := range want {
		got := s.ByStatus[st]
		if got.Count != w.count || len(got.Amount) != len(w.amount) {
			t.Fatalf("%s: %+v, want %+v", st, got, w)
		}
		for cur, v := range w.amount {
			if got.Amount[cur].String() != v {
				t.Fatalf("%s %s: %s, want %s", st, cur, got.Amount[cur], v)
			}
		}
	}
	if len(s.WonAverage) != 2 || s.WonAverage["USD"].String() != "0.02" || s.WonAverage["EUR"].String() != "10.01" {
		t.Fatalf("won average %v", s.WonAverage)
	}
	if s.WinRate == nil || s.WinRate.String() != "83.3" { // 5 / 6
		t.Fatalf("win rate %v", s.WinRate)
	}
	if s.Days != 7 || s.New != 4 {
		t.Fatalf("new deals %d/%d", s.Days, s.New)
	}

	empty := summarize(nil, 30, 0)
	if empty.WinRate != nil || len(empty.WonAverage) != 0 || len(empty.ByStatus) != 4 {
		t.Fatalf("empty summary %+v", empty)
	}
	// Only open deals: the win rate is still undefined.
	open := summarize(rows(totalsRow{1, "in_progress", "qualification", 1, "USD", 3, a("3")}), 30, 3)
	if open.WinRate != nil {
		t.Fatalf("win rate of open deals %v", *open.WinRate)
	}
	lostOnly := summarize(rows(totalsRow{1, "lost", "qualification", 1, "USD", 3, a("3")}), 30, 3)
	if lostOnly.WinRate == nil || lostOnly.WinRate.String() != "0.0" || len(lostOnly.WonAverage) != 0 {
		t.Fatalf("lost only: %+v", lostOnly)
	}
}

func TestCacheControl(t *testing.T) {
	t.Parallel()
	for ttl, want := range map[time.Duration]string{
		30 * time.Second: "private, max-age=30", 0: "private, max-age=0", 1500 * time.Millisecond: "private, max-age=1",
		time.Hour: "private, max-age=3600",
	} {
		if got := cacheControl(ttl); got != want {
			t.Errorf("cacheControl(%v) = %q, want %q", ttl, got, want)
		}
	}
}
