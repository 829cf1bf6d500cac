package contacts

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mini-crm/crm/modules/contacts/contactsapi"
	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth/authtest"
	"github.com/mini-crm/crm/platform/patch"
	"github.com/mini-crm/crm/platform/web"
)

func TestValidPhone(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"+1 (555) 123-4567", true},
		{"5551234", true},
		{"0", true},
		{strings.Repeat("1", 32), true},
		{strings.Repeat("1", 33), false},
		{"", false},
		{"   ", false},
		{"+-()", false},
		{"555-CALL", false},
		{"555.1234", false},
		{"+1 555 123 4567 ext 2", false},
		{"٣٣٣", false},
	} {
		if got := validPhone(tt.in); got != tt.ok {
			t.Errorf("validPhone(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

// The module applies the shared ownership policy (tested in platform/auth) with errors that
// name its records; the HTTP tests prove each role against the real routes.
func TestPermissionRules(t *testing.T) {
	t.Parallel()
	authtest.CheckOwnership(t, ownership, "contacts")
}

func TestHasDeals(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		n    int64
		want string
	}{
		{1, "1 deal references it"},
		{3, "3 deals reference it"},
	} {
		err := hasDeals(tt.n)
		ae, _ := apperr.As(err)
		if !errors.Is(err, contactsapi.ErrContactHasDeals) || ae.Kind != apperr.KindConflict || !strings.Contains(ae.Detail, tt.want) {
			t.Errorf("hasDeals(%d) = %v", tt.n, err)
		}
	}
}

func TestLikePattern(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"smith":  "%smith%",
		"50%":    `%50\%%`,
		"a_b":    `%a\_b%`,
		`back\s`: `%back\\s%`,
	} {
		if got := likePattern(in); got != want {
			t.Errorf("likePattern(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestValidTag(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{"vip", true},
		{"  VIP  ", true}, // surrounding white space does not count
		{"x", true},
		{strings.Repeat("t", 50), true},
		{" " + strings.Repeat("t", 50) + " ", true},
		{strings.Repeat("t", 51), false},
		{strings.Repeat("é", 50), true}, // characters, not bytes
		{strings.Repeat("é", 51), false},
		{"", false},
		{"   ", false},
		{"\t\n", false},
	} {
		if got := validTag(tt.in); got != tt.ok {
			t.Errorf("validTag(%q) = %v, want %v", tt.in, got, tt.ok)
		}
	}
}

// Tags are stored trimmed, in lower case and without repeats, in the order they first appear.
func TestNormalizeTags(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		in, want []string
	}{
		{nil, []string{}},
		{[]string{}, []string{}},
		{[]string{" VIP ", "Lead", "vip", "LEAD", "partner"}, []string{"vip", "lead", "partner"}},
		{[]string{"b", "a", "B"}, []string{"b", "a"}},
		{[]string{"Ärger", "ärger"}, []string{"ärger"}},
		{[]string{"trade show 2026"}, []string{"trade show 2026"}},
	} {
		got := normalizeTags(tt.in)
		if got == nil || !slices.Equal(got, tt.want) {
			t.Errorf("normalizeTags(%q) = %#v, want %q", tt.in, got, tt.want)
		}
	}
}

func TestChanges(t *testing.T) {
	t.Parallel()
	email, phone, company, notes := "a@b.co", "123", "Acme", "Met at the fair"
	cur := contactRow{OwnerID: 1, Name: "Ann", Email: &email, Phone: &phone, Company: &company, Notes: &notes, Tags: []string{"vip", "lead"}}
	tests := []struct {
		name  string
		patch Patch
		want  []string
	}{
		{"empty patch", Patch{}, nil},
		{"same values", Patch{OwnerID: new(int64(1)), Name: new("Ann"), Email: patch.Some(email), Phone: patch.Some(phone),
			Company: patch.Some(company), JobTitle: patch.Null[string](), Notes: patch.Some(notes), Tags: patch.Some([]string{"vip", "lead"})}, nil},
		{"same tags once normalized", Patch{Tags: patch.Some([]string{" VIP", "lead", "Lead"})}, nil},
		{"tags in another order", Patch{Tags: patch.Some([]string{"lead", "vip"})}, []string{"tags"}},
		{"null tags clear them", Patch{Tags: patch.Null[[]string]()}, []string{"tags"}},
		{"new company", Patch{Company: patch.Some("Globex")}, []string{"company"}},
		{"clear notes, set job title", Patch{Notes: patch.Null[string](), JobTitle: patch.Some("CTO")}, []string{"notes", "job_title"}},
		{"rename", Patch{Name: new("Bea")}, []string{"name"}},
		{"clear email", Patch{Email: patch.Null[string]()}, []string{"email"}},
		{"new phone", Patch{Phone: patch.Some("456")}, []string{"phone"}},
		{"new owner", Patch{OwnerID: new(int64(2))}, []string{"owner_id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := changes(cur, tt.patch)
			if len(got) != len(tt.want) {
				t.Fatalf("changes = %v, want %v", got, tt.want)
			}
			for _, k := range tt.want {
				if _, ok := got[k]; !ok {
					t.Fatalf("changes = %v, want %v", got, tt.want)
				}
			}
		})
	}
	if v := changes(cur, Patch{Email: patch.Null[string]()})["email"].(*string); v != nil {
		t.Fatalf("cleared email is written as %v", *v)
	}
	noEmail := contactRow{Name: "Ann"}
	if got := changes(noEmail, Patch{Email: patch.Null[string]()}); len(got) != 0 {
		t.Fatalf("clearing an absent email changes %v", got)
	}
	if got := changes(cur, Patch{Tags: patch.Null[[]string]()})["tags"].([]string); got == nil || len(got) != 0 {
		t.Fatalf("cleared tags are written as %#v, want an empty list", got)
	}
	if got := changes(noEmail, Patch{Tags: patch.Some([]string{})}); len(got) != 0 {
		t.Fatalf("clearing absent tags changes %v", got)
	}
}

// The update body must tell an absent field from a null one: absent keeps, null clears.
func TestUpdateRequestAbsentVersusNull(t *testing.T) {
	t.Parallel()
	var req updateRequest
	if err := web.Decode([]byte(`{"email": null, "phone": "123"}`), &req); err != nil {
		t.Fatal(err)
	}
	if req.Name.Set || !req.Email.Set || !req.Email.Null || !req.Phone.HasValue() || req.Phone.Value != "123" || req.OwnerID.Set {
		t.Fatalf("decoded %+v", req)
	}
	err := web.Decode([]byte(`{"owner_id": "x"}`), &req)
	if ae, ok := apperr.As(err); !ok || len(ae.Fields) != 1 || ae.Fields[0].Field != "owner_id" {
		t.Fatalf("type error: %v", err)
	}
}
