// Command crm runs the mini-CRM service.
//
//	crm [serve]   run the HTTP service (default)
//	crm migrate   apply pending migrations and exit
//	crm healthcheck  exit 0 when the local service answers /health (for container health checks)
//	crm seed      fill the database with the benchmark data set (see cmd/crm/seed)
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/config"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/migrate"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "crm:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	cfg, err := config.Load(ctx)
	if err != nil {
		return err
	}
	log := newLogger(cfg)
	slog.SetDefault(log)
	cmd := "serve"
	if len(args) > 0 {
		cmd = args[0]
	}
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log)
	case "migrate":
		return migrate.UpWhenReachable(ctx, cfg.DatabaseURL, app.Sources(), logWriter{log}, connectRetry(cfg, log))
	case "healthcheck":
		return healthcheck(ctx, cfg.HTTPAddr)
	case "seed":
		return runSeed(ctx, cfg, log, args[1:])
	case "help", "-h", "--help":
		fmt.Println("usage: crm [serve|migrate|healthcheck|seed]")
		return nil
	}
	return fmt.Errorf("unknown command %q (want serve or migrate)", cmd)
}

func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	if cfg.MigrateOnStart {
		if err := migrate.UpWhenReachable(ctx, cfg.DatabaseURL, app.Sources(), logWriter{log}, connectRetry(cfg, log)); err != nil {
			return err
		}
	}
	db, err := database.Open(ctx, cfg.DatabaseURL, database.Options{
		MaxConns: cfg.DBMaxConns, StatementTimeout: cfg.RequestTimeout, Role: cfg.DBAppRole,
		Connect: connectRetry(cfg, log),
	})
	if err != nil {
		return err
	}
	defer db.Close()
	a, err := app.New(cfg, log, db, app.Options{})
	if err != nil {
		return err
	}
	return a.Serve(ctx, cfg.HTTPAddr)
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
