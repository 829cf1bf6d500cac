package trash

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/mini-crm/crm/modules/trash/trashapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
)

// Service implements the trash's use cases and trashapi.Trash.
type Service struct {
	db        *database.DB
	store     store
	retention time.Duration
	now       func() time.Time

	mu        sync.RWMutex
	restorers map[string]trashapi.Restorer
}

var _ trashapi.Trash = (*Service)(nil)

// Item is an item of the trash with its purge time.
type Item struct {
	trashapi.Item
	PurgeAt time.Time
}

// Deleter implements trashapi.Trash: the actor the change feed would name for ctx.
func (s *Service) Deleter(ctx context.Context) trashapi.Actor {
	p, ok := auth.PrincipalFrom(ctx)
	switch {
	case ok && p.KeyID != 0:
		id := p.KeyID
		return trashapi.Actor{Type: "api_key", ID: &id}
	case ok && p.UserID != 0:
		id := p.UserID
		return trashapi.Actor{Type: "user", ID: &id}
	default:
		return trashapi.Actor{Type: "system"}
	}
}

// Put implements trashapi.Trash.
func (s *Service) Put(ctx context.Context, item trashapi.Item) error {
	return s.store.put(ctx, Item{Item: item, PurgeAt: item.DeletedAt.Add(s.retention)})
}

// Remove implements trashapi.Trash.
func (s *Service) Remove(ctx context.Context, orgID int64, object string, id int64) error {
	return s.store.remove(ctx, orgID, object, []int64{id})
}

// Register implements trashapi.Trash.
func (s *Service) Register(object string, r trashapi.Restorer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.restorers[object] = r
}

func (s *Service) restorer(object string) (trashapi.Restorer, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	r, ok := s.restorers[object]
	if !ok || !slices.Contains(trashapi.Objects, object) {
		return nil, trashapi.ErrUnknownType
	}
	return r, nil
}

// List returns a page of the organization's trash, newest first, of one object type when
// object is set. Every role reads it, as every role reads the records themselves.
func (s *Service) List(ctx context.Context, object string, w listing.Window) (listing.Result[Item], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return listing.Result[Item]{}, err
	}
	return s.store.list(ctx, p.OrgID, object, w)
}

// Restore brings a record of the organization's trash back and returns it as its GET
// renders it. The owning module's restorer checks the caller's rights (whoever may delete a
// record may restore it; a member only when they own every contact and deal the restore
// brings back), records the events and removes the items, in one transaction that sees the
// trash.
func (s *Service) Restore(ctx context.Context, object string, id int64) (any, error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return nil, err
	}
	r, err := s.restorer(object)
	if err != nil {
		return nil, err
	}
	var out any
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		if err := database.IncludeTrashed(ctx); err != nil {
			return err
		}
		out, err = r.Restore(ctx, p.OrgID, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// purgeOrder is the order the purge works in: deals first (their tasks go with them), so
// that a contact whose last trashed deal goes in the same run can go after it.
var purgeOrder = []string{trashapi.Deal, trashapi.Task, trashapi.Contact}

// purgeBatch is how many due items one transaction purges.
const purgeBatch = 500

// Purge deletes for good every record whose purge time has come, organization by
// organization, each batch in a transaction of its own under that organization's tenant
// scope, and returns how many records it deleted (not counting what went along with a deal
// by its foreign keys). It writes no event. A contact that a deal in the trash still
// references stays until that deal goes.
func (s *Service) Purge(ctx context.Context) (int64, error) {
	cutoff := s.now()
	orgs, err := s.store.dueOrganizations(ctx, cutoff)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, org := range orgs {
		n, err := s.purgeOrganization(database.WithTenant(ctx, org), org, cutoff)
		total += n
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

func (s *Service) purgeOrganization(ctx context.Context, orgID int64, cutoff time.Time) (int64, error) {
	var total int64
	var after *dueKey
	for {
		var n int64
		var last *dueKey
		err := s.db.WithinTx(ctx, func(ctx context.Context) error {
			n = 0
			if err := database.IncludeTrashed(ctx); err != nil {
				return err
			}
			due, err := s.store.due(ctx, orgID, cutoff, after, purgeBatch)
			if err != nil {
				return err
			}
			if len(due) == 0 {
				return nil
			}
			k := due[len(due)-1]
			last = &k
			byObject := map[string][]int64{}
			for _, d := range due {
				byObject[d.Object] = append(byObject[d.Object], d.ID)
			}
			for _, object := range purgeOrder {
				ids := byObject[object]
				if len(ids) == 0 {
					continue
				}
				r, err := s.restorer(object)
				if err != nil {
					return err
				}
				gone, err := r.Purge(ctx, orgID, ids)
				if err != nil {
					return err
				}
				if err := s.store.remove(ctx, orgID, object, gone); err != nil {
					return err
				}
				n += int64(len(gone))
			}
			return nil
		})
		total += n
		if err != nil || last == nil {
			return total, err
		}
		after = last
	}
}
