package strategies_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/strategies"
)

// finderStore is a memstore that also answers FindSignedInCtx with a fixed
// user for every session it holds, counting the calls; it keeps no expiry
// itself (no ExpiryKeeper), so scs keeps the idle timeout over it.
type finderStore struct {
	*memstore.MemStore
	user  *socialauth.User
	calls int
}

func (f *finderStore) FindCtx(_ context.Context, token string) ([]byte, bool, error) {
	return f.Find(token)
}
func (f *finderStore) CommitCtx(_ context.Context, token string, b []byte, expiry time.Time) error {
	return f.Commit(token, b, expiry)
}
func (f *finderStore) DeleteCtx(_ context.Context, token string) error { return f.Delete(token) }

func (f *finderStore) FindSignedInCtx(_ context.Context, token string) (socialauth.SignedInSession, bool, error) {
	f.calls++
	b, found, err := f.Find(token)
	if err != nil || !found {
		return socialauth.SignedInSession{}, false, err
	}
	return socialauth.SignedInSession{Data: b, Expiry: time.Now().Add(time.Hour), Owner: f.user.ID, User: f.user}, true, nil
}

// TestSignedInUserNeedsTheStoreToKeepIdle: SignedInUser reads through a
// SignedInFinder only when no session load is needed to keep the session
// alive: over a store that keeps no expiry, scs keeps the idle timeout
// (the manager re-commits each loaded session), so it answers ok false and
// the caller loads the session; with the manager's IdleTimeout off it
// reads through the store.
func TestSignedInUserNeedsTheStoreToKeepIdle(t *testing.T) {
	for _, idle := range []bool{true, false} {
		f := &finderStore{MemStore: memstore.New(), user: &socialauth.User{ID: "7", IsActive: true}}
		m := strategies.NewSessionManager(f, false)
		if m.IdleTimeout == 0 {
			t.Fatalf("NewSessionManager over a store keeping no expiry: IdleTimeout %s", m.IdleTimeout)
		}
		if !idle {
			m.IdleTimeout = 0
		}
		h, err := strategies.NewHTTP(strategies.HTTPConfig{BaseURL: "http://127.0.0.1:8000", Sessions: m})
		if err != nil {
			t.Fatal(err)
		}
		ctx, err := m.Load(context.Background(), "")
		if err != nil {
			t.Fatal(err)
		}
		m.Put(ctx, socialauth.SessionUserID, "7")
		token, _, err := m.Commit(ctx)
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodGet, "/me", nil)
		r.AddCookie(&http.Cookie{Name: m.Cookie.Name, Value: token})
		user, _, ok, err := h.SignedInUser(r)
		if err != nil {
			t.Fatal(err)
		}
		if idle {
			if ok || f.calls != 0 {
				t.Errorf("scs keeps the idle timeout: SignedInUser answered (ok %v, %d finds); want ok false, no find", ok, f.calls)
			}
			continue
		}
		if !ok || f.calls != 1 || user == nil || user.ID != "7" {
			t.Errorf("no idle timeout: SignedInUser = %v, ok %v, %d finds; want user 7 from one find", user, ok, f.calls)
		}
	}
}
