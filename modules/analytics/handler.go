package analytics

import (
	"strconv"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/deals/dealsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/money"
	"github.com/mini-crm/crm/platform/web"
)

type handler struct{ svc *Service }

type statusTotalsJSON struct {
	Count  int64                   `json:"count"`
	Amount map[string]money.Amount `json:"amount"`
}

type summaryJSON struct {
	ByStatus struct {
		New        statusTotalsJSON `json:"new"`
		InProgress statusTotalsJSON `json:"in_progress"`
		Won        statusTotalsJSON `json:"won"`
		Lost       statusTotalsJSON `json:"lost"`
	} `json:"by_status"`
	WonAverageAmount map[string]money.Amount `json:"won_average_amount"`
	WinRate          *Percent                `json:"win_rate"`
	NewDeals         struct {
		Days  int   `json:"days"`
		Count int64 `json:"count"`
	} `json:"new_deals"`
}

func toSummaryJSON(s Summary) summaryJSON {
	var out summaryJSON
	totals := func(status string) statusTotalsJSON {
		t := s.ByStatus[status]
		if t.Amount == nil {
			t.Amount = map[string]money.Amount{}
		}
		return statusTotalsJSON(t)
	}
	out.ByStatus.New = totals(dealsapi.StatusNew)
	out.ByStatus.InProgress = totals(dealsapi.StatusInProgress)
	out.ByStatus.Won = totals(dealsapi.StatusWon)
	out.ByStatus.Lost = totals(dealsapi.StatusLost)
	out.WonAverageAmount = s.WonAverage
	if out.WonAverageAmount == nil {
		out.WonAverageAmount = map[string]money.Amount{}
	}
	out.WinRate = s.WinRate
	out.NewDeals.Days, out.NewDeals.Count = s.Days, s.New
	return out
}

type statusCountsJSON struct {
	New        int64 `json:"new"`
	InProgress int64 `json:"in_progress"`
	Won        int64 `json:"won"`
	Lost       int64 `json:"lost"`
}

type funnelStageJSON struct {
	Stage                  string           `json:"stage"`
	Count                  int64            `json:"count"`
	ByStatus               statusCountsJSON `json:"by_status"`
	Reached                int64            `json:"reached"`
	ConversionFromPrevious *Percent         `json:"conversion_from_previous"`
}

type funnelJSON struct {
	Stages []funnelStageJSON `json:"stages"`
}

func toFunnelJSON(stages []FunnelStage) funnelJSON {
	out := funnelJSON{Stages: make([]funnelStageJSON, len(stages))}
	for i, st := range stages {
		out.Stages[i] = funnelStageJSON{Stage: st.Stage, Count: st.Count, Reached: st.Reached,
			ConversionFromPrevious: st.Conversion, ByStatus: statusCountsJSON{
				New: st.ByStatus[dealsapi.StatusNew], InProgress: st.ByStatus[dealsapi.StatusInProgress],
				Won: st.ByStatus[dealsapi.StatusWon], Lost: st.ByStatus[dealsapi.StatusLost]}}
	}
	return out
}

// cacheControl is the Cache-Control of a report: private (it is one organization's, seen
// through one user's token), fresh for as long as this instance caches it; with the cache
// disabled, max-age=0, so that clients revalidate every time too.
func cacheControl(ttl time.Duration) string {
	return "private, max-age=" + strconv.FormatInt(int64(ttl/time.Second), 10)
}

func (h handler) summary(c *fiber.Ctx) error {
	var derr error
	days, ok := parseDays(c.Query("days"))
	if !ok {
		derr = apperr.InvalidField("invalid_query", "days", "must be an integer from 1 to 365",
			"days must be an integer from 1 to 365")
	}
	pipelineID, perr := web.QueryInt64(c, "pipeline_id")
	if err := web.QueryErrors(derr, perr); err != nil {
		return err
	}
	s, err := h.svc.Summary(c.UserContext(), days, pipelineID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, cacheControl(h.svc.CacheTTL()))
	return c.JSON(toSummaryJSON(s))
}

func (h handler) funnel(c *fiber.Ctx) error {
	pipelineID, err := web.QueryInt64(c, "pipeline_id")
	if err != nil {
		return apperr.InvalidField("invalid_query", "pipeline_id", "must be a positive integer",
			"pipeline_id must be a positive integer")
	}
	f, err := h.svc.Funnel(c.UserContext(), pipelineID)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, cacheControl(h.svc.CacheTTL()))
	return c.JSON(toFunnelJSON(f))
}
