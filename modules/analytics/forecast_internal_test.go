package analytics

import (
	"testing"
	"time"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/money"
)

func TestMonthsAndDays(t *testing.T) {
	t.Parallel()
	for v, ok := range map[string]bool{"2026-12": true, "0001-01": true, "2026-00": false, "2026-13": false, "2026-1": false,
		"26-01": false, "2026-01-01": false, " 2026-01": false, "0000-05": false} {
		if _, got := parseMonth(v); got != ok {
			t.Errorf("parseMonth(%q) ok = %v", v, got)
		}
	}
	// A closing time counts in the month of the organization's time zone.
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone data")
	}
	at := time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC)
	if got := monthOf(at, berlin).String(); got != "2026-12" {
		t.Errorf("Berlin month %s", got)
	}
	if got := monthOf(at, time.UTC).String(); got != "2026-11" {
		t.Errorf("UTC month %s", got)
	}
	for d, want := range map[time.Duration]string{0: "0.0", 2159 * time.Minute / 10: "0.1", 2*time.Hour + 23*time.Minute: "0.1",
		time.Hour: "0.0", 72 * time.Minute: "0.1", 36 * time.Hour: "1.5", 1000 * 24 * time.Hour: "1000.0"} {
		b, _ := daysOf(d).MarshalJSON()
		if string(b) != want {
			t.Errorf("daysOf(%v) = %s, want %s", d, b, want)
		}
	}
	for v, want := range map[string]int{"": 6, "1": 1, "24": 24, "0": -1, "25": -1, "+3": -1, "-3": -1, "x": -1, "00006": -1} {
		n, ok := parseInt(v, 6, 1, 24)
		if !ok {
			n = -1
		}
		if n != want {
			t.Errorf("parseInt(%q) = %d", v, n)
		}
	}
}

// Weighted sums are exact per currency and rounded once; months outside the range are
// ignored; every month is present.
func TestForecastRounding(t *testing.T) {
	t.Parallel()
	a := money.MustParse
	from := Month{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	dec, jan, nov := from.Time, from.next(1).Time, from.next(-1).Time
	f := forecast(from, 3, []dealsapi.MonthTotals{
		{Month: &dec, Currency: "USD", Deals: 2, Amount: a("0.10"), AmountProb: a("0.50")}, // 0.005 → 0.01
		{Month: &dec, Currency: "USD", Deals: 1, Amount: a("0.05"), AmountProb: a("0.50")}, // with it 0.01 exactly
		{Month: &jan, Currency: "EUR", Deals: 1, Amount: a("1.00"), AmountProb: a("0.49")}, // 0.0049 → 0.00
		{Month: &nov, Currency: "EUR", Deals: 9, Amount: a("9.00"), AmountProb: a("9.00")},
		{Currency: "GBP", Deals: 1, Amount: a("3.00"), AmountProb: a("150.00")},
	}, []dealsapi.MonthTotals{{Month: &jan, Currency: "USD", Deals: 2, Amount: a("7.00")}})
	if len(f.Months) != 3 || f.Months[2].Month.String() != "2027-02" || f.Months[2].Open.Count != 0 || len(f.Months[2].Open.Amount) != 0 {
		t.Fatalf("months %+v", f.Months)
	}
	if d := f.Months[0].Open; d.Count != 3 || d.Amount["USD"].String() != "0.15" || d.Weighted["USD"].String() != "0.01" {
		t.Errorf("December %+v", d)
	}
	if j := f.Months[1]; j.Open.Weighted["EUR"].String() != "0.00" || j.Won.Count != 2 || j.Won.Amount["USD"].String() != "7.00" {
		t.Errorf("January %+v", j)
	}
	if n := f.NoCloseDate; n.Count != 1 || n.Weighted["GBP"].String() != "1.50" {
		t.Errorf("no close date %+v", n)
	}
}
