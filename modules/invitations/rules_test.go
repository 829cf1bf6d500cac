package invitations

import (
	"errors"
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/auth"
)

func TestCheckInvite(t *testing.T) {
	for _, tt := range []struct {
		actor, role auth.Role
		ok          bool
	}{
		{auth.RoleOwner, auth.RoleOwner, true},
		{auth.RoleOwner, auth.RoleMember, true},
		{auth.RoleAdmin, auth.RoleAdmin, true},
		{auth.RoleAdmin, auth.RoleManager, true},
		{auth.RoleAdmin, auth.RoleOwner, false},
		{auth.RoleManager, auth.RoleMember, false},
		{auth.RoleMember, auth.RoleMember, false},
	} {
		err := checkInvite(tt.actor, tt.role)
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, auth.ErrForbidden)) {
			t.Errorf("checkInvite(%s, %s) = %v, want ok %v", tt.actor, tt.role, err, tt.ok)
		}
	}
}

func TestGrantedRoleIsNeverAboveTheInviter(t *testing.T) {
	for _, tt := range []struct {
		invited, inviter auth.Role
		want             auth.Role
		ok               bool
	}{
		{auth.RoleOwner, auth.RoleOwner, auth.RoleOwner, true},
		{auth.RoleOwner, auth.RoleAdmin, auth.RoleAdmin, true},
		{auth.RoleMember, auth.RoleAdmin, auth.RoleMember, true},
		{auth.RoleAdmin, auth.RoleOwner, auth.RoleAdmin, true},
		{auth.RoleMember, auth.RoleManager, "", false},
		{auth.RoleMember, auth.RoleMember, "", false},
		{auth.RoleMember, "", "", false},
	} {
		got, ok := grantedRole(tt.invited, tt.inviter)
		if got != tt.want || ok != tt.ok {
			t.Errorf("grantedRole(%s, %s) = %s %v, want %s %v", tt.invited, tt.inviter, got, ok, tt.want, tt.ok)
		}
	}
}

func TestStatus(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	at := now.Add(-time.Hour)
	for _, tt := range []struct {
		accepted, revoked *time.Time
		expires           time.Time
		want              string
	}{
		{nil, nil, now.Add(time.Second), StatusPending},
		{nil, nil, now, StatusExpired},
		{&at, nil, now.Add(-time.Minute), StatusAccepted},
		{nil, &at, now.Add(time.Hour), StatusRevoked},
	} {
		if got := status(tt.accepted, tt.revoked, tt.expires, now); got != tt.want {
			t.Errorf("status = %s, want %s", got, tt.want)
		}
	}
}

func TestTokens(t *testing.T) {
	a, b := newToken(), newToken()
	if a == b || !wellFormed(a) || len(a) != tokenLength {
		t.Fatalf("tokens %q %q", a, b)
	}
	for _, bad := range []string{"", "inv_", "crm_" + a[4:], a + "x", a[:len(a)-1] + "!"} {
		if wellFormed(bad) {
			t.Errorf("wellFormed(%q)", bad)
		}
	}
	if len(hashOf(a)) != 32 {
		t.Fatal("hash length")
	}
}
