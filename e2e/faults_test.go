package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	if built.bin != "" {
		_ = os.RemoveAll(filepath.Dir(built.bin))
	}
	os.Exit(code)
}

// client speaks JSON to a running service.
type client struct {
	t    *testing.T
	base string
	http *http.Client
}

func (c client) send(method, path, token string, org int64, headers map[string]string, body any) (int, map[string]any, error) {
	raw, err := json.Marshal(body)
	if err != nil {
		return 0, nil, err
	}
	req, err := http.NewRequestWithContext(context.Background(), method, c.base+path, bytes.NewReader(raw))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if org != 0 {
		req.Header.Set("X-Organization-Id", fmt.Sprint(org))
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		return res.StatusCode, nil, err
	}
	var out map[string]any
	_ = json.Unmarshal(data, &out)
	return res.StatusCode, out, nil
}

// register signs up a user with an organization of their own.
func (c client) register(name string) (token string, userID, orgID int64) {
	c.t.Helper()
	st, body, err := c.send("POST", "/api/v1/auth/register", "", 0, nil, map[string]any{
		"email": fmt.Sprintf("%s.%d@example.com", name, time.Now().UnixNano()), "password": "password123",
		"name": name, "organization_name": name + "'s org"})
	if err != nil || st != http.StatusCreated {
		c.t.Fatalf("register: %d %v %v", st, body, err)
	}
	user, _ := body["user"].(map[string]any)
	org, _ := body["organization"].(map[string]any)
	return body["access_token"].(string), int64(user["id"].(float64)), int64(org["id"].(float64))
}

// startFresh runs the service on a database of its own and returns it with a superuser
// connection to that database, for what a test does behind the service's back.
func startFresh(t *testing.T) (client, *pgx.Conn, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: needs the compiled service and PostgreSQL")
	}
	url := testdb.URL(t, app.Sources())
	srv := startServer(t, buildBinary(t), url)
	t.Cleanup(func() { _ = srv.Stop() })
	conn, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	name, _ := database.DatabaseName(url)
	return client{t: t, base: srv.Base, http: &http.Client{Timeout: 20 * time.Second}}, conn, name
}

// Keyed creates under connections killed at random: every key the service answered with a
// success created exactly one record, and no record exists that no key was answered for. A
// client retries a key until it gets an answer that is not a server error or "in progress",
// as the API tells clients to.
func TestKeyedCreatesAreNeverDuplicatedWhenConnectionsDie(t *testing.T) {
	c, conn, dbName := startFresh(t)
	token, _, org := c.register("keyed")
	ctx := context.Background()

	keep := conn.PgConn().PID() // the test's own connection, read from at the end
	stop := make(chan struct{})
	var killed atomic.Int64
	var killer sync.WaitGroup
	killer.Add(1)
	go func() {
		defer killer.Done()
		kc, err := pgx.Connect(ctx, conn.Config().ConnString())
		if err != nil {
			t.Error(err)
			return
		}
		defer kc.Close(ctx)
		for {
			select {
			case <-stop:
				return
			case <-time.After(15 * time.Millisecond):
			}
			var n int64
			if err := kc.QueryRow(ctx, `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
				WHERE datname = $1 AND pid <> pg_backend_pid() AND pid <> $2 AND backend_type = 'client backend'`, dbName, keep).Scan(&n); err != nil {
				t.Error(err)
				return
			}
			killed.Add(n)
		}
	}()

	const keys, workers = 60, 6
	answered := make([]bool, keys)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= keys {
					return
				}
				key := fmt.Sprintf("contact-%d", i)
				deadline := time.Now().Add(40 * time.Second)
				for time.Now().Before(deadline) {
					st, _, err := c.send("POST", "/api/v1/contacts", token, org, map[string]string{"Idempotency-Key": key},
						map[string]any{"name": key})
					if err == nil && st == http.StatusCreated {
						answered[i] = true
						break
					}
					if err == nil && st < 500 && st != http.StatusConflict {
						t.Errorf("%s: unexpected status %d", key, st)
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	// Let the killer work through part of the load, then let the retries settle.
	time.Sleep(2 * time.Second)
	close(stop)
	killer.Wait()
	wg.Wait()
	if killed.Load() == 0 {
		t.Fatal("no connection was killed: the test proved nothing")
	}

	rows, err := conn.Query(ctx, `SELECT name, count(*) FROM contacts WHERE organization_id = $1 GROUP BY name`, org)
	if err != nil {
		t.Fatal(err)
	}
	perName, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]any, error) {
		var name string
		var n int64
		err := r.Scan(&name, &n)
		return [2]any{name, n}, err
	})
	if err != nil {
		t.Fatal(err)
	}
	created := map[string]int64{}
	for _, p := range perName {
		created[p[0].(string)] = p[1].(int64)
	}
	ok := 0
	for i, a := range answered {
		key := fmt.Sprintf("contact-%d", i)
		if a {
			ok++
		}
		if n := created[key]; n > 1 || (a && n != 1) || (!a && n != 0) {
			t.Errorf("%s: answered 201 %v, %d records", key, a, n)
		}
	}
	t.Logf("%d connections killed; %d of %d keys answered 201; %d records", killed.Load(), ok, keys, len(created))
}

// A valid token whose user no longer exists is refused as an invalid token on every kind of
// route, never a server error.
func TestTokenOfADeletedUserIsRefusedEverywhere(t *testing.T) {
	c, conn, _ := startFresh(t)
	token, userID, org := c.register("gone")
	ctx := context.Background()
	if _, err := conn.Exec(ctx, `DELETE FROM organization_members WHERE user_id = $1`, userID); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM users WHERE id = $1`, userID); err != nil {
		t.Fatal(err)
	}
	for _, r := range []struct {
		method, path string
		org          int64
		body         any
	}{
		{"POST", "/api/v1/organizations", 0, map[string]any{"name": "Another"}},
		{"GET", "/api/v1/organizations/me", 0, nil},
		{"GET", "/api/v1/users/me", 0, nil},
		{"GET", fmt.Sprintf("/api/v1/organizations/%d", org), 0, nil},
		{"GET", "/api/v1/contacts", org, nil},
		{"POST", "/api/v1/contacts", org, map[string]any{"name": "Ann"}},
	} {
		st, body, err := c.send(r.method, r.path, token, r.org, nil, r.body)
		if err != nil || st != http.StatusUnauthorized || body["code"] != "invalid_token" {
			t.Errorf("%s %s: %d %v %v", r.method, r.path, st, body, err)
		}
	}
}
