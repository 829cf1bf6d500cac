package events_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mini-crm/crm/platform/auth"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/events"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/testdb"
)

func sources() []migrate.Source {
	return []migrate.Source{
		{Module: "database", FS: database.Migrations()},
		{Module: "events", FS: events.Migrations()},
	}
}

type deal struct {
	ID    int64  `json:"id"`
	Title string `json:"title"`
	Stage string `json:"stage"`
}

// as returns a context acting as user 7 in org, scoped for row-level security.
func as(org int64) context.Context {
	ctx := auth.WithPrincipal(context.Background(), auth.Principal{UserID: 7, OrgID: org, Role: auth.RoleMember})
	return database.WithUser(database.WithTenant(ctx, org), 7)
}

func record(t *testing.T, db *database.DB, o *events.Outbox, org int64, title string) int64 {
	t.Helper()
	var id int64
	err := db.WithinTx(as(org), func(ctx context.Context) error {
		var err error
		id, err = o.Record(ctx, events.Change{OrgID: org, Type: "deal.created", Object: deal{ID: 1, Title: title}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func page(t *testing.T, o *events.Outbox, org, after int64) []events.Event {
	t.Helper()
	items, err := o.Page(as(org), events.Query{OrgID: org, After: after, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	return items
}

func TestRecordNeedsTheChangesTransactionAndRollsBackWithIt(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources())
	o := events.New(db)
	if _, err := o.Record(as(1), events.Change{OrgID: 1, Type: "deal.created", Object: deal{}}); !errors.Is(err, events.ErrNotInTx) {
		t.Fatalf("outside a transaction: %v, want ErrNotInTx", err)
	}
	boom := errors.New("the change fails")
	err := db.WithinTx(as(1), func(ctx context.Context) error {
		if _, err := o.Record(ctx, events.Change{OrgID: 1, Type: "deal.created", Object: deal{ID: 1}}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if _, err := o.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := page(t, o, 1, 0); len(got) != 0 {
		t.Fatalf("a rolled-back change left %d events", len(got))
	}
	record(t, db, o, 1, "kept")
	if got := page(t, o, 1, 0); len(got) != 0 {
		t.Fatalf("an event is listed before it is sequenced: %d", len(got))
	}
	if n, err := o.Sequence(context.Background()); err != nil || n != 1 {
		t.Fatalf("sequenced %d, %v", n, err)
	}
	got := page(t, o, 1, 0)
	if len(got) != 1 || got[0].Type != "deal.created" || got[0].Actor.Type != "user" || *got[0].Actor.ID != 7 {
		t.Fatalf("feed: %+v", got)
	}
	var data struct {
		Object map[string]any `json:"object"`
	}
	if err := json.Unmarshal(got[0].Data, &data); err != nil || data.Object["object"] != "deal" || data.Object["title"] != "kept" {
		t.Fatalf("data: %s (%v)", got[0].Data, err)
	}
	// Another organization sees none of it, even when asking for it.
	if got := page(t, o, 2, 0); len(got) != 0 {
		t.Fatalf("organization 2 sees %d events of organization 1", len(got))
	}
	if got, err := o.Page(as(2), events.Query{OrgID: 1, Limit: 10}); err != nil || len(got) != 0 {
		t.Fatalf("organization 2 asking for organization 1's feed: %d events, %v", len(got), err)
	}
}

func TestPreviousAttributesHoldTheOldValueOfEveryChangedField(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources())
	o := events.New(db)
	err := db.WithinTx(as(1), func(ctx context.Context) error {
		_, err := o.Record(ctx, events.Change{OrgID: 1, Type: "deal.updated",
			Before: deal{ID: 1, Title: "a", Stage: "proposal"}, Object: deal{ID: 1, Title: "a", Stage: "negotiation"},
			Data: map[string]any{"reason": "test"}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Sequence(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := page(t, o, 1, 0)
	want := `{"object":{"object":"deal","id":1,"title":"a","stage":"negotiation"},"previous_attributes":{"stage":"proposal"},"reason":"test"}`
	if len(got) != 1 || string(got[0].Data) != want {
		t.Fatalf("data:\n got %s\nwant %s", got[0].Data, want)
	}
}

// A transaction that started first but commits last must not be skipped by a reader that
// already went past the events of the transactions that committed before it.
func TestAnEventThatCommitsLateWithAnEarlierIDIsNeverSkipped(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources())
	o := events.New(db)
	ctx := context.Background()

	slowRecorded, release, slowDone := make(chan int64), make(chan struct{}), make(chan error)
	go func() {
		slowDone <- db.WithinTx(as(1), func(ctx context.Context) error {
			id, err := o.Record(ctx, events.Change{OrgID: 1, Type: "deal.created", Object: deal{Title: "slow"}})
			if err != nil {
				return err
			}
			slowRecorded <- id
			<-release
			return nil
		})
	}()
	slowID := <-slowRecorded
	fastID := record(t, db, o, 1, "fast")
	if fastID <= slowID {
		t.Fatalf("the test needs the slow event to have the earlier id: slow %d, fast %d", slowID, fastID)
	}
	if _, err := o.Sequence(ctx); err != nil {
		t.Fatal(err)
	}
	first := page(t, o, 1, 0)
	if len(first) != 1 || first[0].ID != events.FormatID(fastID) {
		t.Fatalf("while the slow transaction runs the feed shows %+v, want only the fast event", first)
	}
	cursor := position(t, o, first[0])
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	if _, err := o.Sequence(ctx); err != nil {
		t.Fatal(err)
	}
	next := page(t, o, 1, cursor)
	if len(next) != 1 || next[0].ID != events.FormatID(slowID) {
		t.Fatalf("after the slow commit the reader gets %+v, want the slow event", next)
	}
	if again := page(t, o, 1, position(t, o, next[0])); len(again) != 0 {
		t.Fatalf("the reader sees %d events twice", len(again))
	}
}

// position is e's feed position.
func position(_ *testing.T, _ *events.Outbox, e events.Event) int64 { return e.Position() }

// Writers in several organizations commit in random order while sequencers of two "replicas"
// run and a reader follows one organization's feed: the reader ends with every committed
// event of its organization exactly once, and the hooks saw each event exactly once.
func TestConcurrentWritersSequencersAndAReaderAgree(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources())
	o := events.New(db)
	var hookMu sync.Mutex
	hooked := map[int64]int{}
	o.OnSequenced(func(_ context.Context, batch []events.Sequenced) error {
		hookMu.Lock()
		defer hookMu.Unlock()
		for _, s := range batch {
			hooked[s.ID]++
		}
		return nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var seqWG sync.WaitGroup
	for range 2 {
		seqWG.Go(func() {
			for ctx.Err() == nil {
				if _, err := o.Sequence(ctx); err != nil && ctx.Err() == nil {
					t.Error(err)
					return
				}
				time.Sleep(time.Millisecond)
			}
		})
	}
	var committedMu sync.Mutex
	committed := map[string]bool{}
	var total atomic.Int64
	var writers sync.WaitGroup
	for w := range 6 {
		writers.Go(func() {
			org := int64(1 + w%2)
			for i := range 25 {
				var id int64
				err := db.WithinTx(as(org), func(ctx context.Context) error {
					var err error
					id, err = o.Record(ctx, events.Change{OrgID: org, Type: "deal.created", Object: deal{Title: fmt.Sprint(w, i)}})
					time.Sleep(time.Duration(rand.IntN(3000)) * time.Microsecond)
					if err == nil && rand.IntN(5) == 0 {
						return errors.New("roll back")
					}
					return err
				})
				if err == nil {
					total.Add(1)
					if org == 1 {
						committedMu.Lock()
						committed[events.FormatID(id)] = true
						committedMu.Unlock()
					}
				}
			}
		})
	}
	seen := map[string]int{}
	var after int64
	read := func() {
		items, err := o.Page(as(1), events.Query{OrgID: 1, After: after, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range items {
			seen[e.ID]++
		}
		if n := len(items); n > 0 {
			after = position(t, o, items[n-1])
		}
	}
	done := make(chan struct{})
	go func() { writers.Wait(); close(done) }()
	for polling := true; polling; {
		select {
		case <-done:
			polling = false
		default:
			read()
		}
	}
	// Let the sequencers catch up, then read to the end.
	deadline := time.Now().Add(10 * time.Second)
	for {
		hookMu.Lock()
		n := len(hooked)
		hookMu.Unlock()
		if int64(n) == total.Load() || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	for range 200 {
		read()
	}
	cancel()
	seqWG.Wait()
	for id := range committed {
		if seen[id] != 1 {
			t.Errorf("committed event %s seen %d times", id, seen[id])
		}
	}
	for id, n := range seen {
		if !committed[id] {
			t.Errorf("event %s seen %d times but never committed in organization 1", id, n)
		}
	}
	if int64(len(hooked)) != total.Load() {
		t.Errorf("hooks saw %d events, %d committed", len(hooked), total.Load())
	}
	for id, n := range hooked {
		if n != 1 {
			t.Errorf("hooks saw event %d %d times", id, n)
		}
	}
}

// A transaction left open in organization A holds back nobody else: B's event is in B's feed
// within the 2 seconds the contract allows (in practice a poll interval).
func TestAnOpenTransactionInOneOrganizationDoesNotDelayAnother(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources())
	o := events.New(db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go o.Run(ctx, slog.New(slog.DiscardHandler))

	release, opened, done := make(chan struct{}), make(chan struct{}), make(chan error)
	go func() {
		done <- db.WithinTx(as(1), func(ctx context.Context) error {
			if _, err := o.Record(ctx, events.Change{OrgID: 1, Type: "deal.created", Object: deal{Title: "long import"}}); err != nil {
				return err
			}
			close(opened)
			<-release
			return nil
		})
	}()
	<-opened
	committed := time.Now()
	record(t, db, o, 2, "quick")
	var visible time.Duration
	for {
		if got := page(t, o, 2, 0); len(got) == 1 {
			visible = time.Since(committed)
			break
		}
		if time.Since(committed) > 2*time.Second {
			t.Fatal("organization 2's event is not in its feed 2 s after commit while organization 1's transaction is open")
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Logf("visible %v after commit", visible)
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestPurgeRemovesOnlyEventsOlderThanTheRetention(t *testing.T) {
	t.Parallel()
	db := testdb.New(t, sources())
	o := events.New(db)
	record(t, db, o, 1, "old")
	record(t, db, o, 2, "old too")
	if n, err := o.Purge(context.Background(), time.Hour); err != nil || n != 0 {
		t.Fatalf("purged %d recent events, %v", n, err)
	}
	if n, err := o.Purge(context.Background(), -time.Hour); err != nil || n != 2 {
		t.Fatalf("purged %d of 2 events of every organization, %v", n, err)
	}
}
