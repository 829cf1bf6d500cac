package contacts

import (
	"context"
	"fmt"
	"slices"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/web"
)

// ExportParams are the query parameters of GET /contacts/export: the filters of the list
// (not its page or order: an export holds every match, in id order) and the format.
var ExportParams = append(slices.DeleteFunc(slices.Clone(ListParams), func(p string) bool {
	return p == "order_by" || p == "order"
}), web.ExportParams...)

// export streams every contact matching the list's filters as CSV or JSON Lines (see
// web.Export), each as GET /contacts/{id} renders it.
func (h handler) export(c *fiber.Ctx) error {
	f, err := listFilter(c)
	if err != nil {
		return err
	}
	return web.Export(c, "contacts", contactJSON{}, func(ctx context.Context, emit func(any) error) error {
		return h.svc.Export(ctx, f, func(ct contactsapi.Contact) error { return emit(toJSON(ct)) })
	})
}

// Export calls emit with every contact of the caller's organization that matches f (its
// filters as the list reads them; its order is ignored), in id order, all read from one
// snapshot: a write committed while the export runs is not part of it. Any member may
// export, as any member may list; filtering by owner follows the list's rule. An error of
// emit stops the export and is returned.
func (s *Service) Export(ctx context.Context, f ListFilter, emit func(contactsapi.Contact) error) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	if err := auth.CheckOwnerFilter(p.Role, f.OwnerID); err != nil {
		return err
	}
	if len(f.Tags) > 0 {
		f.Tags = normalizeTags(f.Tags)
	}
	return s.db.WithinSnapshot(ctx, func(ctx context.Context) error {
		return s.store.export(ctx, p.OrgID, f, func(r contactRow) error { return emit(r.contact()) })
	})
}

// export reads the contacts matching f in id order, one row at a time.
func (s store) export(ctx context.Context, orgID int64, f ListFilter, fn func(contactRow) error) error {
	q := database.SQL.Select(contactCols...).From("contacts").Where(listWhere(orgID, f)).OrderBy("id")
	if err := database.Each(ctx, s.db.Q(ctx), q, fn); err != nil {
		return fmt.Errorf("export contacts: %w", err)
	}
	return nil
}
