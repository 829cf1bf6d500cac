package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

// The policy for owned records, for every role: members act only on their own records and
// cannot filter by owner; owners, admins and managers may do all of it.
func TestOwnershipPolicy(t *testing.T) {
	t.Parallel()
	const self, other = 10, 20
	o := auth.NewOwnership("deals")
	for _, role := range auth.Roles {
		p := auth.Principal{UserID: self, OrgID: 1, Role: role}
		privileged := role != auth.RoleMember
		ownerFilter := int64(self)
		tests := []struct {
			name    string
			err     error
			allowed bool
			want    error
		}{
			{"create as self", o.CheckCreate(p, self), true, nil},
			{"create for other", o.CheckCreate(p, other), privileged, o.ErrCreateForOther},
			{"modify own", o.CheckModify(p, self), true, nil},
			{"modify other's", o.CheckModify(p, other), privileged, o.ErrNotOwner},
			{"keep owner", o.CheckReassign(p, self, self), true, nil},
			{"give away", o.CheckReassign(p, self, other), privileged, o.ErrReassign},
			{"take over", o.CheckReassign(p, other, self), privileged, o.ErrReassign},
			{"list", auth.CheckOwnerFilter(role, nil), true, nil},
			{"list by owner", auth.CheckOwnerFilter(role, &ownerFilter), privileged, auth.ErrOwnerFilterForbidden},
		}
		for _, tt := range tests {
			t.Run(string(role)+"/"+tt.name, func(t *testing.T) {
				if tt.allowed {
					if tt.err != nil {
						t.Fatalf("refused: %v", tt.err)
					}
					return
				}
				if !errors.Is(tt.err, tt.want) || apperr.KindOf(tt.err) != apperr.KindForbidden {
					t.Fatalf("error = %v, want 403 %v", tt.err, tt.want)
				}
				for _, other := range refusals {
					if errors.Is(tt.err, other) && !errors.Is(tt.want, other) {
						t.Fatalf("error = %v, also matches %v", tt.err, other)
					}
				}
			})
		}
	}
	for _, e := range []*apperr.Error{o.ErrNotOwner, o.ErrCreateForOther, o.ErrReassign} {
		if !strings.Contains(e.Detail, "deals") {
			t.Errorf("%q does not name the records", e.Detail)
		}
	}
}

// Every refusal of a policy is the shared error of the platform, with a sentence of its own:
// clients see one code per refusal, and a policy's refusals stay apart from another's.
func TestOwnershipErrorsDeriveFromThePolicy(t *testing.T) {
	t.Parallel()
	deals, contacts := auth.NewOwnership("deals"), auth.NewOwnership("contacts")
	for _, c := range []struct {
		deals, contacts, shared *apperr.Error
		code                    string
	}{
		{deals.ErrNotOwner, contacts.ErrNotOwner, auth.ErrNotOwner, "not_owner"},
		{deals.ErrCreateForOther, contacts.ErrCreateForOther, auth.ErrCreateForOther, "create_for_other_forbidden"},
		{deals.ErrReassign, contacts.ErrReassign, auth.ErrReassignForbidden, "reassign_forbidden"},
	} {
		if !errors.Is(c.deals, c.shared) || !errors.Is(c.contacts, c.shared) {
			t.Errorf("%s: the policy's errors do not match the shared one", c.code)
		}
		if errors.Is(c.deals, c.contacts) || errors.Is(c.contacts, c.deals) {
			t.Errorf("%s: the errors of two policies match each other", c.code)
		}
		if c.shared.Code != c.code || c.deals.Code != c.code || c.contacts.Code != c.code {
			t.Errorf("codes %q %q %q, want %q", c.shared.Code, c.deals.Code, c.contacts.Code, c.code)
		}
	}
	for i, a := range refusals {
		for j, b := range refusals {
			if (i == j) != errors.Is(a, b) {
				t.Errorf("errors.Is(%v, %v) = %v", a, b, errors.Is(a, b))
			}
		}
	}
}

// A policy that leaves an error unset refuses with the shared error, never with a nil
// *apperr.Error inside a non-nil error, and allows with a nil error.
func TestPartialOwnershipRefusesWithTheSharedErrors(t *testing.T) {
	t.Parallel()
	var o auth.Ownership
	member := auth.Principal{UserID: 1, OrgID: 1, Role: auth.RoleMember}
	for _, c := range []struct {
		name string
		err  error
		want *apperr.Error
	}{
		{"create", o.CheckCreate(member, 2), auth.ErrCreateForOther},
		{"modify", o.CheckModify(member, 2), auth.ErrNotOwner},
		{"reassign", o.CheckReassign(member, 1, 2), auth.ErrReassignForbidden},
	} {
		if ae, ok := apperr.As(c.err); !ok || ae != c.want {
			t.Errorf("%s: error %#v, want %v", c.name, c.err, c.want)
		}
	}
	for name, err := range map[string]error{
		"create": o.CheckCreate(member, 1), "modify": o.CheckModify(member, 1), "reassign": o.CheckReassign(member, 2, 2),
	} {
		if err != nil {
			t.Errorf("%s allowed: error %#v, want nil", name, err)
		}
	}
}

// refusals are the shared errors of the ownership policy.
var refusals = []error{auth.ErrNotOwner, auth.ErrCreateForOther, auth.ErrReassignForbidden, auth.ErrOwnerFilterForbidden}
