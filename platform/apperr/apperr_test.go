package apperr_test

import (
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/apperr"
)

// Two sentinels are two errors, even with the same kind and code.
func TestSentinelsMatchByIdentity(t *testing.T) {
	t.Parallel()
	a := apperr.Forbidden("same_code", "one thing")
	b := apperr.Forbidden("same_code", "another thing")
	if !errors.Is(a, a) || !errors.Is(b, b) {
		t.Fatal("a sentinel does not match itself")
	}
	if errors.Is(a, b) || errors.Is(b, a) {
		t.Fatal("two sentinels with the same kind and code match each other")
	}
	if errors.Is(fmt.Errorf("op: %w", a), b) {
		t.Fatal("a wrapped sentinel matches another sentinel with its code")
	}
}

// Every derivation keeps its sentinel, through any depth and any wrapping, and keeps kind
// and code for the web layer.
func TestDerivedErrorsMatchTheirSentinel(t *testing.T) {
	t.Parallel()
	base := apperr.Conflict("base", "the base sentence")
	other := apperr.Conflict("base", "the base sentence")
	derived := map[string]*apperr.Error{
		"WithDetail":       base.WithDetail("another sentence"),
		"Wrap":             base.Wrap(io.EOF),
		"After":            base.After(time.Second),
		"chained":          base.WithDetail("x").Wrap(io.EOF).After(time.Minute),
		"detail of a wrap": base.Wrap(io.ErrUnexpectedEOF).WithDetail("y"),
	}
	for name, d := range derived {
		for _, err := range []error{d, fmt.Errorf("outer: %w", d)} {
			if !errors.Is(err, base) {
				t.Errorf("%s: %v does not match its sentinel", name, err)
			}
			if errors.Is(err, other) {
				t.Errorf("%s: %v matches another sentinel with the same code", name, err)
			}
			if errors.Is(base, d) {
				t.Errorf("%s: the sentinel matches an error derived from it", name)
			}
			ae, ok := apperr.As(err)
			if !ok || ae.Kind != apperr.KindConflict || ae.Code != "base" || apperr.KindOf(err) != apperr.KindConflict {
				t.Errorf("%s: As/KindOf = %v %v %v", name, ae, ok, apperr.KindOf(err))
			}
		}
	}
	if !errors.Is(derived["Wrap"], io.EOF) {
		t.Error("Wrap lost its cause")
	}
}

// A derived error is a sentinel of its own for what is derived from it, and copies derived
// from the same sentinel stay apart.
func TestDerivationIsATree(t *testing.T) {
	t.Parallel()
	base := apperr.Forbidden("not_yours", "generic")
	deals := base.WithDetail("deals")
	contacts := base.WithDetail("contacts")
	if errors.Is(deals, contacts) || errors.Is(contacts, deals) {
		t.Fatal("siblings derived from one sentinel match each other")
	}
	leaf := deals.Wrap(io.EOF)
	if !errors.Is(leaf, deals) || !errors.Is(leaf, base) || errors.Is(leaf, contacts) {
		t.Fatalf("leaf: is deals %v, is base %v, is contacts %v",
			errors.Is(leaf, deals), errors.Is(leaf, base), errors.Is(leaf, contacts))
	}
	if deals.Detail != "deals" || base.Detail != "generic" {
		t.Fatal("a derivation changed the error it came from")
	}
}

func TestIsRefusesOtherTargets(t *testing.T) {
	t.Parallel()
	e := apperr.NotFound("x", "y")
	var typedNil *apperr.Error
	for _, target := range []error{nil, typedNil, errors.New("x: y"), fmt.Errorf("w: %w", e)} {
		if e.Is(target) {
			t.Errorf("Is(%#v) = true", target)
		}
	}
}

// A nil *Error carried as an error is no application error: As reports none and KindOf
// falls back to internal instead of dereferencing it.
func TestAsIgnoresANilError(t *testing.T) {
	t.Parallel()
	var typedNil *apperr.Error
	for _, err := range []error{typedNil, fmt.Errorf("op: %w", typedNil)} {
		if ae, ok := apperr.As(err); ok || ae != nil {
			t.Errorf("As(%v) = %v, %v", err, ae, ok)
		}
		if k := apperr.KindOf(err); k != apperr.KindInternal {
			t.Errorf("KindOf(%v) = %v", err, k)
		}
	}
}
