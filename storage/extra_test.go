package storage_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/storagetest"
)

func TestParseDatabaseURL(t *testing.T) {
	tests := []struct {
		in      string
		dialect storage.Dialect
		dsn     string // substring expected in the driver DSN
		memory  bool
	}{
		{"sqlite:demo.db", storage.SQLite, "demo.db?_txlock=immediate", false},
		{"sqlite:///var/lib/x.db", storage.SQLite, "/var/lib/x.db?_txlock=immediate", false},
		{"sqlite::memory:", storage.SQLite, ":memory:?_txlock=immediate", true},
		{"sqlite:demo.db", storage.SQLite, "journal_mode(WAL)", false},
		{"postgres://u:p@127.0.0.1:5432/db?sslmode=disable", storage.Postgres, "postgres://u:p@127.0.0.1:5432/db?sslmode=disable", false},
		{"postgresql://u@db.internal/app", storage.Postgres, "postgresql://u@db.internal/app", false},
		{"mysql://u:p%40ss@127.0.0.1:3307/app?timeout=5s", storage.MySQL, "u:p@ss@tcp(127.0.0.1:3307)/app?", false},
		{"mysql://u:p@db/app", storage.MySQL, "@tcp(db:3306)/app?", false},
		{"mysql://u:p@db/app", storage.MySQL, "parseTime=true", false},
		{"mysql://u:p@db/app", storage.MySQL, "charset=utf8mb4", false},
		{"u:p@tcp(127.0.0.1:3306)/app", storage.MySQL, "parseTime=true", false},
	}
	for _, tc := range tests {
		cfg, err := storage.ParseDatabaseURL(tc.in)
		if err != nil {
			t.Errorf("ParseDatabaseURL(%q): %v", tc.in, err)
			continue
		}
		if cfg.Dialect != tc.dialect || !strings.Contains(cfg.DSN, tc.dsn) || cfg.Memory != tc.memory {
			t.Errorf("ParseDatabaseURL(%q) = %+v; want dialect %s, memory %v, DSN containing %q", tc.in, cfg, tc.dialect, tc.memory, tc.dsn)
		}
	}
	// "Rows affected" must mean rows changed: found rows would make a
	// replayed nonce (a redeemed sign-in flow) look fresh.
	for _, in := range []string{"mysql://u:p@db/app?clientFoundRows=true", "u:p@tcp(db:3306)/app?clientFoundRows=true"} {
		cfg, err := storage.ParseDatabaseURL(in)
		if err != nil || strings.Contains(cfg.DSN, "clientFoundRows") {
			t.Errorf("ParseDatabaseURL(%q) = %q, %v; want clientFoundRows dropped", in, cfg.DSN, err)
		}
	}
	for _, bad := range []string{"", "sqlite:", "redis://x", "postgres://", "mysql://u:secret@host/", "mysql://u:secret@/db", "mysql://u:secret@host/a/b"} {
		_, err := storage.ParseDatabaseURL(bad)
		if !errors.Is(err, storage.ErrBadDatabaseURL) {
			t.Errorf("ParseDatabaseURL(%q) err = %v; want ErrBadDatabaseURL", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("ParseDatabaseURL(%q) error leaks the password: %v", bad, err)
		}
	}
}

func FuzzParseDatabaseURL(f *testing.F) {
	for _, s := range []string{"sqlite:demo.db", "sqlite::memory:", "postgres://u:p@h/db", "mysql://u:p@h:1/db?tls=true", "u:p@tcp(h)/db", "mysql://%zz@h/db", "sqlite:x?y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		cfg, err := storage.ParseDatabaseURL(in)
		if err != nil {
			if !errors.Is(err, storage.ErrBadDatabaseURL) {
				t.Fatalf("error %v does not wrap ErrBadDatabaseURL", err)
			}
			return
		}
		if cfg.DSN == "" || cfg.Dialect == "" {
			t.Fatalf("ParseDatabaseURL(%q) = %+v without error", in, cfg)
		}
		if cfg.Dialect == storage.MySQL && !strings.Contains(cfg.DSN, "parseTime=true") {
			t.Fatalf("mysql DSN without parseTime: %q", cfg.DSN)
		}
	})
}

// TestUnavailable: a database that refuses connections gives
// CodeStorageUnavailable (503), for Open and for a store whose database went
// away.
func TestUnavailable(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	for _, u := range []string{
		"postgres://u:p@" + addr + "/db?sslmode=disable&connect_timeout=2",
		"mysql://u:p@" + addr + "/db?timeout=2s",
	} {
		_, err := storage.Open(t.Context(), u, storage.Options{})
		if socialauth.ErrorCode(err) != socialauth.CodeStorageUnavailable || socialauth.HTTPStatus(err) != 503 {
			t.Errorf("Open(%s) err = %v; want CodeStorageUnavailable", strings.SplitN(u, ":", 2)[0], err)
		}
	}

	s, err := storage.Open(t.Context(), "sqlite:"+t.TempDir()+"/x.db", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AutoMigrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = s.GetSocialAuth(t.Context(), "edx-oauth2", "jsmith")
	if !errors.Is(err, socialauth.CodeStorageUnavailable) {
		t.Errorf("query on a closed database err = %v; want CodeStorageUnavailable", err)
	}
}

// TestDuplicateErrorHidesValues: the message of a unique violation does not
// quote the colliding value (a code or token could be one).
func TestDuplicateErrorHidesValues(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			u, err := s.CreateUser(t.Context(), map[string]any{"username": "secret-username-123"})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.CreateUser(t.Context(), map[string]any{"username": "secret-username-123"})
			if !errors.Is(err, socialauth.ErrDuplicate) {
				t.Fatalf("err = %v; want ErrDuplicate", err)
			}
			if strings.Contains(err.Error(), "secret-username-123") {
				t.Errorf("duplicate error quotes the value: %v", err)
			}
			_ = u
		})
	}
}

func TestSessionStore(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := &now
			s := openFresh(t, target, storage.Options{Now: func() time.Time { return *clock }})
			ss := s.SessionStore()
			ctx := t.Context()
			if _, found, err := ss.Find("nope"); err != nil || found {
				t.Errorf("Find(unknown) = %v, %v", found, err)
			}
			if err := ss.CommitCtx(ctx, "tok-a", []byte("\x00data-a\xff"), now.Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := ss.Commit("tok-b", []byte("b"), now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
			b, found, err := ss.FindCtx(ctx, "tok-a")
			if err != nil || !found || string(b) != "\x00data-a\xff" {
				t.Errorf("Find(tok-a) = %q, %v, %v", b, found, err)
			}
			if _, found, _ := ss.Find("TOK-A"); found {
				t.Errorf("Find(TOK-A) found tok-a: tokens compare exactly")
			}
			// Overwrite.
			if err := ss.Commit("tok-a", []byte("v2"), now.Add(2*time.Hour)); err != nil {
				t.Fatal(err)
			}
			if b, _, _ := ss.Find("tok-a"); string(b) != "v2" {
				t.Errorf("after overwrite Find = %q", b)
			}
			all, err := ss.All()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(map[string][]byte{"tok-a": []byte("v2"), "tok-b": []byte("b")}, all); d != "" {
				t.Errorf("All (-want +got):\n%s", d)
			}
			later := now.Add(30 * time.Minute)
			clock = &later
			if _, found, _ := ss.Find("tok-b"); found {
				t.Errorf("expired session found")
			}
			res, err := s.Cleanup(ctx, storage.CleanupOptions{})
			if err != nil || res.Sessions != 1 {
				t.Errorf("Cleanup = %+v, %v; want 1 session", res, err)
			}
			if err := ss.Delete("tok-a"); err != nil {
				t.Fatal(err)
			}
			if err := ss.DeleteCtx(ctx, "tok-a"); err != nil {
				t.Errorf("Delete(missing) = %v; want nil", err)
			}
			if _, found, _ := ss.Find("tok-a"); found {
				t.Errorf("deleted session found")
			}
		})
	}
}

func TestCleanup(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clock := now.Add(-20 * 24 * time.Hour)
			s := openFresh(t, target, storage.Options{Now: func() time.Time { return clock }})
			ctx := t.Context()
			// Old records (20 days ago).
			if err := s.SavePartial(ctx, &socialauth.Partial{Token: "old-partial", Backend: "b"}); err != nil {
				t.Fatal(err)
			}
			oldCode, _ := s.MakeCode(ctx, "old@example.com")
			verified, _ := s.MakeCode(ctx, "verified@example.com")
			if err := s.VerifyCode(ctx, verified.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.UseNonce(ctx, socialauth.Nonce{ServerURL: "https://op/", Timestamp: clock.Unix(), Salt: "s"}); err != nil {
				t.Fatal(err)
			}
			// Fresh records (now).
			clock = now
			if err := s.SavePartial(ctx, &socialauth.Partial{Token: "new-partial", Backend: "b"}); err != nil {
				t.Fatal(err)
			}
			newCode, _ := s.MakeCode(ctx, "new@example.com")
			if _, err := s.UseNonce(ctx, socialauth.Nonce{ServerURL: "https://op/", Timestamp: now.Unix(), Salt: "s"}); err != nil {
				t.Fatal(err)
			}
			res, err := s.Cleanup(ctx, storage.CleanupOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(storage.CleanupResult{Partials: 1, Codes: 1, Nonces: 1}, res); d != "" {
				t.Errorf("Cleanup (-want +got):\n%s", d)
			}
			if _, err := s.LoadPartial(ctx, "new-partial"); err != nil {
				t.Errorf("fresh partial deleted: %v", err)
			}
			if _, err := s.GetCode(ctx, oldCode.Code); !errors.Is(err, socialauth.ErrNotFound) {
				t.Errorf("old unverified code kept: %v", err)
			}
			for _, c := range []*socialauth.EmailCode{verified, newCode} {
				if _, err := s.GetCode(ctx, c.Code); err != nil {
					t.Errorf("code %s deleted: %v", c.Email, err)
				}
			}
			// A shorter age takes the fresh ones too.
			clock = now.Add(2 * time.Hour)
			res, err = s.Cleanup(ctx, storage.CleanupOptions{Age: time.Hour})
			if err != nil || res.Partials != 1 || res.Codes != 1 || res.Nonces != 1 {
				t.Errorf("Cleanup(1h) = %+v, %v", res, err)
			}
		})
	}
}

// appUser is an application's own user model, migrated by the app.
type appUser struct {
	ID        int64  `gorm:"primaryKey"`
	Login     string `gorm:"size:150;uniqueIndex;not null"`
	Mail      string `gorm:"size:254"`
	Enabled   bool   `gorm:"not null"`
	Locale    string `gorm:"size:16"`
	GivenName string `gorm:"size:150"`
	Family    string `gorm:"size:150"`
	PwHash    string `gorm:"size:128;not null"`
	CreatedAt time.Time
}

func (appUser) TableName() string { return "accounts" }

// accountsAdapter maps appUser's table.
func accountsAdapter() *storage.UserAdapter {
	return &storage.UserAdapter{
		Table: "accounts",
		Columns: storage.UserColumns{ID: "id", Username: "login", Email: "mail", IsActive: "enabled", DateJoined: "created_at",
			FirstName: "given_name", LastName: "family", Password: "pw_hash"},
		Defaults: map[string]any{"pw_hash": "!"},
	}
}

func TestCustomUserModel(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			adapter := accountsAdapter()
			adapter.ExtraColumns = []string{"locale"}
			dsn := dbtest.Fresh(t, target)
			s, err := storage.Open(t.Context(), databaseURL(target, dsn), storage.Options{Users: adapter})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.DB().AutoMigrate(&appUser{}); err != nil {
				t.Fatal(err)
			}
			if s.Dialect() == storage.MySQL {
				// As docs/storage.md advises: exact usernames on MySQL need a binary column.
				if err := s.DB().Exec("ALTER TABLE accounts MODIFY login varbinary(600) NOT NULL").Error; err != nil {
					t.Fatal(err)
				}
			}
			if err := s.AutoMigrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			if s.DB().Migrator().HasTable(storage.TableUsers) {
				t.Errorf("AutoMigrate created auth_user with a custom user adapter")
			}
			storagetest.Run(t, func(t *testing.T) socialauth.Storage {
				// One database per target: clean between subtests.
				for _, tbl := range []string{storage.TableSocialAuth, storage.TablePartial, storage.TableNonce, storage.TableAssociation, storage.TableCode, "accounts"} {
					if err := s.DB().Exec("DELETE FROM " + tbl).Error; err != nil {
						t.Fatal(err)
					}
				}
				return s
			})

			ctx := t.Context()
			u, err := s.CreateUser(ctx, map[string]any{"username": "ana", "email": "Ana@Example.com", "locale": "pt-BR", "is_staff": true})
			if err != nil {
				t.Fatal(err)
			}
			var row appUser
			if err := s.DB().Where("id = ?", u.ID).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			if row.Login != "ana" || row.Mail != "Ana@Example.com" || !row.Enabled || row.Locale != "pt-BR" || row.CreatedAt.IsZero() {
				t.Errorf("row in the app's table = %+v", row)
			}
			got, err := s.GetUser(ctx, u.ID)
			if err != nil || got.Username != "ana" || got.Extra["locale"] != "pt-BR" || got.IsStaff {
				t.Errorf("GetUser = %+v, %v", got, err)
			}
			got.Extra["locale"] = "en"
			if err := s.UpdateUser(ctx, got, []string{"locale"}); err != nil {
				t.Fatal(err)
			}
			if err := s.DB().Where("id = ?", u.ID).Take(&row).Error; err != nil || row.Locale != "en" {
				t.Errorf("after UpdateUser(locale) row = %+v, %v", row, err)
			}
			sa, err := s.CreateSocialAuth(ctx, u.ID, "edx-oauth2", "ana")
			if err != nil {
				t.Fatal(err)
			}
			if ok, err := s.AllowedToDisconnect(ctx, u.ID, "edx-oauth2", sa.ID); err != nil || ok {
				t.Errorf("AllowedToDisconnect with pw_hash \"!\" = %v, %v; want false", ok, err)
			}
			if err := s.DB().Model(&appUser{}).Where("id = ?", u.ID).Update("pw_hash", "pbkdf2_sha256$x").Error; err != nil {
				t.Fatal(err)
			}
			if ok, err := s.AllowedToDisconnect(ctx, u.ID, "edx-oauth2", sa.ID); err != nil || !ok {
				t.Errorf("AllowedToDisconnect with a usable password = %v, %v; want true", ok, err)
			}
			// No password column: as upstream, a model without passwords may always disconnect.
			noPw := *adapter
			noPw.Columns.Password = ""
			s2, err := storage.New(s.DB(), storage.Options{Users: &noPw})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.DB().Model(&appUser{}).Where("id = ?", u.ID).Update("pw_hash", "!").Error; err != nil {
				t.Fatal(err)
			}
			if ok, err := s2.AllowedToDisconnect(ctx, u.ID, "edx-oauth2", sa.ID); err != nil || !ok {
				t.Errorf("AllowedToDisconnect without a password column = %v, %v; want true", ok, err)
			}
			// ON DELETE CASCADE to the app's table.
			if err := s.DB().Delete(&appUser{}, u.ID).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := s.GetSocialAuthByID(ctx, sa.ID); !errors.Is(err, socialauth.ErrNotFound) {
				t.Errorf("association survived its user's deletion: %v", err)
			}
		})
	}
}

func TestUserAdapterValidation(t *testing.T) {
	s, err := storage.Open(t.Context(), "sqlite::memory:", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, a := range []*storage.UserAdapter{
		{Table: "users; DROP TABLE x", Columns: storage.UserColumns{ID: "id"}},
		{Table: "users", Columns: storage.UserColumns{ID: ""}},
		{Table: "users", Columns: storage.UserColumns{ID: "id", Email: "e-mail"}},
		{Table: "users", Columns: storage.UserColumns{ID: "id"}, StringIDs: true},
		{Table: "users", Columns: storage.UserColumns{ID: "id"}, StringIDs: true, NewID: func() string { return "x" }, IDType: "uuid) OR (1"},
	} {
		if _, err := storage.New(s.DB(), storage.Options{Users: a}); err == nil {
			t.Errorf("New with adapter %+v: want an error", a)
		}
	}
}

// TestSQLiteConcurrentWritersOutsideTransactions: plain writes from many
// goroutines on a SQLite file wait for the lock instead of failing.
func TestSQLiteConcurrentWriters(t *testing.T) {
	s, err := storage.Open(t.Context(), "sqlite:"+t.TempDir()+"/c.db", storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.AutoMigrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		go func() {
			_, err := s.CreateUser(context.Background(), map[string]any{"username": fmt.Sprintf("u%d", i)})
			errs <- err
		}()
	}
	for i := 0; i < 40; i++ {
		if err := <-errs; err != nil {
			t.Errorf("CreateUser: %v", err)
		}
	}
}
