package storage_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/views"
)

var _ strategies.SignedInFinder = (*storage.SessionStore)(nil)

// makeUser creates an active user with the given associations of backend
// "oidc" (uids), in that order.
func makeUser(t *testing.T, s *storage.Store, username string, uids ...string) *socialauth.User {
	t.Helper()
	u, err := s.CreateUser(t.Context(), map[string]any{"username": username, "email": username + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, uid := range uids {
		if _, err := s.CreateSocialAuth(t.Context(), u.ID, "oidc", uid); err != nil {
			t.Fatal(err)
		}
	}
	return u
}

// TestFindSignedIn: FindSignedInCtx reads a stored session with its active
// owner and the owner's associations in one statement, and says the same as
// FindExpiryCtx (the session) and GetUserWithSocialAuths (the user).
func TestFindSignedIn(t *testing.T) {
	ctx := context.Background()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			ss := s.SessionStore()
			m := strategies.NewSessionManager(ss, false)
			alice := makeUser(t, s, "alice", "a-2", "a-1")
			bob := makeUser(t, s, "bob", "b-1")
			lone := makeUser(t, s, "lone")
			bob.IsActive = false
			if err := s.UpdateUser(ctx, bob, []string{"is_active"}); err != nil {
				t.Fatal(err)
			}
			makeUser(t, s, "other", "o-1") // never in a session: must not leak in

			anon := commitSession(t, m, map[string]string{"next": "/x"})
			aliceTok := commitSession(t, m, signedIn(alice.ID, "oidc", "s1"))
			bobTok := commitSession(t, m, signedIn(bob.ID, "oidc", ""))
			loneTok := commitSession(t, m, signedIn(lone.ID, "oidc", ""))
			goneTok := commitSession(t, m, signedIn("999999", "oidc", ""))
			if err := ss.CommitOwnerCtx(ctx, "expired-token", []byte("x"), time.Now().Add(-time.Second),
				socialauth.SessionOwner{UserID: alice.ID, Backend: "oidc"}); err != nil {
				t.Fatal(err)
			}

			log := countStatements(t, s.DB())
			got, found, err := ss.FindSignedInCtx(ctx, aliceTok)
			if err != nil || !found {
				t.Fatalf("FindSignedInCtx(alice) = %v, %v", found, err)
			}
			if n := log(); n != 1 {
				t.Errorf("FindSignedInCtx ran %d statements, want 1", n)
			}
			data, expiry, _, err := ss.FindExpiryCtx(ctx, aliceTok)
			if err != nil {
				t.Fatal(err)
			}
			wantUser, wantSocials, err := s.GetUserWithSocialAuths(ctx, alice.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := socialauth.SignedInSession{Data: data, Expiry: expiry, Owner: alice.ID, User: wantUser, Socials: wantSocials}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alice's session (-FindExpiryCtx and GetUserWithSocialAuths +FindSignedInCtx):\n%s", diff)
			}
			if len(got.Socials) != 2 || got.Socials[0].UID != "a-2" || got.Socials[1].UID != "a-1" {
				t.Errorf("alice's associations %v, want a-2 then a-1 (by id)", got.Socials)
			}

			for _, c := range []struct {
				name, token, owner string
			}{
				{"anonymous", anon, ""},
				{"inactive owner", bobTok, bob.ID},
				{"deleted owner", goneTok, "999999"},
			} {
				got, found, err := ss.FindSignedInCtx(ctx, c.token)
				if err != nil || !found {
					t.Errorf("%s: FindSignedInCtx = %v, %v; want found", c.name, found, err)
					continue
				}
				if got.Owner != c.owner || got.User != nil || got.Socials != nil || len(got.Data) == 0 || !got.Expiry.After(time.Now()) {
					t.Errorf("%s: %+v; want owner %q and no user", c.name, got, c.owner)
				}
			}
			if got, found, err := ss.FindSignedInCtx(ctx, loneTok); err != nil || !found || got.User == nil || got.User.ID != lone.ID || len(got.Socials) != 0 {
				t.Errorf("a user with no association: %+v, %v, %v", got, found, err)
			}
			for _, tok := range []string{"", "expired-token", "no-such-token", strings.ToUpper(aliceTok)} {
				if got, found, err := ss.FindSignedInCtx(ctx, tok); err != nil || found {
					t.Errorf("FindSignedInCtx(%q) = %+v, %v, %v; want not found", tok, got, found, err)
				}
			}
		})
	}
}

// countStatements counts the statements run on db from now; the returned
// function gives the count since its last call.
func countStatements(t *testing.T, db *gorm.DB) func() int {
	t.Helper()
	c, err := storage.CountStatements(db)
	if err != nil {
		t.Fatal(err)
	}
	return func() int { return int(c.Reset()) }
}

// TestFindSignedInStringIDs: with an app's user table keyed by text ids (a
// native uuid column on PostgreSQL, IDType "uuid"), the session's recorded
// owner is compared with the key as the key's type.
func TestFindSignedInStringIDs(t *testing.T) {
	ctx := context.Background()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			idType, keyType := "", "varchar(36)"
			if target.Name == dbtest.Postgres {
				idType, keyType = "uuid", "uuid"
			}
			adapter := &storage.UserAdapter{Table: "people", Columns: storage.UserColumns{ID: "id", Username: "handle"},
				StringIDs: true, IDType: idType, NewID: newUUID}
			s, err := storage.Open(ctx, databaseURL(target, dbtest.Fresh(t, target)), storage.Options{Users: adapter})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.DB().Exec("CREATE TABLE people (id " + keyType + " NOT NULL PRIMARY KEY, handle varchar(150) NOT NULL UNIQUE)").Error; err != nil {
				t.Fatal(err)
			}
			if err := s.AutoMigrate(ctx); err != nil {
				t.Fatal(err)
			}
			u := makeUser(t, s, "ada", "ada-1")
			m := strategies.NewSessionManager(s.SessionStore(), false)
			tok := commitSession(t, m, signedIn(u.ID, "oidc", ""))
			got, found, err := s.SessionStore().FindSignedInCtx(ctx, tok)
			if err != nil || !found || got.User == nil || got.User.ID != u.ID || len(got.Socials) != 1 || got.Socials[0].UID != "ada-1" {
				t.Fatalf("FindSignedInCtx = %+v, %v, %v; want ada with ada-1", got, found, err)
			}
			anon := commitSession(t, m, map[string]string{"next": "/"})
			if got, found, err := s.SessionStore().FindSignedInCtx(ctx, anon); err != nil || !found || got.User != nil {
				t.Errorf("anonymous session: %+v, %v, %v", got, found, err)
			}
		})
	}
}

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// signedInViews builds views over s with sessions in sessionStore (sealed
// anonymous sessions when seal is set), for one backend "oidc".
func signedInViews(t *testing.T, s *storage.Store, sessionStore interface {
	Find(string) ([]byte, bool, error)
	Commit(string, []byte, time.Time) error
	Delete(string) error
}, seal bool) (*views.Views, *socialauth.Service) {
	t.Helper()
	b := &testutil.FakeBackend{BackendName: "oidc", IDKey: "username"}
	svc, err := socialauth.New(socialauth.Options{Storage: s, Backends: []socialauth.Backend{b}, Steps: pipeline.NewSteps(),
		Settings: settings.New(settings.Map{})})
	if err != nil {
		t.Fatal(err)
	}
	hc := strategies.HTTPConfig{BaseURL: "http://127.0.0.1:8000", SessionStore: sessionStore}
	if seal {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		hc.SessionCookieKeys = [][]byte{key}
	}
	v, err := views.New("", views.Config{Service: svc, HTTP: hc})
	if err != nil {
		t.Fatal(err)
	}
	return v, svc
}

// meRequest is a GET /me carrying the session cookie token ("" none).
func meRequest(v *views.Views, token string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8000/me", nil)
	if token != "" {
		r.AddCookie(&http.Cookie{Name: v.Sessions().Cookie.Name, Value: token})
	}
	return r
}

// loadedUser is who Service.CurrentUserWithSocialAuths finds in the
// session loaded by LoadSession: what SignedInUser must answer.
func loadedUser(t *testing.T, v *views.Views, svc *socialauth.Service, token string) (*socialauth.User, []*socialauth.UserSocialAuth) {
	t.Helper()
	var (
		u       *socialauth.User
		socials []*socialauth.UserSocialAuth
		err     error
	)
	v.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, socials, err = svc.CurrentUserWithSocialAuths(r.Context(), v.Strategy(r))
		if u2, s2, err2 := v.SignedInUser(r); err2 != nil || !cmp.Equal(u, u2) || !cmp.Equal(socials, s2) {
			t.Errorf("SignedInUser behind LoadSession = %v %v %v; the loaded session says %v %v", u2, s2, err2, u, socials)
		}
	})).ServeHTTP(httptest.NewRecorder(), meRequest(v, token))
	if err != nil {
		t.Fatal(err)
	}
	return u, socials
}

// TestSignedInUser: views.Views.SignedInUser over the GORM session store
// answers who is signed in to a request in one statement (none for no
// cookie or a sealed one), the same user and associations as the session
// loaded by LoadSession gives, nobody once the user is inactive or the
// session ended; a session stored without its owner is still read (the
// session is loaded then), and the idle timeout's keep-alive still runs.
func TestSignedInUser(t *testing.T) {
	ctx := context.Background()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			ss := s.SessionStore()
			v, svc := signedInViews(t, s, ss, true)
			m := v.Sessions()
			alice := makeUser(t, s, "alice", "a-1", "a-2")
			aliceTok := commitSession(t, m, signedIn(alice.ID, "oidc", ""))
			rec := httptest.NewRecorder()
			v.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				m.Put(r.Context(), "next", "/somewhere")
			})).ServeHTTP(rec, meRequest(v, ""))
			sealed := ""
			for _, c := range rec.Result().Cookies() {
				if c.Name == m.Cookie.Name {
					sealed = c.Value
				}
			}
			if !strategies.IsSealed(sealed) {
				t.Fatalf("no sealed cookie for a pending session: %q", sealed)
			}

			count := countStatements(t, s.DB())
			for _, c := range []struct{ name, token string }{{"no cookie", ""}, {"sealed cookie", sealed}} {
				u, socials, err := v.SignedInUser(meRequest(v, c.token))
				if err != nil || u != nil || socials != nil {
					t.Errorf("%s: SignedInUser = %v, %v, %v; want nobody", c.name, u, socials, err)
				}
				if n := count(); n != 0 {
					t.Errorf("%s: %d statements, want none", c.name, n)
				}
			}
			for _, tok := range []string{"nope", aliceTok + "x"} {
				if u, _, err := v.SignedInUser(meRequest(v, tok)); err != nil || u != nil {
					t.Errorf("unknown token %q: %v, %v; want nobody", tok, u, err)
				}
			}

			wantU, wantS := loadedUser(t, v, svc, aliceTok)
			if wantU == nil || wantU.ID != alice.ID || len(wantS) != 2 {
				t.Fatalf("the loaded session says %v %v; want alice and two associations", wantU, wantS)
			}
			count()
			u, socials, err := v.SignedInUser(meRequest(v, aliceTok))
			if n := count(); n != 1 {
				t.Errorf("SignedInUser ran %d statements, want 1", n)
			}
			if err != nil || !cmp.Equal(u, wantU) || !cmp.Equal(socials, wantS) {
				t.Errorf("SignedInUser = %v %v %v; want %v %v", u, socials, err, wantU, wantS)
			}

			alice.IsActive = false
			if err := s.UpdateUser(ctx, alice, []string{"is_active"}); err != nil {
				t.Fatal(err)
			}
			if u, socials, err := v.SignedInUser(meRequest(v, aliceTok)); err != nil || u != nil || socials != nil {
				t.Errorf("inactive user: %v %v %v; want nobody", u, socials, err)
			}
			alice.IsActive = true
			if err := s.UpdateUser(ctx, alice, []string{"is_active"}); err != nil {
				t.Fatal(err)
			}

			// A session stored before owners were recorded: its data names
			// the user, its owner column is empty.
			data, err := strategies.SessionCodec{}.Encode(time.Now().Add(time.Hour),
				map[string]any{socialauth.SessionUserID: alice.ID, socialauth.SessionUserBackend: "oidc"})
			if err != nil {
				t.Fatal(err)
			}
			if err := ss.CommitCtx(ctx, "legacy-token", data, time.Now().Add(time.Hour)); err != nil {
				t.Fatal(err)
			}
			if u, _, err := v.SignedInUser(meRequest(v, "legacy-token")); err != nil || u == nil || u.ID != alice.ID {
				t.Errorf("session stored without its owner: %v, %v; want alice", u, err)
			}

			// Keep-alive: a session whose expiry is near its idle end is
			// moved, as a load would.
			data, err = strategies.SessionCodec{}.Encode(time.Now().Add(24*time.Hour),
				map[string]any{socialauth.SessionUserID: alice.ID, socialauth.SessionUserBackend: "oidc"})
			if err != nil {
				t.Fatal(err)
			}
			soon := time.Now().Add(10 * time.Minute)
			if err := ss.CommitOwnerCtx(ctx, "idle-token", data, soon, socialauth.SessionOwner{UserID: alice.ID, Backend: "oidc"}); err != nil {
				t.Fatal(err)
			}
			if u, _, err := v.SignedInUser(meRequest(v, "idle-token")); err != nil || u == nil || u.ID != alice.ID {
				t.Errorf("idle session: %v, %v; want alice", u, err)
			}
			if _, expiry, found, err := ss.FindExpiryCtx(ctx, "idle-token"); err != nil || !found ||
				expiry.Before(time.Now().Add(strategies.DefaultSessionIdleTimeout-2*strategies.KeepAliveInterval)) {
				t.Errorf("idle session's expiry %s (was %s), %v, %v; want moved to about now + the idle timeout", expiry, soon, found, err)
			}

			// A session whose user is removed from its data without ending
			// it (an app's own "sign out" through scs) is nobody's.
			removed := commitSession(t, m, signedIn(alice.ID, "oidc", ""))
			lctx, err := m.Load(ctx, removed)
			if err != nil {
				t.Fatal(err)
			}
			m.Remove(lctx, socialauth.SessionUserID)
			if tok, _, err := m.Commit(lctx); err != nil || tok != removed {
				t.Fatalf("commit of the emptied session = %q, %v", tok, err)
			}
			if u, _, err := v.SignedInUser(meRequest(v, removed)); err != nil || u != nil {
				t.Errorf("session whose user was removed: %v, %v; want nobody", u, err)
			}

			if _, err := s.DeleteSessionsOfUser(ctx, alice.ID); err != nil {
				t.Fatal(err)
			}
			if u, _, err := v.SignedInUser(meRequest(v, aliceTok)); err != nil || u != nil {
				t.Errorf("ended session: %v, %v; want nobody", u, err)
			}
		})
	}
}

// TestSignedInUserLoadsOtherStores: over a session store that cannot read
// a session with its user (scs's memstore), SignedInUser loads the session
// and answers as the loaded session does.
func TestSignedInUserLoadsOtherStores(t *testing.T) {
	s := openFresh(t, dbtest.Targets(t)[0], storage.Options{})
	v, svc := signedInViews(t, s, memstore.New(), false)
	alice := makeUser(t, s, "alice", "a-1")
	tok := commitSession(t, v.Sessions(), signedIn(alice.ID, "oidc", ""))
	wantU, wantS := loadedUser(t, v, svc, tok)
	u, socials, err := v.SignedInUser(meRequest(v, tok))
	if err != nil || u == nil || u.ID != alice.ID || !cmp.Equal(u, wantU) || !cmp.Equal(socials, wantS) {
		t.Errorf("SignedInUser = %v %v %v; want %v %v", u, socials, err, wantU, wantS)
	}
	if u, _, err := v.SignedInUser(meRequest(v, "")); err != nil || u != nil {
		t.Errorf("no cookie: %v, %v", u, err)
	}
}

// TestFindSignedInCustomUserTable: over an app's own user table (integer
// ids, its own column names, "enabled" as the active flag) the session's
// owner is joined through the adapter's columns: found while enabled,
// nobody once disabled.
func TestFindSignedInCustomUserTable(t *testing.T) {
	ctx := context.Background()
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s, err := storage.Open(ctx, databaseURL(target, dbtest.Fresh(t, target)), storage.Options{Users: accountsAdapter()})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.DB().AutoMigrate(&appUser{}); err != nil {
				t.Fatal(err)
			}
			if err := s.AutoMigrate(ctx); err != nil {
				t.Fatal(err)
			}
			u, err := s.CreateUser(ctx, map[string]any{"username": "grace", "email": "grace@example.com", "is_active": true})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateSocialAuth(ctx, u.ID, "oidc", "g-1"); err != nil {
				t.Fatal(err)
			}
			tok := commitSession(t, strategies.NewSessionManager(s.SessionStore(), false), signedIn(u.ID, "oidc", ""))
			got, found, err := s.SessionStore().FindSignedInCtx(ctx, tok)
			if err != nil || !found || got.User == nil || got.User.Username != "grace" || len(got.Socials) != 1 {
				t.Fatalf("FindSignedInCtx = %+v, %v, %v; want grace with one association", got, found, err)
			}
			u.IsActive = false
			if err := s.UpdateUser(ctx, u, []string{"is_active"}); err != nil {
				t.Fatal(err)
			}
			if got, found, err := s.SessionStore().FindSignedInCtx(ctx, tok); err != nil || !found || got.User != nil || got.Owner != u.ID {
				t.Errorf("disabled: %+v, %v, %v; want the session, owner %s, no user", got, found, err, u.ID)
			}
		})
	}
}
