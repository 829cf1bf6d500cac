package money_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mini-crm/crm/platform/apperr"
	"github.com/mini-crm/crm/platform/money"
	"github.com/mini-crm/crm/platform/web"
)

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{"0", "0.00", ""},
		{"15000", "15000.00", ""},
		{"15000.5", "15000.50", ""},
		{"15000.55", "15000.55", ""},
		{"1.500", "1.50", ""},
		{"1.5e3", "1500.00", ""},
		{"999999999999.99", "999999999999.99", ""},
		{"0.01", "0.01", ""},
		{"-0", "0.00", ""},
		{"0.001", "", money.MsgPrecision},
		{"15000.555", "", money.MsgPrecision},
		{"-1", "", money.MsgNegative},
		{"-0.01", "", money.MsgNegative},
		{"1000000000000", "", money.MsgTooLarge},
		{"999999999999.991", "", money.MsgPrecision},
		{"1e16", "", money.MsgTooLarge},
		{"1e100", "", money.MsgTooLarge},
		{"-1e100", "", money.MsgNegative},
		{"1e-100", "", money.MsgPrecision},
		{"1e999999999", "", money.MsgNotNumber},
		{"", "", money.MsgNotNumber},
		{" 1", "", money.MsgNotNumber},
		{"1 ", "", money.MsgNotNumber},
		{"abc", "", money.MsgNotNumber},
		{"NaN", "", money.MsgNotNumber},
		{"Infinity", "", money.MsgNotNumber},
		{"0x10", "", money.MsgNotNumber},
		{"1,5", "", money.MsgNotNumber},
		{"12345678901234567890123456789012345678901234567890123456789012345", "", money.MsgNotNumber},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			a, err := money.Parse(tt.in)
			if tt.wantErr != "" {
				var pe *money.ParseError
				if !errors.As(err, &pe) || pe.Message != tt.wantErr {
					t.Fatalf("Parse(%q) = %v, %v; want error %q", tt.in, a, err, tt.wantErr)
				}
				return
			}
			if err != nil || a.String() != tt.want {
				t.Fatalf("Parse(%q) = %q, %v; want %q", tt.in, a.String(), err, tt.want)
			}
		})
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{`15000`, "15000.00", ""},
		{`"15000.5"`, "15000.50", ""},
		{`0.1`, "0.10", ""},
		{`123456789012.34`, "123456789012.34", ""},
		{`"abc"`, "", money.MsgNotNumber},
		{`true`, "", money.MsgNotNumber},
		{`{}`, "", money.MsgNotNumber},
		{`[1]`, "", money.MsgNotNumber},
		{`""`, "", money.MsgNotNumber},
		{`"\u0031"`, "", money.MsgNotNumber},
		{`-5`, "", money.MsgNegative},
		{`"1.234"`, "", money.MsgPrecision},
		{`1000000000000`, "", money.MsgTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v struct {
				Amount money.Amount `json:"amount"`
			}
			err := json.Unmarshal([]byte(`{"amount":`+tt.in+`}`), &v)
			if tt.wantErr != "" {
				var fe *apperr.FieldDecodeError
				if !errors.As(err, &fe) || fe.Field != "amount" || fe.Message != tt.wantErr {
					t.Fatalf("unmarshal %s: %v; want field error %q", tt.in, err, tt.wantErr)
				}
				return
			}
			if err != nil || v.Amount.String() != tt.want {
				t.Fatalf("unmarshal %s = %s, %v; want %s", tt.in, v.Amount, err, tt.want)
			}
			out, _ := json.Marshal(v)
			if string(out) != `{"amount":"`+tt.want+`"}` {
				t.Fatalf("marshal: %s", out)
			}
		})
	}
}

func TestWebDecodeNamesAmount(t *testing.T) {
	t.Parallel()
	var v struct {
		Amount *money.Amount `json:"amount"`
	}
	err := web.Decode([]byte(`{"amount": "12.345"}`), &v)
	if err == nil || err.Error() == "" {
		t.Fatal("want an error")
	}
	var fe interface{ Error() string }
	if !errors.As(err, &fe) {
		t.Fatal("no error")
	}
	if got := err.Error(); got != "validation_failed: amount must have at most 2 decimal places" {
		t.Fatalf("error = %q", got)
	}
	if err := web.Decode([]byte(`{"amount": null}`), &v); err != nil || v.Amount != nil {
		t.Fatalf("null: %v %v", err, v.Amount)
	}
}

func TestArithmetic(t *testing.T) {
	t.Parallel()
	a, b := money.MustParse("10.05"), money.MustParse("0.10")
	if got := a.Add(b).String(); got != "10.15" {
		t.Fatalf("Add = %s", got)
	}
	if got := a.Sub(b).String(); got != "9.95" {
		t.Fatalf("Sub = %s", got)
	}
	for _, tt := range []struct {
		sum  string
		n    int64
		want string
	}{
		{"10.00", 3, "3.33"},
		{"20.00", 3, "6.67"},
		{"0.05", 2, "0.03"}, // 0.025 rounds half up
		{"0.01", 2, "0.01"}, // 0.005 rounds half up
		{"0.01", 3, "0.00"},
		{"999999999999.99", 1, "999999999999.99"},
		{"0", 7, "0.00"},
	} {
		got, err := money.MustParse(tt.sum).Div(tt.n)
		if err != nil || got.String() != tt.want {
			t.Errorf("%s / %d = %s, %v; want %s", tt.sum, tt.n, got, err, tt.want)
		}
	}
	if _, err := a.Div(0); err == nil {
		t.Fatal("division by zero accepted")
	}
	if a.Cmp(b) != 1 || b.Cmp(a) != -1 || !a.Equal(money.MustParse("10.050")) {
		t.Fatal("Cmp/Equal")
	}
	if !money.Zero.IsZero() || money.Zero.IsPositive() || !b.IsPositive() || money.Zero.String() != "0.00" {
		t.Fatal("zero")
	}
	if money.FromCents(150).String() != "1.50" {
		t.Fatal("FromCents")
	}
	// A sum above what one deal may hold is still exact.
	if got := money.Max.Add(money.Max).String(); got != "1999999999999.98" {
		t.Fatalf("large sum = %s", got)
	}
}

func TestNumericRoundTrip(t *testing.T) {
	t.Parallel()
	a := money.MustParse("15000.50")
	n, err := a.NumericValue()
	if err != nil {
		t.Fatal(err)
	}
	var b money.Amount
	if err := b.ScanNumeric(n); err != nil || !b.Equal(a) || b.String() != "15000.50" {
		t.Fatalf("round trip: %s %v", b, err)
	}
	if err := b.ScanNumeric(pgtype.Numeric{}); err == nil {
		t.Fatal("NULL accepted")
	}
	if err := b.Scan("42.10"); err != nil || b.String() != "42.10" {
		t.Fatalf("Scan: %s %v", b, err)
	}
	if v, _ := b.Value(); v != "42.10" {
		t.Fatalf("Value = %v", v)
	}
}
