package dbtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// recorder is a testing.TB that records Logf/Fatalf/Skipf instead of acting
// on the real test; Fatalf and Skipf end the goroutine like the real ones.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	logs   []string
	fatals []string
	skips  []string
}

func (r *recorder) Helper() {}

func (r *recorder) Logf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.logs = append(r.logs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatals = append(r.fatals, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

func (r *recorder) Skipf(format string, args ...any) {
	r.mu.Lock()
	r.skips = append(r.skips, fmt.Sprintf(format, args...))
	r.mu.Unlock()
	runtime.Goexit()
}

// run calls f with r in its own goroutine, as the testing package would, so
// that Fatalf/Skipf can stop it.
func (r *recorder) run(f func(testing.TB)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
}

func TestTargets(t *testing.T) {
	const pg = "postgres://u:p@127.0.0.1:1/db?sslmode=disable"
	const my = "u:p@tcp(127.0.0.1:1)/db?parseTime=true"
	tests := []struct {
		name       string
		env        map[string]string
		wantNames  []string
		wantDSNs   map[string]string
		wantLogs   []string
		wantFatals []string
	}{
		{
			name:      "nothing set: sqlite only, both skips logged",
			env:       map[string]string{EnvCI: "", EnvPostgres: "", EnvMySQL: ""},
			wantNames: []string{SQLite},
			wantLogs: []string{
				"skipping postgres: SOCIALAUTH_TEST_POSTGRES_DSN not set (see .ci/services)",
				"skipping mysql: SOCIALAUTH_TEST_MYSQL_DSN not set (see .ci/services)",
			},
		},
		{
			name:      "all set",
			env:       map[string]string{EnvCI: "true", EnvPostgres: pg, EnvMySQL: " " + my + "\n"},
			wantNames: []string{SQLite, Postgres, MySQL},
			wantDSNs:  map[string]string{Postgres: pg, MySQL: my},
		},
		{
			name:      "postgres only, not CI",
			env:       map[string]string{EnvCI: "false", EnvPostgres: pg, EnvMySQL: ""},
			wantNames: []string{SQLite, Postgres},
			wantDSNs:  map[string]string{Postgres: pg},
			wantLogs:  []string{"skipping mysql: SOCIALAUTH_TEST_MYSQL_DSN not set (see .ci/services)"},
		},
		{
			name: "CI without mysql fails",
			env:  map[string]string{EnvCI: "true", EnvPostgres: pg, EnvMySQL: ""},
			wantFatals: []string{
				"dbtest: CI=true but SOCIALAUTH_TEST_MYSQL_DSN is not set: CI must test mysql (run .ci/services)",
			},
		},
		{
			name: "CI without postgres fails",
			env:  map[string]string{EnvCI: "1", EnvPostgres: "", EnvMySQL: my},
			wantFatals: []string{
				"dbtest: CI=true but SOCIALAUTH_TEST_POSTGRES_DSN is not set: CI must test postgres (run .ci/services)",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			r := &recorder{TB: t}
			var got []Target
			r.run(func(tb testing.TB) { got = Targets(tb) })

			if diff := cmp.Diff(tc.wantFatals, r.fatals, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("fatals (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantLogs, r.logs, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("logs (-want +got):\n%s", diff)
			}
			var names []string
			for _, tg := range got {
				names = append(names, tg.Name)
				if want, ok := tc.wantDSNs[tg.Name]; ok && tg.DSN != want {
					t.Errorf("%s DSN = %q, want %q", tg.Name, tg.DSN, want)
				}
				if tg.Name == SQLite && !strings.HasPrefix(tg.DSN, "file:") {
					t.Errorf("sqlite DSN = %q, want a file: DSN", tg.DSN)
				}
			}
			if diff := cmp.Diff(tc.wantNames, names, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("target names (-want +got):\n%s", diff)
			}
		})
	}
}

func TestChromium(t *testing.T) {
	tests := []struct {
		name      string
		ci, path  string
		want      string
		wantSkip  bool
		wantFatal bool
	}{
		{name: "set", path: "/usr/bin/chromium", want: "/usr/bin/chromium"},
		{name: "unset skips", wantSkip: true},
		{name: "unset under CI fails", ci: "true", wantFatal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvCI, tc.ci)
			t.Setenv(EnvChromium, tc.path)
			r := &recorder{TB: t}
			var got string
			r.run(func(tb testing.TB) { got = Chromium(tb) })
			if got != tc.want {
				t.Errorf("Chromium = %q, want %q", got, tc.want)
			}
			if (len(r.skips) > 0) != tc.wantSkip || (len(r.fatals) > 0) != tc.wantFatal {
				t.Errorf("skips %q, fatals %q; want skip=%v fatal=%v", r.skips, r.fatals, tc.wantSkip, tc.wantFatal)
			}
		})
	}
}

func TestPostgresWithDB(t *testing.T) {
	tests := []struct {
		in, want string
		wantErr  bool
	}{
		{
			in:   "postgres://socialauth:socialauth@127.0.0.1:5432/socialauth?sslmode=disable",
			want: "postgres://socialauth:socialauth@127.0.0.1:5432/socialauth_tx?sslmode=disable",
		},
		{
			in:   "postgresql://u@localhost",
			want: "postgresql://u@localhost/socialauth_tx",
		},
		{
			in:   "host=127.0.0.1 user=u password=p dbname=socialauth sslmode=disable",
			want: "host=127.0.0.1 user=u password=p dbname=socialauth sslmode=disable dbname=socialauth_tx",
		},
		{in: "postgres://u:secret@[::1:5432/x", wantErr: true},
		{in: "host='unterminated", wantErr: true},
	}
	for _, tc := range tests {
		got, err := postgresWithDB(tc.in, "socialauth_tx")
		if (err != nil) != tc.wantErr {
			t.Fatalf("postgresWithDB(%q) error = %v, wantErr %v", tc.in, err, tc.wantErr)
		}
		if err != nil {
			if !errors.Is(err, errBadDSN) {
				t.Errorf("error %v is not errBadDSN", err)
			}
			if strings.Contains(err.Error(), "secret") {
				t.Errorf("error %q leaks the password", err)
			}
			continue
		}
		if got != tc.want {
			t.Errorf("postgresWithDB(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestMySQLWithDB(t *testing.T) {
	got, err := mysqlWithDB("socialauth:socialauth@tcp(127.0.0.1:3306)/socialauth?parseTime=true&charset=utf8mb4", "socialauth_tx")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"@tcp(127.0.0.1:3306)/socialauth_tx?", "parseTime=true", "charset=utf8mb4", "socialauth:socialauth@"} {
		if !strings.Contains(got, want) {
			t.Errorf("mysqlWithDB = %q, missing %q", got, want)
		}
	}
	if _, err := mysqlWithDB("not a dsn", "x"); !errors.Is(err, errBadDSN) {
		t.Errorf("mysqlWithDB(bad) error = %v, want errBadDSN", err)
	}
}

// TestFresh opens every available target for real: a fresh database answers
// SELECT 1, starts empty, is not shared with another Fresh database, and is
// gone after its test ends.
func TestFresh(t *testing.T) {
	for _, target := range Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := context.Background()
			var first string
			t.Run("use", func(t *testing.T) {
				first = Fresh(t, target)
				db := open(t, target, first)
				var one int
				if err := db.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
					t.Fatalf("SELECT 1 = %d, %v", one, err)
				}
				if n := countTable(t, db, "marker"); n != -1 {
					t.Fatalf("fresh database already has table marker")
				}
				if _, err := db.ExecContext(ctx, "CREATE TABLE marker (id INTEGER PRIMARY KEY)"); err != nil {
					t.Fatal(err)
				}
				if _, err := db.ExecContext(ctx, "INSERT INTO marker (id) VALUES (1)"); err != nil {
					t.Fatal(err)
				}
				if n := countTable(t, db, "marker"); n != 1 {
					t.Fatalf("marker rows = %d, want 1", n)
				}

				second := Fresh(t, target)
				if second == first {
					t.Fatalf("two Fresh calls returned the same DSN %q", first)
				}
				if n := countTable(t, open(t, target, second), "marker"); n != -1 {
					t.Fatalf("second fresh database sees table marker (rows %d)", n)
				}
			})
			if target.Name == SQLite {
				return // the file lives in the subtest's TempDir, removed with it
			}
			if exists(t, target, dbNameOf(t, first)) {
				t.Errorf("database of %q still exists after its test ended", first)
			}
		})
	}
}

func open(t *testing.T, target Target, dsn string) *sql.DB {
	t.Helper()
	db, err := sql.Open(target.DriverName(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		t.Fatalf("ping %s: %v", target.Name, err)
	}
	return db
}

// countTable returns the rows in table, or -1 when the table does not exist.
func countTable(t *testing.T, db *sql.DB, table string) int {
	t.Helper()
	var n int
	if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM "+table).Scan(&n); err != nil {
		return -1
	}
	return n
}

func dbNameOf(t *testing.T, dsn string) string {
	t.Helper()
	i := strings.Index(dsn, "/"+dbPrefix)
	if i < 0 {
		t.Fatalf("DSN %q has no %s database", dsn, dbPrefix)
	}
	name := dsn[i+1:]
	if j := strings.IndexAny(name, "?/ "); j >= 0 {
		name = name[:j]
	}
	return name
}

func exists(t *testing.T, target Target, name string) bool {
	t.Helper()
	q := "SELECT COUNT(*) FROM pg_database WHERE datname = $1"
	if target.Name == MySQL {
		q = "SELECT COUNT(*) FROM information_schema.schemata WHERE schema_name = ?"
	}
	var n int
	if err := open(t, target, target.DSN).QueryRowContext(context.Background(), q, name).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

func TestService(t *testing.T) {
	const env = "SOCIALAUTH_TEST_SOME_PROVIDER"
	tests := []struct {
		name      string
		ci, value string
		want      string
		wantSkip  bool
		wantFatal bool
	}{
		{name: "set", value: "http://127.0.0.1:9998", want: "http://127.0.0.1:9998"},
		{name: "set under CI", ci: "true", value: " http://127.0.0.1:9998 ", want: "http://127.0.0.1:9998"},
		{name: "unset skips", wantSkip: true},
		{name: "blank skips", value: "  ", wantSkip: true},
		{name: "unset under CI fails", ci: "true", wantFatal: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(EnvCI, tc.ci)
			t.Setenv(env, tc.value)
			r := &recorder{TB: t}
			var got string
			r.run(func(tb testing.TB) { got = Service(tb, env) })
			if got != tc.want {
				t.Errorf("Service = %q, want %q", got, tc.want)
			}
			if (len(r.skips) > 0) != tc.wantSkip || (len(r.fatals) > 0) != tc.wantFatal {
				t.Errorf("skips %q, fatals %q; want skip=%v fatal=%v", r.skips, r.fatals, tc.wantSkip, tc.wantFatal)
			}
			for _, msg := range append(r.skips, r.fatals...) {
				if !strings.Contains(msg, env) {
					t.Errorf("message %q does not name %s", msg, env)
				}
			}
		})
	}
}
