package analytics

import (
	"cmp"
	"context"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/money"
)

// The read model of the forecast, of velocity's won deals and of the funnel's reached:
// analytics_deals_open, analytics_deals_won and analytics_deal_paths (migration
// 20261202205100_analytics_forecast_velocity.sql), kept in step like analytics_deal_totals.

// noMonth is the month of the open deals without an expected close date.
const noMonth = "infinity"

// openKey is a row of analytics_deals_open; Month is "" for deals without a date.
type openKey struct {
	PipelineID int64
	Month      string // YYYY-MM-01
	Stage      string
	Currency   string
	Overridden bool
}

type openDelta struct {
	openKey
	Deals              int64
	Amount, AmountProb money.Amount
}

// wonKey is a row of analytics_deals_won.
type wonKey struct {
	PipelineID int64
	Day        string // YYYY-MM-DD, UTC
	Currency   string
}

type wonDelta struct {
	wonKey
	Deals  int64
	Amount money.Amount
	ToWin  int64 // microseconds from created_at to closed_at, summed
}

// pathKey is a row of analytics_deal_paths: the stages joined by ",".
type pathKey struct {
	PipelineID int64
	Stages     string
}

type pathDelta struct {
	pathKey
	Deals int64
}

// moreDeltas are the changes of a deal write to the forecast, won and paths rows: Before's
// contribution taken away, After's added, merged per row, those netting to nothing left
// out, sorted (the lock order).
type moreDeltas struct {
	open  []openDelta
	won   []wonDelta
	paths []pathDelta
}

func isOpen(status string) bool {
	return status == dealsapi.StatusNew || status == dealsapi.StatusInProgress
}

// times returns amount × n exactly: amount has two decimals, so this is cents × n / 100.
func times(a money.Amount, n int) money.Amount {
	return money.FromCents(a.Decimal().Shift(2).IntPart() * int64(n))
}

func moreDeltasOf(e dealsapi.DealWritten) (moreDeltas, error) {
	open := map[openKey]openDelta{}
	won := map[wonKey]wonDelta{}
	paths := map[pathKey]int64{}
	add := func(f *dealsapi.DealFacts, sign int64) error {
		if f == nil {
			return nil
		}
		signed := func(a money.Amount) money.Amount {
			if sign < 0 {
				return money.Amount{}.Sub(a)
			}
			return a
		}
		switch {
		case isOpen(f.Status):
			k := openKey{PipelineID: f.PipelineID, Month: noMonth, Stage: f.Stage.Key, Currency: f.Currency, Overridden: f.Probability != nil}
			if f.ExpectedCloseDate != nil {
				y, m, _ := f.ExpectedCloseDate.UTC().Date()
				k.Month = time.Date(y, m, 1, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
			}
			d := open[k]
			d.openKey = k
			d.Deals += sign
			d.Amount = d.Amount.Add(signed(f.Amount))
			if f.Probability != nil {
				if *f.Probability < 0 || *f.Probability > 100 {
					return fmt.Errorf("analytics: probability out of range: %d", *f.Probability)
				}
				d.AmountProb = d.AmountProb.Add(signed(times(f.Amount, *f.Probability)))
			}
			open[k] = d
		case f.Status == dealsapi.StatusWon:
			if f.ClosedAt == nil {
				return fmt.Errorf("analytics: won deal without closed_at: %+v", *f)
			}
			k := wonKey{PipelineID: f.PipelineID, Day: dayOf(*f.ClosedAt).Format(time.DateOnly), Currency: f.Currency}
			d := won[k]
			d.wonKey = k
			d.Deals += sign
			d.Amount = d.Amount.Add(signed(f.Amount))
			d.ToWin += sign * f.ClosedAt.Sub(f.CreatedAt).Microseconds()
			won[k] = d
		}
		if len(f.Visited) > 0 {
			paths[pathKey{PipelineID: f.PipelineID, Stages: strings.Join(f.Visited, ",")}] += sign
		}
		return nil
	}
	if err := add(e.Before, -1); err != nil {
		return moreDeltas{}, err
	}
	if err := add(e.After, +1); err != nil {
		return moreDeltas{}, err
	}
	var out moreDeltas
	for _, d := range open {
		if d.Deals != 0 || !d.Amount.IsZero() || !d.AmountProb.IsZero() {
			out.open = append(out.open, d)
		}
	}
	for _, d := range won {
		if d.Deals != 0 || !d.Amount.IsZero() || d.ToWin != 0 {
			out.won = append(out.won, d)
		}
	}
	for k, n := range paths {
		if n != 0 {
			out.paths = append(out.paths, pathDelta{pathKey: k, Deals: n})
		}
	}
	slices.SortFunc(out.open, func(a, b openDelta) int {
		return cmp.Or(cmp.Compare(a.PipelineID, b.PipelineID), cmp.Compare(a.Month, b.Month), cmp.Compare(a.Stage, b.Stage),
			cmp.Compare(a.Currency, b.Currency), cmpBool(a.Overridden, b.Overridden))
	})
	slices.SortFunc(out.won, func(a, b wonDelta) int {
		return cmp.Or(cmp.Compare(a.PipelineID, b.PipelineID), cmp.Compare(a.Day, b.Day), cmp.Compare(a.Currency, b.Currency))
	})
	slices.SortFunc(out.paths, func(a, b pathDelta) int {
		return cmp.Or(cmp.Compare(a.PipelineID, b.PipelineID), cmp.Compare(a.Stages, b.Stages))
	})
	return out, nil
}

func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case !a:
		return -1
	}
	return 1
}

// applyMore adds the deltas of one deal write, in the transaction carried by ctx: one
// statement per table, rows in the order of moreDeltasOf.
func (s store) applyMore(ctx context.Context, orgID int64, d moreDeltas) error {
	q := s.db.Q(ctx)
	if len(d.open) > 0 {
		ins := database.SQL.Insert("analytics_deals_open").
			Columns("organization_id", "pipeline_id", "month", "stage", "currency", "overridden", "slot", "deals", "amount", "amount_prob")
		for _, r := range d.open {
			ins = ins.Values(orgID, r.PipelineID, sq.Expr("?::date", r.Month), r.Stage, r.Currency, r.Overridden, slot, r.Deals, r.Amount, r.AmountProb)
		}
		ins = ins.Suffix("ON CONFLICT (organization_id, pipeline_id, month, stage, currency, overridden, slot) DO UPDATE SET " +
			"deals = analytics_deals_open.deals + EXCLUDED.deals, amount = analytics_deals_open.amount + EXCLUDED.amount, " +
			"amount_prob = analytics_deals_open.amount_prob + EXCLUDED.amount_prob")
		if _, err := database.Exec(ctx, q, ins); err != nil {
			return fmt.Errorf("update open deals: %w", err)
		}
	}
	if len(d.won) > 0 {
		ins := database.SQL.Insert("analytics_deals_won").
			Columns("organization_id", "pipeline_id", "day", "currency", "slot", "deals", "amount", "to_win_us")
		for _, r := range d.won {
			ins = ins.Values(orgID, r.PipelineID, sq.Expr("?::date", r.Day), r.Currency, slot, r.Deals, r.Amount, r.ToWin)
		}
		ins = ins.Suffix("ON CONFLICT (organization_id, pipeline_id, day, currency, slot) DO UPDATE SET " +
			"deals = analytics_deals_won.deals + EXCLUDED.deals, amount = analytics_deals_won.amount + EXCLUDED.amount, " +
			"to_win_us = analytics_deals_won.to_win_us + EXCLUDED.to_win_us")
		if _, err := database.Exec(ctx, q, ins); err != nil {
			return fmt.Errorf("update won deals: %w", err)
		}
	}
	if len(d.paths) > 0 {
		ins := database.SQL.Insert("analytics_deal_paths").Columns("organization_id", "pipeline_id", "stages", "slot", "deals")
		for _, r := range d.paths {
			ins = ins.Values(orgID, r.PipelineID, strings.Split(r.Stages, ","), slot, r.Deals)
		}
		ins = ins.Suffix("ON CONFLICT (organization_id, pipeline_id, stages, slot) DO UPDATE SET deals = analytics_deal_paths.deals + EXCLUDED.deals")
		if _, err := database.Exec(ctx, q, ins); err != nil {
			return fmt.Errorf("update deal paths: %w", err)
		}
	}
	return nil
}

// openRow is a row of analytics_deals_open as the forecast reads it; Month nil: no date.
type openRow struct {
	PipelineID int64        `db:"pipeline_id"`
	Month      *time.Time   `db:"month"`
	Stage      string       `db:"stage"`
	Currency   string       `db:"currency"`
	Overridden bool         `db:"overridden"`
	Deals      int64        `db:"deals"`
	Amount     money.Amount `db:"amount"`
	AmountProb money.Amount `db:"amount_prob"`
}

// open reads the open deals expected to close in [from, to) (first days of months) and
// those without a date, of one pipeline or every one.
func (s store) open(ctx context.Context, orgID int64, pipelineID *int64, from, to time.Time) ([]openRow, error) {
	where := sq.Eq{"organization_id": orgID}
	if pipelineID != nil {
		where["pipeline_id"] = *pipelineID
	}
	rows, err := database.Select[openRow](ctx, s.db.Q(ctx), database.SQL.
		Select("pipeline_id", "CASE WHEN month = 'infinity' THEN NULL ELSE month END AS month", "stage", "currency",
			"overridden", "sum(deals)::bigint AS deals", "sum(amount) AS amount", "sum(amount_prob) AS amount_prob").
		From("analytics_deals_open").Where(where).
		Where(sq.Or{sq.Expr("month = 'infinity'"), sq.And{
			sq.Expr("month >= ?::date", from.Format(time.DateOnly)), sq.Expr("month < ?::date", to.Format(time.DateOnly))}}).
		GroupBy("pipeline_id", "month", "stage", "currency", "overridden").Having("sum(deals) <> 0"))
	if err != nil {
		return nil, fmt.Errorf("read open deals: %w", err)
	}
	return rows, nil
}

// wonDayRow is the won deals of one UTC day and currency, over the pipelines read.
type wonDayRow struct {
	Day      time.Time    `db:"day"`
	Currency string       `db:"currency"`
	Deals    int64        `db:"deals"`
	Amount   money.Amount `db:"amount"`
}

// wonDays reads the won deals closed on the UTC days from..to (dates, inclusive), summed
// per day and currency over one pipeline or every one.
func (s store) wonDays(ctx context.Context, orgID int64, pipelineID *int64, from, to time.Time) ([]wonDayRow, error) {
	where := sq.Eq{"organization_id": orgID}
	if pipelineID != nil {
		where["pipeline_id"] = *pipelineID
	}
	rows, err := database.Select[wonDayRow](ctx, s.db.Q(ctx), database.SQL.
		Select("day", "currency::text AS currency", "sum(deals)::bigint AS deals", "sum(amount) AS amount").
		From("analytics_deals_won").Where(where).
		Where(sq.Expr("day >= ?::date", from.Format(time.DateOnly))).Where(sq.Expr("day <= ?::date", to.Format(time.DateOnly))).
		GroupBy("day", "currency").Having("sum(deals) <> 0"))
	if err != nil {
		return nil, fmt.Errorf("read won deals: %w", err)
	}
	return rows, nil
}

// wonSince reads the won deals of the pipeline closed on the UTC day day or later: how many
// and their summed time to win in microseconds.
func (s store) wonSince(ctx context.Context, orgID, pipelineID int64, day time.Time) (int64, *big.Int, error) {
	type row struct {
		Deals int64  `db:"deals"`
		ToWin string `db:"to_win_us"`
	}
	r, err := database.Get[row](ctx, s.db.Q(ctx), database.SQL.
		Select("coalesce(sum(deals), 0)::bigint AS deals", "coalesce(sum(to_win_us), 0)::text AS to_win_us").
		From("analytics_deals_won").Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID}).
		Where(sq.Expr("day >= ?::date", day.Format(time.DateOnly))))
	if err != nil {
		return 0, nil, fmt.Errorf("read won deals: %w", err)
	}
	sum, ok := new(big.Int).SetString(r.ToWin, 10)
	if !ok {
		return 0, nil, fmt.Errorf("read won deals: time to win %q", r.ToWin)
	}
	return r.Deals, sum, nil
}

// pathRow is a row of analytics_deal_paths.
type pathRow struct {
	Stages []string `db:"stages"`
	Deals  int64    `db:"deals"`
}

// paths reads the pipeline's deals per set of stages visited, their slots summed.
func (s store) paths(ctx context.Context, orgID, pipelineID int64) ([]pathRow, error) {
	rows, err := database.Select[pathRow](ctx, s.db.Q(ctx), database.SQL.Select("stages", "sum(deals)::bigint AS deals").
		From("analytics_deal_paths").Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID}).
		GroupBy("stages").Having("sum(deals) <> 0"))
	if err != nil {
		return nil, fmt.Errorf("read deal paths: %w", err)
	}
	return rows, nil
}

// furthest turns the deals per set of stages visited into deals per furthest visited
// position (1-based) under the stage order keys; keys a pipeline no longer has count for
// nothing, and a deal that visited none of keys counts nowhere.
func furthest(keys []string, rows []pathRow) map[int]int64 {
	pos := make(map[string]int, len(keys))
	for i, k := range keys {
		pos[k] = i + 1
	}
	out := map[int]int64{}
	for _, r := range rows {
		best := 0
		for _, st := range r.Stages {
			best = max(best, pos[st])
		}
		if best > 0 {
			out[best] += r.Deals
		}
	}
	return out
}

// daysFromMicros is sum / n microseconds in days, rounded half-up to one decimal; nil when
// n is 0. A tenth of a day is 8,640,000,000 µs.
func daysFromMicros(sum *big.Int, n int64) *Days {
	if n <= 0 {
		return nil
	}
	den := new(big.Int).Mul(big.NewInt(n), big.NewInt(8_640_000_000))
	num := new(big.Int).Add(new(big.Int).Mul(sum, big.NewInt(2)), den)
	q := new(big.Int).Quo(num, new(big.Int).Mul(den, big.NewInt(2)))
	d := Days(q.Int64())
	return &d
}
