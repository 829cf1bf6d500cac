package imports

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"

	"github.com/mini-crm/crm/platform/queue"
)

// RunArgs is the job running one import. OrgID is its organization under the name every job
// of an organization carries it (org_id), so that erasing the organization cancels it.
type RunArgs struct {
	OrgID    int64 `json:"org_id"`
	ImportID int64 `json:"import_id"`
}

// Kind implements river.JobArgs.
func (RunArgs) Kind() string { return "imports.run" }

// InsertOpts puts imports on their own queue, so that a long one never delays the service's
// other work.
func (RunArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: queue.Imports, MaxAttempts: maxAttempts}
}

// maxAttempts bounds the runs of an import that fails for a reason of ours (the database
// gone); waiting for the organization's running import is a snooze and does not count.
const maxAttempts = 5

// jobTimeout bounds one run of an import. It is also how long River waits before it gives
// the job of a process that died mid-import to another one.
const jobTimeout = 15 * time.Minute

type runWorker struct {
	river.WorkerDefaults[RunArgs]
	svc *Service
}

func (w *runWorker) Timeout(*river.Job[RunArgs]) time.Duration { return jobTimeout }

// Work runs the import; when its last attempt fails, the import is marked failed, so that it
// never stays running for ever.
func (w *runWorker) Work(ctx context.Context, job *river.Job[RunArgs]) error {
	err := w.svc.run(ctx, job.Args.OrgID, job.Args.ImportID)
	if err != nil && job.Attempt >= job.MaxAttempts && !isJobControl(err) {
		if ferr := w.svc.fail(context.WithoutCancel(ctx), job.Args.OrgID, job.Args.ImportID); ferr != nil {
			return ferr
		}
		return river.JobCancel(err)
	}
	return err
}

// isJobControl reports whether err is a snooze or cancellation asked of River, not a failure.
func isJobControl(err error) bool {
	var snooze *river.JobSnoozeError
	var cancel *river.JobCancelError
	return errors.As(err, &snooze) || errors.As(err, &cancel)
}
