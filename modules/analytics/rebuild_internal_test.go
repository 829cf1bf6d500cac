package analytics

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// The rebuild must recount exactly as the backfill migration does: its two INSERT
// statements are the migration's, word for word.
func TestRebuildRunsTheMigrationsBackfill(t *testing.T) {
	t.Parallel()
	b, err := fs.ReadFile(migrations, "migrations/20261201100300_analytics_backfill.sql")
	if err != nil {
		t.Fatal(err)
	}
	norm := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	stmts := regexp.MustCompile(`(?s)INSERT INTO analytics_[a-z_]+ \(.*?;`).FindAllString(string(b), -1)
	if len(stmts) != 2 {
		t.Fatalf("found %d INSERT statements in the migration, want 2", len(stmts))
	}
	for _, s := range stmts {
		if !strings.Contains(norm(rebuildSQL), norm(s)) {
			t.Errorf("the rebuild lacks the migration's statement\n%s", s)
		}
	}
}
