package events

import (
	"context"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/mini-crm/crm/platform/queue"
)

// SequenceArgs is the periodic job that sequences whatever the processes' own sequencing
// loops (Run) have not: the durable half of the sequencer.
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

// PollInterval is how often each process runs the sequencer. A run that finds nothing to
// sequence is one probe of a small partial index and takes no lock, so polling costs the
// database next to nothing while keeping the feed and webhook deliveries a fraction of a
// second behind their commits.
const PollInterval = 100 * time.Millisecond

// Run sequences committed events every PollInterval until ctx ends: the fast half of the
// sequencer (the periodic queue job is the durable half, for a process that dies or a
// deployment that runs none). Writes do not announce their events (a NOTIFY per write would
// serialise every writing transaction's commit on PostgreSQL's notification queue, which
// measured at a third of the write throughput): the sequencer comes to them.
func (o *Outbox) Run(ctx context.Context, log *slog.Logger) {
	t := time.NewTicker(PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if _, err := o.Sequence(ctx); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "sequencing events", "error", err)
			}
		}
	}
}
