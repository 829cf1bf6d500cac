package deals

import (
	"context"
	"fmt"
	"math/big"
	"time"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/money"
)

// What the analytics forecast and velocity reports read of the deals and their stage
// history (dealsapi.Deals). Every statement filters by the organization it is given.

type monthRow struct {
	Month      *time.Time   `db:"month"`
	Currency   string       `db:"currency"`
	Deals      int64        `db:"deals"`
	Amount     money.Amount `db:"amount"`
	AmountProb money.Amount `db:"amount_prob"`
}

func toMonthTotals(rows []monthRow) []dealsapi.MonthTotals {
	out := make([]dealsapi.MonthTotals, len(rows))
	for i, r := range rows {
		if r.Month != nil {
			m := time.Date(r.Month.Year(), r.Month.Month(), 1, 0, 0, 0, 0, time.UTC)
			r.Month = &m
		}
		out[i] = dealsapi.MonthTotals(r)
	}
	return out
}

func inPipeline(where sq.Eq, pipelineID *int64) sq.Eq {
	if pipelineID != nil {
		where["pipeline_id"] = *pipelineID
	}
	return where
}

func (s store) wonByMonth(ctx context.Context, orgID int64, pipelineID *int64, loc *time.Location, ranges [][2]time.Time) ([]monthRow, error) {
	within := sq.Or{}
	for _, r := range ranges {
		within = append(within, sq.And{sq.GtOrEq{"closed_at": r[0]}, sq.Lt{"closed_at": r[1]}})
	}
	rows, err := database.Select[monthRow](ctx, s.db.Q(ctx), database.SQL.
		Select().Column(sq.Expr("date_trunc('month', closed_at AT TIME ZONE ?)::date AS month", loc.String())).
		Columns("currency::text AS currency", "count(*) AS deals", "sum(amount) AS amount", "0::numeric AS amount_prob").
		From("deals").
		Where(inPipeline(sq.Eq{"organization_id": orgID, "status": dealsapi.StatusWon}, pipelineID)).
		Where(within).
		GroupBy("1", "2"))
	if err != nil {
		return nil, fmt.Errorf("won deals by month: %w", err)
	}
	return rows, nil
}

// wonOnly keeps the won deals with the status written into the statement: as a bound
// parameter, a prepared statement's generic plan (which PostgreSQL switches to after five
// executions) cannot prove the predicate of the indexes of won deals, and walked every deal
// of the pipeline instead (seconds at a million deals).
const wonOnly = "status = '" + dealsapi.StatusWon + "'"

func (s store) wonBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, *big.Int, error) {
	type row struct {
		Deals int64  `db:"deals"`
		ToWin string `db:"to_win_us"`
	}
	r, err := database.Get[row](ctx, s.db.Q(ctx), database.SQL.
		Select("count(*) AS deals", "coalesce(sum(extract(epoch FROM closed_at - created_at) * 1000000), 0)::numeric(40,0)::text AS to_win_us").
		From("deals").
		Where(sq.Eq{"organization_id": orgID, "pipeline_id": pipelineID}).Where(wonOnly).
		Where(sq.GtOrEq{"closed_at": from}).Where(sq.Lt{"closed_at": to}))
	if err != nil {
		return 0, nil, fmt.Errorf("won deals between: %w", err)
	}
	sum, ok := new(big.Int).SetString(r.ToWin, 10)
	if !ok {
		return 0, nil, fmt.Errorf("won deals between: time to win %q", r.ToWin)
	}
	return r.Deals, sum, nil
}

// WonByMonth implements dealsapi.Deals.
func (s *Service) WonByMonth(ctx context.Context, orgID int64, pipelineID *int64, loc *time.Location, ranges [][2]time.Time) ([]dealsapi.MonthTotals, error) {
	if len(ranges) == 0 {
		return nil, nil
	}
	rows, err := s.store.wonByMonth(ctx, orgID, pipelineID, loc, ranges)
	if err != nil {
		return nil, err
	}
	return toMonthTotals(rows), nil
}

// StageVisits implements dealsapi.Deals.
func (s *Service) StageVisits(ctx context.Context, orgID, pipelineID int64, since time.Time) ([]dealsapi.StageVisits, error) {
	return s.store.velocityVisits(ctx, orgID, pipelineID, since)
}

// WonBetween implements dealsapi.Deals.
func (s *Service) WonBetween(ctx context.Context, orgID, pipelineID int64, from, to time.Time) (int64, *big.Int, error) {
	return s.store.wonBetween(ctx, orgID, pipelineID, from, to)
}

// visited returns the keys of the stages of the pipeline the deal ever entered, sorted
// bytewise (the collation "C"), from its stage history.
func (s store) visited(ctx context.Context, orgID, dealID, pipelineID int64) ([]string, error) {
	keys, err := database.Scalar[[]string](ctx, s.db.Q(ctx), database.SQL.
		Select(`coalesce(array_agg(DISTINCT stage COLLATE "C" ORDER BY stage COLLATE "C"), '{}')`).From("deal_stage_history").
		Where(sq.Eq{"organization_id": orgID, "deal_id": dealID, "pipeline_id": pipelineID}))
	if err != nil {
		return nil, fmt.Errorf("stages visited: %w", err)
	}
	return keys, nil
}
