package contactsapi

import (
	"context"

	"github.com/mini-crm/crm/platform/apperr"
)

// MaxMergeSources bounds the contacts one merge absorbs (the "from" list).
const MaxMergeSources = 50

// DealMover moves the deals of contacts being merged to the surviving contact, without the
// contacts module knowing anything about deals (the dependency stays contacts ← deals). The
// deals module provides it.
type DealMover interface {
	// MoveDealsOfContacts makes every deal of orgID that references one of from (deals in
	// the trash included) reference to instead, in the transaction carried by ctx (the
	// merge's): each deal is locked, checked against the caller's ownership (a member may
	// move only the deals they own: the deals' not_owner refusal), updated, given a timeline
	// activity saying it moved from its contact by a merge, and recorded as deal.updated.
	// It returns how many deals moved. Whatever it writes commits or rolls back with the
	// merge.
	MoveDealsOfContacts(ctx context.Context, orgID int64, from []int64, to int64) (int64, error)
}

// ErrMergeTooManyTags is the 409 for a merge whose union of tags would exceed the limit of a
// contact: nothing is merged, and the client removes tags first.
var ErrMergeTooManyTags = apperr.Conflict("merge_too_many_tags",
	"the merged contact would carry more than 20 tags; remove some tags from the contacts first")
