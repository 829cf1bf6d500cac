// Package trashapi is the public contract of the trash module: where the modules that own
// contacts, deals and tasks record what their DELETE moved to the trash, and how the trash
// asks them to restore or purge it.
//
// A record in the trash stays in its own table with deleted_at set, hidden from every read
// path by a row-level security policy of that table (see platform/database.IncludeTrashed).
// The owning module writes its trash item (Put) in the DELETE's transaction and removes it
// (Remove) in the restore's; it registers a Restorer for its object type at Init, through
// which the trash module's routes and purge job reach the records.
package trashapi

import (
	"context"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
)

// The object types of the trash, as the API names them.
const (
	Contact = "contact"
	Deal    = "deal"
	Task    = "task"
)

// Objects lists the object types in the order the API documents them.
var Objects = []string{Contact, Deal, Task}

// Actor is who moved a record to the trash, as the change feed renders actors: Type is
// user, api_key or system, ID the user's or key's id (nil for the system).
type Actor struct {
	Type string
	ID   *int64
}

// Item is a record in the trash, as the list shows it.
type Item struct {
	OrgID     int64
	Object    string // Contact, Deal or Task
	ID        int64
	Name      string // a contact's name, a deal's or task's title
	DeletedAt time.Time
	DeletedBy Actor
}

// Trash is the facade of the trash module.
type Trash interface {
	// Deleter is the actor of the principal in ctx (the API key when the request used one,
	// else the user; the system without a principal), to store on the trashed row.
	Deleter(ctx context.Context) Actor
	// Put records item in the trash, in the transaction carried by ctx (the DELETE's). Its
	// purge time is DeletedAt + TRASH_RETENTION.
	Put(ctx context.Context, item Item) error
	// Remove takes the item of a record out of the trash, in the transaction carried by ctx
	// (its restore's or purge's); an item that is not there is no error.
	Remove(ctx context.Context, orgID int64, object string, id int64) error
	// Register makes r restore and purge the records of object. Owning modules call it from
	// Init.
	Register(object string, r Restorer)
}

// Restorer is what the module owning an object type does for the trash. Both methods run in
// the transaction carried by ctx, scoped to orgID, which sees trashed rows
// (database.IncludeTrashed has been called).
type Restorer interface {
	// Restore brings the record back with what its own delete took along, checks that the
	// caller (the principal in ctx) may, records the X.restored events and removes the trash
	// items of what it restored. It returns the record as its GET renders it.
	// ErrNotInTrash when the record is not in the organization's trash.
	Restore(ctx context.Context, orgID, id int64) (any, error)
	// Purge deletes for good those of ids that are in the trash and may go now, writing no
	// event, and returns the ids it deleted (a contact that a deal in the trash still
	// references stays). It removes the trash items of everything it deleted along, and the
	// caller removes those of the returned ids.
	Purge(ctx context.Context, orgID int64, ids []int64) ([]int64, error)
}

// Errors of the trash.
var (
	ErrNotInTrash    = apperr.NotFound("trash_item_not_found", "no record of this type and id is in the organization's trash")
	ErrParentInTrash = apperr.Conflict("parent_in_trash", "the task's deal is in the trash; restore the deal, which brings back the tasks deleted with it")
	ErrUnknownType   = apperr.InvalidField("unknown_trash_type", "type", "must be one of: contact, deal, task",
		"type must be one of: contact, deal, task")
)
