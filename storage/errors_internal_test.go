package storage

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	mysqldriver "github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/socialauth-go/socialauth"
)

// TestWrapConflict: a deadlock, lock wait timeout or serialization failure
// from the drivers becomes ErrConflict (run the transaction again, 503 if it
// reaches a handler), keeps the driver error reachable, and is neither a
// duplicate nor "storage unavailable"; other driver errors are not conflicts.
func TestWrapConflict(t *testing.T) {
	s := &Store{}
	conflicts := []error{
		&mysqldriver.MySQLError{Number: 1213, Message: "Deadlock found when trying to get lock"},
		&mysqldriver.MySQLError{Number: 1205, Message: "Lock wait timeout exceeded"},
		&pgconn.PgError{Code: "40P01", Message: "deadlock detected"},
		&pgconn.PgError{Code: "40001", Message: "could not serialize access"},
	}
	for _, cause := range conflicts {
		err := s.wrap("create user", fmt.Errorf("gorm: %w", cause))
		if !errors.Is(err, socialauth.ErrConflict) {
			t.Errorf("wrap(%v) = %v; want ErrConflict", cause, err)
		}
		if !errors.Is(err, cause) {
			t.Errorf("wrap(%v) lost the driver error", cause)
		}
		if errors.Is(err, socialauth.ErrDuplicate) || errors.Is(err, socialauth.CodeStorageUnavailable) {
			t.Errorf("wrap(%v) = %v; a conflict is neither a duplicate nor unavailable", cause, err)
		}
		if got := socialauth.HTTPStatus(err); got != http.StatusServiceUnavailable {
			t.Errorf("HTTPStatus(wrap(%v)) = %d; want 503", cause, got)
		}
		if again := s.wrap("transaction", err); again != err {
			t.Errorf("wrapping a conflict twice changed it: %v", again)
		}
	}
	others := []error{
		&mysqldriver.MySQLError{Number: 1062, Message: "Duplicate entry"},
		&mysqldriver.MySQLError{Number: 1146, Message: "Table doesn't exist"},
		&pgconn.PgError{Code: "23505", Message: "duplicate key value"},
		&pgconn.PgError{Code: "42P01", Message: "relation does not exist"},
		errors.New("some failure"),
	}
	for _, cause := range others {
		if err := s.wrap("create user", cause); errors.Is(err, socialauth.ErrConflict) {
			t.Errorf("wrap(%v) = %v; not a conflict", cause, err)
		}
	}
}
