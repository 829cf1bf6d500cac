package contacts

import (
	"context"
	"fmt"
	"slices"

	sq "github.com/Masterminds/squirrel"
	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/web"
)

// checkMergeSources validates the "from" list of a merge into survivor: no id twice and not
// the survivor itself. Every bad entry is named (from[i]).
func checkMergeSources(survivor int64, from []int64) error {
	var bad []apperr.FieldError
	for i, id := range from {
		field := fmt.Sprintf("from[%d]", i)
		switch {
		case id == survivor:
			bad = append(bad, apperr.FieldError{Field: field, Message: "is the contact merged into: a contact cannot absorb itself"})
		case slices.Index(from, id) < i:
			bad = append(bad, apperr.FieldError{Field: field, Message: "repeats an id given before"})
		}
	}
	if len(bad) > 0 {
		return apperr.InvalidFields("validation_failed", bad...)
	}
	return nil
}

// mergedFields returns the columns a merge changes on the survivor: each of its empty
// optional fields takes the first value the absorbed contacts have, in the order they were
// given, and its tags become the union of all the tags (its own first, then each absorbed
// contact's in that order, without repeats). Name and owner stay the survivor's.
func mergedFields(survivor contactRow, sources []contactRow) (map[string]any, []string) {
	set := map[string]any{}
	for col, get := range map[string]func(contactRow) *string{
		"email": func(r contactRow) *string { return r.Email }, "phone": func(r contactRow) *string { return r.Phone },
		"company": func(r contactRow) *string { return r.Company }, "job_title": func(r contactRow) *string { return r.JobTitle },
		"notes": func(r contactRow) *string { return r.Notes },
	} {
		if get(survivor) != nil {
			continue
		}
		for _, src := range sources {
			if v := get(src); v != nil {
				set[col] = *v
				break
			}
		}
	}
	tags := slices.Clone(orEmpty(survivor.Tags))
	for _, src := range sources {
		for _, t := range src.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
	}
	if len(tags) != len(orEmpty(survivor.Tags)) {
		set["tags"] = tags
	}
	return set, tags
}

// Merge absorbs the contacts from into the contact id, in one transaction: their deals (in
// the trash too) reference the survivor, each with a contact_merged activity and its
// deal.updated event; the survivor's empty fields are filled from them and its tags become
// the union (recorded in its history); then they are deleted for good, each with a
// contact.deleted event (reason "merged"), and contact.merged records the survivor with
// merged_ids. Owners, admins and managers merge any contacts; a member only when they own
// every contact and every deal involved (else 403 not_owner and nothing changes). An id of
// another organization, or none, is 404 contact_not_found like any foreign id.
func (s *Service) Merge(ctx context.Context, id int64, from []int64) (contactsapi.Contact, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return contactsapi.Contact{}, err
	}
	if err := checkMergeSources(id, from); err != nil {
		return contactsapi.Contact{}, err
	}
	var out contactRow
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		rows, err := s.store.lockMany(ctx, p.OrgID, append([]int64{id}, from...))
		if err != nil {
			return err
		}
		byID := map[int64]contactRow{}
		for _, r := range rows {
			byID[r.ID] = r
		}
		survivor, ok := byID[id]
		if !ok {
			return contactsapi.ErrContactNotFound
		}
		sources := make([]contactRow, len(from))
		for i, f := range from {
			if sources[i], ok = byID[f]; !ok {
				return contactsapi.ErrContactNotFound
			}
		}
		for _, r := range append([]contactRow{survivor}, sources...) {
			if err := ownership.CheckModify(p, r.OwnerID); err != nil {
				return err
			}
		}
		set, tags := mergedFields(survivor, sources)
		if len(tags) > MaxTags {
			return contactsapi.ErrMergeTooManyTags.WithDetail(fmt.Sprintf(
				"the merged contact would carry %d tags, more than %d; remove some tags from the contacts first", len(tags), MaxTags))
		}
		if _, err := s.mover.MoveDealsOfContacts(ctx, p.OrgID, from, id); err != nil {
			return err
		}
		out = survivor
		if len(set) > 0 {
			if out, err = s.store.update(ctx, p.OrgID, id, set); err != nil {
				return err
			}
			if err := s.recordHistory(ctx, survivor, out); err != nil {
				return err
			}
		}
		if err := s.store.deleteMany(ctx, p.OrgID, from); err != nil {
			return err
		}
		for _, src := range sources {
			if err := s.recordWith(ctx, "contact.deleted", src, nil, map[string]any{"reason": "merged"}); err != nil {
				return err
			}
		}
		var before *contactRow
		if len(set) > 0 {
			before = &survivor
		}
		return s.recordWith(ctx, "contact.merged", out, before, map[string]any{"merged_ids": from})
	})
	if err != nil {
		return contactsapi.Contact{}, err
	}
	return out.contact(), nil
}

// recordWith is record with further members of the event's data.
func (s *Service) recordWith(ctx context.Context, typ string, after contactRow, before *contactRow, data map[string]any) error {
	if s.outbox == nil {
		return nil
	}
	c := events.Change{OrgID: after.OrganizationID, Type: typ, Object: toJSON(after.contact()), Data: data}
	if before != nil {
		c.Before = toJSON(before.contact())
	}
	_, err := s.outbox.Record(ctx, c)
	return err
}

// lockMany locks and returns the organization's contacts with the ids, in id order (so that
// concurrent merges of overlapping contacts wait for each other instead of deadlocking).
func (s store) lockMany(ctx context.Context, orgID int64, ids []int64) ([]contactRow, error) {
	rows, err := database.Select[contactRow](ctx, s.db.Q(ctx), database.SQL.Select(contactCols...).From("contacts").
		Where(sq.Eq{"organization_id": orgID}).Where(sq.Expr("id = ANY(?::bigint[])", ids)).OrderBy("id").Suffix("FOR UPDATE"))
	if err != nil {
		return nil, fmt.Errorf("lock contacts: %w", err)
	}
	return rows, nil
}

// deleteMany deletes the organization's contacts with the ids for good.
func (s store) deleteMany(ctx context.Context, orgID int64, ids []int64) error {
	n, err := database.Exec(ctx, s.db.Q(ctx), database.SQL.Delete("contacts").
		Where(sq.Eq{"organization_id": orgID}).Where(sq.Expr("id = ANY(?::bigint[])", ids)))
	if database.PgCode(err) == database.CodeForeignKeyViolation {
		return contactsapi.ErrContactHasDeals.Wrap(err)
	}
	if err != nil {
		return fmt.Errorf("delete merged contacts: %w", err)
	}
	if n != int64(len(ids)) {
		return contactsapi.ErrContactNotFound
	}
	return nil
}

// mergeRequest is the body of POST /contacts/{id}/merge: the contacts to absorb, in the order
// their fields fill the survivor's empty ones.
type mergeRequest struct {
	From []int64 `json:"from" validate:"required,min=1,max=50,dive,gt=0"`
}

func (h handler) merge(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	var req mergeRequest
	if err := web.Bind(c, &req); err != nil {
		return err
	}
	ct, err := h.svc.Merge(c.UserContext(), id, req.From)
	if err != nil {
		return err
	}
	return c.JSON(toJSON(ct))
}
