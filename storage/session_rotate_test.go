package storage_test

import (
	"context"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// TestSessionRotation drives the store through scs as a login does: the
// session id rotates (RenewToken) and the request commits. The old token is
// gone as soon as the rotation is asked for, the new one holds the data, and
// the rotating request costs the store three statements: the find of the
// loaded session, the delete of the old token and the upsert of the new one.
// A logout (Destroy) deletes at once.
func TestSessionRotation(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			ss := s.SessionStore()
			m := scs.New()
			m.Store = ss
			c, err := storage.CountStatements(s.DB())
			if err != nil {
				t.Fatal(err)
			}
			find := func(tok string) bool {
				t.Helper()
				_, ok, err := ss.FindCtx(context.Background(), tok)
				if err != nil {
					t.Fatalf("FindCtx: %v", err)
				}
				return ok
			}

			// A first request stores a session.
			ctx, err := m.Load(context.Background(), "")
			if err != nil {
				t.Fatal(err)
			}
			m.Put(ctx, "k", "v")
			old, _, err := m.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}

			// The login request: load, rotate, commit.
			c.Reset()
			ctx, err = m.Load(context.Background(), old)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.RenewToken(ctx); err != nil {
				t.Fatal(err)
			}
			if find(old) {
				t.Error("the old token outlives the rotation")
			}
			c.Reset() // the find above is the test's
			m.Put(ctx, "user", "42")
			tok, _, err := m.Commit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n := c.Reset(); n != 1 {
				t.Errorf("the commit ran %d statements, want 1", n)
			}
			if tok == old {
				t.Fatal("RenewToken kept the token")
			}
			ctx, err = m.Load(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if m.GetString(ctx, "k") != "v" || m.GetString(ctx, "user") != "42" {
				t.Error("the rotated session lost its data")
			}

			// Counted end to end: find, delete, upsert.
			c.Reset()
			ctx, err = m.Load(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.RenewToken(ctx); err != nil {
				t.Fatal(err)
			}
			if _, _, err := m.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if n := c.Reset(); n != 3 {
				t.Errorf("a rotating request ran %d statements, want 3 (find, delete, upsert)", n)
			}

			// Logout: Destroy deletes the row at once.
			tok = m.Token(ctx)
			if err := m.Destroy(ctx); err != nil {
				t.Fatal(err)
			}
			if n := c.Reset(); n != 1 {
				t.Errorf("Destroy ran %d statements, want 1", n)
			}
			if find(tok) {
				t.Error("Destroy left the session")
			}
		})
	}
}
