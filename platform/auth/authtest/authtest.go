// Package authtest holds checks that modules' tests share about platform/auth.
package authtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

// CheckOwnership proves a module's ownership policy for a member acting on another user's
// records: each refusal is a 403 that matches its own error and the shared one it derives
// from, matches none of the others, and names the module's records (plural) in its sentence.
func CheckOwnership(t *testing.T, o auth.Ownership, plural string) {
	t.Helper()
	p := auth.Principal{UserID: 10, OrgID: 1, Role: auth.RoleMember}
	cases := []struct {
		err          error
		want, shared error
	}{
		{o.CheckCreate(p, 20), o.ErrCreateForOther, auth.ErrCreateForOther},
		{o.CheckModify(p, 20), o.ErrNotOwner, auth.ErrNotOwner},
		{o.CheckReassign(p, 10, 20), o.ErrReassign, auth.ErrReassignForbidden},
		{auth.CheckOwnerFilter(p.Role, &p.UserID), auth.ErrOwnerFilterForbidden, auth.ErrOwnerFilterForbidden},
	}
	for i, c := range cases {
		if !errors.Is(c.err, c.want) || !errors.Is(c.err, c.shared) || apperr.KindOf(c.err) != apperr.KindForbidden {
			t.Errorf("error = %v, want 403 %v (from %v)", c.err, c.want, c.shared)
		}
		for j, other := range cases {
			if j != i && errors.Is(c.err, other.shared) {
				t.Errorf("error = %v also matches %v", c.err, other.shared)
			}
		}
	}
	for _, e := range []*apperr.Error{o.ErrNotOwner, o.ErrCreateForOther, o.ErrReassign} {
		if !strings.Contains(e.Detail, plural) {
			t.Errorf("%q does not name %s", e.Detail, plural)
		}
	}
}
