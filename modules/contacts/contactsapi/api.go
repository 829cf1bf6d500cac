// Package contactsapi is the public contract of the contacts module: the people and
// companies an organization sells to.
package contactsapi

import (
	"context"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
)

// Contact is a contact of an organization.
type Contact struct {
	ID             int64
	OrganizationID int64
	OwnerID        int64
	Name           string
	Email          *string
	Phone          *string
	Company        *string
	JobTitle       *string
	Notes          *string
	Tags           []string // trimmed, lower case, without repeats; never nil
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// DeletedAt is set while the contact is in the trash. Only a transaction that includes
	// the trash (platform/database.IncludeTrashed) sees such a contact; every other read
	// answers ErrContactNotFound.
	DeletedAt *time.Time
}

// Contacts is the facade of the contacts module.
type Contacts interface {
	// Contact returns the contact, ErrContactNotFound when it does not exist in orgID. It
	// runs in the transaction carried by ctx when there is one.
	Contact(ctx context.Context, orgID, contactID int64) (Contact, error)
	// RestoreFromTrash brings the contact back from the trash, in the transaction carried by
	// ctx (which includes the trash), with its contact.restored event, and takes its item out
	// of the trash: what a deal's restore does for its contact. A member may only when they
	// own the contact (auth.ErrNotOwner otherwise). A contact that is not in the trash is
	// left alone.
	RestoreFromTrash(ctx context.Context, orgID, contactID int64) error
	// ImportContacts checks rows by the rules of a create by the caller in ctx (POST
	// /contacts: its fields, roles and owners) and creates them in the transaction carried
	// by ctx, each with its contact.created event. It returns how many it created and every
	// rule a row breaks; the caller rolls the transaction back when any row was refused.
	ImportContacts(ctx context.Context, rows []ImportRow) (int, []ImportError, error)
	// ContactIDsByEmail returns, for each of emails found, the ids of the organization's live
	// contacts with that email, compared trimmed and without regard to case (keys as given).
	ContactIDsByEmail(ctx context.Context, orgID int64, emails []string) (map[string][]int64, error)
}

// DealLinks tells the contacts module how many deals reference a contact, without the
// contacts module knowing anything about deals. The deals module provides it.
type DealLinks interface {
	CountDealsOfContact(ctx context.Context, orgID, contactID int64) (int64, error)
}

// Errors of the facade.
var (
	ErrContactNotFound = apperr.NotFound("contact_not_found", "no contact with this id exists in the organization")
	ErrContactHasDeals = apperr.Conflict("contact_has_deals", "the contact is still referenced by deals; delete or move them first")
)
