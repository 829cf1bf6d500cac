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
