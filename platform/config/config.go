// Package config loads the service configuration from environment variables (listed in README.md).
package config

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Config is every setting of the service.
type Config struct {
	DatabaseURL       string        `env:"DATABASE_URL, default=postgres://postgres@127.0.0.1:5432/crm?sslmode=disable"`
	HTTPAddr          string        `env:"HTTP_ADDR, default=:8080"`
	JWTSecret         string        `env:"JWT_SECRET"`
	JWTIssuer         string        `env:"JWT_ISSUER, default=mini-crm"`
	AccessTokenTTL    time.Duration `env:"ACCESS_TOKEN_TTL, default=15m"`
	RefreshTokenTTL   time.Duration `env:"REFRESH_TOKEN_TTL, default=720h"`
	AnalyticsCacheTTL time.Duration `env:"ANALYTICS_CACHE_TTL, default=30s"`
	MigrateOnStart    bool          `env:"MIGRATE_ON_START, default=true"`
	LogLevel          string        `env:"LOG_LEVEL, default=info"`
	LogFormat         string        `env:"LOG_FORMAT, default=json"`
	RequestTimeout    time.Duration `env:"REQUEST_TIMEOUT, default=10s"`
	ReadTimeout       time.Duration `env:"HTTP_READ_TIMEOUT, default=15s"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT, default=20s"`
	DBMaxConns        int32         `env:"DB_MAX_CONNS, default=0"`  // 0: database.DefaultMaxConns
	DBScanSlots       int           `env:"DB_SCAN_SLOTS, default=0"` // 0: database.DefaultScanSlots, -1: no limit
	DBConnectTimeout  time.Duration `env:"DB_CONNECT_TIMEOUT, default=60s"`
	DBAppRole         string        `env:"DB_APP_ROLE, default=crm_app"`
	RedisURL          string        `env:"REDIS_URL"`
	LoginIPLimit      int           `env:"LOGIN_IP_LIMIT, default=20"`
	LoginIPWindow     time.Duration `env:"LOGIN_IP_WINDOW, default=1m"`
	LoginUserLimit    int           `env:"LOGIN_ACCOUNT_LIMIT, default=5"`
	LoginUserWindow   time.Duration `env:"LOGIN_ACCOUNT_WINDOW, default=15m"`

	// Integrations: API keys, the change feed and webhooks.
	APIKeyRateLimit      int           `env:"API_KEY_RATE_LIMIT, default=600"`
	EventRetention       time.Duration `env:"EVENT_RETENTION, default=720h"`
	WebhookRetrySchedule Schedule      `env:"WEBHOOK_RETRY_SCHEDULE, default=5s,5m,30m,2h,5h,10h,10h"`
	WebhookAllowPrivate  bool          `env:"WEBHOOK_ALLOW_PRIVATE_NETWORKS, default=false"`
	WebhookDisableAfter  time.Duration `env:"WEBHOOK_DISABLE_AFTER, default=120h"`
	WebhookMaxEndpoints  int           `env:"WEBHOOK_MAX_ENDPOINTS, default=10"`
	// QueueWorkers is how many queue jobs (webhook deliveries, the dispatcher, retention) one
	// process works at once.
	QueueWorkers int `env:"QUEUE_WORKERS, default=20"`

	// TrashRetention is how long a deleted contact, deal or task stays in the trash, where
	// it can be restored, before the purge deletes it for good.
	TrashRetention time.Duration `env:"TRASH_RETENTION, default=720h"`

	// ExportTimeout bounds one export (GET /contacts/export, /deals/export), which streams
	// for longer than a request may take.
	ExportTimeout time.Duration `env:"EXPORT_TIMEOUT, default=30m"`

	// PprofAddr, when set, serves Go's runtime profiles (net/http/pprof) on this address, which
	// must be a loopback one: profiles reveal the process's internals.
	PprofAddr string `env:"PPROF_ADDR"`
}

// MinSecretLen is the shortest HMAC key accepted for signing tokens.
const MinSecretLen = 32

// Load reads the configuration from the process environment.
func Load(ctx context.Context) (Config, error) {
	return LoadFrom(ctx, envconfig.OsLookuper())
}

// LoadFrom reads the configuration from l, so tests need not touch the process environment.
func LoadFrom(ctx context.Context, l envconfig.Lookuper) (Config, error) {
	var c Config
	if err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c, Lookuper: l}); err != nil {
		return c, fmt.Errorf("config: %w", err)
	}
	return c, c.Validate()
}

// Validate rejects settings the service cannot run with.
func (c Config) Validate() error {
	if c.JWTSecret != "" && len(c.JWTSecret) < MinSecretLen {
		return fmt.Errorf("config: JWT_SECRET must be at least %d bytes, got %d", MinSecretLen, len(c.JWTSecret))
	}
	if c.AccessTokenTTL <= 0 || c.RefreshTokenTTL <= 0 {
		return fmt.Errorf("config: ACCESS_TOKEN_TTL and REFRESH_TOKEN_TTL must be positive")
	}
	if c.AnalyticsCacheTTL < 0 {
		return fmt.Errorf("config: ANALYTICS_CACHE_TTL must not be negative")
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return fmt.Errorf("config: LOG_FORMAT must be json or text, got %q", c.LogFormat)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: LOG_LEVEL must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.LoginIPLimit < 1 || c.LoginUserLimit < 1 || c.LoginIPWindow <= 0 || c.LoginUserWindow <= 0 {
		return fmt.Errorf("config: login limits and windows must be positive")
	}
	if c.RequestTimeout <= 0 {
		return fmt.Errorf("config: REQUEST_TIMEOUT must be positive")
	}
	if c.ExportTimeout < 0 {
		return fmt.Errorf("config: EXPORT_TIMEOUT must not be negative")
	}
	if c.DBMaxConns < 0 {
		return fmt.Errorf("config: DB_MAX_CONNS must not be negative")
	}
	if c.DBScanSlots < -1 {
		return fmt.Errorf("config: DB_SCAN_SLOTS must be -1 (no limit), 0 (the cores) or positive")
	}
	if c.DBConnectTimeout < 0 {
		return fmt.Errorf("config: DB_CONNECT_TIMEOUT must not be negative")
	}
	if c.APIKeyRateLimit < 1 {
		return fmt.Errorf("config: API_KEY_RATE_LIMIT must be positive")
	}
	if c.EventRetention <= 0 || c.WebhookDisableAfter <= 0 {
		return fmt.Errorf("config: EVENT_RETENTION and WEBHOOK_DISABLE_AFTER must be positive")
	}
	if c.TrashRetention <= 0 {
		return fmt.Errorf("config: TRASH_RETENTION must be positive")
	}
	if c.WebhookMaxEndpoints < 1 || c.QueueWorkers < 1 {
		return fmt.Errorf("config: WEBHOOK_MAX_ENDPOINTS and QUEUE_WORKERS must be positive")
	}
	return nil
}

// Schedule is a comma-separated list of positive durations (the waits between webhook
// delivery attempts: "1s,1s,1s" is three waits, so at most four attempts).
type Schedule []time.Duration

// EnvDecode implements envconfig.Decoder.
func (s *Schedule) EnvDecode(v string) error {
	var out Schedule
	for part := range strings.SplitSeq(v, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil || d <= 0 {
			return fmt.Errorf("%q is not a positive duration", part)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return fmt.Errorf("the schedule is empty")
	}
	*s = out
	return nil
}
