package contacts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	sq "github.com/Masterminds/squirrel"
	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/web"
)

// historyFields are the fields of a contact its history reports, in the order of its
// rendering; created_at and updated_at are not changes anyone makes.
var historyFields = []string{"owner_id", "name", "email", "phone", "company", "job_title", "notes", "tags"}

// FieldChange is one field's value before and after a write, as GET /contacts/{id} renders it.
type FieldChange struct {
	From json.RawMessage `json:"from"`
	To   json.RawMessage `json:"to"`
}

// Actor is who made a change: a user, an API key (acting for its creator) or the system.
type Actor struct {
	Type string `json:"type"`
	ID   *int64 `json:"id"`
}

// HistoryEntry is one write that changed a contact.
type HistoryEntry struct {
	ID        int64                  `db:"id"`
	ChangedAt time.Time              `db:"changed_at"`
	ActorType string                 `db:"actor_type"`
	ActorID   *int64                 `db:"actor_id"`
	Changes   map[string]FieldChange `db:"changes"`
}

// fieldChanges returns the changes of historyFields from before to after, nil when none.
func fieldChanges(before, after contactRow) (map[string]FieldChange, error) {
	b, err := renderedFields(before)
	if err != nil {
		return nil, err
	}
	a, err := renderedFields(after)
	if err != nil {
		return nil, err
	}
	var out map[string]FieldChange
	for _, f := range historyFields {
		if !bytes.Equal(b[f], a[f]) {
			if out == nil {
				out = map[string]FieldChange{}
			}
			out[f] = FieldChange{From: b[f], To: a[f]}
		}
	}
	return out, nil
}

func renderedFields(r contactRow) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(toJSON(r.contact()))
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	return m, json.Unmarshal(raw, &m)
}

// actorOf is who acts in ctx: the API key of the request when it authenticated with one, else
// the user; the system when nobody does.
func actorOf(ctx context.Context) Actor {
	p, ok := auth.PrincipalFrom(ctx)
	switch {
	case ok && p.KeyID != 0:
		id := p.KeyID
		return Actor{Type: "api_key", ID: &id}
	case ok && p.UserID != 0:
		id := p.UserID
		return Actor{Type: "user", ID: &id}
	}
	return Actor{Type: "system"}
}

// recordHistory appends to the contact's history what a write took from before to after, by
// the actor of ctx, in the write's transaction; nothing when no reported field changed.
func (s *Service) recordHistory(ctx context.Context, before, after contactRow) error {
	changes, err := fieldChanges(before, after)
	if err != nil || changes == nil {
		return err
	}
	return s.store.insertHistory(ctx, after.OrganizationID, after.ID, after.UpdatedAt, actorOf(ctx), changes)
}

// insertHistory appends an entry changed at at: the updated_at of the write it records, so
// that the contact and its newest entry tell the same time.
func (s store) insertHistory(ctx context.Context, orgID, contactID int64, at time.Time, a Actor, changes map[string]FieldChange) error {
	raw, err := json.Marshal(changes)
	if err != nil {
		return err
	}
	_, err = database.Exec(ctx, s.db.Q(ctx), database.SQL.Insert("contact_history").
		Columns("organization_id", "contact_id", "changed_at", "actor_type", "actor_id", "changes").
		Values(orgID, contactID, at, a.Type, a.ID, sq.Expr("?::jsonb", string(raw))))
	if err != nil {
		return fmt.Errorf("record contact history: %w", err)
	}
	return nil
}

// historyOrder is the order of a contact's history: newest first, the id breaking ties (the
// index contact_history_contact_idx).
var historyOrder = database.Order{Key: "contact_history:changed_at:desc", Desc: true, Cols: []database.KeyCol{
	{Expr: "changed_at", Type: "timestamptz"}, {Expr: "id", Type: "bigint"}}}

func (s store) history(ctx context.Context, orgID, contactID int64, w listing.Window) (listing.Result[HistoryEntry], error) {
	where := sq.Eq{"organization_id": orgID, "contact_id": contactID}
	res, err := database.Paginate(ctx, s.db.Q(ctx),
		database.SQL.Select("id", "changed_at", "actor_type", "actor_id", "changes").From("contact_history").Where(where),
		database.SQL.Select("count(*)").From("contact_history").Where(where),
		historyOrder, w, func(e HistoryEntry) []string { return []string{database.TimeKey(e.ChangedAt), database.IDKey(e.ID)} })
	if err != nil {
		return res, fmt.Errorf("contact history: %w", err)
	}
	return res, nil
}

// History lists the changes of a contact, newest first. Every role reads every contact's
// history, as it reads the contact.
func (s *Service) History(ctx context.Context, contactID int64, w listing.Window) (listing.Result[HistoryEntry], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return listing.Result[HistoryEntry]{}, err
	}
	if _, err := s.store.get(ctx, p.OrgID, contactID, false); err != nil {
		return listing.Result[HistoryEntry]{}, err
	}
	return s.store.history(ctx, p.OrgID, contactID, w)
}

// historyJSON is an item of GET /contacts/{id}/history.
type historyJSON struct {
	ChangedAt web.Time               `json:"changed_at"`
	Actor     Actor                  `json:"actor"`
	Changes   map[string]FieldChange `json:"changes"`
}

func historyToJSON(e HistoryEntry) historyJSON {
	return historyJSON{ChangedAt: web.Time(e.ChangedAt), Actor: Actor{Type: e.ActorType, ID: e.ActorID}, Changes: e.Changes}
}

func (h handler) history(c *fiber.Ctx) error {
	id, err := web.PathID(c, "id")
	if err != nil {
		return err
	}
	page, err := web.PageFrom(c)
	if err != nil {
		return err
	}
	res, err := h.svc.History(c.UserContext(), id, page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, historyToJSON))
}
