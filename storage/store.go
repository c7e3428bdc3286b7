package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/socialauth-go/socialauth"
)

// Dialect names a supported database.
type Dialect string

// The supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
	MySQL    Dialect = "mysql"
)

// Options configure a Store. The zero value is usable.
type Options struct {
	// Logger receives warnings (retries, cleanup); nil discards.
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Stored times are UTC.
	Now func() time.Time
	// Users describes the application's user table; nil means the built-in
	// Django-like auth_user table (DjangoUsers).
	Users *UserAdapter
	// MaxOpenConns bounds the connection pool of Open (0: 10; SQLite in
	// memory always uses 1 connection, since each connection would be a
	// separate database).
	MaxOpenConns int
	// BusyRetries is how many times a SQLite transaction whose BEGIN found
	// the database locked is retried (0: 5). Other dialects never retry.
	BusyRetries int
	// FieldKeys turn on field encryption: every secret member of an
	// association's extra_data is stored encrypted (AES-256-GCM, bound to
	// the association's provider and uid and the member's name) and read
	// back decrypted. The first key encrypts, every key decrypts, so keys
	// rotate by putting the new one first (then Reencrypt). Each key has at
	// least MinFieldKeyLen bytes (ParseFieldKeys reads the text form). nil:
	// members are written as given.
	FieldKeys [][]byte
	// SecretMembers are secret members beyond
	// socialauth.DefaultSecretMembers (access_token, refresh_token,
	// id_token): the SecretExtraData of the backends (SecretDeclarer).
	SecretMembers []string
}

// Store is a socialauth.Storage over GORM. It is safe for concurrent use. A
// Store obtained inside Transaction is bound to that transaction.
type Store struct {
	db      *gorm.DB
	dialect Dialect
	log     *slog.Logger
	now     func() time.Time
	users   *UserAdapter
	retries int
	inTx    bool
	closer  io.Closer // set by Open only
	// held is the association row this transaction holds (nil outside
	// one): see txRow.
	held *txRow
	// crypt encrypts and decrypts the secret members of extra_data.
	crypt *fieldCrypt
}

// txRow remembers, inside one transaction, the association row it holds:
// the row CreateSocialAuth just inserted, or the row GetSocialAuthWithUser
// read under this transaction's lock (FOR UPDATE OF the association on
// PostgreSQL; on SQLite the transaction holds the database's write lock from
// BEGIN). UpdateExtraData of that row (a login's extra data) then uses it
// instead of reading it again: no other transaction can have changed it.
// The Store's writes to the association table keep the row current or drop
// it, and DB(), the way around the Store, drops it.
type txRow struct {
	mu  sync.Mutex
	row *socialScan
}

func (t *txRow) get(id int64) (socialScan, bool) {
	if t == nil {
		return socialScan{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.row == nil || t.row.row.ID != id {
		return socialScan{}, false
	}
	return *t.row, true
}

func (t *txRow) set(x *socialScan) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.row = x
}

var _ socialauth.Storage = (*Store)(nil)

// New wraps an open *gorm.DB (SQLite, PostgreSQL or MySQL dialector). The
// caller keeps ownership of db; Close does nothing for a Store made by New.
// For SQLite, open the database with a DSN like the one Open builds
// (SQLiteDSN) so that transactions take the write lock at BEGIN.
func New(db *gorm.DB, opts Options) (*Store, error) {
	if db == nil {
		return nil, errors.New("storage: nil *gorm.DB")
	}
	d, err := dialectOf(db.Dialector.Name())
	if err != nil {
		return nil, err
	}
	users := opts.Users
	if users == nil {
		users = DjangoUsers()
	}
	if err := users.validate(); err != nil {
		return nil, err
	}
	crypt, err := newFieldCrypt(opts.FieldKeys, opts.SecretMembers)
	if err != nil {
		return nil, err
	}
	s := &Store{
		crypt:   crypt,
		db:      db,
		dialect: d,
		log:     opts.Logger,
		now:     opts.Now,
		users:   users,
		retries: opts.BusyRetries,
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retries <= 0 {
		s.retries = 5
	}
	return s, nil
}

func dialectOf(name string) (Dialect, error) {
	switch name {
	case "sqlite", "sqlite3":
		return SQLite, nil
	case "postgres", "pgx":
		return Postgres, nil
	case "mysql":
		return MySQL, nil
	}
	return "", fmt.Errorf("storage: unsupported GORM dialect %q", name)
}

// Open connects to databaseURL: "sqlite:<path>" or "sqlite::memory:",
// "postgres://…" or "postgresql://…", "mysql://user:pass@host:port/db?…"
// (a go-sql-driver DSN such as "user:pass@tcp(host:3306)/db" is accepted
// too). It pings the database; it does not migrate (see AutoMigrate).
func Open(ctx context.Context, databaseURL string, opts Options) (*Store, error) {
	cfg, err := ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, err
	}
	db, err := gorm.Open(cfg.dialector(), &gorm.Config{
		Logger:                                   logger.Discard,
		DisableForeignKeyConstraintWhenMigrating: true,
		SkipDefaultTransaction:                   true,
		TranslateError:                           false,
	})
	if err != nil {
		return nil, unavailable("open", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, unavailable("open", err)
	}
	maxConns := opts.MaxOpenConns
	if maxConns <= 0 {
		maxConns = 10
	}
	if cfg.Memory {
		maxConns = 1
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	}
	sqlDB.SetMaxOpenConns(maxConns)
	sqlDB.SetMaxIdleConns(maxConns)
	if err := sqlDB.PingContext(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, unavailable("open", err)
	}
	s, err := New(db, opts)
	if err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	s.closer = sqlDB
	if s.dialect == SQLite {
		s.closer = closers{sqlDB, pinSQLiteAllocator()}
	}
	return s, nil
}

// DB returns the underlying *gorm.DB (bound to the transaction inside
// Transaction).
func (s *Store) DB() *gorm.DB {
	s.held.set(nil) // writes made through it would bypass the remembered row
	return s.db
}

// Dialect reports the database kind.
func (s *Store) Dialect() Dialect { return s.dialect }

// Close closes the connection pool opened by Open.
func (s *Store) Close() error {
	if s.closer == nil || s.inTx {
		return nil
	}
	return s.closer.Close()
}

func (s *Store) nowUTC() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// q returns the DB for one operation.
func (s *Store) q(ctx context.Context) *gorm.DB { return s.db.WithContext(ctx) }

// Transaction runs fn in a database transaction: its writes commit together
// when fn returns nil and roll back otherwise. A nested call (fn calling
// tx.Transaction) joins the outer transaction. On SQLite the transaction
// takes the write lock at BEGIN; a BEGIN that finds the database busy is
// retried a bounded number of times (fn itself is never run twice).
func (s *Store) Transaction(ctx context.Context, fn func(tx socialauth.Storage) error) error {
	return s.tx(ctx, func(tx *Store) error { return fn(tx) })
}

func (s *Store) tx(ctx context.Context, fn func(tx *Store) error) error {
	if s.inTx {
		return fn(s)
	}
	for attempt := 0; ; attempt++ {
		called := false
		var fnErr error
		err := s.q(ctx).Transaction(func(gtx *gorm.DB) error {
			called = true
			t := *s
			t.db = gtx
			t.inTx = true
			t.closer = nil
			t.crypt = s.crypt.inTx()
			t.held = &txRow{}
			fnErr = fn(&t)
			return fnErr
		})
		if err == nil {
			return nil
		}
		if fnErr != nil {
			// fn's own error (already translated by the methods it called).
			return fnErr
		}
		if !called && s.dialect == SQLite && isBusy(err) && attempt < s.retries {
			s.log.WarnContext(ctx, "storage: sqlite busy at BEGIN, retrying", "attempt", attempt+1)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt+1) * 20 * time.Millisecond):
			}
			continue
		}
		return s.wrap("transaction", err)
	}
}
