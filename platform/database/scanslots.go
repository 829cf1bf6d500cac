package database

import (
	"context"
	"runtime"
	"time"
)

// DefaultScanSlots is the number of statements of filtered lists a process runs at once
// when Options.ScanSlots is not set: the cores of its host.
//
// The total of a filtered list (a search, a filter the kept counts do not cover) is counted
// by visiting every match, and its page walks rows until it has found a page of matches:
// these statements are the CPU of the list. Run together on more backends than PostgreSQL has
// cores, they share the cores and each takes as long as all of them; queued for a slot
// instead, each runs at full speed after a wait of about one statement. The mean latency is
// the same (the cores do the same work), the tail is not: contacts search on two cores at
// c=4, in six pairs of runs taken in turn, p99 28.5–34.6 ms with every statement at once,
// 18.8–30.4 ms with two slots, lower in every pair (three slots: no better than none). Only
// the page and the count of a list whose total is counted wait for a slot: writes, single
// records, kept totals and the pages of lists that do not count never do.
func DefaultScanSlots() int { return runtime.GOMAXPROCS(0) }

// ScanSlotWait is the longest a statement waits for a scan slot before it runs without
// one. Slots are for short scans taking turns; a long one (a capped count of 10,001 deals,
// a deep offset page) holding every slot must not make the others wait for it, so past this
// wait they run alongside it, as they would with no slots at all.
const ScanSlotWait = 20 * time.Millisecond

// inSlot runs fn, a statement on q, in one of the pool's scan slots when limited is set
// and q is the pool under a scope. It waits for a slot up to ScanSlotWait, then runs fn
// without one; it gives up when ctx ends first. A statement of a transaction runs at once:
// its transaction already holds a connection, and a slot waited for there would hold that
// connection idle.
func inSlot(ctx context.Context, q Querier, limited bool, fn func() error) error {
	s, ok := q.(scoped)
	if !limited || !ok || s.db.scans == nil {
		return fn()
	}
	select {
	case s.db.scans <- struct{}{}:
	default:
		start := time.Now()
		timer := time.NewTimer(ScanSlotWait)
		defer timer.Stop()
		slot := true
		select {
		case s.db.scans <- struct{}{}:
		case <-timer.C:
			slot = false
			s.db.scanBypasses.Add(1)
		case <-ctx.Done():
			return ctx.Err()
		}
		s.db.scanWaits.Add(1)
		s.db.scanWaitNanos.Add(int64(time.Since(start)))
		if !slot {
			return fn()
		}
	}
	defer func() { <-s.db.scans }()
	return fn()
}
