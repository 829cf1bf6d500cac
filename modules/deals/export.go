package deals

import (
	"context"
	"fmt"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/web"
)

// ExportParams are the query parameters of GET /deals/export: the filters of the list (not
// its page or order: an export holds every match, in id order) and the format.
var ExportParams = append(slices.DeleteFunc(slices.Clone(ListParams), func(p string) bool {
	return p == "order_by" || p == "order"
}), web.ExportParams...)

// export streams every deal matching the list's filters as CSV or JSON Lines (see
// web.Export), each as GET /deals/{id} renders it.
func (h handler) export(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	return web.Export(c, "deals", dealJSON{}, func(ctx context.Context, emit func(any) error) error {
		return h.svc.Export(ctx, f, func(d Deal) error { return emit(toJSON(d)) })
	})
}

// Export calls emit with every deal of the caller's organization that matches f (its
// filters checked as the list checks them; its order is ignored), in id order, all read from
// one snapshot, the pipelines the filter is checked against included: a write committed
// while the export runs is not part of it. Any member may export, as any member may list;
// filtering by owner follows the list's rule. An error of emit stops the export and is
// returned.
func (s *Service) Export(ctx context.Context, f ListFilter, emit func(Deal) error) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	return s.db.WithinSnapshot(ctx, func(ctx context.Context) error {
		rotten, err := s.checkFilter(ctx, p, f)
		if err != nil {
			return err
		}
		return s.store.export(ctx, p.OrgID, f, rotten, emit)
	})
}

// export reads the deals matching f in id order, one row at a time.
func (s store) export(ctx context.Context, orgID int64, f ListFilter, rotten []rottenAt, fn func(Deal) error) error {
	q := database.SQL.Select(dealCols...).From("deals").Where(listWhere(orgID, f, rotten)).OrderBy("id")
	if err := database.Each(ctx, s.db.Q(ctx), q, fn); err != nil {
		return fmt.Errorf("export deals: %w", err)
	}
	return nil
}
