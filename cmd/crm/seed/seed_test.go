package seed_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/cmd/crm/seed"
	"github.com/mini-crm/crm/platform/testdb"
)

var (
	cheap  = &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	anchor = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
)

func seeded(t *testing.T, o seed.Options) (*pgx.Conn, seed.Result) {
	t.Helper()
	ctx := context.Background()
	url := testdb.URL(t, app.Sources())
	res, err := seed.Run(ctx, url, o)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn, res
}

// fingerprint hashes every seeded table in key order (the password hash aside: its salt is
// random).
func fingerprint(t *testing.T, conn *pgx.Conn) string {
	t.Helper()
	var out []string
	for _, q := range []string{
		"SELECT id, email, name, created_at FROM users ORDER BY id",
		"SELECT * FROM organizations ORDER BY id",
		"SELECT * FROM organization_members ORDER BY organization_id, user_id",
		"SELECT * FROM contacts ORDER BY id",
		"SELECT * FROM deals ORDER BY id",
		"SELECT * FROM tasks ORDER BY id",
		"SELECT * FROM activities ORDER BY id",
		"SELECT * FROM analytics_deal_totals ORDER BY 1, 2, 3, 4, 5",
		"SELECT * FROM analytics_deals_created ORDER BY 1, 2",
		"SELECT * FROM events ORDER BY organization_id, id",
	} {
		var h string
		if err := conn.QueryRow(context.Background(), "SELECT md5(coalesce(string_agg(r::text, '|'), '')) FROM ("+q+") r").Scan(&h); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		out = append(out, h)
	}
	return strings.Join(out, " ")
}

func TestTheSameSeedAndScaleGiveTheSameData(t *testing.T) {
	t.Parallel()
	o := seed.Options{Seed: 42, Scale: 0.0005, Anchor: anchor, HashParams: cheap}
	a, _ := seeded(t, o)
	b, _ := seeded(t, o)
	if fa, fb := fingerprint(t, a), fingerprint(t, b); fa != fb {
		t.Fatalf("two runs differ:\n%s\n%s", fa, fb)
	}
	o.Seed = 43
	c, _ := seeded(t, o)
	if fingerprint(t, a) == fingerprint(t, c) {
		t.Fatal("another seed gave the same data")
	}
}

func TestTheDataSetIsConsistent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, res := seeded(t, seed.Options{Seed: 7, Scale: 0.002, Anchor: anchor, HashParams: cheap})
	counts := map[string]int64{}
	for _, c := range res.Counts {
		counts[c.Table] = c.Rows
	}
	// Scale 0.002: the large organization has 2,000 deals, 400 contacts, 1,000 tasks and
	// 6,000 activities and 5,000 events; two small organizations have 1,000 deals, 100
	// contacts, 250 tasks, 1,500 activities and 500 events each.
	for table, want := range map[string]int64{"organizations": 3, "users": 60, "organization_members": 60,
		"contacts": 600, "deals": 4000, "tasks": 1500, "activities": 9000, "events": 6000} {
		if counts[table] != want {
			t.Errorf("%s: %d rows, want %d", table, counts[table], want)
		}
	}

	// Each statement counts rows that break a rule; every count must be 0.
	for _, q := range []string{
		// every deal has exactly one deal_created, at its creation, by the system
		`SELECT count(*) FROM deals d WHERE (SELECT count(*) FROM activities a WHERE a.organization_id = d.organization_id
			AND a.deal_id = d.id AND a.type = 'system' AND a.payload = '{"event": "deal_created"}' AND a.author_id IS NULL
			AND a.created_at = d.created_at) <> 1`,
		// no activity before its deal's creation, none in the future
		`SELECT count(*) FROM activities a JOIN deals d ON d.id = a.deal_id WHERE a.created_at < d.created_at OR a.created_at > $1`,
		// the last recorded status and stage changes lead to the deal's status and stage
		`SELECT count(*) FROM deals d JOIN LATERAL (SELECT payload->>'to' AS t FROM activities a WHERE a.deal_id = d.id
			AND a.type = 'status_changed' ORDER BY a.created_at DESC, a.id DESC LIMIT 1) s ON true WHERE s.t <> d.status`,
		`SELECT count(*) FROM deals d JOIN LATERAL (SELECT payload->>'to' AS t FROM activities a WHERE a.deal_id = d.id
			AND a.type = 'stage_changed' ORDER BY a.created_at DESC, a.id DESC LIMIT 1) s ON true WHERE s.t <> d.stage`,
		// a change starts where the previous one of the same kind ended
		`SELECT count(*) FROM (SELECT payload->>'from' AS f, lag(payload->>'to') OVER (PARTITION BY deal_id, type ORDER BY created_at, id) AS prev
			FROM activities WHERE type IN ('status_changed', 'stage_changed')) x WHERE prev IS NOT NULL AND f <> prev`,
		// ids follow time
		`SELECT count(*) FROM (SELECT created_at < lag(created_at) OVER (PARTITION BY organization_id ORDER BY id) AS back FROM activities) x WHERE back`,
		// won deals have an amount; updated_at is not before created_at
		`SELECT count(*) FROM deals WHERE (status = 'won' AND amount <= 0) OR updated_at < created_at`,
		// a deal's contact was created before it (but for the organization's very first deals)
		`SELECT count(*) FROM deals d JOIN contacts c ON c.id = d.contact_id WHERE c.created_at > d.created_at AND d.created_at > (SELECT min(created_at) + interval '30 days' FROM contacts c2 WHERE c2.organization_id = d.organization_id)`,
		// a task_created activity per task, matching it
		`SELECT count(*) FROM tasks t WHERE NOT EXISTS (SELECT 1 FROM activities a WHERE a.deal_id = t.deal_id AND a.type = 'task_created'
			AND (a.payload->>'task_id')::bigint = t.id AND a.payload->>'title' = t.title AND a.created_at = t.created_at
			AND (a.payload->>'due_date')::date IS NOT DISTINCT FROM t.due_date)`,
		// every organization has exactly one owner
		`SELECT count(*) FROM organizations o WHERE (SELECT count(*) FROM organization_members m WHERE m.organization_id = o.id AND m.role = 'owner') <> 1`,
		// the read model is a recount of the deals
		`SELECT count(*) FROM ((SELECT organization_id, pipeline_id, status, stage, max_stage, currency::text, count(*), sum(amount)
			FROM deals GROUP BY 1, 2, 3, 4, 5, 6)
			EXCEPT (SELECT organization_id, pipeline_id, status, stage, max_stage, currency::text, deals, amount FROM analytics_deal_totals)) x`,
		// events are sequenced, positions 1, 2, … in the order of their times, ids equal
		// to positions, the sequencer at the last one
		`SELECT count(*) FROM (SELECT position, id, row_number() OVER (ORDER BY position) AS n,
			occurred_at < lag(occurred_at) OVER (ORDER BY position) AS back FROM events) x WHERE position IS DISTINCT FROM n OR id <> n OR back`,
		`SELECT count(*) FROM event_sequencer WHERE last_position <> (SELECT count(*) FROM events)`,
		// within the feed's retention, none in the future; by a member, about a deal of the
		// organization, rendered as the deal with its stage and, on an update, the stage before
		`SELECT count(*) FROM events e WHERE e.occurred_at > $1 OR e.occurred_at < $1::timestamptz - interval '30 days'
			OR NOT EXISTS (SELECT 1 FROM organization_members m WHERE m.organization_id = e.organization_id AND m.user_id = e.actor_id)
			OR NOT EXISTS (SELECT 1 FROM deals d WHERE d.organization_id = e.organization_id AND d.id = (e.data->'object'->>'id')::bigint
				AND d.stage = e.data->'object'->>'stage' AND d.title = e.data->'object'->>'title')
			OR (e.type = 'deal.updated') <> (e.data->'previous_attributes'->>'stage' IS NOT NULL)
			OR e.data->'previous_attributes'->>'stage' = e.data->'object'->>'stage'`,
	} {
		var n int64
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, anchor)
		}
		if err := conn.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if n != 0 {
			t.Errorf("%d rows break the rule of\n%s", n, q)
		}
	}

	// Tasks are due in the past and in the future, done and open; every status, stage and
	// several currencies occur.
	var past, future, done, open, statuses, stages, currencies int64
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM tasks WHERE due_date < $1::date), (SELECT count(*) FROM tasks WHERE due_date >= $1::date),
		(SELECT count(*) FROM tasks WHERE is_done), (SELECT count(*) FROM tasks WHERE NOT is_done),
		(SELECT count(DISTINCT status) FROM deals), (SELECT count(DISTINCT stage) FROM deals), (SELECT count(DISTINCT currency) FROM deals)`,
		anchor).Scan(&past, &future, &done, &open, &statuses, &stages, &currencies); err != nil {
		t.Fatal(err)
	}
	if past == 0 || future == 0 || done == 0 || open == 0 || statuses != 4 || stages != 4 || currencies < 3 {
		t.Errorf("tasks past %d future %d done %d open %d; %d statuses, %d stages, %d currencies", past, future, done, open, statuses, stages, currencies)
	}

	// Contacts carry companies, job titles, notes and tags as the API stores them (lower
	// case, without repeats), and the benchmark's tag and search term find some of them.
	var companies, titles, notes, tagged, badTags, byTag, bySearch int64
	if err := conn.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM contacts WHERE company IS NOT NULL), (SELECT count(*) FROM contacts WHERE job_title IS NOT NULL),
		(SELECT count(*) FROM contacts WHERE notes IS NOT NULL), (SELECT count(*) FROM contacts WHERE cardinality(tags) > 0),
		(SELECT count(*) FROM contacts c WHERE (SELECT count(DISTINCT t) FROM unnest(c.tags) t) <> cardinality(c.tags)
			OR EXISTS (SELECT 1 FROM unnest(c.tags) t WHERE t <> lower(btrim(t)))),
		(SELECT count(*) FROM contacts WHERE organization_id = 1 AND tags @> ARRAY[$1]),
		(SELECT count(*) FROM contacts WHERE organization_id = 1 AND company ILIKE '%' || $2 || '%'
			AND name NOT ILIKE '%' || $2 || '%' AND coalesce(email, '') NOT ILIKE '%' || $2 || '%')`,
		seed.BenchTag, seed.BenchSearch).Scan(&companies, &titles, &notes, &tagged, &badTags, &byTag, &bySearch); err != nil {
		t.Fatal(err)
	}
	total := counts["contacts"]
	if companies < total/2 || titles < total/3 || notes == 0 || notes > total/3 || tagged < total/2 || badTags != 0 || byTag == 0 || bySearch == 0 {
		t.Errorf("of %d contacts: %d with a company, %d with a job title, %d with notes, %d tagged, %d with bad tags; %d tagged %q, %d found by %q",
			total, companies, titles, notes, tagged, badTags, byTag, seed.BenchTag, bySearch, seed.BenchSearch)
	}

	// The owner of the large organization signs in with the known password.
	var hash string
	if err := conn.QueryRow(ctx, "SELECT password_hash FROM users WHERE email = $1", seed.Email(1, 0)).Scan(&hash); err != nil {
		t.Fatal(err)
	}
	if ok, err := argon2id.ComparePasswordAndHash(seed.Password, hash); !ok || err != nil {
		t.Fatalf("the seeded password does not match its hash (%v)", err)
	}

	// New rows take ids after the seeded ones.
	var id int64
	if err := conn.QueryRow(ctx, `INSERT INTO organizations (name) VALUES ('after') RETURNING id`).Scan(&id); err != nil || id != 4 {
		t.Fatalf("next organization id %d (%v), want 4", id, err)
	}
	if err := conn.QueryRow(ctx, `INSERT INTO events (organization_id, type, actor_type, data) VALUES (1, 'deal.deleted', 'system', '{}')
		RETURNING id`).Scan(&id); err != nil || id != 6001 {
		t.Fatalf("next event id %d (%v), want 6001", id, err)
	}
}

func TestAFilledDatabaseNeedsReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testdb.URL(t, app.Sources())
	o := seed.Options{Seed: 1, Scale: 0.0002, Anchor: anchor, HashParams: cheap}
	if _, err := seed.Run(ctx, url, o); err != nil {
		t.Fatal(err)
	}
	if _, err := seed.Run(ctx, url, o); err == nil || !strings.Contains(err.Error(), "-reset") {
		t.Fatalf("seeding a filled database: %v, want a refusal that mentions -reset", err)
	}
	o.Reset = true
	res, err := seed.Run(ctx, url, o)
	if err != nil {
		t.Fatal(err)
	}
	if res.Counts[0].Table != "users" || res.Counts[0].Rows != 55 {
		t.Fatalf("after a reset: %+v", res.Counts)
	}
}
