package imports_test

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mini-crm/crm/cmd/crm/app/apptest"
)

// A running import shows its progress to other readers while its transaction is open, and
// IMPORT_ROWS=100000 measures the speed goal (100,000 contacts in under 60 s).
func TestProgressIsVisibleWhileRunning(t *testing.T) {
	t.Parallel()
	rows := 20000
	if v, err := strconv.Atoi(os.Getenv("IMPORT_ROWS")); err == nil && v > 0 {
		rows = v
	}
	s := apptest.New(t)
	team := s.NewTeam()
	var b strings.Builder
	b.WriteString("name,email,phone,company,tags\n")
	for i := range rows {
		fmt.Fprintf(&b, "Contact %d,contact%d@example.com,+1 555 %04d,Company %d,lead;batch%d\n", i, i, i%10000, i%97, i%7)
	}
	id := accepted(t, s, team.Owner, team.OrgID, "type=contacts", b.String())
	start := time.Now()
	work(t, s)
	sawProgress := false
	var imp importJSON
	for {
		imp = get(t, s, team.Owner, team.OrgID, id)
		if imp.Status == "running" && imp.ProcessedRows > 0 && imp.ProcessedRows < rows && imp.TotalRows != nil && *imp.TotalRows == rows {
			sawProgress = true
		}
		if imp.FinishedAt != nil {
			break
		}
		if time.Since(start) > 3*time.Minute {
			t.Fatalf("still %+v", imp)
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(start)
	t.Logf("%d contacts imported in %s", rows, took.Round(time.Millisecond))
	if imp.Status != "succeeded" || imp.Created != rows || contactsOf(t, s, team.OrgID) != rows || eventsOf(t, s, team.OrgID, "contact.created") != rows {
		t.Fatalf("import %+v", imp)
	}
	if !sawProgress {
		t.Errorf("no reader saw the import running with part of its rows processed")
	}
	if rows >= 100000 && took > 60*time.Second {
		t.Errorf("%d contacts took %s", rows, took)
	}
	res := s.Must(200, apptest.Req{Method: "GET", Path: "/api/v1/contacts?page_size=1", Token: team.Owner.Token, Org: team.OrgID}).JSON()
	if res["total"] != float64(rows) {
		t.Errorf("list total %v", res["total"])
	}
}
