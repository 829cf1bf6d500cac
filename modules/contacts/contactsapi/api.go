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
}

// Contacts is the facade of the contacts module.
type Contacts interface {
	// Contact returns the contact, ErrContactNotFound when it does not exist in orgID. It
	// runs in the transaction carried by ctx when there is one.
	Contact(ctx context.Context, orgID, contactID int64) (Contact, error)
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
