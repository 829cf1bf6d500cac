// Package money holds Amount, the exact decimal type of every sum of money in the service.
// Amounts are never binary floats: they are parsed from JSON numbers or strings without
// passing through float64, stored as numeric(14,2) and rendered as strings with exactly two
// fractional digits.
package money

import (
	"database/sql/driver"
	"errors"
	"fmt"
	"math/big"
	"strings"

	"github.com/jackc/pgx/v5/pgtype"
	"github.com/shopspring/decimal"

	"github.com/mini-crm/crm/platform/apperr"
)

// Places is the number of fractional digits of an amount.
const Places = 2

// maxInput bounds the length of an accepted textual amount, so that exponents and digit
// strings that would make arithmetic expensive are refused before any is done.
const maxInput = 64

var (
	maxDecimal = decimal.New(99999999999999, -Places)
	// Max is the largest amount the API accepts and numeric(14,2) can hold.
	Max = Amount{d: maxDecimal}
	// Zero is 0.00.
	Zero = Amount{}
)

// Amount is an exact decimal sum of money with at most two fractional digits. The zero
// value is 0.00.
type Amount struct{ d decimal.Decimal }

// ParseError says why a text is not an acceptable amount. Message is phrased to follow a
// field name ("amount must ...").
type ParseError struct{ Message string }

func (e *ParseError) Error() string { return "amount " + e.Message }

// Messages of ParseError.
const (
	MsgNotNumber = "must be a number or a numeric string, such as 1500 or \"1500.00\""
	MsgNegative  = "must not be negative"
	MsgTooLarge  = "must be at most 999999999999.99"
	MsgPrecision = "must have at most 2 decimal places"
)

// Parse reads a decimal text such as "1500", "1500.5" or "1.5e3" and checks the limits of
// the API: 0 ≤ amount ≤ Max with at most two fractional digits. Trailing zeros beyond two
// places ("1.500") are accepted because they lose nothing.
func Parse(s string) (Amount, error) {
	if s == "" || len(s) > maxInput || strings.TrimSpace(s) != s {
		return Amount{}, &ParseError{MsgNotNumber}
	}
	for _, r := range s {
		// Only digits, a sign, a point and an exponent: the decimal parser accepts more
		// than the API promises.
		if !strings.ContainsRune("0123456789+-.eE", r) {
			return Amount{}, &ParseError{MsgNotNumber}
		}
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return Amount{}, &ParseError{MsgNotNumber}
	}
	return FromDecimal(d)
}

// FromDecimal checks d against the limits of Parse.
func FromDecimal(d decimal.Decimal) (Amount, error) {
	if d.IsZero() {
		return Amount{}, nil
	}
	// A huge exponent would make the comparisons below allocate enormous integers; any
	// exponent this far out is out of range or has too many places anyway.
	exp := d.Exponent()
	if exp > 15 {
		if d.Sign() < 0 {
			return Amount{}, &ParseError{MsgNegative}
		}
		return Amount{}, &ParseError{MsgTooLarge}
	}
	if exp < -(maxInput + Places) {
		return Amount{}, &ParseError{MsgPrecision}
	}
	if d.Sign() < 0 {
		return Amount{}, &ParseError{MsgNegative}
	}
	if !d.Equal(d.Truncate(Places)) {
		return Amount{}, &ParseError{MsgPrecision}
	}
	if d.GreaterThan(maxDecimal) {
		return Amount{}, &ParseError{MsgTooLarge}
	}
	return Amount{d: d.Truncate(Places)}, nil
}

// MustParse is Parse for constants; it panics on a bad amount.
func MustParse(s string) Amount {
	a, err := Parse(s)
	if err != nil {
		panic(err)
	}
	return a
}

// FromCents returns cents/100.
func FromCents(cents int64) Amount { return Amount{d: decimal.New(cents, -Places)} }

// Decimal returns the amount as a decimal.
func (a Amount) Decimal() decimal.Decimal { return a.d }

// String renders the amount with exactly two fractional digits: "15000.00".
func (a Amount) String() string { return a.d.StringFixed(Places) }

// Cmp returns -1, 0 or +1 as a is less than, equal to or greater than b.
func (a Amount) Cmp(b Amount) int { return a.d.Cmp(b.d) }

// Equal reports whether a and b are the same sum.
func (a Amount) Equal(b Amount) bool { return a.d.Equal(b.d) }

// Sign returns -1, 0 or +1.
func (a Amount) Sign() int { return a.d.Sign() }

// IsZero reports whether a is 0.
func (a Amount) IsZero() bool { return a.d.IsZero() }

// IsPositive reports whether a is greater than 0.
func (a Amount) IsPositive() bool { return a.d.IsPositive() }

// Add returns a+b. Sums are not range-checked: totals may exceed what one deal can hold.
func (a Amount) Add(b Amount) Amount { return Amount{d: a.d.Add(b.d)} }

// Sub returns a-b.
func (a Amount) Sub(b Amount) Amount { return Amount{d: a.d.Sub(b.d)} }

// Div returns a/n rounded to two places, halves away from zero (half-up for the
// non-negative sums of this service). Dividing by zero is an error.
func (a Amount) Div(n int64) (Amount, error) {
	if n == 0 {
		return Amount{}, errors.New("money: division by zero")
	}
	return Amount{d: a.d.DivRound(decimal.NewFromInt(n), Places)}, nil
}

// MarshalText renders the amount with two fractional digits; encoding/json writes it as a
// string (and, unlike a MarshalJSON method's output, does not parse it again).
func (a Amount) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalJSON accepts a JSON number or a string holding one. Errors are
// *apperr.FieldDecodeError about the field "amount", the name of every money field of the API,
// so that the client learns which field is wrong.
func (a *Amount) UnmarshalJSON(b []byte) error {
	s := string(b)
	if s == "null" {
		return nil
	}
	if strings.HasPrefix(s, `"`) {
		if len(s) < 2 || !strings.HasSuffix(s, `"`) || strings.ContainsAny(s[1:len(s)-1], `"\`) {
			return &apperr.FieldDecodeError{Field: "amount", Message: MsgNotNumber}
		}
		s = s[1 : len(s)-1]
	} else if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return &apperr.FieldDecodeError{Field: "amount", Message: MsgNotNumber}
	}
	v, err := Parse(s)
	if err != nil {
		var pe *ParseError
		if errors.As(err, &pe) {
			return &apperr.FieldDecodeError{Field: "amount", Message: pe.Message}
		}
		return err
	}
	*a = v
	return nil
}

// ScanNumeric implements pgtype.NumericScanner, so pgx reads numeric columns directly into
// an Amount without a float in between. NULL is an error: use a pointer or COALESCE.
func (a *Amount) ScanNumeric(n pgtype.Numeric) error {
	if !n.Valid {
		return errors.New("money: cannot scan NULL into Amount")
	}
	if n.NaN || n.InfinityModifier != pgtype.Finite {
		return errors.New("money: cannot scan NaN or infinity into Amount")
	}
	if n.Int == nil {
		*a = Amount{}
		return nil
	}
	a.d = decimal.NewFromBigInt(n.Int, n.Exp)
	return nil
}

// NumericValue implements pgtype.NumericValuer, so pgx writes an Amount exactly.
func (a Amount) NumericValue() (pgtype.Numeric, error) {
	return pgtype.Numeric{Int: new(big.Int).Set(a.d.Coefficient()), Exp: a.d.Exponent(), Valid: true}, nil
}

// Scan implements sql.Scanner for drivers other than pgx's native interface.
func (a *Amount) Scan(src any) error {
	var s string
	switch v := src.(type) {
	case string:
		s = v
	case []byte:
		s = string(v)
	case int64:
		a.d = decimal.NewFromInt(v)
		return nil
	case nil:
		return errors.New("money: cannot scan NULL into Amount")
	default:
		return fmt.Errorf("money: cannot scan %T into Amount", src)
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return fmt.Errorf("money: scan %q: %w", s, err)
	}
	a.d = d
	return nil
}

// Value implements driver.Valuer.
func (a Amount) Value() (driver.Value, error) { return a.String(), nil }
