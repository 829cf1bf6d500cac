// Package kernel is the registry through which modules meet. A module provides its facade
// under the facade's interface type and resolves the facades of others by type; nothing else
// crosses module boundaries. Boot order is fixed: every Provide, then every Init, so that a
// module may resolve a facade regardless of the order in which modules are listed.
package kernel

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync"
)

// Module is one vertical slice of the application.
type Module interface {
	// Name is the module's short name, used in errors and logs.
	Name() string
	// Provide registers the facades this module offers.
	Provide(k *Kernel) error
	// Init resolves the facades this module uses.
	Init(k *Kernel) error
}

// Kernel holds the facades provided by modules, keyed by interface type.
type Kernel struct {
	mu        sync.RWMutex
	facades   map[reflect.Type]entry
	current   string // module being initialised, for error messages
	listeners map[reflect.Type][]func(any)
	handlers  map[reflect.Type][]func(context.Context, any) error
}

type entry struct {
	value    any
	provider string
}

// New returns an empty kernel.
func New() *Kernel {
	return &Kernel{facades: map[reflect.Type]entry{}, listeners: map[reflect.Type][]func(any){},
		handlers: map[reflect.Type][]func(context.Context, any) error{}}
}

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

// Provide registers v as the implementation of T. Providing the same type twice is an error.
func Provide[T any](k *Kernel, v T) error {
	t := typeOf[T]()
	k.mu.Lock()
	defer k.mu.Unlock()
	if e, ok := k.facades[t]; ok {
		return fmt.Errorf("kernel: %s is already provided by module %q", t, e.provider)
	}
	k.facades[t] = entry{value: v, provider: k.current}
	return nil
}

// Resolve returns the implementation of T. A missing facade is an error naming both the
// facade and the module that asked for it.
func Resolve[T any](k *Kernel) (T, error) {
	t := typeOf[T]()
	k.mu.RLock()
	defer k.mu.RUnlock()
	e, ok := k.facades[t]
	if !ok {
		var zero T
		return zero, fmt.Errorf("kernel: module %q needs %s, which no module provides", k.current, t)
	}
	return e.value.(T), nil
}

// Subscribe registers fn to be called synchronously with every event of type E published
// through the kernel. Events let a module announce facts (a deal changed) without knowing
// who listens.
func Subscribe[E any](k *Kernel, fn func(E)) {
	t := typeOf[E]()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.listeners[t] = append(k.listeners[t], func(v any) { fn(v.(E)) })
}

// Publish calls every listener of E. Listeners must be quick and must not fail.
func Publish[E any](k *Kernel, ev E) {
	t := typeOf[E]()
	k.mu.RLock()
	ls := k.listeners[t]
	k.mu.RUnlock()
	for _, fn := range ls {
		fn(ev)
	}
}

// Handle registers fn to run for every event of type E emitted with Emit. Unlike Subscribe,
// handlers run inside the emitter's unit of work: they get the emitter's context (and so its
// database transaction) and their error fails the emitter's operation. A module keeps a read
// model in step with another module's writes this way without the writer knowing it.
func Handle[E any](k *Kernel, fn func(context.Context, E) error) {
	t := typeOf[E]()
	k.mu.Lock()
	defer k.mu.Unlock()
	k.handlers[t] = append(k.handlers[t], func(ctx context.Context, v any) error { return fn(ctx, v.(E)) })
}

// Emit runs every handler of E in registration order and returns the first error.
func Emit[E any](ctx context.Context, k *Kernel, ev E) error {
	t := typeOf[E]()
	k.mu.RLock()
	hs := k.handlers[t]
	k.mu.RUnlock()
	for _, fn := range hs {
		if err := fn(ctx, ev); err != nil {
			return err
		}
	}
	return nil
}

// Boot runs Provide on every module, then Init on every module. The first error stops the
// boot; it names the module and, for a missing facade, the facade type.
func (k *Kernel) Boot(modules ...Module) error {
	seen := map[string]bool{}
	for _, m := range modules {
		if seen[m.Name()] {
			return fmt.Errorf("kernel: module %q registered twice", m.Name())
		}
		seen[m.Name()] = true
		k.setCurrent(m.Name())
		if err := m.Provide(k); err != nil {
			return fmt.Errorf("kernel: provide %s: %w", m.Name(), err)
		}
	}
	for _, m := range modules {
		k.setCurrent(m.Name())
		if err := m.Init(k); err != nil {
			return fmt.Errorf("kernel: init %s: %w", m.Name(), err)
		}
	}
	k.setCurrent("")
	return nil
}

func (k *Kernel) setCurrent(name string) {
	k.mu.Lock()
	k.current = name
	k.mu.Unlock()
}

// Provided lists the facade types currently registered, sorted, for diagnostics.
func (k *Kernel) Provided() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]string, 0, len(k.facades))
	for t, e := range k.facades {
		out = append(out, t.String()+" ("+e.provider+")")
	}
	sort.Strings(out)
	return out
}

// String describes the kernel's registry.
func (k *Kernel) String() string { return "kernel[" + strings.Join(k.Provided(), ", ") + "]" }
