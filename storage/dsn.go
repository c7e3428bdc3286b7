package storage

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	mysqldriver "github.com/go-sql-driver/mysql"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

// ErrBadDatabaseURL is wrapped by the errors of ParseDatabaseURL.
var ErrBadDatabaseURL = errors.New("storage: bad database URL")

// DatabaseConfig is a parsed database URL: the dialect and the driver DSN.
type DatabaseConfig struct {
	Dialect Dialect
	// DSN is what the driver receives (SQLite path with pragmas, PostgreSQL
	// URL, go-sql-driver DSN with parseTime=true and charset utf8mb4).
	DSN string
	// Memory is true for "sqlite::memory:".
	Memory bool
}

func (c DatabaseConfig) dialector() gorm.Dialector {
	switch c.Dialect {
	case Postgres:
		return postgres.Open(c.DSN)
	case MySQL:
		return mysql.Open(c.DSN)
	default:
		return sqlite.Open(c.DSN)
	}
}

// ParseDatabaseURL turns a database URL into the driver's DSN. It never
// puts the URL (which may hold a password) in its errors.
func ParseDatabaseURL(databaseURL string) (DatabaseConfig, error) {
	u := strings.TrimSpace(databaseURL)
	lower := strings.ToLower(u)
	switch {
	case strings.HasPrefix(lower, "sqlite:"):
		path := u[len("sqlite:"):]
		path = strings.TrimPrefix(path, "//")
		return sqliteConfig(path)
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		pu, err := url.Parse(u)
		if err != nil || pu.Host == "" {
			return DatabaseConfig{}, fmt.Errorf("%w: postgres URL needs a host", ErrBadDatabaseURL)
		}
		return DatabaseConfig{Dialect: Postgres, DSN: u}, nil
	case strings.HasPrefix(lower, "mysql://"), strings.HasPrefix(lower, "mariadb://"):
		return mysqlURL(u)
	case strings.Contains(u, "@tcp(") || strings.Contains(u, "@unix("):
		return mysqlDSN(u)
	}
	return DatabaseConfig{}, fmt.Errorf("%w: want sqlite:, postgres://, postgresql:// or mysql://", ErrBadDatabaseURL)
}

// SQLiteDSN returns the glebarez/sqlite DSN Open uses for path: write lock
// at BEGIN (_txlock=immediate), busy_timeout, WAL (files only), foreign
// keys on. Extra query parameters in path are kept.
func SQLiteDSN(path string) string {
	cfg, _ := sqliteConfig(path)
	return cfg.DSN
}

func sqliteConfig(path string) (DatabaseConfig, error) {
	extra := ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, extra = path[:i], path[i+1:]
	}
	if path == "" {
		return DatabaseConfig{}, fmt.Errorf("%w: sqlite needs a file path or the memory database", ErrBadDatabaseURL)
	}
	memory := path == ":memory:" || strings.Contains(extra, "mode=memory")
	q := []string{"_txlock=immediate", "_pragma=busy_timeout(10000)", "_pragma=foreign_keys(1)"}
	if !memory {
		q = append(q, "_pragma=journal_mode(WAL)", "_pragma=synchronous(NORMAL)")
	}
	if extra != "" {
		q = append(q, extra)
	}
	return DatabaseConfig{Dialect: SQLite, DSN: path + "?" + strings.Join(q, "&"), Memory: memory}, nil
}

func mysqlURL(raw string) (DatabaseConfig, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return DatabaseConfig{}, fmt.Errorf("%w: malformed mysql URL", ErrBadDatabaseURL)
	}
	if u.Host == "" {
		return DatabaseConfig{}, fmt.Errorf("%w: mysql URL needs a host", ErrBadDatabaseURL)
	}
	db := strings.TrimPrefix(u.Path, "/")
	if db == "" || strings.Contains(db, "/") {
		return DatabaseConfig{}, fmt.Errorf("%w: mysql URL needs one database name", ErrBadDatabaseURL)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "3306")
	}
	cfg := mysqldriver.NewConfig()
	if u.User != nil {
		cfg.User = u.User.Username()
		cfg.Passwd, _ = u.User.Password()
	}
	cfg.Net = "tcp"
	cfg.Addr = host
	cfg.DBName = db
	base := cfg.FormatDSN()
	// Reparse so that the query (tls, timeouts…) goes through the driver's
	// own validation.
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	if u.RawQuery != "" {
		base += sep + u.RawQuery
	}
	return mysqlDSN(base)
}

func mysqlDSN(dsn string) (DatabaseConfig, error) {
	cfg, err := mysqldriver.ParseDSN(dsn)
	if err != nil {
		return DatabaseConfig{}, fmt.Errorf("%w: malformed mysql DSN", ErrBadDatabaseURL)
	}
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	// The store reads "rows affected" as "rows changed" (UseNonce's insert
	// that ignores a duplicate, DeletePartial's single use): a DSN asking
	// for found rows would make a replayed nonce look fresh.
	cfg.ClientFoundRows = false
	if cfg.Params == nil {
		cfg.Params = map[string]string{}
	}
	delete(cfg.Params, "charset")
	out := cfg.FormatDSN()
	if strings.Contains(out, "?") {
		out += "&charset=utf8mb4"
	} else {
		out += "?charset=utf8mb4"
	}
	return DatabaseConfig{Dialect: MySQL, DSN: out}, nil
}
