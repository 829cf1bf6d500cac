package trash

import (
	"context"

	"github.com/riverqueue/river"
)

// PurgeArgs is the periodic job that deletes for good what has been in the trash for
// TRASH_RETENTION.
type PurgeArgs struct{}

// Kind implements river.JobArgs.
func (PurgeArgs) Kind() string { return "trash.purge" }

type purgeWorker struct {
	river.WorkerDefaults[PurgeArgs]
	svc *Service
}

func (w *purgeWorker) Work(ctx context.Context, _ *river.Job[PurgeArgs]) error {
	_, err := w.svc.Purge(ctx)
	return err
}
