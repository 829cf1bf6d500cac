package main

import (
	"context"
	"go/ast"
	"go/constant"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/argon2id"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mini-crm/crm/cmd/crm/app"
	"github.com/mini-crm/crm/cmd/crm/app/apptest"
	"github.com/mini-crm/crm/cmd/crm/seed"
	"github.com/mini-crm/crm/platform/database"
	"github.com/mini-crm/crm/platform/testdb"
)

// recorder keeps the text of every statement a pool sends, alone or in a batch.
type recorder struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (r *recorder) add(sql string) {
	r.mu.Lock()
	r.seen[sql] = true
	r.mu.Unlock()
}

func (r *recorder) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	r.add(d.SQL)
	return ctx
}
func (r *recorder) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *recorder) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return ctx
}
func (r *recorder) TraceBatchQuery(_ context.Context, _ *pgx.Conn, d pgx.TraceBatchQueryData) {
	r.add(d.SQL)
}
func (r *recorder) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// statements returns the constants of sqltext.go named sql…, evaluated: the statements the
// direct-SQL side sends as copies of the service's.
func statements(t *testing.T) map[string]string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "sqltext.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	pkg, err := (&types.Config{Importer: importer.Default()}).Check("bench", fset, []*ast.File{f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, name := range pkg.Scope().Names() {
		c, ok := pkg.Scope().Lookup(name).(*types.Const)
		if ok && strings.HasPrefix(name, "sql") {
			out[name] = constant.StringVal(c.Val())
		}
	}
	if len(out) < 20 {
		t.Fatalf("only %d statements in sqltext.go", len(out))
	}
	return out
}

// The copies in sqltext.go are what the service sends: the benchmark's operations are run
// against the service with each statement of its pool recorded, and every copy must match
// one recorded statement exactly, the formatted numbers and ids aside.
func TestStatementCopiesAreWhatTheServiceSends(t *testing.T) {
	ctx := context.Background()
	url := testdb.URL(t, app.Sources())
	cheap := &argon2id.Params{Memory: 1024, Iterations: 1, Parallelism: 1, SaltLength: 16, KeyLength: 32}
	if _, err := seed.Run(ctx, url, seed.Options{Seed: 1, Scale: 0.0005, HashParams: cheap}); err != nil {
		t.Fatal(err)
	}
	// More matches of the benchmark's search and tag than a page holds, so that the service
	// counts them (a first page holding the whole list is its own total).
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `INSERT INTO contacts (organization_id, owner_id, name, company, tags)
		SELECT m.organization_id, m.user_id, 'Extra ' || i, $1, ARRAY[$2]
		FROM organization_members m JOIN users u ON u.id = m.user_id, generate_series(1, 30) i
		WHERE u.email = $3`, seed.BenchSearch, seed.BenchTag, seed.Email(1, 0))
	_ = conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{seen: map[string]bool{}}
	cached := serveTraced(t, url, 30*time.Second, rec)
	uncached := serveTraced(t, url, 0, rec)

	cfg := QuickDurations(DefaultConfig())
	cfg.URL, cfg.UncachedURL, cfg.DSN = cached, uncached, url
	cfg.PID, cfg.UncachedPID = os.Getpid(), os.Getpid()
	cfg.Concurrency = []int{1}
	// Long enough for every operation to run a few times even in a race-enabled build on a busy
	// machine, so that every statement they send is recorded (at 100 ms a run could end before
	// a PATCH had moved a deal, and the stage-history copy was reported as never sent).
	cfg.Duration, cfg.Warmup, cfg.SettleWait = 400*time.Millisecond, 50*time.Millisecond, 0
	cfg.CursorSecret, cfg.Deliveries = apptest.Secret, 0
	if _, err := Run(ctx, cfg); err != nil {
		t.Fatal(err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	var sent []string
	for s := range rec.seen {
		sent = append(sent, s)
	}
	slices.Sort(sent)
	for name, stmt := range statements(t) {
		pattern := regexp.QuoteMeta(stmt)
		pattern = strings.ReplaceAll(pattern, "%d", "[0-9]+")
		pattern = strings.ReplaceAll(pattern, "%s", "[0-9]*")
		pattern = strings.ReplaceAll(pattern, "%l", `\$[0-9]+(,\$[0-9]+)*`)
		re := regexp.MustCompile("^" + pattern + "$")
		if !slices.ContainsFunc(sent, re.MatchString) {
			t.Errorf("%s is not a statement the service sent:\n%s", name, stmt)
		}
	}
	if t.Failed() {
		t.Logf("the service sent:\n%s", strings.Join(sent, "\n"))
	}
}

// serveTraced runs the service as serve does, on a pool whose statements rec records.
func serveTraced(t *testing.T, url string, cacheTTL time.Duration, rec *recorder) string {
	t.Helper()
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	pc.MaxConns = 4
	pc.ConnConfig.Tracer = rec
	pc.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SET ROLE "+pgx.Identifier{database.AppRole}.Sanitize())
		return err
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), pc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return serveOn(t, &database.DB{Pool: pool}, cacheTTL)
}
