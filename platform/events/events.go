// Package events is the change feed's outbox: every module records the events of its writes
// through one Outbox, in the write's own transaction, so that no change commits without its
// event and no event survives a change that rolled back. Committed events are given their feed
// positions by one sequencer (Sequence), after commit and in a single order; the feed lists an
// organization's events by position, so a client following it never misses an event and never
// sees one twice, and hooks registered with OnSequenced (the webhook dispatcher) act on each
// committed event exactly once, in the sequencer's transaction.
package events

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Migrations returns the outbox's migrations.
func Migrations() fs.FS { return migrations }

// Audience says who may read an event in the feed.
type Audience int16

const (
	// Everyone in the organization reads the event.
	Everyone Audience = 0
	// Managers are owners and admins (and admin API keys): api_key.* and webhook.* events.
	Managers Audience = 1
	// EndpointOnly events are delivered to one webhook endpoint and never listed (webhook.ping).
	EndpointOnly Audience = 2
)

// Actor is who caused an event.
type Actor struct {
	Type string `json:"type"` // user, api_key or system
	ID   *int64 `json:"id,omitempty"`
}

// System is the actor of what the service does by itself (a key revoked because its creator
// left, an endpoint disabled after failing deliveries).
var System = &Actor{Type: "system"}

// actorOf is the actor of the principal in ctx: the API key when the request authenticated with
// one, else the user; the system when there is no principal.
func actorOf(ctx context.Context) Actor {
	p, ok := auth.PrincipalFrom(ctx)
	switch {
	case ok && p.KeyID != 0:
		id := p.KeyID
		return Actor{Type: "api_key", ID: &id}
	case ok && p.UserID != 0:
		id := p.UserID
		return Actor{Type: "user", ID: &id}
	default:
		return *System
	}
}

// Change is one event to record.
type Change struct {
	OrgID int64
	// Type is the event type, "<object>.<verb>" (deal.updated); the part before the dot names
	// the object in data.object.object.
	Type string
	// Object is the resource exactly as its GET renders it (after the change; for a delete,
	// its last state). It must marshal to a JSON object.
	Object any
	// Before is, for an update, the resource as its GET rendered it before the change:
	// data.previous_attributes holds the old value of every top-level field that differs.
	// Nil on creates and deletes.
	Before any
	// Data holds further members of data (reason, merged_ids).
	Data map[string]any
	// Actor is who caused the change; nil takes it from the principal in the context.
	Actor *Actor
	// Audience says who reads the event in the feed.
	Audience Audience
}

// ErrNotInTx is returned when an event would be recorded outside a transaction: an event must
// commit or roll back with its change.
var ErrNotInTx = errors.New("events: Record must run inside the transaction of the change")

// Sequenced is a committed event that has just been given its feed position.
type Sequenced struct {
	OrgID    int64
	ID       int64
	Position int64
	Type     string
	Audience Audience
}

// Outbox records events and runs the sequencer.
type Outbox struct {
	db    *database.DB
	mu    sync.Mutex
	hooks []func(ctx context.Context, batch []Sequenced) error
	now   func() time.Time
}

// Option tunes an outbox.
type Option func(*Outbox)

// WithClock makes the outbox read the time from now (the age of feed cursors, retention).
func WithClock(now func() time.Time) Option { return func(o *Outbox) { o.now = now } }

// New returns the outbox over db.
func New(db *database.DB, opts ...Option) *Outbox {
	o := &Outbox{db: db, now: time.Now}
	for _, opt := range opts {
		opt(o)
	}
	return o
}

// OnSequenced registers fn to run inside the sequencer's transaction for every batch of events
// given positions: whatever fn writes commits together with the positions, so it happens once
// per event and is never lost. Register hooks while the application is built.
func (o *Outbox) OnSequenced(fn func(ctx context.Context, batch []Sequenced) error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.hooks = append(o.hooks, fn)
}

// Record writes the event of a change in the transaction carried by ctx and returns its id.
func (o *Outbox) Record(ctx context.Context, c Change) (int64, error) {
	if !database.InTx(ctx) {
		return 0, ErrNotInTx
	}
	if compiledOut {
		return 0, nil
	}
	data, err := render(c)
	if err != nil {
		return 0, err
	}
	actor := actorOf(ctx)
	if c.Actor != nil {
		actor = *c.Actor
	}
	var id int64
	err = o.db.Q(ctx).QueryRow(ctx,
		`INSERT INTO events (organization_id, type, audience, actor_type, actor_id, data)
		 VALUES ($1, $2, $3, $4, $5, $6::json) RETURNING id`,
		c.OrgID, c.Type, int16(c.Audience), actor.Type, actor.ID, string(data)).Scan(&id)
	if err != nil {
		return 0, database.MapError(fmt.Errorf("events: record %s: %w", c.Type, err))
	}
	return id, nil
}

// render builds data: {"object": {"object": kind, ...}, "previous_attributes": {...}, extras}.
func render(c Change) ([]byte, error) {
	kind, _, ok := strings.Cut(c.Type, ".")
	if !ok || kind == "" {
		return nil, fmt.Errorf("events: type %q is not <object>.<verb>", c.Type)
	}
	obj, err := json.Marshal(c.Object)
	if err != nil {
		return nil, fmt.Errorf("events: render %s: %w", c.Type, err)
	}
	obj = bytes.TrimSpace(obj)
	if len(obj) < 2 || obj[0] != '{' {
		return nil, fmt.Errorf("events: the object of %s is not a JSON object", c.Type)
	}
	var b bytes.Buffer
	b.WriteString(`{"object":{"object":`)
	kindJSON, _ := json.Marshal(kind)
	b.Write(kindJSON)
	if rest := bytes.TrimSpace(obj[1:]); len(rest) > 1 { // more than the closing brace
		b.WriteByte(',')
	}
	b.Write(obj[1:])
	if c.Before != nil {
		prev, err := previous(c.Before, obj)
		if err != nil {
			return nil, fmt.Errorf("events: render %s: %w", c.Type, err)
		}
		b.WriteString(`,"previous_attributes":`)
		b.Write(prev)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Data)) {
		if k == "object" || k == "previous_attributes" {
			return nil, fmt.Errorf("events: data member %q is reserved", k)
		}
		kj, _ := json.Marshal(k)
		vj, err := json.Marshal(c.Data[k])
		if err != nil {
			return nil, fmt.Errorf("events: render %s: %w", c.Type, err)
		}
		b.WriteByte(',')
		b.Write(kj)
		b.WriteByte(':')
		b.Write(vj)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// previous returns, as a JSON object in the field order of after, the old value of every
// top-level field of before that after does not have with the same value.
func previous(before any, after []byte) ([]byte, error) {
	bj, err := json.Marshal(before)
	if err != nil {
		return nil, err
	}
	old, oldKeys, err := fields(bj)
	if err != nil {
		return nil, err
	}
	cur, curKeys, err := fields(after)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteByte('{')
	n := 0
	emit := func(k string, v json.RawMessage) {
		if n > 0 {
			b.WriteByte(',')
		}
		kj, _ := json.Marshal(k)
		b.Write(kj)
		b.WriteByte(':')
		b.Write(v)
		n++
	}
	for _, k := range curKeys {
		if v, ok := old[k]; ok && !sameJSON(v, cur[k]) {
			emit(k, v)
		}
	}
	for _, k := range oldKeys {
		if _, ok := cur[k]; !ok {
			emit(k, old[k])
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// fields splits a JSON object into its members, keeping their order.
func fields(obj []byte) (map[string]json.RawMessage, []string, error) {
	dec := json.NewDecoder(bytes.NewReader(obj))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, fmt.Errorf("not a JSON object")
	}
	out := map[string]json.RawMessage{}
	var keys []string
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		if _, dup := out[k]; !dup {
			keys = append(keys, k)
		}
		out[k] = v
	}
	return out, keys, nil
}

func sameJSON(a, b json.RawMessage) bool {
	var ca, cb bytes.Buffer
	if json.Compact(&ca, a) != nil || json.Compact(&cb, b) != nil {
		return bytes.Equal(a, b)
	}
	return bytes.Equal(ca.Bytes(), cb.Bytes())
}

// FormatID renders an event id as the opaque string clients see.
func FormatID(id int64) string { return strconv.FormatInt(id, 10) }
