package webhooks

import (
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/riverqueue/river"

	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/queue"
)

// MaxInFlight is how many requests one endpoint has in flight at most, across every process.
const MaxInFlight = 5

// busyWait is how long an attempt waits when its endpoint has MaxInFlight requests in flight,
// or its delivery is being attempted by another job.
const busyWait = time.Second

// maxBusyFactor caps the wait of an attempt whose endpoint is busy at that many busyWaits.
const maxBusyFactor = 30

// dispatchChunk bounds the rows of one insert of the dispatcher.
const dispatchChunk = 1000

// DeliverArgs is the job of a delivery: one attempt, snoozed for the next one while the retry
// schedule lasts. Generation tells the job of a manual retry from the one it replaced.
type DeliverArgs struct {
	OrgID      int64 `json:"org_id"`
	DeliveryID int64 `json:"delivery_id"`
	Generation int   `json:"generation"`
}

// Kind implements river.JobArgs.
func (DeliverArgs) Kind() string { return "webhooks.deliver" }

type deliverWorker struct {
	river.WorkerDefaults[DeliverArgs]
	svc *Service
}

// Timeout lets an attempt run its HTTP timeout and the bookkeeping around it.
func (w *deliverWorker) Timeout(*river.Job[DeliverArgs]) time.Duration { return w.svc.lease() }

// Work makes one attempt. Waiting for the next one is a snooze, which River does not count as
// an attempt of its own: the delivery's schedule, not River's, decides how often it is tried.
// An error (the database failing) is retried by River with its own backoff.
func (w *deliverWorker) Work(ctx context.Context, job *river.Job[DeliverArgs]) error {
	wait, err := w.svc.attempt(ctx, job.Args)
	if err != nil {
		return err
	}
	if wait > 0 {
		return river.JobSnooze(wait)
	}
	return nil
}

// lease is how long an attempt holds its endpoint slot and its delivery: longer than the
// attempt can take, so that only a dead process loses it.
func (s *Service) lease() time.Duration { return s.timeout + 5*time.Second }

// jobOpts are the insert options of a delivery job. priority is River's (1 first).
func jobOpts(priority int) *river.InsertOpts {
	return &river.InsertOpts{Queue: queue.Webhooks, Priority: priority}
}

// priorityFor keeps one organization from starving the others: the more deliveries it has
// waiting already, the lower the priority of its new ones, so that workers take the jobs of
// quiet organizations first, whatever one noisy organization has queued.
func priorityFor(backlog int) int {
	switch {
	case backlog < 100:
		return 1
	case backlog < 1000:
		return 2
	case backlog < 5000:
		return 3
	}
	return 4
}

// dispatch is the outbox's OnSequenced hook: for each committed event (those for one endpoint
// only aside), one delivery per enabled endpoint of its organization subscribed to its type,
// with its job, in the sequencer's transaction, so that an event is dispatched exactly once
// and never lost. The sequencer's transaction has no tenant: it is set per organization.
func (s *Service) dispatch(ctx context.Context, batch []events.Sequenced) error {
	byOrg := map[int64][]events.Sequenced{}
	var orgs []int64
	for _, e := range batch {
		if e.Audience == events.EndpointOnly {
			continue
		}
		if _, ok := byOrg[e.OrgID]; !ok {
			orgs = append(orgs, e.OrgID)
		}
		byOrg[e.OrgID] = append(byOrg[e.OrgID], e)
	}
	if len(orgs) == 0 {
		return nil
	}
	for _, org := range orgs {
		if err := s.dispatchOrg(ctx, org, byOrg[org]); err != nil {
			return err
		}
	}
	_, err := s.db.SetTenant(ctx, 0)
	return err
}

func (s *Service) dispatchOrg(ctx context.Context, org int64, evs []events.Sequenced) error {
	ctx, err := s.db.SetTenant(ctx, org)
	if err != nil {
		return err
	}
	subs, err := s.store.subscriptions(ctx, org)
	if err != nil || len(subs) == 0 {
		return err
	}
	var ds []newDelivery
	for _, e := range evs {
		for _, sub := range subs {
			if subscribes(sub.Events, e.Type) {
				ds = append(ds, newDelivery{EndpointID: sub.ID, EventID: e.ID, EventType: e.Type})
			}
		}
	}
	if len(ds) == 0 {
		return nil
	}
	backlog, err := s.store.pendingCount(ctx, org, 5000)
	if err != nil {
		return err
	}
	opts := jobOpts(priorityFor(backlog))
	for len(ds) > 0 {
		chunk := ds[:min(len(ds), dispatchChunk)]
		ds = ds[len(chunk):]
		rows, err := s.store.insertDeliveries(ctx, org, chunk, s.now())
		if err != nil {
			return err
		}
		params := make([]river.InsertManyParams, len(rows))
		for i, r := range rows {
			params[i] = river.InsertManyParams{Args: DeliverArgs{OrgID: org, DeliveryID: r.ID, Generation: r.Generation}, InsertOpts: opts}
		}
		if err := s.queue.EnqueueMany(ctx, params); err != nil {
			return err
		}
	}
	return nil
}

// Ping delivers a webhook.ping event to the endpoint, whatever it subscribes to. The event
// is for this endpoint only (never listed in the feed), and its delivery and job are created
// in the same transaction.
func (s *Service) Ping(ctx context.Context, id int64) (Delivery, error) {
	p, err := caller(ctx)
	if err != nil {
		return Delivery{}, err
	}
	var out deliveryRow
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		ep, err := s.store.get(ctx, p.OrgID, id, false)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return ErrEndpointDisabled
		}
		eventID, err := s.events.ping(ctx, ep.endpoint())
		if err != nil {
			return err
		}
		rows, err := s.store.insertDeliveries(ctx, p.OrgID, []newDelivery{{EndpointID: ep.ID, EventID: eventID, EventType: events.Ping}}, s.now())
		if err != nil {
			return err
		}
		out = rows[0]
		return s.queue.Enqueue(ctx, DeliverArgs{OrgID: p.OrgID, DeliveryID: out.ID, Generation: out.Generation}, jobOpts(1))
	})
	if err != nil {
		return Delivery{}, err
	}
	return out.delivery(), nil
}

// Retry makes a new attempt of a delivery now, whatever its status: a pending delivery is
// tried at once (its waiting job steps aside), a finished one becomes pending again. If that
// attempt fails, the delivery follows the rest of the retry schedule, if any is left.
func (s *Service) Retry(ctx context.Context, endpointID, deliveryID int64) (Delivery, error) {
	p, err := caller(ctx)
	if err != nil {
		return Delivery{}, err
	}
	var out deliveryRow
	err = s.db.WithinTx(ctx, func(ctx context.Context) error {
		ep, err := s.store.get(ctx, p.OrgID, endpointID, false)
		if err != nil {
			return err
		}
		if !ep.Enabled {
			return ErrEndpointDisabled
		}
		if _, err := s.store.delivery(ctx, p.OrgID, endpointID, deliveryID, true); err != nil {
			return err
		}
		out, err = s.store.restart(ctx, p.OrgID, deliveryID, s.now())
		if err != nil {
			return err
		}
		return s.queue.Enqueue(ctx, DeliverArgs{OrgID: p.OrgID, DeliveryID: out.ID, Generation: out.Generation}, jobOpts(1))
	})
	if err != nil {
		return Delivery{}, err
	}
	return out.delivery(), nil
}

// jitter spreads d over ±10 %, so that the retries of many deliveries failing together do not
// arrive together.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.9 + 0.2*rand.Float64())) //nolint:gosec // jitter needs no unpredictability
}

// backoff is the wait after failed attempt n (from 1): the schedule's n-th wait with jitter,
// or the receiver's Retry-After (at most an hour) when that is longer.
func (s *Service) backoff(n int, retryAfter time.Duration) time.Duration {
	return max(jitter(s.schedule[n-1]), retryAfter)
}

// attempt makes one attempt of a delivery and returns how long to wait before the next one
// (0: none is due from this job).
func (s *Service) attempt(ctx context.Context, a DeliverArgs) (time.Duration, error) {
	ctx = database.WithTenant(ctx, a.OrgID)
	d, err := s.store.deliveryByID(ctx, a.OrgID, a.DeliveryID, false)
	if errors.Is(err, ErrDeliveryNotFound) {
		return 0, nil // its endpoint was deleted
	}
	if err != nil {
		return 0, err
	}
	if d.Status != StatusPending || d.Generation != a.Generation {
		return 0, nil // done, or replaced by a manual retry
	}
	ep, err := s.store.get(ctx, a.OrgID, d.EndpointID, false)
	if errors.Is(err, ErrEndpointNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if !ep.Enabled {
		s.metrics.finished(StatusFailed)
		return 0, s.store.finish(ctx, a.OrgID, d.ID, StatusFailed)
	}
	slot, ok, err := s.store.claimSlot(ctx, a.OrgID, ep.ID, s.lease())
	if err != nil {
		return 0, err
	}
	if !ok {
		// Five requests are in flight already (or the endpoint predates its slots): wait in
		// proportion to the endpoint's backlog, so that a long one does not keep every worker
		// busy claiming slots in vain.
		if err := s.store.insertSlots(ctx, a.OrgID, ep.ID); err != nil {
			return 0, err
		}
		pending, err := s.store.pendingOfEndpoint(ctx, a.OrgID, ep.ID, maxBusyFactor*MaxInFlight)
		if err != nil {
			return 0, err
		}
		return jitter(busyWait * time.Duration(min(max(pending/MaxInFlight, 1), maxBusyFactor))), nil
	}
	released := false
	release := func() {
		if !released {
			released = true
			_ = s.store.releaseSlot(context.WithoutCancel(ctx), a.OrgID, ep.ID, slot)
		}
	}
	defer release()
	ok, err = s.store.claimDelivery(ctx, a.OrgID, d.ID, a.Generation, s.lease())
	if err != nil || !ok {
		return jitter(busyWait), err
	}
	body, err := s.outbox.Body(ctx, a.OrgID, d.EventID)
	if database.IsNoRows(err) {
		// The event is past its retention: nothing is left to send.
		s.metrics.finished(StatusFailed)
		return 0, s.store.finish(ctx, a.OrgID, d.ID, StatusFailed)
	}
	if err != nil {
		return 0, err
	}
	now := s.now()
	secrets, err := s.signingSecrets(ep, now)
	if err != nil {
		return 0, err
	}
	id, ts := strconv.FormatInt(d.EventID, 10), now.Unix()
	sig, err := signatures(secrets, id, ts, body)
	if err != nil {
		return 0, err
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "mini-crm-webhooks/1")
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", sig)
	o := s.sender.post(ctx, ep.URL, body, h)
	s.metrics.attempted(o)
	release()
	return s.record(ctx, a, d.ID, o)
}

// record writes the outcome of an attempt and decides what follows: success; the next attempt
// after its wait; failure once the schedule is spent; or, after a 410 Gone or no 2xx answer
// for WEBHOOK_DISABLE_AFTER, the endpoint disabled and its pending deliveries failed.
func (s *Service) record(ctx context.Context, a DeliverArgs, id int64, o outcome) (time.Duration, error) {
	var wait time.Duration
	var final string
	now := s.now()
	err := s.db.WithinTx(ctx, func(ctx context.Context) error {
		wait, final = 0, ""
		cur, err := s.store.deliveryByID(ctx, a.OrgID, id, true)
		if errors.Is(err, ErrDeliveryNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		// A manual retry made meanwhile owns what follows; this attempt is still recorded.
		current := cur.Generation == a.Generation && cur.Status == StatusPending
		rec := attemptRecord{At: now, Status: cur.Status, NextAttemptAt: cur.NextAttemptAt,
			DurationMS: int(o.Duration.Milliseconds()), ResponseBody: o.Body}
		if o.Status != 0 {
			st := o.Status
			rec.ResponseStatus = &st
		}
		if o.Err != "" {
			e := o.Err
			rec.Error = &e
		}
		disable := ""
		switch {
		case o.OK():
			rec.Status, rec.NextAttemptAt = StatusSucceeded, nil
			if err := s.store.noteSuccess(ctx, a.OrgID, cur.EndpointID); err != nil {
				return err
			}
		case o.Status == http.StatusGone:
			rec.Status, rec.NextAttemptAt = StatusFailed, nil
			disable = DisabledGone
		default:
			since, err := s.store.noteFailure(ctx, a.OrgID, cur.EndpointID, now)
			if err != nil {
				return err
			}
			if now.Sub(since) >= s.disableAfter {
				disable = DisabledFailing
			}
			if !current {
				break
			}
			if n := cur.Attempts + 1; n > len(s.schedule) {
				rec.Status, rec.NextAttemptAt = StatusFailed, nil
			} else {
				wait = s.backoff(n, o.RetryAfter)
				next := now.Add(wait)
				rec.NextAttemptAt = &next
			}
		}
		if !current && !o.OK() {
			rec.Status, rec.NextAttemptAt = cur.Status, cur.NextAttemptAt
		}
		if err := s.store.recordAttempt(ctx, a.OrgID, id, rec); err != nil {
			return err
		}
		if rec.Status != StatusPending && cur.Status == StatusPending {
			final = rec.Status
		}
		if disable != "" {
			wait = 0
			return s.disable(ctx, a.OrgID, cur.EndpointID, disable)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if final != "" {
		s.metrics.finished(final)
	}
	return wait, nil
}

// disable turns an endpoint off for reason, fails its pending deliveries and records
// webhook.disabled (actor: the system). Re-enabling it later sends only new events.
func (s *Service) disable(ctx context.Context, org, endpointID int64, reason string) error {
	cur, err := s.store.get(ctx, org, endpointID, true)
	if err != nil {
		return err
	}
	if !cur.Enabled {
		return nil
	}
	after, err := s.store.update(ctx, org, endpointID, map[string]any{"enabled": false, "disabled_reason": reason})
	if err != nil {
		return err
	}
	if err := s.store.failPending(ctx, org, endpointID); err != nil {
		return err
	}
	return s.events.disabled(ctx, after.endpoint(), cur.endpoint())
}

// PurgeArgs is the periodic job that removes the delivery log past its retention.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "webhooks.purge" }

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	svc *Service
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	_, err := w.svc.PurgeDeliveries(ctx)
	return err
}

// PurgeDeliveries removes the finished deliveries older than the retention (that of the
// events they delivered) and returns how many it removed. Pending ones stay until they end.
func (s *Service) PurgeDeliveries(ctx context.Context) (int64, error) {
	cutoff := s.now().Add(-s.retention)
	var total int64
	for {
		n, err := s.store.purge(ctx, cutoff, 10000)
		total += n
		if err != nil || n < 10000 {
			return total, err
		}
	}
}
