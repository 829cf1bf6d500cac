package testdb

import (
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis returns the URL of database db of the Redis on 127.0.0.1:6379, for tests of state
// that replicas share through it. Without a Redis answering there the test is skipped, except
// in CI (CI set), which starts one: there a missing Redis fails instead of hiding the test.
// Suites that could run at the same time use different databases, so that their counters
// never meet.
func Redis(t testing.TB, db int) string {
	t.Helper()
	url := "redis://127.0.0.1:6379/" + strconv.Itoa(db)
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no Redis at %s (CI must start it): %v", url, err)
		}
		t.Skipf("no Redis at %s: %v", url, err)
	}
	return url
}
