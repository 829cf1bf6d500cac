package orgs

import (
	"errors"
	"testing"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

const (
	owner   = auth.RoleOwner
	admin   = auth.RoleAdmin
	manager = auth.RoleManager
	member  = auth.RoleMember
)

// same reports whether got is the error want (or derived from it), or both are nil.
func same(got, want error) bool {
	if got == nil || want == nil {
		return got == nil && want == nil
	}
	return errors.Is(got, want)
}

// Granting the owner role and changing an owner are refused with one code and two
// sentences; the rules below tell the two apart.
func TestOwnerRoleRequiredSentences(t *testing.T) {
	t.Parallel()
	for _, e := range []*apperr.Error{errOwnerOnlyGrant, errOwnerOnlyChange} {
		if !errors.Is(e, ErrOwnerRoleRequired) || e.Code != "owner_role_required" || e.Kind != apperr.KindForbidden {
			t.Errorf("%v is not ErrOwnerRoleRequired", e)
		}
	}
	if errors.Is(errOwnerOnlyGrant, errOwnerOnlyChange) || errors.Is(errOwnerOnlyChange, errOwnerOnlyGrant) {
		t.Error("the two refusals match each other")
	}
}

func TestCheckGrant(t *testing.T) {
	t.Parallel()
	cases := []struct {
		actor, role auth.Role
		want        error
	}{
		{owner, owner, nil}, {owner, admin, nil}, {owner, member, nil},
		{admin, admin, nil}, {admin, manager, nil}, {admin, member, nil},
		{admin, owner, errOwnerOnlyGrant},
		{manager, member, auth.ErrForbidden}, {member, member, auth.ErrForbidden},
	}
	for _, c := range cases {
		if got := checkGrant(c.actor, c.role); !same(got, c.want) {
			t.Errorf("checkGrant(%s, %s) = %v, want %v", c.actor, c.role, got, c.want)
		}
	}
}

func TestCheckRoleChange(t *testing.T) {
	t.Parallel()
	cases := []struct {
		actor, current, next auth.Role
		want                 error
	}{
		{owner, owner, admin, nil},
		{owner, member, owner, nil},
		{admin, member, manager, nil},
		{admin, manager, admin, nil},
		{admin, owner, admin, errOwnerOnlyChange},
		{admin, member, owner, errOwnerOnlyGrant},
		{manager, member, manager, auth.ErrForbidden},
		{member, member, admin, auth.ErrForbidden},
	}
	for _, c := range cases {
		if got := checkRoleChange(c.actor, c.current, c.next); !same(got, c.want) {
			t.Errorf("checkRoleChange(%s, %s→%s) = %v, want %v", c.actor, c.current, c.next, got, c.want)
		}
	}
}

func TestCheckRemoval(t *testing.T) {
	t.Parallel()
	cases := []struct {
		actor  auth.Role
		self   bool
		target auth.Role
		want   error
	}{
		{member, true, member, nil},
		{owner, true, owner, nil}, // the last-owner rule is checked separately
		{owner, false, owner, nil},
		{admin, false, member, nil},
		{admin, false, owner, errOwnerOnlyChange},
		{manager, false, member, auth.ErrForbidden},
		{member, false, member, auth.ErrForbidden},
	}
	for _, c := range cases {
		if got := checkRemoval(c.actor, c.self, c.target); !same(got, c.want) {
			t.Errorf("checkRemoval(%s, self=%v, %s) = %v, want %v", c.actor, c.self, c.target, got, c.want)
		}
	}
}

func TestCheckLastOwner(t *testing.T) {
	t.Parallel()
	adminRole, ownerRole := admin, owner
	cases := []struct {
		current auth.Role
		next    *auth.Role
		owners  int
		want    error
	}{
		{owner, nil, 1, ErrLastOwner},
		{owner, &adminRole, 1, ErrLastOwner},
		{owner, &ownerRole, 1, nil},
		{owner, nil, 2, nil},
		{owner, &adminRole, 2, nil},
		{admin, nil, 1, nil},
	}
	for _, c := range cases {
		if got := checkLastOwner(c.current, c.next, c.owners); !same(got, c.want) {
			t.Errorf("checkLastOwner(%s, %v, %d) = %v, want %v", c.current, c.next, c.owners, got, c.want)
		}
	}
}
