package analytics

import (
	"math/big"
	"regexp"
	"strconv"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/modules/pipelines/pipelinesapi"
	"github.com/mini-crm/crm/platform/money"
)

// Limits of the forecast's range of months and of the velocity window, in days.
const (
	MinMonths           = 1
	MaxMonths           = 24
	DefaultMonths       = 6
	DefaultVelocityDays = 90
)

// Days is a number of days with one decimal, kept as an integer number of tenths (like
// Percent), rounded once, half-up.
type Days int64

// MarshalJSON renders the days as a JSON number with one decimal.
func (d Days) MarshalJSON() ([]byte, error) { return Percent(d).MarshalJSON() }

// tenthOfDay is the unit of Days.
const tenthOfDay = 24 * time.Hour / 10

// daysOf is d in days rounded half-up to one decimal (durations are never negative).
func daysOf(d time.Duration) *Days {
	v := Days((d + tenthOfDay/2) / tenthOfDay)
	return &v
}

// Month is a calendar month, the first day of it at UTC midnight.
type Month struct{ time.Time }

func (m Month) String() string { return m.Format("2006-01") }

// next is the month n months after m.
func (m Month) next(n int) Month { return Month{m.AddDate(0, n, 0)} }

var monthPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// parseMonth reads YYYY-MM.
func parseMonth(v string) (Month, bool) {
	if !monthPattern.MatchString(v) {
		return Month{}, false
	}
	t, err := time.Parse("2006-01", v)
	if err != nil || t.Year() < 1 {
		return Month{}, false
	}
	return Month{t}, true
}

// monthOf is the month that t falls in, in loc.
func monthOf(t time.Time, loc *time.Location) Month {
	y, m, _ := t.In(loc).Date()
	return Month{time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)}
}

// parseInt reads a query integer within lo..hi, "" being def.
func parseInt(v string, def, lo, hi int) (int, bool) {
	if v == "" {
		return def, true
	}
	if len(v) > 4 {
		return 0, false
	}
	n, err := strconv.Atoi(v)
	if err != nil || v[0] == '+' || v[0] == '-' {
		return 0, false
	}
	return n, n >= lo && n <= hi
}

// Totals are deals per currency: how many and their sum; Weighted (open deals only) is the
// sum of amount × effective probability / 100 per currency, rounded half-up once.
type Totals struct {
	Count    int64
	Amount   map[string]money.Amount
	Weighted map[string]money.Amount
}

func newTotals() Totals {
	return Totals{Amount: map[string]money.Amount{}, Weighted: map[string]money.Amount{}}
}

// ForecastMonth is one month of the forecast.
type ForecastMonth struct {
	Month Month
	Open  Totals
	Won   Totals
}

// Forecast is the report of GET /analytics/deals/forecast.
type Forecast struct {
	Months      []ForecastMonth
	NoCloseDate Totals
}

// forecast builds the report of months months from from: open deals by expected close
// month (Month nil: without a date), won deals by month of closed_at.
func forecast(from Month, months int, open, won []dealsapi.MonthTotals) Forecast {
	out := Forecast{Months: make([]ForecastMonth, months), NoCloseDate: newTotals()}
	at := map[string]int{}
	for i := range out.Months {
		m := from.next(i)
		out.Months[i] = ForecastMonth{Month: m, Open: newTotals(), Won: newTotals()}
		at[m.String()] = i
	}
	exact := func(t *Totals, r dealsapi.MonthTotals, weighted bool, sums map[*Totals]map[string]money.Amount) {
		t.Count += r.Deals
		t.Amount[r.Currency] = t.Amount[r.Currency].Add(r.Amount)
		if weighted {
			if sums[t] == nil {
				sums[t] = map[string]money.Amount{}
			}
			sums[t][r.Currency] = sums[t][r.Currency].Add(r.AmountProb)
		}
	}
	// The weighted sums are kept exact (× 100) and rounded once per currency at the end.
	sums := map[*Totals]map[string]money.Amount{}
	for _, r := range open {
		if r.Month == nil {
			exact(&out.NoCloseDate, r, true, sums)
			continue
		}
		if i, ok := at[Month{*r.Month}.String()]; ok {
			exact(&out.Months[i].Open, r, true, sums)
		}
	}
	for _, r := range won {
		if r.Month == nil {
			continue
		}
		if i, ok := at[Month{*r.Month}.String()]; ok {
			exact(&out.Months[i].Won, r, false, sums)
		}
	}
	for t, byCurrency := range sums {
		for cur, sum := range byCurrency {
			t.Weighted[cur], _ = sum.Div(100)
		}
	}
	return out
}

// StageVelocity is one stage of the velocity report.
type StageVelocity struct {
	Stage   string
	Visits  int64
	Average *Days // nil without visits
	Median  *Days
}

// Velocity is the report of GET /analytics/deals/velocity.
type Velocity struct {
	Stages       []StageVelocity
	WonDeals     int64
	AverageToWin *Days // nil without won deals
}

// velocity builds the report of the pipeline's stages, in their current order; toWin is the
// won deals' summed time to win in microseconds.
func velocity(pl pipelinesapi.Pipeline, visits []dealsapi.StageVisits, won int64, toWin *big.Int) Velocity {
	byStage := map[string]dealsapi.StageVisits{}
	for _, v := range visits {
		byStage[v.Stage] = v
	}
	out := Velocity{Stages: make([]StageVelocity, len(pl.Stages)), WonDeals: won}
	for i, st := range pl.Stages {
		out.Stages[i] = StageVelocity{Stage: st.Key}
		if v, ok := byStage[st.Key]; ok && v.Visits > 0 {
			out.Stages[i].Visits, out.Stages[i].Average, out.Stages[i].Median = v.Visits, daysOf(v.Mean), daysOf(v.Median)
		}
	}
	out.AverageToWin = daysFromMicros(toWin, won)
	return out
}
