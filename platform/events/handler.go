package events

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/web"
)

// Feed page sizes.
const (
	DefaultFeedPageSize = 100
	MaxFeedPageSize     = 1000
)

// ErrCursorExpired is the answer to a cursor older than the events kept: following it could
// silently skip events that were removed, so the reader must start again (since=now, or from
// the oldest kept event without a cursor).
var ErrCursorExpired = apperr.New(apperr.KindGone, "cursor_expired",
	"this cursor is older than the events kept; start again without a cursor or with since=now")

// feedOrder names the feed's cursors: the position of the last event read and how far the
// reader is in time (the occurrence of that event, or the moment it caught up with the head),
// which is what tells an expired cursor.
var feedOrder = database.Order{Key: "events", Cols: []database.KeyCol{{Expr: "position", Type: "bigint"}, {Expr: "at", Type: "timestamptz"}}}

// FeedPage is the answer of GET /events: no page number or total, and a next_cursor that is
// never null, so a client polls from wherever it is.
type FeedPage struct {
	Items      []Event `json:"items"`
	NextCursor string  `json:"next_cursor"`
	HasMore    bool    `json:"has_more"`
}

// Mount adds GET /events to the tenant routes; events older than retention are gone.
func (o *Outbox) Mount(r web.Routes, retention time.Duration) {
	r.Tenant.Query("cursor", "since", "type", "page_size").Get("/events", func(c *fiber.Ctx) error { return o.feed(c, retention) })
}

func (o *Outbox) feed(c *fiber.Ctx, retention time.Duration) error {
	ctx := c.UserContext()
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return err
	}
	q := Query{OrgID: p.OrgID, Managers: p.Role.CanManageOrganization(), Limit: DefaultFeedPageSize}
	var fields []apperr.FieldError
	if v := c.Query("page_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxFeedPageSize {
			fields = append(fields, apperr.FieldError{Field: "page_size", Message: "must be an integer from 1 to 1000"})
		} else {
			q.Limit = n
		}
	}
	var unknown []string
	for _, raw := range c.Context().QueryArgs().PeekMulti("type") {
		for t := range strings.SplitSeq(string(raw), ",") {
			switch {
			case KnownType(t):
				if !slices.Contains(q.Types, t) {
					q.Types = append(q.Types, t)
				}
			default:
				unknown = append(unknown, t)
			}
		}
	}
	if len(unknown) > 0 {
		fields = append(fields, apperr.FieldError{Field: "type", Message: "names an unknown event type: " + strings.Join(unknown, ", ")})
	}
	cursor, since := c.Query("cursor"), c.Query("since")
	switch {
	case cursor != "" && since != "":
		fields = append(fields, apperr.FieldError{Field: "since", Message: "cannot be combined with cursor"})
	case since != "" && since != "now":
		fields = append(fields, apperr.FieldError{Field: "since", Message: "must be now"})
	}
	if len(fields) > 0 {
		return apperr.Invalid("invalid_query", fields[0].Field+" "+fields[0].Message, fields...)
	}
	cursors := database.CursorsFrom(ctx)
	now := o.now()
	switch {
	case cursor != "":
		if len(cursor) > web.MaxCursorLength {
			return database.ErrInvalidCursor
		}
		v, err := cursors.Decode(cursor, feedOrder)
		if err != nil {
			return err
		}
		after, err := strconv.ParseInt(v[0], 10, 64)
		if err != nil || after < 0 {
			return database.ErrInvalidCursor
		}
		at, err := time.Parse(time.RFC3339Nano, v[1])
		if err != nil {
			return database.ErrInvalidCursor
		}
		if at.Before(now.Add(-retention)) {
			return ErrCursorExpired
		}
		q.After = after
	case since == "now":
		head, err := o.Head(ctx, p.OrgID)
		if err != nil {
			return err
		}
		return c.JSON(FeedPage{Items: []Event{}, NextCursor: encodeFeed(cursors, head, now)})
	}
	items, err := o.Page(ctx, q)
	if err != nil {
		return err
	}
	page := FeedPage{Items: items, HasMore: len(items) > q.Limit}
	last, at := q.After, now
	if page.HasMore {
		page.Items = items[:q.Limit]
		// The reader is behind: its cursor ages with the events it has not read yet.
		at = page.Items[q.Limit-1].OccurredAt
	}
	if n := len(page.Items); n > 0 {
		last = page.Items[n-1].position
	}
	if page.Items == nil {
		page.Items = []Event{}
	}
	page.NextCursor = encodeFeed(cursors, last, at)
	return c.JSON(page)
}

// FeedCursor is the cursor GET /events hands a reader that has read up to the event at
// position and is as far as at in time (that event's occurrence, or when it caught up with
// the head), signed by c: for tools that start a reader at a known place, as the benchmark
// does in the middle of a large feed.
func FeedCursor(c database.Cursors, position int64, at time.Time) string {
	return encodeFeed(c, position, at)
}

func encodeFeed(c database.Cursors, position int64, at time.Time) string {
	return c.Encode(feedOrder, []string{strconv.FormatInt(position, 10), database.TimeKey(at.Truncate(time.Microsecond))})
}
