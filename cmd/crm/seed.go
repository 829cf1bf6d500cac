package main

import (
	"context"
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

// runSeed is `crm seed [-seed N] [-scale F] [-reset] [-anchor YYYY-MM-DD]`: it migrates the
// database of DATABASE_URL, then fills it with the benchmark data set (see package seed).
func runSeed(ctx context.Context, cfg config.Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	fs.SetOutput(os.Stderr)
	n := fs.Uint64("seed", 1, "seed of the random data: the same seed and scale give the same data")
	scale := fs.Float64("scale", 1, "size of the data set: 1 is 1M deals in the large organization and 1,000 small ones; 0.01 runs in seconds")
	reset := fs.Bool("reset", false, "truncate the data tables first (a database holding organizations is refused otherwise)")
	anchor := fs.String("anchor", "", "the day the data set ends on, YYYY-MM-DD (default today, UTC)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: crm seed [-seed N] [-scale F] [-reset] [-anchor YYYY-MM-DD]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := seed.Options{Seed: *n, Scale: *scale, Reset: *reset, Progress: os.Stderr}
	if *anchor != "" {
		t, err := time.Parse(time.DateOnly, *anchor)
		if err != nil {
			return fmt.Errorf("seed: -anchor: %w", err)
		}
		o.Anchor = t
	}
	if err := migrate.Up(cfg.DatabaseURL, app.Sources(), logWriter{log}); err != nil {
		return err
	}
	res, err := seed.Run(ctx, cfg.DatabaseURL, o)
	if err != nil {
		return err
	}
	fmt.Printf("seeded with seed %d, scale %g, anchor %s in %s\n\n", *n, *scale, res.Anchor.Format(time.DateOnly),
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
