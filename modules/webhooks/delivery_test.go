package webhooks_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/modules/webhooks"
	"github.com/mini-crm/crm/platform/config"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
)

// verify checks a delivery as a receiver following the Standard Webhooks specification would,
// written from the specification and independent of the service's signer: the signed content
// is "{webhook-id}.{webhook-timestamp}.{body}", the HMAC-SHA256 key is the base64 after
// "whsec_", and webhook-signature holds space-separated "v1,<base64>" entries.
func verify(secret string, h http.Header, body []byte) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", h.Get("webhook-id"), h.Get("webhook-timestamp"), body)
	want := mac.Sum(nil)
	for _, entry := range strings.Fields(h.Get("webhook-signature")) {
		v, sig, _ := strings.Cut(entry, ",")
		if got, err := base64.StdEncoding.DecodeString(sig); v == "v1" && err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is a real HTTP server on loopback answering with answer(n) for its n-th request
// (from 1).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func newReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body, at: time.Now()})
		n := len(rc.got)
		rc.mu.Unlock()
		if rc.answer != nil {
			rc.answer(n, w, r)
		}
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.got...)
}

func status(code int) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(code) }
}

// eventually polls cond until it holds or the time is up.
func eventually(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// pipeline is the whole service with its background work running: the job queue and the
// sequencer woken by each commit, as crm serve runs them.
type pipeline struct {
	env
	svc *webhooks.Service
}

func fastConfig() config.Config {
	cfg := apptest.Config()
	cfg.WebhookRetrySchedule = config.Schedule{100 * time.Millisecond, 100 * time.Millisecond}
	return cfg
}

func newPipeline(t *testing.T, cfg config.Config, setup ...func(*webhooks.Service)) pipeline {
	t.Helper()
	s := apptest.NewWith(t, cfg)
	p := pipeline{env: env{Server: s, team: s.NewTeam()}, svc: apptest.ModuleOf[*webhooks.Module](s).Service()}
	for _, f := range setup {
		f(p.svc)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := s.App.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		stop, done := context.WithTimeout(context.Background(), 10*time.Second)
		defer done()
		_ = s.App.Stop(stop)
	})
	return p
}

// endpoint creates an endpoint for url subscribed to events and returns its id and secret.
func (p pipeline) endpoint(url string, events ...string) (int64, string) {
	p.T.Helper()
	m := p.must(201, p.team.Owner, "POST", "/api/v1/webhooks", map[string]any{"url": url, "events": events})
	return id(m), m["secret"].(string)
}

// emit records an event of the organization in a transaction of its own, as a module's write
// does, and returns its id; fail makes the transaction roll back after recording it.
func (p pipeline) emit(typ string, fail bool) (int64, error) {
	var evID int64
	ctx := database.WithTenant(context.Background(), p.team.OrgID)
	err := p.App.DB.WithinTx(ctx, func(ctx context.Context) error {
		var err error
		evID, err = p.App.Outbox.Record(ctx, events.Change{OrgID: p.team.OrgID, Type: typ, Actor: events.System,
			Object: map[string]any{"id": 42, "title": "Big deal"}})
		if err != nil {
			return err
		}
		if fail {
			return errors.New("the write fails after its event")
		}
		return nil
	})
	return evID, err
}

func (p pipeline) deliveries(endpoint int64) []map[string]any {
	p.T.Helper()
	var out []map[string]any
	for _, it := range p.must(200, p.team.Owner, "GET", hookPath(endpoint, "/deliveries"), nil)["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

// delivery waits until the endpoint's only delivery leaves pending and returns it.
func (p pipeline) settled(endpoint int64) map[string]any {
	p.T.Helper()
	var d map[string]any
	var last []map[string]any
	deadline := time.Now().Add(20 * time.Second)
	for {
		last = p.deliveries(endpoint)
		if len(last) == 1 && last[0]["status"] != "pending" {
			d = last[0]
			return d
		}
		if time.Now().After(deadline) {
			p.T.Fatalf("the delivery did not settle: %v", last)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// 500, 500, then 200: three attempts of one delivery, the same webhook-id and body each time,
// each with its own timestamp and a signature that verifies, and one success.
func TestFailedAttemptsAreRetriedUntilSuccess(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 2 {
			w.WriteHeader(500)
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	hid, secret := p.endpoint(rc.srv.URL+"/hook", "deal.updated")
	evID, err := p.emit("deal.updated", false)
	if err != nil {
		t.Fatal(err)
	}
	d := p.settled(hid)
	got := rc.requests()
	if len(got) != 3 || d["status"] != "succeeded" || d["attempts"] != float64(3) || d["response_status"] != float64(200) ||
		d["error"] != nil || d["event_id"] != fmt.Sprint(evID) || d["event_type"] != "deal.updated" || d["response_body"] != `{"ok":true}` {
		t.Fatalf("%d requests; delivery %v", len(got), d)
	}
	for i, r := range got {
		if r.header.Get("webhook-id") != fmt.Sprint(evID) || string(r.body) != string(got[0].body) ||
			r.header.Get("Content-Type") != "application/json" {
			t.Fatalf("attempt %d: headers %v body %s", i+1, r.header, r.body)
		}
		if !verify(secret, r.header, r.body) {
			t.Fatalf("attempt %d: the signature does not verify: %v", i+1, r.header)
		}
		if strings.Contains(r.header.Get("webhook-signature"), " ") {
			t.Fatalf("attempt %d: two signatures without a rotation", i+1)
		}
	}
	var ev struct {
		ID, Type string
		Data     struct{ Object map[string]any }
	}
	if err := json.Unmarshal(got[0].body, &ev); err != nil || ev.ID != fmt.Sprint(evID) || ev.Type != "deal.updated" ||
		ev.Data.Object["title"] != "Big deal" {
		t.Fatalf("body %s (%v)", got[0].body, err)
	}
}

// A receiver that does not answer within the attempt's timeout fails the attempt with
// timeout, and the delivery is tried again.
func TestTimedOutAttemptIsRetried(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	p := newPipeline(t, fastConfig(), func(s *webhooks.Service) { s.SetAttemptTimeout(300 * time.Millisecond) })
	rc := newReceiver(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	hid, _ := p.endpoint(rc.srv.URL, "contact.created")
	if _, err := p.emit("contact.created", false); err != nil {
		t.Fatal(err)
	}
	d := p.settled(hid)
	if got := rc.requests(); len(got) != 2 || d["status"] != "succeeded" || d["attempts"] != float64(2) {
		t.Fatalf("%d requests; delivery %v", len(got), d)
	}
	if n := counter(t, p, "webhook_delivery_attempts_total", "timeout"); n != 1 {
		t.Fatalf("timeouts counted: %v", n)
	}
}

// A redirect fails the attempt with redirect and is never followed; once the schedule is spent
// the delivery is failed.
func TestRedirectsFailAndAreNotFollowed(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	target := newReceiver(t, nil)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.srv.URL, http.StatusFound)
	})
	hid, _ := p.endpoint(rc.srv.URL, "task.created")
	if _, err := p.emit("task.created", false); err != nil {
		t.Fatal(err)
	}
	d := p.settled(hid)
	if d["status"] != "failed" || d["error"] != "redirect" || d["response_status"] != float64(302) || d["attempts"] != float64(3) ||
		d["next_attempt_at"] != nil || len(rc.requests()) != 3 || len(target.requests()) != 0 {
		t.Fatalf("delivery %v; %d requests, %d followed", d, len(rc.requests()), len(target.requests()))
	}
}

// A write that rolls back leaves no event and so no delivery; the next write that commits is
// delivered.
func TestRolledBackWriteDeliversNothing(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	rc := newReceiver(t, status(204))
	hid, _ := p.endpoint(rc.srv.URL, "deal.created", "deal.deleted")
	if _, err := p.emit("deal.created", true); err == nil {
		t.Fatal("the write did not fail")
	}
	if _, err := p.App.Outbox.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	committed, err := p.emit("deal.deleted", false)
	if err != nil {
		t.Fatal(err)
	}
	d := p.settled(hid)
	got := rc.requests()
	if len(got) != 1 || got[0].header.Get("webhook-id") != fmt.Sprint(committed) || d["event_type"] != "deal.deleted" {
		t.Fatalf("requests %d, delivery %v", len(got), d)
	}
	if ds := p.deliveries(hid); len(ds) != 1 {
		t.Fatalf("deliveries %v", ds)
	}
}

// After a rotation, deliveries carry two signatures: one verifies with the new secret, the
// other with the old one, each checked independently. A ping reaches an endpoint whatever it
// subscribes to.
func TestRotatedSecretsBothSign(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	rc := newReceiver(t, status(200))
	hid, old := p.endpoint(rc.srv.URL, "deal.updated")
	fresh := p.must(200, p.team.Owner, "POST", hookPath(hid, "/rotate-secret"), nil)["secret"].(string)
	ping := p.must(202, p.team.Owner, "POST", hookPath(hid, "/ping"), nil)
	if ping["event_type"] != "webhook.ping" || ping["status"] != "pending" {
		t.Fatalf("ping %v", ping)
	}
	p.settled(hid)
	got := rc.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests", len(got))
	}
	h := got[0].header
	sigs := strings.Fields(h.Get("webhook-signature"))
	if len(sigs) != 2 {
		t.Fatalf("signatures %q", h.Get("webhook-signature"))
	}
	for _, secret := range []string{fresh, old} {
		if !verify(secret, h, got[0].body) {
			t.Fatalf("%s does not verify %v", secret, h)
		}
	}
	for i, sig := range sigs {
		one := h.Clone()
		one.Set("webhook-signature", sig)
		if verify(fresh, one, got[0].body) == verify(old, one, got[0].body) {
			t.Fatalf("signature %d verifies with both secrets or neither", i)
		}
	}
	var ev struct{ Type string }
	_ = json.Unmarshal(got[0].body, &ev)
	if ev.Type != "webhook.ping" || strings.Contains(string(got[0].body), "whsec_") {
		t.Fatalf("ping body %s", got[0].body)
	}
}

// rebinding resolves a name to nothing until rebound, then to loopback: the name passes the
// save-time check and points at loopback when the attempt dials it.
type rebinding struct{ rebound atomic.Bool }

func (r *rebinding) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if host == "rebind.test" && r.rebound.Load() {
		return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
	}
	if host == "rebind.test" {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return net.DefaultResolver.LookupNetIP(ctx, network, host)
}

// DNS rebinding: a name accepted when saved (it did not resolve) that resolves to loopback
// when dialled is refused at connection time, destination_not_allowed, and nothing reaches
// the receiver.
func TestDialTimeCheckRefusesRebindingToLoopback(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.WebhookAllowPrivate = false
	dns := &rebinding{}
	p := newPipeline(t, cfg, func(s *webhooks.Service) { s.SetResolver(dns) })
	rc := newReceiver(t, status(200))
	_, port, _ := net.SplitHostPort(rc.srv.Listener.Addr().String())
	hid, _ := p.endpoint("http://rebind.test:"+port+"/hook", "deal.updated")
	apptest.WantProblem(t, p.as(p.team.Owner, "POST", "/api/v1/webhooks", map[string]any{"url": rc.srv.URL, "events": []string{"*"}}),
		400, "webhook_url_not_allowed")
	dns.rebound.Store(true)
	p.must(202, p.team.Owner, "POST", hookPath(hid, "/ping"), nil)
	d := p.settled(hid)
	if d["status"] != "failed" || d["error"] != "destination_not_allowed" || d["response_status"] != nil || len(rc.requests()) != 0 {
		t.Fatalf("delivery %v; %d requests reached the receiver", d, len(rc.requests()))
	}
}

// 410 Gone disables the endpoint at once (disabled_reason gone), fails its pending deliveries
// and writes webhook.disabled; re-enabled, it gets only events written from then on.
func TestGoneDisablesTheEndpoint(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	var gone atomic.Bool
	gone.Store(true)
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if gone.Load() {
			w.WriteHeader(http.StatusGone)
		}
	})
	hid, _ := p.endpoint(rc.srv.URL, "deal.updated")
	if _, err := p.emit("deal.updated", false); err != nil {
		t.Fatal(err)
	}
	d := p.settled(hid)
	ep := p.must(200, p.team.Owner, "GET", hookPath(hid), nil)
	if d["status"] != "failed" || d["attempts"] != float64(1) || ep["enabled"] != false || ep["disabled_reason"] != webhooks.DisabledGone {
		t.Fatalf("delivery %v endpoint %v", d, ep)
	}
	if _, err := p.emit("deal.updated", false); err != nil { // while disabled: never sent
		t.Fatal(err)
	}
	if _, err := p.App.Outbox.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	feed := p.must(200, p.team.Owner, "GET", "/api/v1/events?type=webhook.disabled", nil)["items"].([]any)
	if len(feed) != 1 || feed[0].(map[string]any)["actor"].(map[string]any)["type"] != "system" {
		t.Fatalf("webhook.disabled events %v", feed)
	}
	apptest.WantProblem(t, p.as(p.team.Owner, "POST", hookPath(hid, "/ping"), nil), 409, "webhook_disabled")
	gone.Store(false)
	p.must(200, p.team.Owner, "PATCH", hookPath(hid), map[string]any{"enabled": true})
	fresh, err := p.emit("deal.updated", false)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "the new event", func() bool {
		ds := p.deliveries(hid)
		return len(ds) == 2 && ds[0]["status"] == "succeeded"
	})
	got := rc.requests()
	if len(got) != 2 || got[1].header.Get("webhook-id") != fmt.Sprint(fresh) {
		t.Fatalf("requests %d; the second is %s", len(got), got[len(got)-1].header.Get("webhook-id"))
	}
}

// No 2xx answer for WEBHOOK_DISABLE_AFTER while deliveries are attempted disables the endpoint
// (disabled_reason failing) and fails its pending deliveries.
func TestEndpointFailingTooLongIsDisabled(t *testing.T) {
	t.Parallel()
	cfg := fastConfig()
	cfg.WebhookRetrySchedule = config.Schedule{400 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond, 400 * time.Millisecond}
	cfg.WebhookDisableAfter = 300 * time.Millisecond
	p := newPipeline(t, cfg)
	rc := newReceiver(t, status(503))
	hid, _ := p.endpoint(rc.srv.URL, "contact.updated")
	if _, err := p.emit("contact.updated", false); err != nil {
		t.Fatal(err)
	}
	d := p.settled(hid)
	ep := p.must(200, p.team.Owner, "GET", hookPath(hid), nil)
	if d["status"] != "failed" || d["attempts"] != float64(2) || ep["enabled"] != false || ep["disabled_reason"] != webhooks.DisabledFailing {
		t.Fatalf("delivery %v endpoint %v", d, ep)
	}
}

// A manual retry makes a new attempt now, signed anew, and a failed delivery can succeed.
func TestManualRetry(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	var ok atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !ok.Load() {
			w.WriteHeader(500)
		}
	})
	hid, secret := p.endpoint(rc.srv.URL, "deal.created")
	if _, err := p.emit("deal.created", false); err != nil {
		t.Fatal(err)
	}
	d := p.settled(hid)
	if d["status"] != "failed" || d["attempts"] != float64(3) {
		t.Fatalf("delivery %v", d)
	}
	ok.Store(true)
	apptest.WantProblem(t, p.as(p.team.Owner, "POST", hookPath(hid, fmt.Sprintf("/deliveries/%d/retry", id(d)+1000)), nil), 404, "delivery_not_found")
	r := p.must(202, p.team.Owner, "POST", hookPath(hid, fmt.Sprintf("/deliveries/%d/retry", id(d))), nil)
	if r["status"] != "pending" {
		t.Fatalf("retry answered %v", r)
	}
	d = p.settled(hid)
	got := rc.requests()
	if d["status"] != "succeeded" || d["attempts"] != float64(4) || len(got) != 4 || !verify(secret, got[3].header, got[3].body) ||
		got[3].header.Get("webhook-id") != got[0].header.Get("webhook-id") {
		t.Fatalf("delivery %v, %d requests", d, len(got))
	}
}

// At most five requests are in flight to one endpoint, however many deliveries wait and
// however many workers are free.
func TestAtMostFiveRequestsInFlightPerEndpoint(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		n := inFlight.Add(1)
		for {
			old := peak.Load()
			if n <= old || peak.CompareAndSwap(old, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
	})
	hid, _ := p.endpoint(rc.srv.URL, "task.updated")
	for range 9 {
		if _, err := p.emit("task.updated", false); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "five requests in flight", func() bool { return peak.Load() >= 5 })
	time.Sleep(1500 * time.Millisecond) // the other workers keep trying meanwhile
	if n := peak.Load(); n != 5 {
		t.Fatalf("%d requests in flight at once", n)
	}
	close(release)
	eventually(t, 30*time.Second, "every delivery", func() bool {
		ds := p.deliveries(hid)
		if len(ds) != 9 {
			return false
		}
		for _, d := range ds {
			if d["status"] != "succeeded" {
				return false
			}
		}
		return true
	})
	if n := len(rc.requests()); n != 9 {
		t.Fatalf("%d requests for 9 deliveries", n)
	}
	body := p.Do(apptest.Req{Method: "GET", Path: "/metrics"}).Body
	for _, m := range []string{`webhook_delivery_attempts_total{outcome="success"} 9`, `webhook_deliveries_total{status="succeeded"} 9`,
		"webhook_delivery_attempt_duration_seconds_count 9", "webhook_queue_depth", "webhook_queue_oldest_job_age_seconds"} {
		if !strings.Contains(string(body), m) {
			t.Errorf("metrics lack %s", m)
		}
	}
}

// Endpoint changes write webhook.created, webhook.updated and webhook.deleted events, listed
// to owners and admins, without the secret.
func TestEndpointChangesWriteEvents(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	rc := newReceiver(t, status(200))
	hid, secret := p.endpoint(rc.srv.URL, "*")
	p.must(200, p.team.Owner, "PATCH", hookPath(hid), map[string]any{"description": "now described"})
	p.must(204, p.team.Owner, "DELETE", hookPath(hid), nil)
	if _, err := p.App.Outbox.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	res := p.as(p.team.Admin, "GET", "/api/v1/events", nil)
	var feed struct {
		Items []struct {
			Type string
			Data struct {
				Object             map[string]any
				PreviousAttributes map[string]any `json:"previous_attributes"`
			}
		}
	}
	res.Decode(t, &feed)
	var types []string
	for _, e := range feed.Items {
		if strings.HasPrefix(e.Type, "webhook.") {
			types = append(types, e.Type)
		}
		if e.Type == "webhook.updated" && e.Data.PreviousAttributes["description"] != nil {
			t.Fatalf("previous description %v", e.Data.PreviousAttributes)
		}
	}
	if strings.Join(types, ",") != "webhook.created,webhook.updated,webhook.deleted" || strings.Contains(string(res.Body), secret[6:]) ||
		strings.Contains(string(res.Body), "secret") {
		t.Fatalf("events %v: %s", types, res.Body)
	}
	member := p.as(p.team.Member, "GET", "/api/v1/events", nil)
	if strings.Contains(string(member.Body), "webhook.") {
		t.Fatalf("a member sees webhook events: %s", member.Body)
	}
}

func counter(t *testing.T, p pipeline, name, outcome string) float64 {
	t.Helper()
	mfs, err := p.App.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	return 0
}

// One organization with a backlog for a receiver that does not answer cannot starve another:
// the second organization's delivery goes out while the first one's keep waiting.
func TestNoisyOrganizationDoesNotStarveOthers(t *testing.T) {
	t.Parallel()
	p := newPipeline(t, fastConfig())
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	noisy := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	quiet := newReceiver(t, status(200))
	p.endpoint(noisy.srv.URL, "task.updated")
	for range 40 {
		if _, err := p.emit("task.updated", false); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 20*time.Second, "the noisy endpoint's five requests", func() bool { return len(noisy.requests()) >= 5 })
	other := p.team.Outsider
	res := p.Must(201, apptest.Req{Method: "POST", Path: "/api/v1/webhooks", Token: other.Token, Org: other.OrgID,
		Body: map[string]any{"url": quiet.srv.URL, "events": []string{"task.updated"}}})
	start := time.Now()
	ctx := database.WithTenant(context.Background(), other.OrgID)
	err := p.App.DB.WithinTx(ctx, func(ctx context.Context) error {
		_, err := p.App.Outbox.Record(ctx, events.Change{OrgID: other.OrgID, Type: "task.updated", Actor: events.System,
			Object: map[string]any{"id": 7}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "the quiet organization's delivery", func() bool { return len(quiet.requests()) == 1 })
	if n := len(noisy.requests()); n != 5 {
		t.Fatalf("the noisy endpoint has %d requests in flight", n)
	}
	t.Logf("quiet organization served after %v (endpoint %v) with 35 deliveries of another waiting", time.Since(start), res.JSON()["id"])
}
