package contacts

import (
	"context"
	"slices"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/patch"
)

// Outbox is what this module uses of the change feed (platform/events.Outbox).
type Outbox interface {
	Record(ctx context.Context, c events.Change) (int64, error)
}

// Service implements the contact use cases and the contacts facade.
type Service struct {
	db     *database.DB
	store  store
	deals  contactsapi.DealLinks
	mover  contactsapi.DealMover
	outbox Outbox
	// trash records the contacts DELETE moves to the trash.
	trash Trash
}

// record writes the event of a contact change in the transaction of ctx: the contact as its
// GET renders it after the change (for a delete, its last state) and, for an update, before.
func (s *Service) record(ctx context.Context, typ string, after contactRow, before *contactRow) error {
	if s.outbox == nil {
		return nil
	}
	c := events.Change{OrgID: after.OrganizationID, Type: typ, Object: toJSON(after.contact())}
	if before != nil {
		c.Before = toJSON(before.contact())
	}
	_, err := s.outbox.Record(ctx, c)
	return err
}

var _ contactsapi.Contacts = (*Service)(nil)

// NewContact is a contact to create. OwnerID nil means the caller. Tags are stored trimmed,
// in lower case and without repeats, in the order they first appear.
type NewContact struct {
	OwnerID  *int64
	Name     string
	Email    *string
	Phone    *string
	Company  *string
	JobTitle *string
	Notes    *string
	Tags     []string
}

// Patch is a partial update: nil or unset fields stay as they are; a null Email, Phone,
// Company, JobTitle or Notes clears it. Tags, when set, replace the whole list (null clears
// it), normalized as on create.
type Patch struct {
	OwnerID  *int64
	Name     *string
	Email    patch.Optional[string]
	Phone    patch.Optional[string]
	Company  patch.Optional[string]
	JobTitle patch.Optional[string]
	Notes    patch.Optional[string]
	Tags     patch.Optional[[]string]
}

// ListFilter narrows and orders the contact list.
type ListFilter struct {
	Search  string   // case-insensitive substring of name, email, phone or company
	Tags    []string // the contact carries every one (normalized like stored tags)
	OwnerID *int64
	OrderBy string // created_at (the default), updated_at or name
	Desc    bool
}

// List returns a page of the organization's contacts in the filter's order.
func (s *Service) List(ctx context.Context, f ListFilter, w listing.Window) (database.Result[contactsapi.Contact], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return database.Result[contactsapi.Contact]{}, err
	}
	if err := auth.CheckOwnerFilter(p.Role, f.OwnerID); err != nil {
		return database.Result[contactsapi.Contact]{}, err
	}
	if len(f.Tags) > 0 {
		f.Tags = normalizeTags(f.Tags)
	}
	rows, err := s.store.list(ctx, p.OrgID, f, w)
	if err != nil {
		return database.Result[contactsapi.Contact]{}, err
	}
	return database.MapResult(rows, contactRow.contact), nil
}

// Create adds a contact. A member can only create contacts they own.
func (s *Service) Create(ctx context.Context, in NewContact) (contactsapi.Contact, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return contactsapi.Contact{}, err
	}
	owner := p.UserID
	if in.OwnerID != nil {
		owner = *in.OwnerID
	}
	if err := ownership.CheckCreate(p, owner); err != nil {
		return contactsapi.Contact{}, err
	}
	var r contactRow
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		r, err = s.store.insert(ctx, p.OrgID, newContact{OwnerID: owner, Name: in.Name, Email: in.Email, Phone: in.Phone,
			Company: in.Company, JobTitle: in.JobTitle, Notes: in.Notes, Tags: normalizeTags(in.Tags)})
		if err != nil {
			return err
		}
		return s.record(ctx, "contact.created", r, nil)
	})
	if err != nil {
		return contactsapi.Contact{}, err
	}
	return r.contact(), nil
}

// Get returns one contact of the organization.
func (s *Service) Get(ctx context.Context, id int64) (contactsapi.Contact, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return contactsapi.Contact{}, err
	}
	r, err := s.store.get(ctx, p.OrgID, id, false)
	return r.contact(), err
}

// Update changes a contact. Members change only their own contacts and cannot give them
// away; owner, admin and manager may reassign a contact to any member of the organization.
func (s *Service) Update(ctx context.Context, id int64, patch Patch) (contactsapi.Contact, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return contactsapi.Contact{}, err
	}
	var out contactRow
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		cur, err := s.store.get(ctx, p.OrgID, id, true)
		if err != nil {
			return err
		}
		if err := ownership.CheckModify(p, cur.OwnerID); err != nil {
			return err
		}
		if patch.OwnerID != nil {
			if err := ownership.CheckReassign(p, cur.OwnerID, *patch.OwnerID); err != nil {
				return err
			}
		}
		set := changes(cur, patch)
		if len(set) == 0 {
			out = cur
			return nil
		}
		out, err = s.store.update(ctx, p.OrgID, id, set)
		if err != nil {
			return err
		}
		if err := s.recordHistory(ctx, cur, out); err != nil {
			return err
		}
		return s.record(ctx, "contact.updated", out, &cur)
	})
	if err != nil {
		return contactsapi.Contact{}, err
	}
	return out.contact(), nil
}

// changes lists the columns the patch really changes, so that a patch repeating the
// current values writes nothing and leaves updated_at alone.
func changes(cur contactRow, p Patch) map[string]any {
	set := map[string]any{}
	if p.OwnerID != nil && *p.OwnerID != cur.OwnerID {
		set["owner_id"] = *p.OwnerID
	}
	if p.Name != nil && *p.Name != cur.Name {
		set["name"] = *p.Name
	}
	for col, f := range map[string]struct {
		to  patch.Optional[string]
		cur *string
	}{"email": {p.Email, cur.Email}, "phone": {p.Phone, cur.Phone}, "company": {p.Company, cur.Company},
		"job_title": {p.JobTitle, cur.JobTitle}, "notes": {p.Notes, cur.Notes}} {
		if f.to.Set && !equalPtr(f.to.Ptr(), f.cur) {
			set[col] = f.to.Ptr()
		}
	}
	if p.Tags.Set {
		// null and [] both leave the contact without tags.
		if tags := normalizeTags(p.Tags.Value); !slices.Equal(tags, orEmpty(cur.Tags)) {
			set["tags"] = tags
		}
	}
	return set
}

func equalPtr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// Delete moves a contact that no live deal references to the trash (contact.deleted with
// reason trashed); the trash's purge deletes it for good later.
func (s *Service) Delete(ctx context.Context, id int64) error {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		// The row lock waits for transactions creating deals on this contact (their foreign
		// key check holds a key-share lock on it), so the count below sees them.
		cur, err := s.store.get(ctx, p.OrgID, id, true)
		if err != nil {
			return err
		}
		if err := ownership.CheckModify(p, cur.OwnerID); err != nil {
			return err
		}
		n, err := s.deals.CountDealsOfContact(ctx, p.OrgID, id)
		if err != nil {
			return err
		}
		if n > 0 {
			return hasDeals(n)
		}
		// The count above sees live deals only: deals in the trash keep the contact (and
		// restoring one brings it back).
		return s.moveContactToTrash(ctx, cur)
	})
	return err
}

// Contact implements contactsapi.Contacts.
func (s *Service) Contact(ctx context.Context, orgID, contactID int64) (contactsapi.Contact, error) {
	r, err := s.store.get(ctx, orgID, contactID, false)
	if err != nil {
		return contactsapi.Contact{}, err
	}
	return r.contact(), nil
}
