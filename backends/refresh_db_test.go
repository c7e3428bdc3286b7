package backends

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// These tests run refreshes of one association from several instances (two
// Stores and two backends, or two processes) sharing one database, against
// the fake LMS, which rotates refresh tokens: the old one dies at its first
// use, so a second request with it fails with invalid_grant.

// Environment of a child process of TestRefreshAcrossProcesses.
const (
	envChildDB       = "SOCIALAUTH_TEST_REFRESH_CHILD_DB"
	envChildLMS      = "SOCIALAUTH_TEST_REFRESH_CHILD_LMS"
	envChildSocialID = "SOCIALAUTH_TEST_REFRESH_CHILD_SOCIAL_ID"
)

// storeURL is the storage.Open URL of a dbtest database.
func storeURL(target dbtest.Target, dsn string) string {
	if target.Name == dbtest.SQLite {
		return "sqlite:" + dsn
	}
	return dsn
}

// openStore opens a Store on url, closed when the test ends.
func openStore(t testing.TB, url string) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), url, storage.Options{})
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// sharedDB returns two Stores (two instances) on one fresh, migrated
// database of target, and its URL.
func sharedDB(t *testing.T, target dbtest.Target) (a, b *storage.Store, url string) {
	t.Helper()
	url = storeURL(target, dbtest.Fresh(t, target))
	a = openStore(t, url)
	if err := a.AutoMigrate(context.Background()); err != nil {
		t.Fatalf("AutoMigrate: %v", err)
	}
	return a, openStore(t, url), url
}

// associateExpired signs jsmith in at the LMS through b and stores the
// association with an access token that expired a while ago.
func associateExpired(t testing.TB, l *fakelms.LMS, b socialauth.Backend, store socialauth.Storage) *socialauth.UserSocialAuth {
	t.Helper()
	ctx := context.Background()
	resp, err := login(t, l, b, newStrategy())
	if err != nil {
		t.Fatal(err)
	}
	details := b.UserDetails(resp)
	uid, err := b.UserID(details, resp)
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(ctx, map[string]any{"username": "jsmith", "email": "jsmith@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	social, err := store.CreateSocialAuth(ctx, u.ID, b.Name(), uid)
	if err != nil {
		t.Fatal(err)
	}
	extra := b.ExtraData(u, uid, resp, details)
	extra["auth_time"] = time.Now().Add(-time.Hour).Unix()
	extra["expires_in"] = 60
	social, err = store.UpdateExtraData(ctx, social.ID, func(map[string]any) (map[string]any, bool) { return extra, true })
	if err != nil {
		t.Fatal(err)
	}
	if !social.AccessTokenExpired(time.Now()) {
		t.Fatal("the stored association is not expired")
	}
	return social
}

// refreshRequests counts the refresh_token grants the LMS has received.
func refreshRequests(l *fakelms.LMS) int {
	n := 0
	for _, tr := range l.TokenRequests() {
		if tr.Form.Get("grant_type") == "refresh_token" {
			n++
		}
	}
	return n
}

// tokenGate serves the LMS on another loopback server whose token endpoint
// holds every request until open is called, so that the refreshes under
// test overlap for as long as the test needs.
type tokenGate struct {
	url     string
	release chan struct{}
	once    sync.Once
	arrived atomic.Int32
}

func newTokenGate(t *testing.T, l *fakelms.LMS) *tokenGate {
	t.Helper()
	g := &tokenGate{release: make(chan struct{})}
	lms := l.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/oauth2/access_token" {
			g.arrived.Add(1)
			select {
			case <-g.release:
			case <-r.Context().Done():
				return
			}
		}
		lms.ServeHTTP(w, r)
	}))
	g.url = srv.URL
	t.Cleanup(srv.Close)
	t.Cleanup(g.open) // before srv.Close: cleanups run last first
	return g
}

func (g *tokenGate) open() { g.once.Do(func() { close(g.release) }) }

// lmsBackendAt is the LMS backend of an instance reaching the LMS at base.
func lmsBackendAt(t testing.TB, base string, mod func(*OAuth2Config)) *OAuth2 {
	t.Helper()
	cfg := lmsConfigAt(base, nil)
	if mod != nil {
		mod(&cfg)
	}
	cfg, err := OAuth2ConfigFrom(testSettings(nil), cfg)
	if err != nil {
		t.Fatalf("OAuth2ConfigFrom: %v", err)
	}
	b, err := NewOAuth2(cfg)
	if err != nil {
		t.Fatalf("NewOAuth2: %v", err)
	}
	return b
}

// overlapWindow is how long a test waits, once every caller has read the
// expired association, before the LMS answers the first refresh: time for
// the others to reach the row lock. It only makes the overlap likely; the
// assertions hold whatever the scheduling.
const overlapWindow = 300 * time.Millisecond

// TestRefreshAcrossInstances: two instances (Stores and backends of their
// own) refresh one expired association at once. The LMS sees one refresh
// request; both get the new access token, which is the stored one.
func TestRefreshAcrossInstances(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			l := newLMS(t, fakelms.Options{})
			storeA, storeB, _ := sharedDB(t, target)
			social := associateExpired(t, l, lmsOAuth2(t, l, nil, nil), storeA)
			gate := newTokenGate(t, l)
			var told atomic.Int32
			onRefresh := func(c *OAuth2Config) {
				c.OnRefresh = func(context.Context, *OAuth2, *socialauth.UserSocialAuth) { told.Add(1) }
			}
			instances := []struct {
				b     *OAuth2
				store *storage.Store
			}{{lmsBackendAt(t, gate.url, onRefresh), storeA}, {lmsBackendAt(t, gate.url, onRefresh), storeB}}
			before := refreshRequests(l)

			ready := make(chan struct{}, len(instances))
			tokens := make([]string, len(instances))
			errs := make([]error, len(instances))
			var wg sync.WaitGroup
			for i, in := range instances {
				wg.Add(1)
				go func() {
					defer wg.Done()
					cur, err := in.store.GetSocialAuthByID(context.Background(), social.ID)
					ready <- struct{}{}
					if err != nil {
						errs[i] = err
						return
					}
					tokens[i], errs[i] = in.b.AccessToken(context.Background(), in.store, cur)
				}()
			}
			for range instances {
				<-ready
			}
			time.Sleep(overlapWindow)
			gate.open()
			wg.Wait()

			for i := range instances {
				if errs[i] != nil {
					t.Fatalf("instance %d: %v", i, errs[i])
				}
			}
			if n := refreshRequests(l) - before; n != 1 {
				t.Errorf("the LMS received %d refresh requests, want 1", n)
			}
			stored, err := storeB.GetSocialAuthByID(context.Background(), social.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tokens[0] == social.AccessToken() || tokens[0] != tokens[1] || tokens[0] != stored.AccessToken() {
				t.Errorf("instances got different or old access tokens (old %.8s…, stored %.8s…): %.8s…, %.8s…",
					social.AccessToken(), stored.AccessToken(), tokens[0], tokens[1])
			}
			if stored.RefreshToken() == social.RefreshToken() {
				t.Error("the rotated refresh token was not stored")
			}
			if n := told.Load(); n != 1 {
				t.Errorf("OnRefresh told %d times, want once (by the instance that refreshed)", n)
			}
		})
	}
}

// TestRefreshAcrossProcesses: two processes (this test binary run again as
// TestRefreshChildProcess) refresh one expired association at once through
// one database, against the LMS over loopback: one refresh request, and
// both print the new, stored access token.
func TestRefreshAcrossProcesses(t *testing.T) {
	if os.Getenv(envChildDB) != "" {
		t.Skip("inside a child process")
	}
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			l := newLMS(t, fakelms.Options{})
			store, _, url := sharedDB(t, target)
			social := associateExpired(t, l, lmsOAuth2(t, l, nil, nil), store)
			gate := newTokenGate(t, l)
			before := refreshRequests(l)

			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			type event struct {
				child int
				line  string
				eof   bool
			}
			events := make(chan event)
			const n = 2
			cmds := make([]*exec.Cmd, n)
			stderr := make([]bytes.Buffer, n)
			for i := range n {
				cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestRefreshChildProcess$", "-test.count=1", "-test.v")
				cmd.Env = append(os.Environ(),
					envChildDB+"="+url,
					envChildLMS+"="+gate.url,
					envChildSocialID+"="+strconv.FormatInt(social.ID, 10))
				cmd.Stderr = &stderr[i]
				out, err := cmd.StdoutPipe()
				if err != nil {
					t.Fatal(err)
				}
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				cmds[i] = cmd
				go func() {
					sc := bufio.NewScanner(out)
					for sc.Scan() {
						events <- event{child: i, line: sc.Text()}
					}
					events <- event{child: i, eof: true}
				}()
			}

			output := make([][]string, n)
			digests := make([]string, n)
			readies, eofs := 0, 0
			for eofs < n {
				ev := <-events
				switch {
				case ev.eof:
					eofs++
				case ev.line == "refresh-child: ready":
					if readies++; readies == n {
						// Both have read the expired row: let the
						// refresh that holds the lock through.
						time.Sleep(overlapWindow)
						gate.open()
					}
				case strings.HasPrefix(ev.line, "refresh-child: token "):
					digests[ev.child] = strings.TrimPrefix(ev.line, "refresh-child: token ")
				}
				if !ev.eof {
					output[ev.child] = append(output[ev.child], ev.line)
				}
				if ev.eof && readies < n {
					gate.open() // a child ended early: let the other finish
				}
			}
			for i, cmd := range cmds {
				if err := cmd.Wait(); err != nil {
					t.Errorf("child %d: %v\nstdout:\n%s\nstderr:\n%s", i, err, strings.Join(output[i], "\n"), stderr[i].String())
				}
			}
			if t.Failed() {
				return
			}
			if n := refreshRequests(l) - before; n != 1 {
				t.Errorf("the LMS received %d refresh requests from two processes, want 1", n)
			}
			stored, err := store.GetSocialAuthByID(context.Background(), social.ID)
			if err != nil {
				t.Fatal(err)
			}
			want := tokenDigest(stored.AccessToken())
			if stored.AccessToken() == social.AccessToken() {
				t.Error("the stored access token was not refreshed")
			}
			for i, d := range digests {
				if d != want {
					t.Errorf("child %d got access token digest %q, want the stored one %q", i, d, want)
				}
			}
		})
	}
}

// TestRefreshChildProcess is one instance of TestRefreshAcrossProcesses: it
// runs only in a child process that test starts. It reads the association,
// says it is ready, gets an access token (refreshing the expired one) and
// prints its digest.
func TestRefreshChildProcess(t *testing.T) {
	url := os.Getenv(envChildDB)
	if url == "" {
		// Not a test of its own: the child's entry point (as os/exec's
		// TestHelperProcess). In the parent it does nothing.
		return
	}
	id, err := strconv.ParseInt(os.Getenv(envChildSocialID), 10, 64)
	if err != nil {
		t.Fatalf("%s: %v", envChildSocialID, err)
	}
	store := openStore(t, url)
	b := lmsBackendAt(t, os.Getenv(envChildLMS), nil)
	cur, err := store.GetSocialAuthByID(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("refresh-child: ready")
	tok, err := b.AccessToken(t.Context(), store, cur)
	if err != nil {
		t.Fatalf("AccessToken: %v", err)
	}
	fmt.Println("refresh-child: token " + tokenDigest(tok))
}

// tokenDigest names a token in test output without showing it.
func tokenDigest(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(sum[:8])
}

// TestRefreshFailureReleasesRow: a refused refresh and a provider that
// never answers both leave the stored tokens as they were and the row
// unlocked: the other instance updates it and then refreshes it.
func TestRefreshFailureReleasesRow(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			l := newLMS(t, fakelms.Options{})
			storeA, storeB, _ := sharedDB(t, target)
			social := associateExpired(t, l, lmsOAuth2(t, l, nil, nil), storeA)
			var told atomic.Int32
			a := lmsOAuth2(t, l, nil, func(c *OAuth2Config) {
				c.Timeout = 200 * time.Millisecond
				c.OnRefresh = func(context.Context, *OAuth2, *socialauth.UserSocialAuth) { told.Add(1) }
			})

			for _, tc := range []struct {
				name  string
				fault fakelms.Fault
				code  socialauth.Code
			}{
				{"refused", fakelms.Fault{Endpoint: "token", Times: 1, Status: 400, Body: `{"error":"invalid_grant"}`}, socialauth.CodeAuthCanceled},
				// Longer than the backend waits (the server outlives the
				// client by this much at most).
				{"hung", fakelms.Fault{Endpoint: "token", Times: 1, Delay: 2 * time.Second}, socialauth.CodeAuthUnreachableProvider},
			} {
				l.Fault(tc.fault)
				_, err := a.AccessToken(context.Background(), storeA, social)
				l.ClearFaults()
				wantCode(t, err, tc.code)
				after, err := storeB.GetSocialAuthByID(context.Background(), social.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.AccessToken() != social.AccessToken() || after.RefreshToken() != social.RefreshToken() ||
					!after.Modified.Equal(social.Modified) {
					t.Errorf("%s: a failed refresh wrote the row: %v", tc.name, after.ExtraData)
				}
			}
			if told.Load() != 0 {
				t.Error("OnRefresh told of a failed refresh")
			}

			// The row is free: a lock still held would make this wait, and
			// fail at the deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := storeB.UpdateExtraData(ctx, social.ID, func(old map[string]any) (map[string]any, bool) {
				old["note"] = "written by the other instance"
				return old, true
			}); err != nil {
				t.Fatalf("the other instance cannot write the row after failed refreshes: %v", err)
			}
			before := refreshRequests(l)
			tok, err := lmsOAuth2(t, l, nil, nil).AccessToken(ctx, storeB, social)
			if err != nil {
				t.Fatalf("refresh by the other instance: %v", err)
			}
			if tok == social.AccessToken() || refreshRequests(l)-before != 1 {
				t.Errorf("the other instance did not refresh (%d requests)", refreshRequests(l)-before)
			}
			stored, err := storeA.GetSocialAuthByID(ctx, social.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.AccessToken() != tok || stored.ExtraData["note"] != "written by the other instance" {
				t.Errorf("after the refresh: %v", stored.ExtraData)
			}
		})
	}
}

// TestRefreshStaleCopy: a caller whose copy of the association is older
// than the stored row gets the stored tokens, without a request, when they
// are fresh; RefreshSocial with the current copy does refresh; and a stored
// row that has expired too is refreshed whatever copy the caller holds.
func TestRefreshStaleCopy(t *testing.T) {
	run := func(t *testing.T, newStores func(t *testing.T) (a, b socialauth.Storage)) {
		l := newLMS(t, fakelms.Options{})
		storeA, storeB := newStores(t)
		stale := associateExpired(t, l, lmsOAuth2(t, l, nil, nil), storeA)
		var told atomic.Int32
		onRefresh := func(c *OAuth2Config) {
			c.OnRefresh = func(context.Context, *OAuth2, *socialauth.UserSocialAuth) { told.Add(1) }
		}
		a, b := lmsOAuth2(t, l, nil, onRefresh), lmsOAuth2(t, l, nil, onRefresh)
		ctx := context.Background()

		fresh, err := a.RefreshSocial(ctx, storeA, stale)
		if err != nil {
			t.Fatal(err)
		}
		before := refreshRequests(l)
		tok, err := b.AccessToken(ctx, storeB, stale)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.RefreshSocial(ctx, storeB, stale)
		if err != nil {
			t.Fatal(err)
		}
		if tok != fresh.AccessToken() || got.AccessToken() != fresh.AccessToken() || got.RefreshToken() != fresh.RefreshToken() {
			t.Errorf("a stale copy did not get the stored tokens")
		}
		if n := refreshRequests(l) - before; n != 0 {
			t.Errorf("a stale copy of a fresh row made %d refresh requests", n)
		}
		if told.Load() != 1 {
			t.Errorf("OnRefresh told %d times, want once", told.Load())
		}

		// The current copy: an explicit refresh is made.
		again, err := b.RefreshSocial(ctx, storeB, fresh)
		if err != nil {
			t.Fatal(err)
		}
		if again.AccessToken() == fresh.AccessToken() || refreshRequests(l)-before != 1 {
			t.Errorf("RefreshSocial with the current copy did not refresh")
		}

		// The stored row has expired as well: the stale copy refreshes it.
		if _, err := storeA.UpdateExtraData(ctx, stale.ID, func(old map[string]any) (map[string]any, bool) {
			old["auth_time"] = time.Now().Add(-time.Hour).Unix()
			return old, true
		}); err != nil {
			t.Fatal(err)
		}
		last, err := a.RefreshSocial(ctx, storeA, stale)
		if err != nil {
			t.Fatal(err)
		}
		if last.AccessToken() == again.AccessToken() || refreshRequests(l)-before != 2 {
			t.Errorf("an expired stored row was not refreshed for a stale copy")
		}
	}
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			run(t, func(t *testing.T) (socialauth.Storage, socialauth.Storage) {
				a, b, _ := sharedDB(t, target)
				return a, b
			})
		})
	}
	t.Run("memstore", func(t *testing.T) {
		run(t, func(*testing.T) (socialauth.Storage, socialauth.Storage) {
			s := testutil.NewStore()
			return s, s
		})
	})
	// A store without socialauth.SocialLocker: the unlocked refresh makes
	// the same decisions.
	t.Run("unlocked", func(t *testing.T) {
		run(t, func(*testing.T) (socialauth.Storage, socialauth.Storage) {
			var hidden socialauth.Storage = struct{ socialauth.Storage }{testutil.NewStore()}
			if _, ok := hidden.(socialauth.SocialLocker); ok {
				t.Fatal("the wrapper still offers SocialLocker")
			}
			return hidden, hidden
		})
	})
}

// BenchmarkRefreshLocked measures a refresh through the row lock
// (UpdateSocialAuthLocked) against the unlocked refresh of a store without
// socialauth.SocialLocker, interleaved in chunks on one association, the
// fake LMS over loopback and each database: x-unlocked = locked/unlocked
// in ns per refresh. ns/op is one locked plus one unlocked refresh.
func BenchmarkRefreshLocked(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		b.Run(target.Name, func(b *testing.B) {
			l := newLMS(b, fakelms.Options{})
			url := storeURL(target, dbtest.Fresh(b, target))
			store := openStore(b, url)
			if err := store.AutoMigrate(context.Background()); err != nil {
				b.Fatal(err)
			}
			be := lmsOAuth2(b, l, nil, nil)
			social := associateExpired(b, l, be, store)
			unlocked := struct{ socialauth.Storage }{store}
			ctx := context.Background()
			refresh := func(st socialauth.SocialStorage) {
				var err error
				if social, err = be.RefreshSocial(ctx, st, social); err != nil {
					b.Fatal(err)
				}
			}
			const chunk = 8
			var locked, plain time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i += chunk {
				end := min(i+chunk, b.N)
				t0 := time.Now()
				for j := i; j < end; j++ {
					refresh(store)
				}
				t1 := time.Now()
				for j := i; j < end; j++ {
					refresh(unlocked)
				}
				locked += t1.Sub(t0)
				plain += time.Since(t1)
			}
			b.StopTimer()
			if plain > 0 {
				b.ReportMetric(float64(locked.Nanoseconds())/float64(b.N), "locked-ns/op")
				b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "unlocked-ns/op")
				b.ReportMetric(float64(locked)/float64(plain), "x-unlocked")
			}
		})
	}
}
