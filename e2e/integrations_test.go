package e2e

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/testdb"
)

// delivery is one request a webhook receiver got.
type delivery struct {
	id, timestamp, signature string
	body                     []byte
	at                       time.Time
}

// receiver is a webhook endpoint on loopback that answers with the statuses of plan in turn
// (200 once the plan is used up) and keeps every request.
type receiver struct {
	mu   sync.Mutex
	plan []int
	got  []delivery
	srv  *httptest.Server
}

func newReceiver(t *testing.T, plan ...int) *receiver {
	r := &receiver{plan: plan}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, delivery{id: req.Header.Get("webhook-id"), timestamp: req.Header.Get("webhook-timestamp"),
			signature: req.Header.Get("webhook-signature"), body: body, at: time.Now()})
		status := http.StatusOK
		if len(r.plan) > 0 {
			status, r.plan = r.plan[0], r.plan[1:]
		}
		r.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) deliveries() []delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]delivery(nil), r.got...)
}

// waitFor polls until cond holds or the timeout passes.
func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// verifySignature checks a delivery as a receiver following the Standard Webhooks
// specification would, written from the specification and not from the service's code: the
// signed content is "{webhook-id}.{webhook-timestamp}.{body}", the key the base64 decoding
// of the secret after its "whsec_" prefix, the signature "v1," followed by the base64
// HMAC-SHA256; the header may carry several, separated by spaces, and one match is enough.
func verifySignature(d delivery, secret string) bool {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(d.id + "." + d.timestamp + "." + string(d.body)))
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(d.signature) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return true
		}
	}
	return false
}

// integrationEnv are the settings of a service that delivers webhooks to loopback receivers
// on a schedule short enough for a test.
func integrationEnv(schedule string) []string {
	return []string{"WEBHOOK_ALLOW_PRIVATE_NETWORKS=true", "WEBHOOK_RETRY_SCHEDULE=" + schedule}
}

func (c client) must(want int, method, path, token string, org int64, body any) map[string]any {
	c.t.Helper()
	st, out, err := c.send(method, path, token, org, nil, body)
	if err != nil || st != want {
		c.t.Fatalf("%s %s: %d %v %v, want %d", method, path, st, out, err, want)
	}
	return out
}

// A client's first day with the integration surface. The owner creates an API key for the
// software and subscribes its endpoint (webhooks are managed by people, never by keys); the
// software acts with its key, receives signed deliveries, verifies them independently and
// catches up through the feed, seeing every change exactly once; revoking the key stops it.
func TestAClientConnectsWithAKeyAWebhookAndTheFeed(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs the compiled service and PostgreSQL")
	}
	dsn := testdb.URL(t, app.Sources())
	srv := startServer(t, buildBinary(t), dsn, integrationEnv("1s,1s,1s")...)
	t.Cleanup(func() { _ = srv.Stop() })
	c := client{t: t, base: srv.Base, http: &http.Client{Timeout: 20 * time.Second}}
	owner, _, org := c.register("integrator")

	// The owner makes a key for the software and subscribes its endpoint.
	key := c.must(201, "POST", fmt.Sprintf("/api/v1/organizations/%d/api-keys", org), owner, 0,
		map[string]any{"name": "sync", "role": "manager"})
	token, _ := key["token"].(string)
	if !strings.HasPrefix(token, "crm_") {
		t.Fatalf("API key token %q", token)
	}
	rcv := newReceiver(t)
	hook := c.must(201, "POST", "/api/v1/webhooks", owner, org,
		map[string]any{"url": rcv.srv.URL + "/hooks", "events": []string{"contact.created", "deal.created", "deal.updated"}})
	secret, _ := hook["secret"].(string)
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("webhook secret %q", secret)
	}
	// Person-only routes refuse the key whatever its role.
	if st, out, _ := c.send("GET", "/api/v1/webhooks", token, 0, nil, nil); st != 403 || out["code"] != "api_key_not_allowed" {
		t.Fatalf("a key listing webhooks: %d %v", st, out)
	}
	// The software starts its feed consumer at the head, then works through its key (no
	// X-Organization-Id needed).
	head := c.must(200, "GET", "/api/v1/events?since=now", token, 0, nil)
	cursor, _ := head["next_cursor"].(string)
	contact := c.must(201, "POST", "/api/v1/contacts", token, 0, map[string]any{"name": "Ann", "email": "ann@example.com"})
	committed := time.Now()
	deal := c.must(201, "POST", "/api/v1/deals", token, 0, map[string]any{"contact_id": contact["id"], "title": "Pilot", "amount": "1200.00"})
	dealPath := fmt.Sprintf("/api/v1/deals/%v", deal["id"])
	c.must(200, "PATCH", dealPath, token, 0, map[string]any{"stage": "proposal"})

	// Deliveries: one per subscribed event, each signed and carrying the event the feed lists.
	waitFor(t, 10*time.Second, "three deliveries", func() bool { return len(rcv.deliveries()) >= 3 })
	got := rcv.deliveries()
	t.Logf("first delivery %v after its commit", got[0].at.Sub(committed))
	types := map[string]string{}
	for _, d := range got {
		if !verifySignature(d, secret) {
			t.Errorf("delivery %s: the signature %q does not verify", d.id, d.signature)
		}
		ts, err := strconv.ParseInt(d.timestamp, 10, 64)
		if err != nil || time.Since(time.Unix(ts, 0)).Abs() > time.Minute {
			t.Errorf("delivery %s: webhook-timestamp %q", d.id, d.timestamp)
		}
		var e struct {
			ID    string `json:"id"`
			Type  string `json:"type"`
			Actor struct {
				Type string `json:"type"`
			} `json:"actor"`
		}
		if err := json.Unmarshal(d.body, &e); err != nil || e.ID != d.id {
			t.Errorf("delivery %s: body %s (%v)", d.id, d.body, err)
		}
		if e.Actor.Type != "api_key" {
			t.Errorf("delivery %s: actor %q, want api_key", d.id, e.Actor.Type)
		}
		types[e.ID] = e.Type
	}
	// The feed, followed from the cursor, lists the same changes once each, oldest first, and
	// more (activities) that the endpoint did not subscribe to.
	var feedTypes []string
	feedIDs := map[string]int{}
	for range 20 {
		page := c.must(200, "GET", "/api/v1/events?cursor="+url.QueryEscape(cursor), token, 0, nil)
		items, _ := page["items"].([]any)
		for _, it := range items {
			e := it.(map[string]any)
			feedTypes = append(feedTypes, e["type"].(string))
			feedIDs[e["id"].(string)]++
		}
		cursor = page["next_cursor"].(string)
		if page["has_more"] != true {
			break
		}
	}
	for id, typ := range types {
		if feedIDs[id] != 1 {
			t.Errorf("delivered event %s (%s) is in the feed %d times", id, typ, feedIDs[id])
		}
	}
	joined := " " + strings.Join(feedTypes, " ") + " "
	for _, want := range []string{" contact.created ", " deal.created ", " deal.updated ", " activity.created "} {
		if !strings.Contains(joined, want) {
			t.Errorf("the feed lacks%s: %s", want, joined)
		}
	}
	// Revoking the key stops it at once.
	keys := c.must(200, "GET", fmt.Sprintf("/api/v1/organizations/%d/api-keys", org), owner, 0, nil)["items"].([]any)
	keyID := keys[0].(map[string]any)["id"]
	c.must(204, "DELETE", fmt.Sprintf("/api/v1/organizations/%d/api-keys/%v", org, keyID), owner, 0, nil)
	if st, out, _ := c.send("GET", dealPath, token, 0, nil, nil); st != 401 || out["code"] != "invalid_api_key" {
		t.Fatalf("a revoked key: %d %v", st, out)
	}
}

// A receiver that fails twice then succeeds gets three attempts of one event, all with the
// same webhook-id, each signed anew, even when the service is killed (SIGKILL) between
// attempts and another process (here `crm worker`) takes over: the retry is a job in
// PostgreSQL.
func TestADeliverySurvivesTheServiceBeingKilledBetweenAttempts(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs the compiled service and PostgreSQL")
	}
	dsn := testdb.URL(t, app.Sources())
	bin := buildBinary(t)
	env := integrationEnv("2s,2s,2s")
	first := startServer(t, bin, dsn, env...)
	c := client{t: t, base: first.Base, http: &http.Client{Timeout: 20 * time.Second}}
	owner, _, org := c.register("crash")
	rcv := newReceiver(t, 500, 500)
	hook := c.must(201, "POST", "/api/v1/webhooks", owner, org, map[string]any{"url": rcv.srv.URL, "events": []string{"contact.created"}})
	secret := hook["secret"].(string)
	c.must(201, "POST", "/api/v1/contacts", owner, org, map[string]any{"name": "Ann"})
	// Killed between attempts: the first is recorded and the next one waits in the queue.
	// (A process killed during an attempt leaves its job running; the queue hands it to
	// another process once it is older than the rescue threshold, a minute.)
	hookID := hook["id"]
	logPath := fmt.Sprintf("/api/v1/webhooks/%v/deliveries", hookID)
	db, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(context.Background())
	waitFor(t, 10*time.Second, "the first attempt recorded and the next one scheduled", func() bool {
		items, _ := c.must(200, "GET", logPath, owner, org, nil)["items"].([]any)
		var scheduled bool // a snoozed job waits for its time, whatever River calls the state
		_ = db.QueryRow(context.Background(),
			"SELECT count(*) = 1 FROM river_job WHERE kind = 'webhooks.deliver' AND state IN ('available', 'scheduled') AND scheduled_at > now()").Scan(&scheduled)
		return scheduled && len(items) == 1 && items[0].(map[string]any)["attempts"] == float64(1)
	})
	first.kill() // SIGKILL: no shutdown, no chance to hand anything over
	// A process that only works the queue takes over the waiting attempt.
	worker := startWorker(t, bin, dsn, env...)
	waitFor(t, 20*time.Second, "three attempts", func() bool { return len(rcv.deliveries()) >= 3 })
	if err := worker.Stop(); err != nil {
		t.Fatalf("crm worker on SIGTERM: %v", err)
	}
	second := startServer(t, bin, dsn, env...)
	t.Cleanup(func() { _ = second.Stop() })
	time.Sleep(3 * time.Second) // no fourth attempt after the success
	got := rcv.deliveries()
	if len(got) != 3 {
		t.Fatalf("%d attempts, want 3 (500, 500, 200)", len(got))
	}
	for i, d := range got {
		if d.id != got[0].id {
			t.Errorf("attempt %d has webhook-id %q, the first %q", i+1, d.id, got[0].id)
		}
		if !verifySignature(d, secret) {
			t.Errorf("attempt %d: the signature does not verify", i+1)
		}
	}
	c.base = second.Base
	log := c.must(200, "GET", logPath, owner, org, nil)
	items, _ := log["items"].([]any)
	if len(items) != 1 {
		t.Fatalf("delivery log: %v", log)
	}
	d := items[0].(map[string]any)
	if d["status"] != "succeeded" || d["attempts"] != float64(3) || d["response_status"] != float64(200) {
		t.Fatalf("delivery after the crash: %v", d)
	}
}

// Two replicas on one database share the queue: every event reaches the endpoint once (the
// receiver always answers 200), never once from each.
func TestTwoReplicasDeliverEachEventOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: needs the compiled service and PostgreSQL")
	}
	dsn := testdb.URL(t, app.Sources())
	bin := buildBinary(t)
	env := integrationEnv("1s,1s,1s")
	a := startServer(t, bin, dsn, env...)
	b := startServer(t, bin, dsn, env...)
	t.Cleanup(func() { _ = a.Stop(); _ = b.Stop() })
	ca := client{t: t, base: a.Base, http: &http.Client{Timeout: 20 * time.Second}}
	cb := client{t: t, base: b.Base, http: ca.http}
	owner, _, org := ca.register("replicas")
	rcv := newReceiver(t)
	ca.must(201, "POST", "/api/v1/webhooks", owner, org, map[string]any{"url": rcv.srv.URL, "events": []string{"contact.created"}})
	const n = 40
	for i := range n {
		c := ca
		if i%2 == 1 {
			c = cb
		}
		c.must(201, "POST", "/api/v1/contacts", owner, org, map[string]any{"name": fmt.Sprint("Contact ", i)})
	}
	waitFor(t, 20*time.Second, fmt.Sprintf("%d deliveries", n), func() bool { return len(rcv.deliveries()) >= n })
	time.Sleep(2 * time.Second) // time for a duplicate to show up
	seen := map[string]int{}
	for _, d := range rcv.deliveries() {
		seen[d.id]++
	}
	if len(seen) != n {
		t.Errorf("%d distinct events delivered, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Errorf("event %s delivered %d times", id, k)
		}
	}
}
