// Command crm runs the mini-CRM service.
//
//	crm [command] [flags]
//
//	serve        run the HTTP service (the default command)
//	migrate      apply pending database migrations (ours and the job queue's) and exit
//	worker       work the job queue without serving HTTP
//	seed         fill the database with the benchmark data set (see cmd/crm/seed)
//	healthcheck  exit 0 when the local service answers /health (for container health checks)
//	help         print this list, or a command's usage and flags
//
// Settings come from environment variables (platform/config); `crm -h` and
// `crm <command> -h` need none of them. Exit status: 0 done, 1 failed, 2 usage error (an
// unknown command, flag or argument; the usage is then printed on standard error).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/config"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
	"github.com/mini-crm/crm/platform/tracing"
)

// Exit statuses.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// action is what a command does once its flags are parsed and the configuration loaded.
type action func(ctx context.Context, cfg config.Config, log *slog.Logger) error

// command is one subcommand of crm. define declares its flags on fs and returns its action.
type command struct {
	name    string
	summary string // one line, for `crm -h`
	define  func(fs *flag.FlagSet) action
}

// commands lists every command crm runs, in the order of `crm -h`; nothing else dispatches.
var commands = []command{
	{"serve", "run the HTTP service on HTTP_ADDR, migrating first unless MIGRATE_ON_START=false (the default command)",
		func(*flag.FlagSet) action { return serve }},
	{"migrate", "apply pending database migrations to DATABASE_URL and exit",
		func(*flag.FlagSet) action {
			return func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
				return migrate.UpWhenReachable(ctx, cfg.DatabaseURL, app.Sources(), logWriter{log}, connectRetry(cfg, log))
			}
		}},
	{"worker", "work the job queue (webhook deliveries, the change feed's sequencer, retention) without serving HTTP",
		func(*flag.FlagSet) action { return worker }},
	{"seed", "migrate, then fill DATABASE_URL with the benchmark data set", seedCommand},
	{"healthcheck", "exit 0 when the service on HTTP_ADDR answers GET /health with 200 (for container health checks)",
		func(*flag.FlagSet) action {
			return func(ctx context.Context, cfg config.Config, _ *slog.Logger) error {
				return healthcheck(ctx, cfg.HTTPAddr)
			}
		}},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs crm with args (without the program name) and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	name := "serve"
	if len(args) > 0 {
		name, args = args[0], args[1:]
	}
	if isHelp(name) {
		if len(args) == 0 {
			usage(stdout)
			return exitOK
		}
		c, ok := lookup(args[0])
		if !ok || len(args) > 1 {
			return usageError(stderr, fmt.Sprintf("help: unknown command %q", strings.Join(args, " ")))
		}
		fs, _ := flags(c, stderr)
		commandUsage(stdout, c, fs)
		return exitOK
	}
	c, ok := lookup(name)
	if !ok {
		return usageError(stderr, fmt.Sprintf("unknown command %q", name))
	}
	fs, act := flags(c, stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			commandUsage(stdout, c, fs)
			return exitOK
		}
		// The flag package has printed what is wrong.
		commandUsage(stderr, c, fs)
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "crm %s: unexpected argument %q\n", c.name, fs.Arg(0))
		commandUsage(stderr, c, fs)
		return exitUsage
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "crm:", err)
		return exitFailure
	}
	log := newLogger(cfg)
	slog.SetDefault(log)
	if err := act(ctx, cfg, log); err != nil {
		fmt.Fprintln(stderr, "crm:", err)
		return exitFailure
	}
	return exitOK
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

func lookup(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// flags returns the flag set of c, reporting parse errors on stderr, and c's action.
func flags(c command, stderr io.Writer) (*flag.FlagSet, action) {
	fs := flag.NewFlagSet("crm "+c.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {} // run prints the usage, on stdout when it was asked for
	return fs, c.define(fs)
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: crm [command] [flags]

The mini-CRM service. Without a command, crm serves.

commands:
`)
	for _, c := range commands {
		summary := c.summary
		if fs, _ := flags(c, io.Discard); hasFlags(fs) {
			summary += " (flags: crm " + c.name + " -h)"
		}
		fmt.Fprintf(w, "  %-12s %s\n", c.name, summary)
	}
	fmt.Fprintf(w, "  %-12s %s\n", "help", "print this list; crm help <command> (or crm <command> -h) prints a command's usage")
	fmt.Fprint(w, `
Settings come from environment variables: DATABASE_URL, HTTP_ADDR, JWT_SECRET and the others
listed in README.md (Configuration).
`)
}

func hasFlags(fs *flag.FlagSet) bool {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n > 0
}

func commandUsage(w io.Writer, c command, fs *flag.FlagSet) {
	sentence := strings.ToUpper(c.summary[:1]) + c.summary[1:] + "."
	if !hasFlags(fs) {
		fmt.Fprintf(w, "usage: crm %s\n\n%s It takes no flags.\n", c.name, sentence)
		return
	}
	fmt.Fprintf(w, "usage: crm %s [flags]\n\n%s\n\nflags:\n", c.name, sentence)
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

func usageError(stderr io.Writer, msg string) int {
	fmt.Fprintf(stderr, "crm: %s\n\n", msg)
	usage(stderr)
	return exitUsage
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.MigrateOnStart {
		if err := migrate.UpWhenReachable(ctx, cfg.DatabaseURL, app.Sources(), logWriter{log}, connectRetry(cfg, log)); err != nil {
			return err
		}
	}
	a, done, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer done()
	if cfg.PprofAddr != "" {
		stop, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			return err
		}
		defer stop()
	}
	return a.Serve(ctx, cfg.HTTPAddr)
}

// worker is serve without HTTP: a process that only works the queue, next to replicas that
// serve (every process that serves works the queue too).
func worker(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	a, done, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer done()
	return a.Work(ctx)
}

// build connects to the database and builds the application, traced when the environment
// names an OTLP endpoint (OTEL_EXPORTER_OTLP_ENDPOINT). done closes the pool and flushes the
// spans not exported yet.
func build(ctx context.Context, cfg config.Config, log *slog.Logger) (a *app.App, done func(), err error) {
	tp, flush, err := tracing.Setup(ctx)
	if err != nil {
		return nil, nil, err
	}
	db, err := database.Open(ctx, cfg.DatabaseURL, database.Options{
		MaxConns: cfg.DBMaxConns, ScanSlots: cfg.DBScanSlots, StatementTimeout: cfg.RequestTimeout, Role: cfg.DBAppRole,
		Connect: connectRetry(cfg, log),
	})
	if err != nil {
		return nil, nil, err
	}
	done = func() {
		db.Close()
		fctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := flush(fctx); err != nil {
			log.Warn("traces not flushed", "error", err.Error())
		}
	}
	a, err = app.New(cfg, log, db, app.Options{TracerProvider: tp})
	if err != nil {
		done()
		return nil, nil, err
	}
	return a, done, nil
}

// connectRetry waits for a database that is not reachable yet (a container starting with
// its database) for up to DB_CONNECT_TIMEOUT.
func connectRetry(cfg config.Config, log *slog.Logger) database.Retry {
	return database.Retry{Timeout: cfg.DBConnectTimeout, Log: log}
}

func newLogger(cfg config.Config) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}

func healthcheck(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/health", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: status %d", res.StatusCode)
	}
	return nil
}

// logWriter sends dbmate's progress lines to the structured log.
type logWriter struct{ log *slog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	if s := string(p); len(s) > 0 && s != "\n" {
		w.log.Info("migrate: " + trimNL(s))
	}
	return len(p), nil
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
