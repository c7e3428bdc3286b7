package storage

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"

	sqlite "github.com/glebarez/go-sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/gorm"

	"github.com/socialauth-go/socialauth"
)

// SQLite result codes used below (sqlite3.h).
const (
	sqliteBusy                = 5
	sqliteLocked              = 6
	sqliteConstraintPrimary   = 1555
	sqliteConstraintUnique    = 2067
	mysqlDupEntry             = 1062
	pgUniqueViolation         = "23505"
	pgClassConnectionFailure  = "08"
	pgAdminShutdown           = "57P01"
	pgCannotConnectNow        = "57P03"
	pgTooManyConnections      = "53300"
	mysqlServerGone           = 2006
	mysqlServerLost           = 2013
	mysqlTooManyConnections   = 1040
	mysqlLockWaitTimeout      = 1205
	mysqlDeadlock             = 1213
	pgDeadlockDetected        = "40P01"
	pgSerializationFailure    = "40001"
	sqliteBusyRecovery        = 261
	sqliteBusySnapshot        = 517
	sqliteBusyTimeoutExtended = 773
)

// dupError is a unique violation. Its text names the operation only: the
// driver's message can quote the colliding value (a code, a token).
type dupError struct {
	op    string
	cause error
}

func (e *dupError) Error() string   { return "storage: " + e.op + ": duplicate key" }
func (e *dupError) Unwrap() []error { return []error{socialauth.ErrDuplicate, e.cause} }

// conflictError is a deadlock, lock wait timeout or serialization failure:
// the database rolled the transaction back and it can run again.
type conflictError struct {
	op    string
	cause error
}

func (e *conflictError) Error() string {
	return "storage: " + e.op + ": transaction aborted by a conflict: " + e.cause.Error()
}
func (e *conflictError) Unwrap() []error { return []error{socialauth.ErrConflict, e.cause} }

// notFound returns an error wrapping socialauth.ErrNotFound.
func notFound(op string) error { return fmt.Errorf("storage: %s: %w", op, socialauth.ErrNotFound) }

func missing(param string) error {
	return &socialauth.Error{Code: socialauth.CodeAuthMissingParameter, Param: param, Msg: "empty"}
}

func unavailable(op string, err error) error {
	return &socialauth.Error{Code: socialauth.CodeStorageUnavailable, Msg: op, Err: err}
}

// wrap translates a driver or GORM error into the socialauth families.
func (s *Store) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *socialauth.Error
	switch {
	case errors.As(err, &se), errors.Is(err, socialauth.ErrNotFound), errors.Is(err, socialauth.ErrDuplicate),
		errors.Is(err, socialauth.ErrConflict):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound), errors.Is(err, sql.ErrNoRows):
		return notFound(op)
	case isDuplicate(err):
		return &dupError{op: op, cause: err}
	case isConflict(err):
		return &conflictError{op: op, cause: err}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("storage: %s: %w", op, err)
	case isUnavailable(err):
		return unavailable(op, err)
	}
	return fmt.Errorf("storage: %s: %w", op, err)
}

// isDuplicate recognises a unique-constraint violation on every dialect.
func isDuplicate(err error) bool {
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgUniqueViolation
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlDupEntry
	}
	var le *sqlite.Error
	if errors.As(err, &le) {
		c := le.Code()
		return c == sqliteConstraintUnique || c == sqliteConstraintPrimary
	}
	msg := err.Error()
	return strings.Contains(msg, "UNIQUE constraint failed") || strings.Contains(msg, "duplicate key value")
}

// isConflict recognises a transaction the server aborted to resolve a
// conflict: a deadlock, a lock wait timeout or a serialization failure on
// PostgreSQL and MySQL/MariaDB. Running the transaction again is the remedy.
func isConflict(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == pgDeadlockDetected || pe.Code == pgSerializationFailure
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlDeadlock || me.Number == mysqlLockWaitTimeout
	}
	return false
}

// isBusy recognises SQLite's "database is locked" and lock contention on the
// other dialects (deadlock, lock wait timeout, serialization failure).
func isBusy(err error) bool {
	var le *sqlite.Error
	if errors.As(err, &le) {
		switch le.Code() {
		case sqliteBusy, sqliteLocked, sqliteBusyRecovery, sqliteBusySnapshot, sqliteBusyTimeoutExtended:
			return true
		}
		return false
	}
	if isConflict(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "SQLITE_BUSY")
}

// isUnavailable recognises "the database cannot be reached": refused or
// dropped connections, a closed pool, a server shutting down, too many
// connections, and SQLite staying locked past busy_timeout.
func isUnavailable(err error) bool {
	if errors.Is(err, driver.ErrBadConn) || errors.Is(err, sql.ErrConnDone) ||
		errors.Is(err, mysqldriver.ErrInvalidConn) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) {
		return true
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return true
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, pgClassConnectionFailure) || pe.Code == pgAdminShutdown ||
			pe.Code == pgCannotConnectNow || pe.Code == pgTooManyConnections
	}
	var me *mysqldriver.MySQLError
	if errors.As(err, &me) {
		return me.Number == mysqlServerGone || me.Number == mysqlServerLost || me.Number == mysqlTooManyConnections
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	if isBusy(err) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "sql: database is closed") || strings.Contains(msg, "connection refused") ||
		strings.Contains(msg, "conn closed") || strings.Contains(msg, "unable to open database file")
}
