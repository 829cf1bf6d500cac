package analytics

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

// The rebuild must recount exactly as the migration's backfill does: its two INSERT
// statements are the migration's, word for word.
func TestRebuildRunsTheMigrationsBackfill(t *testing.T) {
	b, err := fs.ReadFile(migrations, "migrations/20261127100600_analytics_read_model.sql")
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
