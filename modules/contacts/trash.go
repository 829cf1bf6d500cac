package contacts

import (
	"context"
	"errors"
	"fmt"

	sq "github.com/Masterminds/squirrel"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/modules/trash/trashapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
)

// Trash is what this module uses of the trash facade.
type Trash interface {
	Deleter(ctx context.Context) trashapi.Actor
	Put(ctx context.Context, item trashapi.Item) error
	Remove(ctx context.Context, orgID int64, object string, id int64) error
}

// trashItem is the data of a contact's trash item.
func trashItem(r contactRow, by trashapi.Actor) trashapi.Item {
	return trashapi.Item{OrgID: r.OrganizationID, Object: trashapi.Contact, ID: r.ID, Name: r.Name, DeletedAt: *r.DeletedAt, DeletedBy: by}
}

// moveToTrash marks the locked contact as in the trash, in the transaction of ctx, which
// must include the trash (the returned row is in it).
func (s store) moveToTrash(ctx context.Context, orgID, id int64, by trashapi.Actor) (contactRow, error) {
	q := database.SQL.Update("contacts").Set("deleted_at", sq.Expr("clock_timestamp()")).
		Set("deleted_by_type", by.Type).Set("deleted_by_id", by.ID).
		Where(sq.Eq{"organization_id": orgID, "id": id, "deleted_at": nil}).Suffix(returning)
	r, err := database.Get[contactRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, contactsapi.ErrContactNotFound
	}
	if err != nil {
		return r, fmt.Errorf("trash contact: %w", err)
	}
	return r, nil
}

// bringBack takes the contact out of the trash; its updated_at stays (the restore changes
// nothing a client sees but its presence).
func (s store) bringBack(ctx context.Context, orgID, id int64) (contactRow, error) {
	q := database.SQL.Update("contacts").Set("deleted_at", nil).Set("deleted_by_type", nil).Set("deleted_by_id", nil).
		Where(sq.Eq{"organization_id": orgID, "id": id}).Where(sq.NotEq{"deleted_at": nil}).Suffix(returning)
	r, err := database.Get[contactRow](ctx, s.db.Q(ctx), q)
	if database.IsNoRows(err) {
		return r, trashapi.ErrNotInTrash
	}
	if err != nil {
		return r, fmt.Errorf("restore contact: %w", err)
	}
	return r, nil
}

// purge deletes the contacts of ids that are in the trash.
func (s store) purge(ctx context.Context, orgID int64, ids []int64) ([]int64, error) {
	rows, err := database.Select[struct {
		ID int64 `db:"id"`
	}](ctx, s.db.Q(ctx), database.SQL.Delete("contacts").Where(sq.Eq{"organization_id": orgID, "id": ids}).
		Where(sq.NotEq{"deleted_at": nil}).Suffix("RETURNING id"))
	if err != nil {
		return nil, fmt.Errorf("purge contacts: %w", err)
	}
	out := make([]int64, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out, nil
}

// restorer restores and purges contacts for the trash module.
type restorer struct{ svc *Service }

var _ trashapi.Restorer = restorer{}

// Restore implements trashapi.Restorer: the contact alone comes back (its deals in the trash
// stay there; each brings it back anyway when restored). Whoever may delete the contact
// may restore it.
func (r restorer) Restore(ctx context.Context, orgID, id int64) (any, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return nil, err
	}
	cur, err := r.svc.store.get(ctx, orgID, id, true)
	if errors.Is(err, contactsapi.ErrContactNotFound) || (err == nil && cur.DeletedAt == nil) {
		return nil, trashapi.ErrNotInTrash
	}
	if err != nil {
		return nil, err
	}
	if err := ownership.CheckModify(p, cur.OwnerID); err != nil {
		return nil, err
	}
	out, err := r.svc.restore(ctx, cur)
	if err != nil {
		return nil, err
	}
	return toJSON(out.contact()), nil
}

// Purge implements trashapi.Restorer: the contacts of ids in the trash that no deal
// references any more (a deal in the trash keeps its contact until it is purged itself), and
// the ids of contacts no longer there, whose items are all that is left.
func (r restorer) Purge(ctx context.Context, orgID int64, ids []int64) ([]int64, error) {
	var free, gone []int64
	for _, id := range ids {
		if _, err := r.svc.store.get(ctx, orgID, id, false); errors.Is(err, contactsapi.ErrContactNotFound) {
			gone = append(gone, id) // no longer there: only its item is left
			continue
		} else if err != nil {
			return nil, err
		}
		// The transaction includes the trash, so this counts the deals in the trash too.
		n, err := r.svc.deals.CountDealsOfContact(ctx, orgID, id)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			free = append(free, id)
		}
	}
	if len(free) == 0 {
		return gone, nil
	}
	purged, err := r.svc.store.purge(ctx, orgID, free)
	return append(gone, purged...), err
}

// restore brings the locked contact cur back, with its event, and takes its item out of the
// trash, in the transaction of ctx (which includes the trash).
func (s *Service) restore(ctx context.Context, cur contactRow) (contactRow, error) {
	out, err := s.store.bringBack(ctx, cur.OrganizationID, cur.ID)
	if err != nil {
		return contactRow{}, err
	}
	if err := s.record(ctx, "contact.restored", out, nil); err != nil {
		return contactRow{}, err
	}
	if s.trash != nil {
		if err := s.trash.Remove(ctx, cur.OrganizationID, trashapi.Contact, cur.ID); err != nil {
			return contactRow{}, err
		}
	}
	return out, nil
}

// RestoreFromTrash implements contactsapi.Contacts.
func (s *Service) RestoreFromTrash(ctx context.Context, orgID, contactID int64) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	cur, err := s.store.get(ctx, orgID, contactID, true)
	if err != nil {
		return err
	}
	if cur.DeletedAt == nil {
		return nil
	}
	if err := ownership.CheckModify(p, cur.OwnerID); err != nil {
		return err
	}
	_, err = s.restore(ctx, cur)
	return err
}

// moveContactToTrash is the trash half of Delete: in the transaction of ctx, after the
// checks, the contact goes to the trash with its contact.deleted event (reason trashed) and
// its item.
func (s *Service) moveContactToTrash(ctx context.Context, cur contactRow) error {
	if err := database.IncludeTrashed(ctx); err != nil {
		return err
	}
	by := trashapi.Actor{Type: "system"}
	if s.trash != nil {
		by = s.trash.Deleter(ctx)
	}
	out, err := s.store.moveToTrash(ctx, cur.OrganizationID, cur.ID, by)
	if err != nil {
		return err
	}
	if err := s.recordWith(ctx, "contact.deleted", out, nil, map[string]any{"reason": "trashed"}); err != nil {
		return err
	}
	if s.trash == nil {
		return nil
	}
	return s.trash.Put(ctx, trashItem(out, by))
}
