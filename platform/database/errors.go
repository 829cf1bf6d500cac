package database

import (
	"context"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mini-crm/crm/platform/apperr"
)

// PostgreSQL error codes the application reacts to.
const (
	CodeUniqueViolation     = "23505"
	CodeForeignKeyViolation = "23503"
	CodeCheckViolation      = "23514"
	CodeQueryCanceled       = "57014"
	CodeAdminShutdown       = "57P01"
	CodeSerialization       = "40001"
	CodeDeadlock            = "40P01"
)

// ErrUnavailable is returned when the database cannot be reached or did not answer in time.
var ErrUnavailable = apperr.Unavailable("database_unavailable", "the database is unavailable, try again shortly")

// PgCode returns the SQLSTATE of err, or "" when err is no PostgreSQL error.
func PgCode(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.Code
	}
	return ""
}

// Constraint returns the name of the constraint err violated, or "".
func Constraint(err error) string {
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		return pg.ConstraintName
	}
	return ""
}

// MapError turns connectivity failures and timeouts into ErrUnavailable, keeping the cause
// for the logs. Constraint violations are left to the stores, which know what a constraint
// means (they use PgCode and Constraint); anything else is returned unchanged.
func MapError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := apperr.As(err); ok {
		return err
	}
	switch PgCode(err) {
	case CodeQueryCanceled, CodeAdminShutdown, "57P02", "57P03", "08000", "08003", "08006", "53300":
		return ErrUnavailable.Wrap(err)
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return ErrUnavailable.Wrap(err)
	}
	var netErr net.Error
	if errors.As(err, &netErr) {
		return ErrUnavailable.Wrap(err)
	}
	if pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return ErrUnavailable.Wrap(err)
	}
	var connErr *pgconn.ConnectError
	if errors.As(err, &connErr) {
		return ErrUnavailable.Wrap(err)
	}
	if errors.Is(err, net.ErrClosed) || isClosedConn(err) {
		return ErrUnavailable.Wrap(err)
	}
	return err
}

func isClosedConn(err error) bool {
	s := err.Error()
	for _, m := range []string{"conn closed", "unexpected EOF", "broken pipe", "connection reset"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}
