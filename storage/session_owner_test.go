package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
)

// commitSession stores a session through the strategy's manager, as a
// request does, with values; it returns the token.
func commitSession(t *testing.T, m *scs.SessionManager, values map[string]string) string {
	t.Helper()
	ctx, err := m.Load(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		m.Put(ctx, k, v)
	}
	tok, _, err := m.Commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func signedIn(user, backend, sid string) map[string]string {
	v := map[string]string{socialauth.SessionUserID: user, socialauth.SessionUserBackend: backend}
	if sid != "" {
		v[socialauth.SessionProviderSID] = sid
	}
	return v
}

// TestSessionOwners: a signed-in session committed through the strategy's
// session manager records its owner; the SessionStorage methods list and end
// sessions by user, by (backend, sid), by (backend, user) and one by id.
func TestSessionOwners(t *testing.T) {
	ctx := context.Background()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			m := strategies.NewSessionManager(s.SessionStore(), false)
			if _, ok := m.Store.(*strategies.IdleStore); !ok || m.IdleTimeout != 0 {
				t.Fatalf("the manager's store is %T with IdleTimeout %s, want the IdleStore (over the OwnerStore) and none",
					m.Store, m.IdleTimeout)
			}
			anon := commitSession(t, m, map[string]string{"next": "/x"})
			a1 := commitSession(t, m, signedIn("42", "oidc", "s1"))
			a2 := commitSession(t, m, signedIn("42", "edx-oauth2", ""))
			b1 := commitSession(t, m, signedIn("43", "oidc", "s1"))
			b2 := commitSession(t, m, signedIn("43", "oidc", "s2"))

			got, err := s.SessionsOfUser(ctx, "42")
			if err != nil || len(got) != 2 {
				t.Fatalf("SessionsOfUser(42) = %+v, %v", got, err)
			}
			ids := map[string]socialauth.SessionInfo{}
			for _, si := range got {
				ids[si.ID] = si
				if si.UserID != "42" || si.Created.IsZero() || si.LastSeen.IsZero() || !si.Expiry.After(time.Now()) {
					t.Errorf("session info %+v", si)
				}
				if si.ID == a1 || si.ID == a2 {
					t.Errorf("the session id shown is the cookie token")
				}
			}
			if ids[storage.SessionID(a1)].SID != "s1" || ids[storage.SessionID(a1)].Backend != "oidc" {
				t.Errorf("a1 recorded as %+v", ids[storage.SessionID(a1)])
			}
			if _, ok := ids[storage.SessionID(a2)]; !ok {
				t.Errorf("a2 not listed")
			}

			// One by id: another user's id ends nothing.
			if ok, err := s.DeleteSession(ctx, "43", storage.SessionID(a2)); err != nil || ok {
				t.Errorf("DeleteSession of another user's session = %v, %v", ok, err)
			}
			if ok, err := s.DeleteSession(ctx, "42", storage.SessionID(a2)); err != nil || !ok {
				t.Errorf("DeleteSession = %v, %v", ok, err)
			}
			// By (backend, sid): both users' s1 sessions at oidc.
			if n, err := s.DeleteSessionsBySID(ctx, "oidc", "s1"); err != nil || n != 2 {
				t.Errorf("DeleteSessionsBySID = %d, %v", n, err)
			}
			for tok, want := range map[string]bool{anon: true, a1: false, a2: false, b1: false, b2: true} {
				if _, ok, _ := s.SessionStore().FindCtx(ctx, tok); ok != want {
					t.Errorf("session %s present = %v, want %v", storage.SessionID(tok), ok, want)
				}
			}
			// By (backend, user), then by user.
			if n, err := s.DeleteSessionsOfBackendUser(ctx, "edx-oauth2", "43"); err != nil || n != 0 {
				t.Errorf("DeleteSessionsOfBackendUser(other backend) = %d, %v", n, err)
			}
			if n, err := s.DeleteSessionsOfBackendUser(ctx, "oidc", "43"); err != nil || n != 1 {
				t.Errorf("DeleteSessionsOfBackendUser = %d, %v", n, err)
			}
			b3 := commitSession(t, m, signedIn("43", "oidc", "s3"))
			if n, err := s.DeleteSessionsOfUser(ctx, "43"); err != nil || n != 1 {
				t.Errorf("DeleteSessionsOfUser = %d, %v", n, err)
			}
			if _, ok, _ := s.SessionStore().FindCtx(ctx, b3); ok {
				t.Error("b3 survived DeleteSessionsOfUser")
			}
			// Empty arguments end nothing (never every anonymous session).
			if n, err := s.DeleteSessionsOfUser(ctx, ""); err != nil || n != 0 {
				t.Errorf("DeleteSessionsOfUser(\"\") = %d, %v", n, err)
			}
			if n, err := s.DeleteSessionsBySID(ctx, "oidc", ""); err != nil || n != 0 {
				t.Errorf("DeleteSessionsBySID(sid \"\") = %d, %v", n, err)
			}
			if _, ok, _ := s.SessionStore().FindCtx(ctx, anon); !ok {
				t.Error("the anonymous session was ended")
			}
		})
	}
}

// TestSessionOwnerFollowsRotation: at sign-in the session id rotates and the
// new row records the owner; a sign-out (flush) removes it.
func TestSessionOwnerFollowsRotation(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			m := strategies.NewSessionManager(s.SessionStore(), false)
			old := commitSession(t, m, map[string]string{"state": "x"})
			ctx, err := m.Load(context.Background(), old)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.RenewToken(ctx); err != nil {
				t.Fatal(err)
			}
			m.Put(ctx, socialauth.SessionUserID, "7")
			m.Put(ctx, socialauth.SessionUserBackend, "oidc")
			tok, _, err := m.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got, err := s.SessionsOfUser(context.Background(), "7")
			if err != nil || len(got) != 1 || got[0].ID != storage.SessionID(tok) {
				t.Fatalf("SessionsOfUser = %+v, %v", got, err)
			}
			ctx, err = m.Load(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Destroy(ctx); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.SessionsOfUser(context.Background(), "7"); len(got) != 0 {
				t.Errorf("a destroyed session is listed: %+v", got)
			}
		})
	}
}

// TestMigrateSessions: a sessions table created before sessions recorded
// their owner is brought up to date by AutoMigrate (MigrateSessionsSQL); its
// sessions stay valid.
func TestMigrateSessions(t *testing.T) {
	ctx := context.Background()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			dsn := dbtest.Fresh(t, target)
			s, err := storage.Open(ctx, databaseURL(target, dsn), storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			q := func(n string) string {
				if s.Dialect() == storage.MySQL {
					return "`" + n + "`"
				}
				return `"` + n + `"`
			}
			blob, dt := "blob", "datetime"
			switch s.Dialect() {
			case storage.Postgres:
				blob, dt = "bytea", "timestamptz"
			case storage.MySQL:
				blob, dt = "longblob", "datetime(6)"
			}
			old := "CREATE TABLE " + q("sessions") + " (" + q("token") + " varchar(64) NOT NULL PRIMARY KEY, " +
				q("data") + " " + blob + " NOT NULL, " + q("expiry") + " " + dt + " NOT NULL)"
			if err := s.DB().Exec(old).Error; err != nil {
				t.Fatal(err)
			}
			if err := s.SessionStore().CommitCtx(ctx, "old-token", []byte("{}"), time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if err := s.AutoMigrate(ctx); err != nil {
				t.Fatalf("AutoMigrate over an old sessions table: %v", err)
			}
			if err := s.AutoMigrate(ctx); err != nil {
				t.Fatalf("AutoMigrate twice: %v", err)
			}
			if _, ok, err := s.SessionStore().FindCtx(ctx, "old-token"); err != nil || !ok {
				t.Errorf("the old session is gone after the migration: %v %v", ok, err)
			}
			m := strategies.NewSessionManager(s.SessionStore(), false)
			commitSession(t, m, signedIn("9", "oidc", "s9"))
			if n, err := s.DeleteSessionsBySID(ctx, "oidc", "s9"); err != nil || n != 1 {
				t.Errorf("DeleteSessionsBySID after migration = %d, %v", n, err)
			}
		})
	}
}
