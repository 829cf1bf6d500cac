package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/auth"
)

// RequireOwnership refuses with ErrNotOwner and the caller's sentence.
func TestRequireOwnershipIsNotOwner(t *testing.T) {
	t.Parallel()
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{UserID: 5, OrgID: 1, Role: auth.RoleMember})
	_, err := auth.RequireOwnership(ctx, 6, "members can change only their own notes")
	ae, ok := apperr.As(err)
	if !errors.Is(err, auth.ErrNotOwner) || !ok || ae.Code != "not_owner" || ae.Detail != "members can change only their own notes" {
		t.Fatalf("error = %v", err)
	}
}
