package identity

import (
	"context"
	"errors"
	"testing"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

// An unknown email must cost a password verification just like a wrong password, so the
// response time does not tell whether an account exists.
func TestUnknownEmailCostsAHashLikeAWrongPassword(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, []migrate.Source{{Module: "identity", FS: migrations}})
	tokens := auth.NewTokens([]byte("0123456789abcdef0123456789abcdef"), "mini-crm", 60e9, 3600e9)
	m := New(db, tokens, Options{})
	svc := m.Service()
	ctx := context.Background()
	if _, err := svc.Register(ctx, "ann@example.com", "password123", "Ann"); err != nil {
		t.Fatal(err)
	}
	before := svc.hasher.compares.Load()
	_, _, errWrong := svc.Login(ctx, "1.1.1.1", "ann@example.com", "wrong-password")
	afterWrong := svc.hasher.compares.Load()
	_, _, errUnknown := svc.Login(ctx, "1.1.1.1", "nobody@example.com", "wrong-password")
	afterUnknown := svc.hasher.compares.Load()
	if !errors.Is(errWrong, ErrInvalidCredentials) || !errors.Is(errUnknown, ErrInvalidCredentials) {
		t.Fatalf("errors %v / %v", errWrong, errUnknown)
	}
	if afterWrong-before != 1 || afterUnknown-afterWrong != 1 {
		t.Fatalf("verifications: wrong password %d, unknown email %d; want 1 each", afterWrong-before, afterUnknown-afterWrong)
	}
}
