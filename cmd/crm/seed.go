package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"text/tabwriter"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/cmd/crm/seed"
	"github.com/mini-crm/crm/platform/config"
	"github.com/mini-crm/crm/platform/migrate"
)

// seedCommand is `crm seed [-seed N] [-scale F] [-reset] [-anchor YYYY-MM-DD]`: it declares
// those flags on fs; the command migrates the database of DATABASE_URL, then fills it with the
// benchmark data set (see package seed). A malformed flag is a usage error, before anything
// is touched.
func seedCommand(fs *flag.FlagSet) action {
	n := fs.Uint64("seed", 1, "seed of the random data: the same seed and scale give the same data")
	scale := fs.Float64("scale", 1, "size of the data set: 1 is 1M deals in the large organization and 1,000 small ones; 0.01 runs in seconds")
	reset := fs.Bool("reset", false, "truncate the data tables first (a database holding organizations is refused otherwise)")
	var anchor time.Time
	fs.Func("anchor", "the day the data set ends on, `YYYY-MM-DD` (default today, UTC)", func(v string) error {
		t, err := time.Parse(time.DateOnly, v)
		if err != nil {
			return errors.New("want YYYY-MM-DD")
		}
		anchor = t
		return nil
	})
	return func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
		return runSeed(ctx, cfg, log, seed.Options{Seed: *n, Scale: *scale, Reset: *reset, Anchor: anchor, Progress: os.Stderr})
	}
}

func runSeed(ctx context.Context, cfg config.Config, log *slog.Logger, o seed.Options) error {
	if err := migrate.Up(cfg.DatabaseURL, app.Sources(), logWriter{log}); err != nil {
		return err
	}
	res, err := seed.Run(ctx, cfg.DatabaseURL, o)
	if err != nil {
		return err
	}
	fmt.Printf("seeded with seed %d, scale %g, anchor %s in %s\n\n", o.Seed, o.Scale, res.Anchor.Format(time.DateOnly),
		res.Elapsed.Round(time.Millisecond))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "table\trows\t")
	for _, c := range res.Counts {
		fmt.Fprintf(tw, "%s\t%d\t\n", c.Table, c.Rows)
	}
	fmt.Fprintln(tw, "\t\t")
	fmt.Fprintln(tw, "step\ttime\t")
	for _, s := range res.Steps {
		fmt.Fprintf(tw, "%s\t%s\t\n", s.Name, s.Duration.Round(time.Millisecond))
	}
	return tw.Flush()
}
