package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mini-crm/crm/platform/auth"
)

func TestRoleHelpers(t *testing.T) {
	t.Parallel()
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{UserID: 5, OrgID: 1, Role: auth.RoleMember})
	if _, err := auth.RequireRole(ctx, auth.RoleOwner, auth.RoleAdmin); !errors.Is(err, auth.ErrForbidden) {
		t.Fatalf("member passed an owner/admin check: %v", err)
	}
	if _, err := auth.RequireOwnership(ctx, 5, "x"); err != nil {
		t.Fatalf("member denied own record: %v", err)
	}
	if _, err := auth.RequireOwnership(ctx, 6, "x"); !errors.Is(err, auth.ErrNotOwner) {
		t.Fatalf("member allowed on another's record: %v", err)
	}
	mgr := auth.WithPrincipal(context.Background(), auth.Principal{UserID: 5, OrgID: 1, Role: auth.RoleManager})
	if _, err := auth.RequireOwnership(mgr, 6, "x"); err != nil {
		t.Fatalf("manager denied: %v", err)
	}
	if _, err := auth.Caller(context.Background()); !errors.Is(err, auth.ErrNoPrincipal) {
		t.Fatalf("no principal: %v", err)
	}
	for r, want := range map[auth.Role][3]bool{
		auth.RoleOwner: {true, true, true}, auth.RoleAdmin: {true, true, true},
		auth.RoleManager: {false, true, false}, auth.RoleMember: {false, false, false},
	} {
		if got := [3]bool{r.CanManageOrganization(), r.CanActOnOthers(), r.CanRollBackStage()}; got != want {
			t.Errorf("%s: %v, want %v", r, got, want)
		}
	}
}
