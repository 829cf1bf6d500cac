package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// rowsOf counts, in every table that has an organization_id column, the rows of org.
func rowsOf(t *testing.T, conn *pgx.Conn, org int64) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	rows, err := conn.Query(ctx, `SELECT c.table_name FROM information_schema.columns c
		JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
		WHERE c.table_schema = 'public' AND c.column_name = 'organization_id' AND t.table_type = 'BASE TABLE'
		ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, table := range tables {
		var n int64
		if err := conn.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s WHERE organization_id = $1`,
			pgx.Identifier{table}.Sanitize()), org).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	var n int64
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM organizations WHERE id = $1`, org).Scan(&n); err != nil {
		t.Fatal(err)
	}
	out["organizations"] = n
	return out
}

// An owner deletes an organization: it is closed at once (202) and the service's own queue
// erases every row of it, in every table that has an organization_id, while a neighbour
// organization keeps every row it had.
func TestADeletedOrganizationIsErasedByTheService(t *testing.T) {
	c, conn, _ := startFresh(t)
	fill := func(token string, org int64) {
		contact := c.must(http.StatusCreated, "POST", "/api/v1/contacts", token, org, map[string]any{"name": "Client", "tags": []string{"vip"}})
		deal := c.must(http.StatusCreated, "POST", "/api/v1/deals", token, org, map[string]any{"contact_id": contact["id"], "title": "Deal", "amount": "10.00"})
		c.must(http.StatusCreated, "POST", "/api/v1/tasks", token, org, map[string]any{"deal_id": deal["id"], "title": "Call"})
		c.must(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/deals/%v/activities", deal["id"]), token, org,
			map[string]any{"type": "comment", "payload": map[string]any{"text": "hello"}})
		c.must(http.StatusOK, "PATCH", fmt.Sprintf("/api/v1/deals/%v", deal["id"]), token, org, map[string]any{"status": "won"})
		c.must(http.StatusCreated, "POST", fmt.Sprintf("/api/v1/organizations/%d/api-keys", org), token, 0, map[string]any{"name": "Sync", "role": "manager"})
	}
	gone, goneID, goneOrg := c.register("gone")
	kept, _, keptOrg := c.register("kept")
	fill(gone, goneOrg)
	fill(kept, keptOrg)
	neighbour := rowsOf(t, conn, keptOrg)
	before := rowsOf(t, conn, goneOrg)
	if before["deals"] != 1 || before["events"] == 0 || before["organizations"] != 1 {
		t.Fatalf("the organization to delete does not hold what it was given: %v", before)
	}

	var name string
	if err := conn.QueryRow(context.Background(), `SELECT name FROM organizations WHERE id = $1`, goneOrg).Scan(&name); err != nil {
		t.Fatal(err)
	}
	c.must(http.StatusAccepted, "DELETE", fmt.Sprintf("/api/v1/organizations/%d?confirm=%s", goneOrg, url.QueryEscape(name)), gone, 0, nil)
	if st, body, err := c.send("GET", "/api/v1/contacts", gone, goneOrg, nil, nil); err != nil || st != http.StatusForbidden {
		t.Fatalf("the closed organization still answers its owner: %d %v %v", st, body, err)
	}

	start := time.Now()
	waitFor(t, 60*time.Second, "the organization's rows erased", func() bool {
		for _, n := range rowsOf(t, conn, goneOrg) {
			if n != 0 {
				return false
			}
		}
		return true
	})
	t.Logf("erased %v rows within %s", before, time.Since(start).Round(time.Millisecond))
	after := rowsOf(t, conn, keptOrg)
	for table, n := range neighbour {
		if after[table] != n {
			t.Errorf("the neighbour's %s: %d rows before, %d after", table, n, after[table])
		}
	}
	// The owner keeps their account; only the membership is gone.
	var users int
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM users WHERE id = $1`, goneID).Scan(&users); err != nil || users != 1 {
		t.Errorf("the owner's account: %d rows, %v", users, err)
	}
}
