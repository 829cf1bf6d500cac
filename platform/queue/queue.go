// Package queue is the service's durable job queue: River, with its jobs in PostgreSQL. A job
// enqueued inside a write's transaction commits or rolls back with the write, survives
// restarts and crashes, and is worked by exactly one of the processes sharing the database at
// a time. Modules register their workers and periodic jobs while the application is built;
// the composition root opens the queue afterwards and starts working it in processes that do
// (crm serve, crm worker).
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/riverqueue/rivercontrib/otelriver"
	"go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/mini-crm/crm/platform/database"
)

// Queue names.
const (
	// Default holds the service's own work: the change feed's sequencer, retention.
	Default = river.QueueDefault
	// Webhooks holds webhook deliveries, so that slow receivers never delay the rest.
	Webhooks = "webhooks"
	// Imports holds CSV imports, long jobs that must not hold up the default queue's work.
	Imports = "imports"
)

// Options tune a queue.
type Options struct {
	// Workers is how many jobs of the webhooks queue one process works at once (the default
	// queue gets a fixed few).
	Workers int
	// RescueAfter is how long a job may stay running before it is considered abandoned by a
	// process that died, and made available again.
	RescueAfter time.Duration
	Log         *slog.Logger
	// TracerProvider, when set, gives every job a span that continues the trace of the
	// request or job that enqueued it (otelriver); nil traces nothing.
	TracerProvider trace.TracerProvider
}

// Queue registers workers and inserts and works jobs.
type Queue struct {
	db       *database.DB
	opts     Options
	workers  *river.Workers
	periodic []*river.PeriodicJob
	client   *river.Client[pgx.Tx]
	working  bool
}

// ErrNotOpen is returned when a job is enqueued before the queue was opened.
var ErrNotOpen = errors.New("queue: not open")

// New returns a queue over db with no workers yet.
func New(db *database.DB, o Options) *Queue {
	if o.Workers < 1 {
		o.Workers = 20
	}
	if o.RescueAfter <= 0 {
		o.RescueAfter = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Queue{db: db, opts: o, workers: river.NewWorkers()}
}

// Register adds the worker of jobs of type T. Call it before Open.
func Register[T river.JobArgs](q *Queue, w river.Worker[T]) {
	river.AddWorker(q.workers, w)
}

// Every makes a job with args run every interval, on one process of those sharing the
// database (River elects a leader that schedules periodic jobs). Call it before Open.
func (q *Queue) Every(interval time.Duration, args river.JobArgs) {
	q.periodic = append(q.periodic, river.NewPeriodicJob(river.PeriodicInterval(interval),
		func() (river.JobArgs, *river.InsertOpts) { return args, nil },
		&river.PeriodicJobOpts{RunOnStart: true}))
}

// Open builds the client. With work, the process also works the queue once Start runs;
// without, it only inserts jobs (tests that enqueue but never work).
func (q *Queue) Open(work bool) error {
	cfg := &river.Config{
		Logger:               q.opts.Log,
		RescueStuckJobsAfter: q.opts.RescueAfter,
		Workers:              q.workers,
		JobTimeout:           time.Minute,
		// Completed jobs are history nobody reads: keep them an hour for inspection.
		CompletedJobRetentionPeriod: time.Hour,
	}
	if q.opts.TracerProvider != nil {
		cfg.Middleware = []rivertype.Middleware{otelriver.NewMiddleware(&otelriver.MiddlewareConfig{
			TracerProvider: q.opts.TracerProvider, MeterProvider: noop.NewMeterProvider()})}
	}
	if work {
		cfg.Queues = map[string]river.QueueConfig{
			Default:  {MaxWorkers: 4},
			Webhooks: {MaxWorkers: q.opts.Workers},
			Imports:  {MaxWorkers: 2},
		}
		cfg.PeriodicJobs = q.periodic
		cfg.FetchCooldown = 20 * time.Millisecond
	}
	c, err := river.NewClient(riverpgxv5.New(q.db.Pool), cfg)
	if err != nil {
		return fmt.Errorf("queue: %w", err)
	}
	q.client, q.working = c, work
	return nil
}

// Start works the queue until Stop (a no-op for a queue opened without work).
func (q *Queue) Start(ctx context.Context) error {
	if q.client == nil {
		return ErrNotOpen
	}
	if !q.working {
		return nil
	}
	return q.client.Start(ctx)
}

// Stop lets the jobs being worked finish (until ctx ends) and stops working the queue.
func (q *Queue) Stop(ctx context.Context) error {
	if q.client == nil || !q.working {
		return nil
	}
	return q.client.Stop(ctx)
}

// Client is the River client, for operations this package does not wrap (tests, job
// inspection).
func (q *Queue) Client() *river.Client[pgx.Tx] { return q.client }

// Enqueue inserts a job: in the transaction carried by ctx when there is one, so that it
// commits or rolls back with the write that asked for it.
func (q *Queue) Enqueue(ctx context.Context, args river.JobArgs, opts *river.InsertOpts) error {
	if q.client == nil {
		return ErrNotOpen
	}
	var err error
	if tx, ok := database.TxOf(ctx); ok {
		_, err = q.client.InsertTx(ctx, tx, args, opts)
	} else {
		_, err = q.client.Insert(ctx, args, opts)
	}
	if err != nil {
		return fmt.Errorf("queue: enqueue %s: %w", args.Kind(), err)
	}
	return nil
}

// EnqueueMany inserts jobs as Enqueue does, in one statement.
func (q *Queue) EnqueueMany(ctx context.Context, params []river.InsertManyParams) error {
	if len(params) == 0 {
		return nil
	}
	if q.client == nil {
		return ErrNotOpen
	}
	var err error
	if tx, ok := database.TxOf(ctx); ok {
		_, err = q.client.InsertManyTx(ctx, tx, params)
	} else {
		_, err = q.client.InsertMany(ctx, params)
	}
	if err != nil {
		return fmt.Errorf("queue: enqueue %d jobs: %w", len(params), err)
	}
	return nil
}
