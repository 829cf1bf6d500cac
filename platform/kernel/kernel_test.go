package kernel_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mini-crm/crm/platform/kernel"
)

type Greeter interface{ Greet() string }

type greeter struct{}

func (greeter) Greet() string { return "hi" }

type fakeModule struct {
	name    string
	provide func(k *kernel.Kernel) error
	init    func(k *kernel.Kernel) error
}

func (m fakeModule) Name() string { return m.name }
func (m fakeModule) Provide(k *kernel.Kernel) error {
	if m.provide == nil {
		return nil
	}
	return m.provide(k)
}
func (m fakeModule) Init(k *kernel.Kernel) error {
	if m.init == nil {
		return nil
	}
	return m.init(k)
}

func TestResolveFindsFacadeProvidedByModuleListedLater(t *testing.T) {
	t.Parallel()
	var got Greeter
	consumer := fakeModule{name: "consumer", init: func(k *kernel.Kernel) (err error) {
		got, err = kernel.Resolve[Greeter](k)
		return err
	}}
	provider := fakeModule{name: "provider", provide: func(k *kernel.Kernel) error {
		return kernel.Provide[Greeter](k, greeter{})
	}}
	if err := kernel.New().Boot(consumer, provider); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Greet() != "hi" {
		t.Fatalf("resolved %v", got)
	}
}

func TestBootFailsClearlyOnMissingFacade(t *testing.T) {
	t.Parallel()
	consumer := fakeModule{name: "deals", init: func(k *kernel.Kernel) error {
		_, err := kernel.Resolve[Greeter](k)
		return err
	}}
	err := kernel.New().Boot(consumer)
	if err == nil {
		t.Fatal("boot succeeded without a provider")
	}
	for _, want := range []string{"deals", "kernel_test.Greeter", "no module provides"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestProvideTwiceFails(t *testing.T) {
	t.Parallel()
	p := func(name string) fakeModule {
		return fakeModule{name: name, provide: func(k *kernel.Kernel) error { return kernel.Provide[Greeter](k, greeter{}) }}
	}
	err := kernel.New().Boot(p("a"), p("b"))
	if err == nil || !strings.Contains(err.Error(), `already provided by module "a"`) {
		t.Fatalf("err = %v", err)
	}
}

func TestDuplicateModuleAndInitErrorsStopBoot(t *testing.T) {
	t.Parallel()
	if err := kernel.New().Boot(fakeModule{name: "x"}, fakeModule{name: "x"}); err == nil {
		t.Fatal("duplicate module accepted")
	}
	boom := errors.New("boom")
	err := kernel.New().Boot(fakeModule{name: "x", init: func(*kernel.Kernel) error { return boom }})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}
}

type orgChanged struct{ OrgID int64 }

func TestPublishReachesEverySubscriber(t *testing.T) {
	t.Parallel()
	k := kernel.New()
	var a, b []int64
	kernel.Subscribe(k, func(e orgChanged) { a = append(a, e.OrgID) })
	kernel.Subscribe(k, func(e orgChanged) { b = append(b, e.OrgID) })
	kernel.Publish(k, orgChanged{OrgID: 7})
	kernel.Publish(k, struct{}{}) // nobody listens: no effect
	if len(a) != 1 || len(b) != 1 || a[0] != 7 || b[0] != 7 {
		t.Fatalf("a=%v b=%v", a, b)
	}
}

func TestEmitRunsHandlersInOrderAndStopsOnError(t *testing.T) {
	t.Parallel()
	k := kernel.New()
	type ctxKey struct{}
	var seen []string
	kernel.Handle(k, func(ctx context.Context, e orgChanged) error {
		seen = append(seen, fmt.Sprint("a", e.OrgID, ctx.Value(ctxKey{})))
		return nil
	})
	boom := errors.New("boom")
	kernel.Handle(k, func(context.Context, orgChanged) error { seen = append(seen, "b"); return boom })
	kernel.Handle(k, func(context.Context, orgChanged) error { seen = append(seen, "c"); return nil })
	err := kernel.Emit(context.WithValue(context.Background(), ctxKey{}, "tx"), k, orgChanged{OrgID: 3})
	if !errors.Is(err, boom) || strings.Join(seen, ",") != "a3tx,b" {
		t.Fatalf("err %v seen %v", err, seen)
	}
	if err := kernel.Emit(context.Background(), k, struct{}{}); err != nil {
		t.Fatalf("event without handlers: %v", err)
	}
}
