package config_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"

	"github.com/mini-crm/crm/platform/config"
)

func TestDefaults(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(context.Background(), envconfig.MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://postgres@127.0.0.1:5432/crm?sslmode=disable" || c.HTTPAddr != ":8080" ||
		c.AccessTokenTTL != 15*time.Minute || c.RefreshTokenTTL != 720*time.Hour || c.AnalyticsCacheTTL != 30*time.Second ||
		!c.MigrateOnStart || c.LogLevel != "info" || c.LogFormat != "json" || c.JWTSecret != "" {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestOverridesAndValidation(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(context.Background(), envconfig.MapLookuper(map[string]string{
		"ANALYTICS_CACHE_TTL": "0", "MIGRATE_ON_START": "false", "LOG_FORMAT": "text", "ACCESS_TOKEN_TTL": "5m",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.AnalyticsCacheTTL != 0 || c.MigrateOnStart || c.LogFormat != "text" || c.AccessTokenTTL != 5*time.Minute {
		t.Fatalf("overrides: %+v", c)
	}
	for env, want := range map[string]string{
		"JWT_SECRET":       "at least 32 bytes",
		"LOG_FORMAT":       "json or text",
		"ACCESS_TOKEN_TTL": "positive",
	} {
		val := map[string]string{"JWT_SECRET": "short", "LOG_FORMAT": "xml", "ACCESS_TOKEN_TTL": "-1s"}[env]
		_, err := config.LoadFrom(context.Background(), envconfig.MapLookuper(map[string]string{env: val}))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%s: err = %v, want mention of %q", env, val, err, want)
		}
	}
}

func TestDatabaseConnectTimeout(t *testing.T) {
	t.Parallel()
	c, err := config.LoadFrom(context.Background(), envconfig.MapLookuper(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.DBConnectTimeout != 60*time.Second {
		t.Fatalf("DB_CONNECT_TIMEOUT default = %s, want 60s", c.DBConnectTimeout)
	}
	if c.DBMaxConns != 0 {
		t.Fatalf("DB_MAX_CONNS default = %d, want 0 (the database package's default)", c.DBMaxConns)
	}
	for val, want := range map[string]time.Duration{"5s": 5 * time.Second, "2m30s": 150 * time.Second, "0": 0} {
		c, err := config.LoadFrom(context.Background(), envconfig.MapLookuper(map[string]string{"DB_CONNECT_TIMEOUT": val}))
		if err != nil || c.DBConnectTimeout != want {
			t.Errorf("DB_CONNECT_TIMEOUT=%s: got %s, err %v; want %s", val, c.DBConnectTimeout, err, want)
		}
	}
	for env, val := range map[string]string{"DB_CONNECT_TIMEOUT": "-1s", "DB_MAX_CONNS": "-2", "DB_SCAN_SLOTS": "-2"} {
		_, err := config.LoadFrom(context.Background(), envconfig.MapLookuper(map[string]string{env: val}))
		if err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%s: err = %v, want a refusal naming %s", env, val, err, env)
		}
	}
	_, err = config.LoadFrom(context.Background(), envconfig.MapLookuper(map[string]string{"DB_CONNECT_TIMEOUT": "soon"}))
	if err == nil || !strings.Contains(err.Error(), `invalid duration "soon"`) {
		t.Errorf("DB_CONNECT_TIMEOUT=soon: err = %v", err)
	}
}
