// Package dbtest chooses the databases a test runs against and gives each
// test an isolated, empty database of its own.
//
// SQLite (pure Go, in a temporary file) is always available. PostgreSQL and
// MySQL/MariaDB join when their DSNs are in the environment; .ci/services
// starts both on loopback and prints the variables:
//
//	eval "$(.ci/services --env)"
//
// Under CI=true every database is required: a missing DSN fails the test
// instead of silently shrinking the matrix.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	// Database/sql drivers: "sqlite" (pure Go), "pgx" and "mysql".
	_ "github.com/glebarez/go-sqlite"
	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib"
)

// Target names.
const (
	SQLite   = "sqlite"
	Postgres = "postgres"
	MySQL    = "mysql"
)

// Environment variables read by this package.
const (
	// EnvPostgres holds a PostgreSQL URL DSN, e.g.
	// postgres://socialauth:socialauth@127.0.0.1:5432/socialauth?sslmode=disable.
	// The role must be allowed to create databases.
	EnvPostgres = "SOCIALAUTH_TEST_POSTGRES_DSN"
	// EnvMySQL holds a go-sql-driver/mysql DSN, e.g.
	// socialauth:socialauth@tcp(127.0.0.1:3306)/socialauth?parseTime=true&charset=utf8mb4.
	// The user must be allowed to create and drop databases named socialauth_%.
	EnvMySQL = "SOCIALAUTH_TEST_MYSQL_DSN"
	// EnvChromium holds the path of a Chromium binary for browser tests.
	EnvChromium = "SOCIALAUTH_TEST_CHROMIUM"
	// EnvCI is set to "true" by CI, where every database is required.
	EnvCI = "CI"
)

// dbPrefix starts the name of every database Fresh creates; the MySQL grant
// made by .ci/services covers exactly socialauth_%.
const dbPrefix = "socialauth_t"

// opTimeout bounds each administrative statement (create or drop).
const opTimeout = 30 * time.Second

// Target is one database a test can run against.
type Target struct {
	// Name is SQLite, Postgres or MySQL.
	Name string
	// DSN is the connection string for the target's driver. For PostgreSQL
	// and MySQL it names a shared database: call Fresh for an isolated one.
	DSN string
}

// DriverName returns the database/sql driver name for the target ("sqlite",
// "pgx" or "mysql"); importing this package registers all three.
func (t Target) DriverName() string {
	switch t.Name {
	case Postgres:
		return "pgx"
	default:
		return t.Name
	}
}

// Targets returns the databases available to this test: SQLite always, then
// PostgreSQL and MySQL when EnvPostgres and EnvMySQL are set. A missing one
// is logged, or fails the test when CI=true.
func Targets(t testing.TB) []Target {
	t.Helper()
	targets := []Target{{Name: SQLite, DSN: SQLiteDSN(filepath.Join(t.TempDir(), "test.db"))}}
	for _, opt := range []struct{ name, env string }{
		{Postgres, EnvPostgres},
		{MySQL, EnvMySQL},
	} {
		dsn := strings.TrimSpace(os.Getenv(opt.env))
		if dsn == "" {
			if inCI() {
				t.Fatalf("dbtest: %s=true but %s is not set: CI must test %s (run .ci/services)",
					EnvCI, opt.env, opt.name)
				return nil
			}
			t.Logf("skipping %s: %s not set (see .ci/services)", opt.name, opt.env)
			continue
		}
		targets = append(targets, Target{Name: opt.name, DSN: dsn})
	}
	return targets
}

// Chromium returns the Chromium binary named by EnvChromium. When it is unset
// the test is skipped, or fails when CI=true.
func Chromium(t testing.TB) string {
	t.Helper()
	path := strings.TrimSpace(os.Getenv(EnvChromium))
	if path == "" {
		if inCI() {
			t.Fatalf("dbtest: %s=true but %s is not set: CI must run browser tests (run .ci/services)",
				EnvCI, EnvChromium)
			return ""
		}
		t.Skipf("skipping browser test: %s not set (see .ci/services)", EnvChromium)
	}
	return path
}

// SQLiteDSN returns the DSN used for a SQLite database file at path: WAL
// journal, a busy timeout so concurrent writers wait instead of failing, and
// foreign keys enforced.
func SQLiteDSN(path string) string {
	return "file:" + path +
		"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
}

// Fresh returns a DSN to a new, empty database for this test only, dropped
// when the test ends: a new file for SQLite, a new database socialauth_t<random>
// for PostgreSQL and MySQL, created through target.DSN.
func Fresh(t testing.TB, target Target) string {
	t.Helper()
	switch target.Name {
	case SQLite:
		return SQLiteDSN(filepath.Join(t.TempDir(), "test.db"))
	case Postgres:
		name := randomName(t)
		dsn, err := postgresWithDB(target.DSN, name)
		if err != nil {
			t.Fatalf("dbtest: %v", err)
		}
		// template0 never has connections, so parallel creates never collide
		// on a busy template.
		create(t, target, "CREATE DATABASE "+name+" TEMPLATE template0 ENCODING 'UTF8'",
			"DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		return dsn
	case MySQL:
		name := randomName(t)
		dsn, err := mysqlWithDB(target.DSN, name)
		if err != nil {
			t.Fatalf("dbtest: %v", err)
		}
		create(t, target, "CREATE DATABASE `"+name+"` CHARACTER SET utf8mb4",
			"DROP DATABASE IF EXISTS `"+name+"`")
		return dsn
	default:
		t.Fatalf("dbtest: unknown target %q", target.Name)
		return ""
	}
}

// create runs createSQL through target.DSN and registers dropSQL to run when
// the test ends.
func create(t testing.TB, target Target, createSQL, dropSQL string) {
	t.Helper()
	if err := execAdmin(target, createSQL); err != nil {
		t.Fatalf("dbtest: %s: %v", target.Name, err)
	}
	t.Cleanup(func() {
		if err := execAdmin(target, dropSQL); err != nil {
			t.Errorf("dbtest: %s: dropping test database: %v", target.Name, err)
		}
	})
}

// execAdmin runs one statement on a short-lived connection to target.DSN.
func execAdmin(target Target, stmt string) error {
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	db, err := sql.Open(target.DriverName(), target.DSN)
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, stmt); err != nil {
		return fmt.Errorf("%s: %w", firstWords(stmt), err)
	}
	return nil
}

// firstWords keeps the verb and object of a statement for error messages.
func firstWords(stmt string) string {
	f := strings.Fields(stmt)
	if len(f) > 3 {
		f = f[:3]
	}
	return strings.Join(f, " ")
}

func randomName(t testing.TB) string {
	t.Helper()
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatalf("dbtest: random database name: %v", err)
	}
	return dbPrefix + hex.EncodeToString(b[:])
}

func inCI() bool {
	ci, err := strconv.ParseBool(os.Getenv(EnvCI))
	return err == nil && ci
}

// errBadDSN reports a DSN this package cannot rewrite.
var errBadDSN = errors.New("cannot parse DSN")

// postgresWithDB returns dsn pointing at database name. Both URL and
// keyword/value forms are accepted.
func postgresWithDB(dsn, name string) (string, error) {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			// url.Error quotes the DSN, password included: keep only the cause.
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			return "", fmt.Errorf("%w (postgres URL): %v", errBadDSN, err)
		}
		u.Path = "/" + name
		u.RawPath = ""
		return u.String(), nil
	}
	if _, err := pgconn.ParseConfig(dsn); err != nil {
		return "", fmt.Errorf("%w (postgres keyword/value)", errBadDSN)
	}
	// In keyword/value form a later setting overrides an earlier one.
	return dsn + " dbname=" + name, nil
}

// mysqlWithDB returns dsn pointing at database name.
func mysqlWithDB(dsn, name string) (string, error) {
	cfg, err := mysql.ParseDSN(dsn)
	if err != nil {
		return "", fmt.Errorf("%w (mysql)", errBadDSN)
	}
	cfg.DBName = name
	return cfg.FormatDSN(), nil
}

// Service returns the value of envVar, which names a service started by
// .ci/services (a real OpenID provider's issuer, say). When it is unset the
// test is skipped with a message, or fails when CI=true: CI must run every
// test against its real services.
func Service(t testing.TB, envVar string) string {
	t.Helper()
	v := strings.TrimSpace(os.Getenv(envVar))
	if v == "" {
		if inCI() {
			t.Fatalf("dbtest: %s=true but %s is not set: CI must run this test (run .ci/services)",
				EnvCI, envVar)
			return ""
		}
		t.Skipf("skipping: %s not set (start the services with: eval \"$(bash .ci/services --env)\")", envVar)
	}
	return v
}
