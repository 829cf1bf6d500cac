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

type totalsJSON struct {
	Count    int64                   `json:"count"`
	Amount   map[string]money.Amount `json:"amount"`
	Weighted map[string]money.Amount `json:"weighted"`
}

type forecastMonthJSON struct {
	Month string           `json:"month"`
	Open  totalsJSON       `json:"open"`
	Won   statusTotalsJSON `json:"won"`
}

type forecastJSON struct {
	Months      []forecastMonthJSON `json:"months"`
	NoCloseDate totalsJSON          `json:"no_close_date"`
}

func toForecastJSON(f Forecast) forecastJSON {
	out := forecastJSON{Months: make([]forecastMonthJSON, len(f.Months)), NoCloseDate: totalsJSON(f.NoCloseDate)}
	for i, m := range f.Months {
		out.Months[i] = forecastMonthJSON{Month: m.Month.String(), Open: totalsJSON(m.Open),
			Won: statusTotalsJSON{Count: m.Won.Count, Amount: m.Won.Amount}}
	}
	return out
}

type stageVelocityJSON struct {
	Stage   string `json:"stage"`
	Visits  int64  `json:"visits"`
	Average *Days  `json:"average_days"`
	Median  *Days  `json:"median_days"`
}

type velocityJSON struct {
	Stages []stageVelocityJSON `json:"stages"`
	Won    struct {
		Deals        int64 `json:"deals"`
		AverageToWin *Days `json:"average_days_to_win"`
	} `json:"won"`
}

func toVelocityJSON(v Velocity) velocityJSON {
	out := velocityJSON{Stages: make([]stageVelocityJSON, len(v.Stages))}
	for i, st := range v.Stages {
		out.Stages[i] = stageVelocityJSON(st)
	}
	out.Won.Deals, out.Won.AverageToWin = v.WonDeals, v.AverageToWin
	return out
}

func (h handler) forecast(c *fiber.Ctx) error {
	pipelineID, perr := web.QueryInt64(c, "pipeline_id")
	var fields []apperr.FieldError
	var from *Month
	if v := c.Query("from"); v != "" {
		m, ok := parseMonth(v)
		if !ok {
			fields = append(fields, apperr.FieldError{Field: "from", Message: "must be a month, YYYY-MM"})
		}
		from = &m
	}
	months, ok := parseInt(c.Query("months"), DefaultMonths, MinMonths, MaxMonths)
	if !ok {
		fields = append(fields, apperr.FieldError{Field: "months", Message: "must be an integer from 1 to 24"})
	}
	var ferr error
	if len(fields) > 0 {
		ferr = apperr.InvalidFields("invalid_query", fields...)
	}
	if err := web.QueryErrors(perr, ferr); err != nil {
		return err
	}
	f, err := h.svc.Forecast(c.UserContext(), pipelineID, from, months)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, cacheControl(h.svc.CacheTTL()))
	return c.JSON(toForecastJSON(f))
}

func (h handler) velocity(c *fiber.Ctx) error {
	pipelineID, perr := web.QueryInt64(c, "pipeline_id")
	var derr error
	days, ok := parseInt(c.Query("days"), DefaultVelocityDays, MinDays, MaxDays)
	if !ok {
		derr = apperr.InvalidField("invalid_query", "days", "must be an integer from 1 to 365",
			"days must be an integer from 1 to 365")
	}
	if err := web.QueryErrors(perr, derr); err != nil {
		return err
	}
	v, err := h.svc.Velocity(c.UserContext(), pipelineID, days)
	if err != nil {
		return err
	}
	c.Set(fiber.HeaderCacheControl, cacheControl(h.svc.CacheTTL()))
	return c.JSON(toVelocityJSON(v))
}
