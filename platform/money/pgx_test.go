package money_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/mini-crm/crm/platform/money"
	"github.com/mini-crm/crm/platform/testdb"
)

// Amounts go to and come from PostgreSQL numeric columns exactly, through pgx's binary
// numeric format, never through a float.
func TestPostgresRoundTrip(t *testing.T) {
	t.Parallel()
	url, err := testdb.ServerURL()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)

	for _, s := range []string{"0.00", "0.10", "15000.50", "123456789012.34", "999999999999.99"} {
		var got money.Amount
		if err := conn.QueryRow(ctx, "SELECT $1::numeric(14,2)", money.MustParse(s)).Scan(&got); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if got.String() != s {
			t.Fatalf("round trip of %s gave %s", s, got)
		}
	}
	// A sum computed by PostgreSQL stays exact where float64 would not (0.1 + 0.2).
	var sum money.Amount
	if err := conn.QueryRow(ctx, "SELECT sum(x) FROM (VALUES (0.10::numeric(14,2)), (0.20)) v(x)").Scan(&sum); err != nil || sum.String() != "0.30" {
		t.Fatalf("sum = %s, %v", sum, err)
	}
	// Comparisons with an Amount parameter.
	var ok bool
	if err := conn.QueryRow(ctx, "SELECT 100.00::numeric(14,2) >= $1", money.MustParse("99.99")).Scan(&ok); err != nil || !ok {
		t.Fatalf("comparison: %v %v", ok, err)
	}
	// NULL needs a pointer, as with any non-nullable Go type.
	var p *money.Amount
	if err := conn.QueryRow(ctx, "SELECT NULL::numeric").Scan(&p); err != nil || p != nil {
		t.Fatalf("NULL into *Amount: %v %v", p, err)
	}
	var v money.Amount
	if err := conn.QueryRow(ctx, "SELECT NULL::numeric").Scan(&v); err == nil {
		t.Fatal("NULL scanned into Amount")
	}
	if err := conn.QueryRow(ctx, "SELECT 'NaN'::numeric").Scan(&v); err == nil {
		t.Fatal("NaN scanned into Amount")
	}
}
