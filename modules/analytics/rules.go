package analytics

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/money"
)

// Limits of the summary's window of new deals, in days.
const (
	MinDays     = 1
	MaxDays     = 365
	DefaultDays = 30
)

// Percent is a percentage with one decimal, kept as an integer number of tenths so that it
// is rounded once, exactly, and rendered as written: 66.7, 100.0.
type Percent int64

// MarshalJSON renders the percentage as a JSON number with one decimal.
func (p Percent) MarshalJSON() ([]byte, error) {
	return []byte(strconv.FormatInt(int64(p)/10, 10) + "." + strconv.FormatInt(int64(p)%10, 10)), nil
}

// String is the percentage as MarshalJSON renders it.
func (p Percent) String() string { b, _ := p.MarshalJSON(); return string(b) }

// percent returns part / whole × 100 rounded half-up to one decimal, nil when whole is 0.
// Counts are non-negative, so integer arithmetic is exact: tenths = round(1000·part/whole).
func percent(part, whole int64) *Percent {
	if whole <= 0 {
		return nil
	}
	p := Percent((2000*part + whole) / (2 * whole))
	return &p
}

// key is one row of the read model: the deals sharing a pipeline, a status, a stage (its
// key), a furthest part-1 stage reached (a position of dealsapi.Pipeline) and a currency.
type key struct {
	PipelineID int64
	Status     string
	Stage      string
	MaxStage   int
	Currency   string
}

// totalsDelta is what one deal write adds to a row of analytics_deal_totals.
type totalsDelta struct {
	key
	Deals  int64
	Amount money.Amount
}

// createdDelta is what one deal write adds to the creations of a day (UTC).
type createdDelta struct {
	Day   time.Time
	Deals int64
}

// dayOf is the UTC date a deal created at t counts for.
func dayOf(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// keyOf is the row of the read model a deal with facts f counts in. The furthest stage is
// stored by the position deals gives it (dealsapi.Stage.Position), so analytics never needs
// to know the order of the part-1 keys.
func keyOf(f *dealsapi.DealFacts) (key, money.Amount, error) {
	k := key{PipelineID: f.PipelineID, Status: f.Status, Stage: f.Stage.Key, MaxStage: f.MaxStage.Position, Currency: f.Currency}
	if !slices.Contains(dealsapi.Statuses, k.Status) || k.Stage == "" || k.PipelineID < 1 || k.MaxStage < 1 ||
		k.MaxStage < f.Stage.Position || k.MaxStage > len(dealsapi.Pipeline) || len(k.Currency) != 3 {
		return k, money.Amount{}, fmt.Errorf("analytics: deal facts out of range: %+v", *f)
	}
	if f.Amount.Sign() < 0 {
		return k, money.Amount{}, fmt.Errorf("analytics: negative deal amount %s", f.Amount)
	}
	return k, f.Amount, nil
}

// deltas turns a deal write into the changes of the read model: Before's contribution taken
// away, After's added, both merged per row and sorted. Rows whose change nets to nothing are
// left out, so a write that moves nothing in the read model touches no row. The fixed order
// makes concurrent writers lock the rows they share in the same order, so they queue
// instead of deadlocking.
func deltas(e dealsapi.DealWritten) ([]totalsDelta, []createdDelta, error) {
	totals := map[key]totalsDelta{}
	created := map[time.Time]int64{}
	add := func(f *dealsapi.DealFacts, sign int64) error {
		if f == nil {
			return nil
		}
		k, amount, err := keyOf(f)
		if err != nil {
			return err
		}
		d := totals[k]
		d.key = k
		d.Deals += sign
		if sign < 0 {
			d.Amount = d.Amount.Sub(amount)
		} else {
			d.Amount = d.Amount.Add(amount)
		}
		totals[k] = d
		created[dayOf(f.CreatedAt)] += sign
		return nil
	}
	if err := add(e.Before, -1); err != nil {
		return nil, nil, err
	}
	if err := add(e.After, +1); err != nil {
		return nil, nil, err
	}
	var ts []totalsDelta
	for _, d := range totals {
		if d.Deals != 0 || !d.Amount.IsZero() {
			ts = append(ts, d)
		}
	}
	slices.SortFunc(ts, func(a, b totalsDelta) int { return compareKeys(a.key, b.key) })
	var cs []createdDelta
	for day, n := range created {
		if n != 0 {
			cs = append(cs, createdDelta{Day: day, Deals: n})
		}
	}
	slices.SortFunc(cs, func(a, b createdDelta) int { return a.Day.Compare(b.Day) })
	return ts, cs, nil
}

func compareKeys(a, b key) int {
	return cmp.Or(cmp.Compare(a.PipelineID, b.PipelineID), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Stage, b.Stage),
		cmp.Compare(a.MaxStage, b.MaxStage), cmp.Compare(a.Currency, b.Currency))
}

// totalsRow is a row of the read model as the reports read it.
type totalsRow struct {
	PipelineID int64        `db:"pipeline_id"`
	Status     string       `db:"status"`
	Stage      string       `db:"stage"`
	MaxStage   int          `db:"max_stage"`
	Currency   string       `db:"currency"`
	Deals      int64        `db:"deals"`
	Amount     money.Amount `db:"amount"`
}

// StatusTotals are the deals of one status: how many, and their sum per currency.
type StatusTotals struct {
	Count  int64
	Amount map[string]money.Amount
}

// Summary is the report of GET /analytics/deals/summary.
type Summary struct {
	ByStatus map[string]StatusTotals // every status of dealsapi.Statuses
	// WonAverage is the average amount of the won deals per currency, rounded half-up.
	WonAverage map[string]money.Amount
	// WinRate is won / (won + lost) in percent, nil when no deal is won or lost.
	WinRate *Percent
	Days    int
	New     int64 // deals created within the last Days days
}

// summarize builds the summary from the rows of the read model and the count of new deals.
func summarize(rows []totalsRow, days int, newDeals int64) Summary {
	s := Summary{ByStatus: map[string]StatusTotals{}, WonAverage: map[string]money.Amount{}, Days: days, New: newDeals}
	for _, st := range dealsapi.Statuses {
		s.ByStatus[st] = StatusTotals{Amount: map[string]money.Amount{}}
	}
	wonCount := map[string]int64{}
	for _, r := range rows {
		t, ok := s.ByStatus[r.Status]
		if !ok || r.Deals == 0 {
			continue
		}
		t.Count += r.Deals
		t.Amount[r.Currency] = t.Amount[r.Currency].Add(r.Amount)
		s.ByStatus[r.Status] = t
		if r.Status == dealsapi.StatusWon {
			wonCount[r.Currency] += r.Deals
		}
	}
	for cur, n := range wonCount {
		if n > 0 {
			avg, _ := s.ByStatus[dealsapi.StatusWon].Amount[cur].Div(n) // n > 0
			s.WonAverage[cur] = avg
		}
	}
	won, lost := s.ByStatus[dealsapi.StatusWon].Count, s.ByStatus[dealsapi.StatusLost].Count
	s.WinRate = percent(won, won+lost)
	return s
}

// FunnelStage is one stage of the funnel.
type FunnelStage struct {
	Stage    string
	Count    int64            // deals at the stage now
	ByStatus map[string]int64 // every status of dealsapi.Statuses
	Reached  int64            // deals whose furthest stage reached is this one or a later one
	// Conversion is Reached / the previous stage's Reached in percent; nil for the first
	// stage and when the previous stage was reached by no deal.
	Conversion *Percent
}

// pipelineFunnel builds the funnel of one pipeline: its stages keys in their current order,
// counts from the read model rows of the pipeline, and reached from furthest (deals per
// furthest visited position under this order): a stage is reached by every deal whose
// furthest visited stage is it or one now after it.
func pipelineFunnel(keys []string, rows []totalsRow, furthest map[int]int64) []FunnelStage {
	out := make([]FunnelStage, len(keys))
	for i, k := range keys {
		out[i] = FunnelStage{Stage: k, ByStatus: map[string]int64{}}
		for _, s := range dealsapi.Statuses {
			out[i].ByStatus[s] = 0
		}
	}
	for _, r := range rows {
		i := slices.Index(keys, r.Stage)
		if i < 0 || r.Deals == 0 {
			continue
		}
		out[i].Count += r.Deals
		out[i].ByStatus[r.Status] += r.Deals
	}
	var reached int64
	for i := len(out) - 1; i >= 0; i-- {
		reached += furthest[i+1]
		out[i].Reached = reached
	}
	for i := 1; i < len(out); i++ {
		out[i].Conversion = percent(out[i].Reached, out[i-1].Reached)
	}
	return out
}

// window returns where the window of the last days days before now starts, and the end of
// its first (partial) UTC day. The whole days after that one are counted from the daily
// creations of the read model, the partial day from the deals themselves.
func window(now time.Time, days int) (from, firstDayEnd time.Time) {
	from = now.Add(-time.Duration(days) * 24 * time.Hour)
	return from, dayOf(from).AddDate(0, 0, 1)
}

// parseDays reads the days query parameter: "" is the default, else an integer 1..365.
func parseDays(v string) (int, bool) {
	if v == "" {
		return DefaultDays, true
	}
	if len(v) > 3 {
		return 0, false
	}
	n := 0
	for _, r := range v {
		if r < '0' || r > '9' {
			return 0, false
		}
		n = n*10 + int(r-'0')
	}
	return n, n >= MinDays && n <= MaxDays
}
