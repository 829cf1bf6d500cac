package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgxlisten"
	"github.com/riverqueue/river"

	"github.com/mini-crm/crm/platform/queue"
)

// SequenceArgs is the periodic job that sequences whatever the listeners have not (a
// notification lost while a listener was reconnecting, a process that died between commit
// and sequencing): the durable half of the sequencer.
type SequenceArgs struct{}

// Kind implements river.JobArgs.
func (SequenceArgs) Kind() string { return "events.sequence" }

// PurgeArgs is the periodic retention job.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "events.purge" }

type sequenceWorker struct {
	river.WorkerDefaults[SequenceArgs]
	o *Outbox
}

func (w *sequenceWorker) Work(ctx context.Context, _ *river.Job[SequenceArgs]) error {
	_, err := w.o.Sequence(ctx)
	return err
}

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	o         *Outbox
	retention time.Duration
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	_, err := w.o.Purge(ctx, w.retention)
	return err
}

// Schedule registers the outbox's jobs on q: the sequencer every second and the removal of
// events older than retention every hour.
func (o *Outbox) Schedule(q *queue.Queue, retention time.Duration) {
	queue.Register(q, &sequenceWorker{o: o})
	queue.Register(q, &purgeWorker{o: o, retention: retention})
	q.Every(time.Second, SequenceArgs{})
	q.Every(time.Hour, PurgeArgs{})
}

// Listen sequences events as soon as their transactions commit, on the notification each one
// sends, until ctx ends: the fast half of the sequencer, which keeps the feed and webhook
// deliveries within milliseconds of a commit. Notifications that arrive while a pass runs are
// folded into one more pass. It reconnects by itself; while it is disconnected the periodic
// job keeps the feed going, a second behind.
func (o *Outbox) Listen(ctx context.Context, log *slog.Logger) error {
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	l := &pgxlisten.Listener{
		Connect: func(ctx context.Context) (*pgx.Conn, error) {
			c, err := o.db.Pool.Acquire(ctx)
			if err != nil {
				return nil, err
			}
			return c.Hijack(), nil
		},
		LogError: func(ctx context.Context, err error) {
			log.WarnContext(ctx, "event listener", "error", err)
		},
		ReconnectDelay: time.Second,
	}
	l.Handle(Channel, listenHandler{poke: poke})
	go func() {
		for {
			select {
			case <-ctx.Done():
				return
			case <-wake:
				if _, err := o.Sequence(ctx); err != nil && ctx.Err() == nil {
					log.WarnContext(ctx, "sequencing events", "error", err)
				}
			}
		}
	}()
	err := l.Listen(ctx)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

type listenHandler struct{ poke func() }

func (h listenHandler) HandleNotification(context.Context, *pgconn.Notification, *pgx.Conn) error {
	h.poke()
	return nil
}

// HandleBacklog runs once LISTEN is in place after every (re)connection: events may have
// committed while nobody listened.
func (h listenHandler) HandleBacklog(context.Context, string, *pgx.Conn) error {
	h.poke()
	return nil
}
