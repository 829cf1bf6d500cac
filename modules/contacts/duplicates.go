package contacts

import (
	"context"
	"fmt"

	sq "github.com/Masterminds/squirrel"
	"github.com/gofiber/fiber/v2"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/listing"
	"github.com/mini-crm/crm/platform/web"
)

// Reasons two contacts are duplicates, in the order the list shows their groups.
const (
	ReasonEmail = "email"
	ReasonPhone = "phone"
)

// MinPhoneDigits is the fewest digits a phone number needs to make duplicates: shorter ones
// (an extension, a typo) match too much by chance.
const MinPhoneDigits = 7

// MaxGroupContacts bounds the contacts one group of duplicates shows (those with the lowest
// ids); count says how many share the value.
const MaxGroupContacts = 50

// DuplicateGroup is a set of contacts sharing an email (trimmed, lower case) or the digits of
// a phone number.
type DuplicateGroup struct {
	Reason   string // ReasonEmail or ReasonPhone
	Value    string // the normalized email or the digits
	Count    int64  // how many contacts share it
	Contacts []contactsapi.Contact
}

// duplicateOrder is the order of the list of duplicates: emails before phones, each by value.
// It names the list in cursors; the groups are read by duplicates below, not by Paginate.
var duplicateOrder = database.Order{Key: "contacts:duplicates", Cols: []database.KeyCol{
	{Expr: "reason", Type: "text"}, {Expr: "value", Type: "text"}}}

// duplicateKeys are, per reason, the normalized value of a contact and the condition that a
// contact has one: both are those of the expression indexes contacts_email_key_idx and
// contacts_phone_digits_idx, so that each GROUP BY walks its index in order and stops as soon
// as the page is full.
var duplicateKeys = []struct{ reason, key, has string }{
	{ReasonEmail, "contacts_email_key(email)", "email IS NOT NULL"},
	{ReasonPhone, "contacts_phone_digits(phone)", fmt.Sprintf("length(contacts_phone_digits(phone)) >= %d", MinPhoneDigits)},
}

type groupRow struct {
	Reason string  `db:"reason"`
	Value  string  `db:"value"`
	Count  int64   `db:"n"`
	IDs    []int64 `db:"ids"`
}

// duplicates reads one window of the organization's groups of duplicates. Each reason's groups
// come from a GROUP BY over its index, after the cursor's value when the cursor is in that
// reason, limited to what the window can show; the count walks both indexes whole.
func (s store) duplicates(ctx context.Context, orgID int64, w listing.Window) (listing.Result[groupRow], error) {
	var res listing.Result[groupRow]
	cursors := database.CursorsFrom(ctx)
	var after []string
	if w.Cursor != "" {
		v, err := cursors.Decode(w.Cursor, duplicateOrder)
		if err != nil {
			return res, err
		}
		after = v
	}
	limit := w.Limit + 1
	if after == nil {
		limit += w.Offset
	}
	var parts []sq.SelectBuilder
	for _, k := range duplicateKeys {
		q := database.SQL.Select(fmt.Sprintf("'%s' AS reason", k.reason), k.key+" AS value", "count(*) AS n",
			fmt.Sprintf("(array_agg(id ORDER BY id))[1:%d] AS ids", MaxGroupContacts)).
			From("contacts").Where(sq.Eq{"organization_id": orgID}).Where(k.has)
		if after != nil {
			if after[0] > k.reason {
				continue // the cursor is past this reason's groups
			}
			if after[0] == k.reason {
				q = q.Where(sq.Expr(k.key+" > ?", after[1]))
			}
		}
		parts = append(parts, q.GroupBy(k.key).Having("count(*) > 1").OrderBy(k.key).Limit(limit))
	}
	var rows []groupRow
	for _, q := range parts {
		got, err := database.Select[groupRow](ctx, s.db.Q(ctx), q)
		if err != nil {
			return res, fmt.Errorf("duplicates: %w", err)
		}
		rows = append(rows, got...)
	}
	if after == nil {
		rows = rows[min(uint64(len(rows)), w.Offset):]
	}
	if uint64(len(rows)) > w.Limit {
		rows = rows[:w.Limit]
		last := rows[len(rows)-1]
		next := cursors.Encode(duplicateOrder, []string{last.Reason, last.Value})
		res.NextCursor = &next
	}
	res.Items = rows
	if w.Count {
		var total int64
		for _, k := range duplicateKeys {
			n, err := database.Scalar[int64](ctx, s.db.Q(ctx), database.SQL.Select("count(*)").FromSelect(
				database.SQL.Select("1").From("contacts").Where(sq.Eq{"organization_id": orgID}).Where(k.has).
					GroupBy(k.key).Having("count(*) > 1"), "g"))
			if err != nil {
				return res, fmt.Errorf("count duplicates: %w", err)
			}
			total += n
		}
		res.Total = &total
	}
	return res, nil
}

// byIDs returns the organization's contacts with the ids, in no particular order.
func (s store) byIDs(ctx context.Context, orgID int64, ids []int64) ([]contactRow, error) {
	rows, err := database.Select[contactRow](ctx, s.db.Q(ctx), database.SQL.Select(contactCols...).From("contacts").
		Where(sq.Eq{"organization_id": orgID}).Where(sq.Expr("id = ANY(?::bigint[])", ids)))
	if err != nil {
		return nil, fmt.Errorf("contacts by id: %w", err)
	}
	return rows, nil
}

// Duplicates lists the organization's groups of contacts sharing an email or a phone number:
// emails first, then phones, each in the order of its value. A contact with both shared is in
// two groups. Every role may read it.
func (s *Service) Duplicates(ctx context.Context, w listing.Window) (listing.Result[DuplicateGroup], error) {
	p, err := auth.TenantCaller(ctx)
	if err != nil {
		return listing.Result[DuplicateGroup]{}, err
	}
	groups, err := s.store.duplicates(ctx, p.OrgID, w)
	if err != nil {
		return listing.Result[DuplicateGroup]{}, err
	}
	var ids []int64
	for _, g := range groups.Items {
		ids = append(ids, g.IDs...)
	}
	byID := map[int64]contactsapi.Contact{}
	if len(ids) > 0 {
		rows, err := s.store.byIDs(ctx, p.OrgID, ids)
		if err != nil {
			return listing.Result[DuplicateGroup]{}, err
		}
		for _, r := range rows {
			byID[r.ID] = r.contact()
		}
	}
	// The contacts are read by a second statement: one deleted in between is left out.
	return database.MapResult(groups, func(g groupRow) DuplicateGroup {
		d := DuplicateGroup{Reason: g.Reason, Value: g.Value, Count: g.Count, Contacts: make([]contactsapi.Contact, 0, len(g.IDs))}
		for _, id := range g.IDs {
			if c, ok := byID[id]; ok {
				d.Contacts = append(d.Contacts, c)
			}
		}
		return d
	}), nil
}

// duplicateJSON is a group of GET /contacts/duplicates.
type duplicateJSON struct {
	Reason   string        `json:"reason"`
	Value    string        `json:"value"`
	Count    int64         `json:"count"`
	Contacts []contactJSON `json:"contacts"`
}

func duplicateToJSON(g DuplicateGroup) duplicateJSON {
	out := duplicateJSON{Reason: g.Reason, Value: g.Value, Count: g.Count, Contacts: make([]contactJSON, len(g.Contacts))}
	for i, c := range g.Contacts {
		out.Contacts[i] = toJSON(c)
	}
	return out
}

func (h handler) duplicates(c *fiber.Ctx) error {
	page, err := web.PageFrom(c)
	if err != nil {
		return err
	}
	res, err := h.svc.Duplicates(c.UserContext(), page.Window())
	if err != nil {
		return err
	}
	return c.JSON(web.ListOf(res, page, duplicateToJSON))
}
