package strategies_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
)

// countingStore is an scs store over memstore that records what reached
// it, so that a test can tell a sealed session (nothing stored) from a
// stored one.
type countingStore struct {
	mem *memstore.MemStore

	mu      sync.Mutex
	finds   []string
	commits []string
	deletes []string
}

func newCountingStore() *countingStore {
	return &countingStore{mem: memstore.NewWithCleanupInterval(0)}
}

func (c *countingStore) Find(token string) ([]byte, bool, error) {
	c.mu.Lock()
	c.finds = append(c.finds, token)
	c.mu.Unlock()
	return c.mem.Find(token)
}

func (c *countingStore) Commit(token string, b []byte, expiry time.Time) error {
	c.mu.Lock()
	c.commits = append(c.commits, token)
	c.mu.Unlock()
	return c.mem.Commit(token, b, expiry)
}

func (c *countingStore) Delete(token string) error {
	c.mu.Lock()
	c.deletes = append(c.deletes, token)
	c.mu.Unlock()
	return c.mem.Delete(token)
}

func (c *countingStore) All() (map[string][]byte, error) { return c.mem.All() }

// reset forgets what was recorded.
func (c *countingStore) reset() {
	c.mu.Lock()
	c.finds, c.commits, c.deletes = nil, nil, nil
	c.mu.Unlock()
}

// seen returns copies of the recorded finds, commits and deletes.
func (c *countingStore) seen() (finds, commits, deletes []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.finds), slices.Clone(c.commits), slices.Clone(c.deletes)
}

// touchedSealed reports whether a sealed token reached the inner store.
func (c *countingStore) touchedSealed() bool {
	f, cm, d := c.seen()
	return slices.ContainsFunc(slices.Concat(f, cm, d), strategies.IsSealed)
}

// sealedEnv serves one handler at a time over real loopback HTTP, inside
// the strategy's LoadAndSave (or, with scsMiddleware, scs's own).
type sealedEnv struct {
	t     *testing.T
	h     *strategies.HTTP
	store *countingStore
	srv   *httptest.Server

	mu sync.Mutex
	fn func(t *testing.T, st socialauth.Strategy, r *http.Request)
}

// answer is what a request got back.
type answer struct {
	status int
	cookie *http.Cookie // the session cookie set, nil when none
}

func newSealedEnv(t *testing.T, keys ...[]byte) *sealedEnv {
	t.Helper()
	store := newCountingStore()
	h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: store, BaseURL: "http://127.0.0.1", SessionCookieKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	return startSealedEnv(t, h, store, false)
}

func startSealedEnv(t *testing.T, h *strategies.HTTP, store *countingStore, scsMiddleware bool) *sealedEnv {
	t.Helper()
	e := &sealedEnv{t: t, h: h, store: store}
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		fn := e.fn
		e.mu.Unlock()
		if fn != nil {
			fn(e.t, h.Strategy(r), r)
		}
		_, _ = io.WriteString(w, "ok")
	})
	var handler http.Handler
	if scsMiddleware {
		handler = h.Sessions().LoadAndSave(inner)
	} else {
		handler = h.LoadAndSave(inner)
	}
	e.srv = httptest.NewServer(handler)
	t.Cleanup(e.srv.Close)
	return e
}

// do sends a request carrying the session cookie value token ("" for
// none), running fn inside the session middleware.
func (e *sealedEnv) do(token string, fn func(t *testing.T, st socialauth.Strategy, r *http.Request)) answer {
	e.t.Helper()
	e.mu.Lock()
	e.fn = fn
	e.mu.Unlock()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Cookie", strategies.SessionCookieName+"="+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return answer{status: resp.StatusCode, cookie: cookieOf(resp)}
}

// set writes values through the strategy.
func set(values map[string]any) func(*testing.T, socialauth.Strategy, *http.Request) {
	return func(_ *testing.T, st socialauth.Strategy, _ *http.Request) {
		for k, v := range values {
			st.SessionSet(k, v)
		}
	}
}

// read returns the session's values as the strategy reads them.
func (e *sealedEnv) read(token string) (map[string]any, answer) {
	e.t.Helper()
	got := map[string]any{}
	a := e.do(token, func(_ *testing.T, st socialauth.Strategy, r *http.Request) {
		for _, k := range e.h.Sessions().Keys(r.Context()) {
			got[k], _ = st.SessionGet(k)
		}
	})
	return got, a
}

// sealed seals values through a request and returns the cookie value.
func (e *sealedEnv) sealed(values map[string]any) string {
	e.t.Helper()
	a := e.do("", set(values))
	if a.status != http.StatusOK || a.cookie == nil || !strategies.IsSealed(a.cookie.Value) {
		e.t.Fatalf("sealing %v: status %d, cookie %v; want 200 and a sealed cookie", values, a.status, a.cookie)
	}
	return a.cookie.Value
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

var (
	keyA = key('a')
	keyB = key('b')
	keyC = key('c')
)

// An anonymous session lives in its cookie: the inner store sees nothing
// (no find, commit or delete), and the next request reads every value back
// with its type.
func TestSealedAnonymousSessionInCookie(t *testing.T) {
	e := newSealedEnv(t, keyA)
	values := map[string]any{
		"state": "abc",
		"pkce":  map[string]string{"verifier": "v", "method": "S256"},
		"flag":  true,
		"n":     int64(1) << 60,
		"i":     7,
		"f":     2.5,
		"list":  []string{"a", "b"},
		"raw":   []byte{0, 1, 2},
		"when":  time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
	}
	a := e.do("", set(values))
	if a.status != http.StatusOK || a.cookie == nil {
		t.Fatalf("status %d, cookie %v", a.status, a.cookie)
	}
	token := a.cookie.Value
	if !strategies.IsSealed(token) || len(token) > strategies.MaxSealedToken {
		t.Fatalf("cookie %q: sealed %v, length %d", token, strategies.IsSealed(token), len(token))
	}
	if a.cookie.MaxAge <= 0 || !a.cookie.HttpOnly || a.cookie.SameSite != http.SameSiteLaxMode {
		t.Errorf("cookie attributes: Max-Age %d, HttpOnly %v, SameSite %v", a.cookie.MaxAge, a.cookie.HttpOnly, a.cookie.SameSite)
	}
	if strings.Contains(token, "abc") || strings.Contains(token, "S256") {
		t.Error("the sealed cookie shows the session's values")
	}
	if f, c, d := e.store.seen(); len(f)+len(c)+len(d) != 0 {
		t.Errorf("the inner store saw finds %q, commits %q, deletes %q", f, c, d)
	}
	got, a := e.read(token)
	if a.status != http.StatusOK {
		t.Fatalf("reading: status %d", a.status)
	}
	if diff := cmp.Diff(values, got); diff != "" {
		t.Errorf("values read back (-want +got):\n%s", diff)
	}
	if f, c, d := e.store.seen(); len(f)+len(c)+len(d) != 0 {
		t.Errorf("reading: the inner store saw finds %q, commits %q, deletes %q", f, c, d)
	}
	// A request that writes nothing to a new session sets no cookie.
	if a := e.do("", nil); a.cookie != nil {
		t.Errorf("an untouched new session set cookie %v", a.cookie)
	}
}

// Signing in moves the session to the inner store under a new random
// token: one commit, and the sealed token never reaches the store.
func TestSealedSignInMovesToStore(t *testing.T) {
	rotate := func(t *testing.T, st socialauth.Strategy) {
		if err := st.SessionRotate(context.Background()); err != nil {
			t.Error(err)
		}
	}
	signIn := func(st socialauth.Strategy) { st.SessionSet(socialauth.SessionUserID, "42") }
	for name, steps := range map[string]func(*testing.T, socialauth.Strategy){
		// Service.Complete rotates first, then sets the user.
		"rotate then set": func(t *testing.T, st socialauth.Strategy) { rotate(t, st); signIn(st) },
		"set then rotate": func(t *testing.T, st socialauth.Strategy) { signIn(st); rotate(t, st) },
		"no rotate":       func(_ *testing.T, st socialauth.Strategy) { signIn(st) },
	} {
		t.Run(name, func(t *testing.T) {
			e := newSealedEnv(t, keyA)
			pre := e.sealed(map[string]any{"state": "abc"})
			a := e.do(pre, func(t *testing.T, st socialauth.Strategy, _ *http.Request) { steps(t, st) })
			if a.status != http.StatusOK || a.cookie == nil {
				t.Fatalf("sign-in: status %d, cookie %v", a.status, a.cookie)
			}
			post := a.cookie.Value
			if post == "" || post == pre || strategies.IsSealed(post) {
				t.Fatalf("signed-in cookie %q: want a new stored token", post)
			}
			_, commits, _ := e.store.seen()
			if !slices.Equal(commits, []string{post}) {
				t.Errorf("commits %q, want one, of %q", commits, post)
			}
			if e.store.touchedSealed() {
				t.Error("a sealed token reached the inner store")
			}
			if _, found, _ := e.store.mem.Find(pre); found {
				t.Error("the sealed token is stored")
			}
			got, _ := e.read(post)
			want := map[string]any{"state": "abc", socialauth.SessionUserID: "42"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("signed-in session (-want +got):\n%s", diff)
			}
			// Further requests keep it in the store, under its token.
			e.store.reset()
			a = e.do(post, set(map[string]any{"more": "x"}))
			if a.cookie == nil || a.cookie.Value != post {
				t.Errorf("a write to the signed-in session: cookie %v, want %q", a.cookie, post)
			}
			if _, commits, _ := e.store.seen(); !slices.Equal(commits, []string{post}) {
				t.Errorf("commits %q, want %q", commits, post)
			}
		})
	}
	t.Run("fresh session", func(t *testing.T) {
		e := newSealedEnv(t, keyA)
		a := e.do("", set(map[string]any{socialauth.SessionUserID: "7"}))
		if a.cookie == nil || strategies.IsSealed(a.cookie.Value) {
			t.Fatalf("a new signed-in session: cookie %v, want a stored token", a.cookie)
		}
		if _, commits, _ := e.store.seen(); !slices.Equal(commits, []string{a.cookie.Value}) {
			t.Errorf("commits %q", commits)
		}
	})
}

// A session already in the inner store stays there, under its token, when
// modified, even with nobody signed in.
func TestSealedStoredSessionStaysStored(t *testing.T) {
	e := newSealedEnv(t, keyA)
	const token = "stored-anonymous-session-token"
	b, err := strategies.SessionCodec{}.Encode(time.Now().Add(time.Hour).UTC(), map[string]any{"k": "v"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.mem.Commit(token, b, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	a := e.do(token, set(map[string]any{"k2": "v2"}))
	if a.status != http.StatusOK || a.cookie == nil || a.cookie.Value != token {
		t.Fatalf("status %d, cookie %v; want the stored token %q", a.status, a.cookie, token)
	}
	if _, commits, _ := e.store.seen(); !slices.Equal(commits, []string{token}) {
		t.Errorf("commits %q, want %q", commits, token)
	}
	got, _ := e.read(token)
	if diff := cmp.Diff(map[string]any{"k": "v", "k2": "v2"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// A session too long for a cookie once sealed is stored instead, new or
// grown from a sealed one.
func TestSealedOversizedGoesToStore(t *testing.T) {
	big := strings.Repeat("x", strategies.MaxSealedToken)
	t.Run("new", func(t *testing.T) {
		e := newSealedEnv(t, keyA)
		a := e.do("", set(map[string]any{"big": big}))
		if a.status != http.StatusOK || a.cookie == nil || strategies.IsSealed(a.cookie.Value) {
			t.Fatalf("status %d, cookie %v; want a stored token", a.status, a.cookie)
		}
		if _, commits, _ := e.store.seen(); !slices.Equal(commits, []string{a.cookie.Value}) {
			t.Errorf("commits %q", commits)
		}
		if got, _ := e.read(a.cookie.Value); got["big"] != big {
			t.Error("the stored session lost its value")
		}
	})
	t.Run("grown", func(t *testing.T) {
		e := newSealedEnv(t, keyA)
		// Just under the bound still seals.
		pre := e.sealed(map[string]any{"small": strings.Repeat("y", strategies.MaxSealedToken/2)})
		a := e.do(pre, set(map[string]any{"big": big}))
		if a.cookie == nil || strategies.IsSealed(a.cookie.Value) {
			t.Fatalf("cookie %v; want a stored token", a.cookie)
		}
		if e.store.touchedSealed() {
			t.Error("a sealed token reached the inner store")
		}
		got, _ := e.read(a.cookie.Value)
		if got["big"] != big || got["small"] == nil {
			t.Errorf("the stored session has keys %v", slices.Sorted(maps.Keys(got)))
		}
	})
}

// Emptying a sealed session removes its cookie; so does destroying it.
// Emptying one of two keys keeps the other, sealed.
func TestSealedEmptiedSessionRemovesCookie(t *testing.T) {
	e := newSealedEnv(t, keyA)
	removed := func(t *testing.T, a answer) {
		t.Helper()
		if a.status != http.StatusOK || a.cookie == nil || a.cookie.MaxAge >= 0 || a.cookie.Value != "" {
			t.Errorf("status %d, cookie %v; want 200 and the cookie removed (Max-Age<0)", a.status, a.cookie)
		}
	}
	t.Run("pop", func(t *testing.T) {
		token := e.sealed(map[string]any{"only": "v"})
		removed(t, e.do(token, func(t *testing.T, st socialauth.Strategy, _ *http.Request) {
			if v, ok := st.SessionPop("only"); !ok || v != "v" {
				t.Errorf("pop = %v, %v", v, ok)
			}
		}))
	})
	t.Run("flush", func(t *testing.T) {
		token := e.sealed(map[string]any{"a": "1", "b": "2"})
		removed(t, e.do(token, func(t *testing.T, st socialauth.Strategy, _ *http.Request) {
			if err := st.SessionFlush(context.Background()); err != nil {
				t.Error(err)
			}
		}))
	})
	t.Run("pop one of two", func(t *testing.T) {
		token := e.sealed(map[string]any{"a": "1", "b": "2"})
		a := e.do(token, func(_ *testing.T, st socialauth.Strategy, _ *http.Request) { st.SessionPop("a") })
		if a.cookie == nil || !strategies.IsSealed(a.cookie.Value) {
			t.Fatalf("cookie %v, want a sealed one", a.cookie)
		}
		if got, _ := e.read(a.cookie.Value); !cmp.Equal(got, map[string]any{"b": "2"}) {
			t.Errorf("left %v", got)
		}
	})
	if e.store.touchedSealed() {
		t.Error("a sealed token reached the inner store")
	}
	if _, commits, _ := e.store.seen(); len(commits) != 0 {
		t.Errorf("commits %q", commits)
	}
}

// A sealed cookie that does not open (tampered, another key, past its
// deadline, cut short, too long, malformed) is a new empty session: no
// error, no 500, nothing asked of the inner store; a write seals a new
// one.
func TestSealedBadCookieIsNoSession(t *testing.T) {
	e := newSealedEnv(t, keyA)
	good := e.sealed(map[string]any{"k": "v"})

	other := newSealedEnv(t, keyC).sealed(map[string]any{"k": "v"})

	// Same key, a lifetime already over: the sealed deadline has passed.
	expiredStore, err := strategies.NewSealedStore(newCountingStore(), [][]byte{keyA})
	if err != nil {
		t.Fatal(err)
	}
	m := strategies.NewSessionManager(expiredStore, false)
	m.Lifetime = -time.Minute
	hx, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: m, BaseURL: "http://127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	ex := startSealedEnv(t, hx, nil, false)
	a := ex.do("", set(map[string]any{"k": "v"}))
	if a.cookie == nil || !strategies.IsSealed(a.cookie.Value) {
		t.Fatalf("expired: cookie %v", a.cookie)
	}
	expired := a.cookie.Value

	// Correctly sealed under keyA, but longer than MaxSealedToken.
	ss, err := strategies.NewSealedStore(newCountingStore(), [][]byte{keyA})
	if err != nil {
		t.Fatal(err)
	}
	b, err := strategies.SessionCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{"k": strings.Repeat("v", strategies.MaxSealedToken)})
	if err != nil {
		t.Fatal(err)
	}
	long, fits, err := strategies.SealForTest(ss, b, time.Now().Add(time.Hour))
	if err != nil || fits || len(long) <= strategies.MaxSealedToken {
		t.Fatalf("long token: fits %v, length %d, err %v", fits, len(long), err)
	}
	if _, found, _ := ss.FindCtx(context.Background(), good); !found {
		t.Fatal("the good token does not open in another store with the same key")
	}

	tampered := []byte(good)
	i := len(tampered) / 2
	tampered[i] = map[bool]byte{true: 'B', false: 'A'}[tampered[i] == 'A']

	cases := map[string]string{
		"tampered":    string(tampered),
		"unknown key": other,
		"expired":     expired,
		"truncated":   good[:len(good)/2],
		"cut by one":  good[:len(good)-1],
		"too long":    long,
		"prefix only": "enc:v1:",
		"malformed":   "enc:v1:x:y",
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			e.store.reset()
			got, a := e.read(token)
			if a.status != http.StatusOK || len(got) != 0 || a.cookie != nil {
				t.Errorf("status %d, values %v, cookie %v; want 200, an empty session, no cookie", a.status, got, a.cookie)
			}
			a = e.do(token, set(map[string]any{"n": "1"}))
			if a.status != http.StatusOK || a.cookie == nil || !strategies.IsSealed(a.cookie.Value) || a.cookie.Value == token {
				t.Fatalf("a write: status %d, cookie %v; want a new sealed cookie", a.status, a.cookie)
			}
			if got, _ := e.read(a.cookie.Value); !cmp.Equal(got, map[string]any{"n": "1"}) {
				t.Errorf("the new session holds %v", got)
			}
			if f, c, d := e.store.seen(); len(f)+len(c)+len(d) != 0 {
				t.Errorf("the inner store saw finds %q, commits %q, deletes %q", f, c, d)
			}
		})
	}
	// The good one still opens.
	if got, _ := e.read(good); !cmp.Equal(got, map[string]any{"k": "v"}) {
		t.Errorf("the good cookie reads %v", got)
	}
}

// The first key seals, every key opens: a cookie sealed under A opens with
// [B, A] and not with [B]; what [B, A] seals again opens with [B] and no
// longer with [A].
func TestSealedKeyRotation(t *testing.T) {
	onlyA := newSealedEnv(t, keyA)
	both := newSealedEnv(t, keyB, keyA)
	onlyB := newSealedEnv(t, keyB)

	underA := onlyA.sealed(map[string]any{"k": "v"})
	if got, _ := both.read(underA); !cmp.Equal(got, map[string]any{"k": "v"}) {
		t.Errorf("[B, A] reads %v of a cookie sealed under A", got)
	}
	if got, _ := onlyB.read(underA); len(got) != 0 {
		t.Errorf("[B] reads %v of a cookie sealed under A", got)
	}
	a := both.do(underA, set(map[string]any{"k2": "v2"}))
	if a.cookie == nil || !strategies.IsSealed(a.cookie.Value) {
		t.Fatalf("[B, A] after a write: cookie %v", a.cookie)
	}
	want := map[string]any{"k": "v", "k2": "v2"}
	if got, _ := onlyB.read(a.cookie.Value); !cmp.Equal(got, want) {
		t.Errorf("[B] reads %v of the cookie [B, A] sealed again, want %v", got, want)
	}
	if got, _ := onlyA.read(a.cookie.Value); len(got) != 0 {
		t.Errorf("[A] reads %v of the cookie [B, A] sealed again", got)
	}
}

// scs's own LoadAndSave cannot save a session loaded from its cookie: its
// commit fails loudly with ErrSealedCommit rather than storing the sealed
// token.
func TestSealedCommitByScsIsLoud(t *testing.T) {
	store := newCountingStore()
	h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: store, BaseURL: "http://127.0.0.1", SessionCookieKeys: [][]byte{keyA}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu   sync.Mutex
		errs []error
	)
	h.Sessions().ErrorFunc = func(w http.ResponseWriter, _ *http.Request, err error) {
		mu.Lock()
		errs = append(errs, err)
		mu.Unlock()
		http.Error(w, "error", http.StatusInternalServerError)
	}
	token := startSealedEnv(t, h, store, false).sealed(map[string]any{"k": "v"})
	plain := startSealedEnv(t, h, store, true)
	a := plain.do(token, set(map[string]any{"k2": "v2"}))
	mu.Lock()
	defer mu.Unlock()
	if a.status != http.StatusInternalServerError || len(errs) != 1 {
		t.Fatalf("status %d, errors %v; want 500 and one error", a.status, errs)
	}
	if !errors.Is(errs[0], strategies.ErrSealedCommit) || !errors.Is(errs[0], socialauth.CodeImproperlyConfigured) {
		t.Errorf("error %v, want ErrSealedCommit (ImproperlyConfigured)", errs[0])
	}
	if store.touchedSealed() {
		t.Error("a sealed token reached the inner store")
	}
	// Direct calls too.
	ss := h.Sessions().Store.(*strategies.SealedStore)
	if err := ss.Commit(token, []byte("{}"), time.Now().Add(time.Hour)); !errors.Is(err, strategies.ErrSealedCommit) {
		t.Errorf("Commit of a sealed token: %v", err)
	}
	if err := ss.Delete(token); err != nil || store.touchedSealed() {
		t.Errorf("Delete of a sealed token: %v (reached the store: %v)", err, store.touchedSealed())
	}
	if ss.Inner() != scs.Store(store) {
		t.Error("Inner is not the wrapped store")
	}
}

// SESSION_COOKIE_KEYS: a bad key is an ImproperlyConfigured error naming
// the setting and the key's position, never its value.
func TestSessionCookieKeysSetting(t *testing.T) {
	const (
		k1 = "YWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWFhYWE=" // 32 × 'a', base64
		k2 = "YmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmJiYmI"  // 32 × 'b', base64url unpadded
	)
	short := "c2hvcnQta2V5LXZhbHVl" // "short-key-value"
	notB64 := "not*base64*at*all*but*long*enough*to*be*a*key"
	base := strategies.HTTPConfig{SessionStore: memstore.NewWithCleanupInterval(0), BaseURL: "http://127.0.0.1"}
	for name, tc := range map[string]struct {
		value  any
		secret string
		pos    string
	}{
		"short":         {[]string{k1, short}, short, "key 2"},
		"not base64":    {k1 + "," + notB64, notB64, "key 2"},
		"first short":   {[]string{short}, short, "key 1"},
		"empty item":    {[]any{k1, " "}, "", "key 2"},
		"first garbage": {[]string{notB64, k1}, notB64, "key 1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := strategies.HTTPConfigFrom(settings.New(settings.Map{"SOCIAL_AUTH_SESSION_COOKIE_KEYS": tc.value}), base)
			var se *socialauth.Error
			if !errors.As(err, &se) || se.Code != socialauth.CodeImproperlyConfigured {
				t.Fatalf("err %v, want a *socialauth.Error ImproperlyConfigured", err)
			}
			msg := err.Error()
			if !strings.Contains(msg, "SOCIAL_AUTH_SESSION_COOKIE_KEYS") || !strings.Contains(msg, tc.pos) {
				t.Errorf("%q does not name SOCIAL_AUTH_SESSION_COOKIE_KEYS and %s", msg, tc.pos)
			}
			for _, secret := range []string{tc.secret, k1} {
				if secret != "" && strings.Contains(msg, secret) {
					t.Errorf("%q shows a key", msg)
				}
			}
		})
	}
	t.Run("two good keys", func(t *testing.T) {
		for _, v := range []any{[]string{k1, k2}, k1 + ", " + k2, `["` + k1 + `","` + k2 + `"]`} {
			cfg, err := strategies.HTTPConfigFrom(settings.New(settings.Map{"SOCIAL_AUTH_SESSION_COOKIE_KEYS": v}), base)
			if err != nil {
				t.Fatalf("%v: %v", v, err)
			}
			want := [][]byte{bytes.Repeat([]byte("a"), 32), bytes.Repeat([]byte("b"), 32)}
			if !cmp.Equal(cfg.SessionCookieKeys, want) {
				t.Errorf("%v: keys %q", v, cfg.SessionCookieKeys)
			}
			h, err := strategies.NewHTTP(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := h.Sessions().Store.(*strategies.SealedStore); !ok {
				t.Errorf("the store is %T, want a SealedStore", h.Sessions().Store)
			}
		}
	})
	t.Run("unset", func(t *testing.T) {
		cfg, err := strategies.HTTPConfigFrom(settings.New(nil), base)
		if err != nil || cfg.SessionCookieKeys != nil {
			t.Fatalf("keys %v, err %v", cfg.SessionCookieKeys, err)
		}
		h, err := strategies.NewHTTP(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := h.Sessions().Store.(*strategies.SealedStore); ok {
			t.Error("a SealedStore without keys")
		}
	})
	t.Run("empty list turns keys off", func(t *testing.T) {
		withKeys := base
		withKeys.SessionCookieKeys = [][]byte{keyA}
		for _, v := range []any{"", []string{}} {
			cfg, err := strategies.HTTPConfigFrom(settings.New(settings.Map{"SOCIAL_AUTH_SESSION_COOKIE_KEYS": v}), withKeys)
			if err != nil || cfg.SessionCookieKeys != nil {
				t.Errorf("%q: keys %v, err %v; want none", v, cfg.SessionCookieKeys, err)
			}
		}
	})
	t.Run("repeated key", func(t *testing.T) {
		_, err := strategies.HTTPConfigFrom(settings.New(settings.Map{"SOCIAL_AUTH_SESSION_COOKIE_KEYS": []string{k1, k2, k1}}), base)
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), "SOCIAL_AUTH_SESSION_COOKIE_KEYS") ||
			!strings.Contains(err.Error(), "key 3") || strings.Contains(err.Error(), k1) {
			t.Errorf("err %v, want ImproperlyConfigured naming the setting and key 3, not the key", err)
		}
	})
	t.Run("with Sessions", func(t *testing.T) {
		_, err := strategies.NewHTTP(strategies.HTTPConfig{
			Sessions:          strategies.NewSessionManager(memstore.NewWithCleanupInterval(0), false),
			BaseURL:           "http://127.0.0.1",
			SessionCookieKeys: [][]byte{keyA},
		})
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), "SessionCookieKeys") {
			t.Errorf("err %v, want ImproperlyConfigured naming SessionCookieKeys", err)
		}
	})
}

// NewSealedStore refuses no inner store, no key, a short key and a repeated
// key, each with a message that says which.
func TestNewSealedStoreRefuses(t *testing.T) {
	inner := memstore.NewWithCleanupInterval(0)
	for name, tc := range map[string]struct {
		inner scs.Store
		keys  [][]byte
		want  string
	}{
		"no inner":     {nil, [][]byte{keyA}, "no inner store"},
		"no key":       {inner, nil, "no session cookie key"},
		"short key":    {inner, [][]byte{keyA, keyB[:31]}, "key 2"},
		"repeated key": {inner, [][]byte{keyA, keyB, keyA}, "session cookie key 3 repeats key 1"},
	} {
		t.Run(name, func(t *testing.T) {
			s, err := strategies.NewSealedStore(tc.inner, tc.keys)
			if s != nil || !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("store %v, err %v; want ImproperlyConfigured with %q", s, err, tc.want)
			}
		})
	}
}

// FuzzSealedFind: any token given to SealedStore.FindCtx is an answer,
// never a panic or an error; what is found is a sealed token within
// MaxSealedToken whose bytes decode with SessionCodec.
func FuzzSealedFind(f *testing.F) {
	s, err := strategies.NewSealedStore(memstore.NewWithCleanupInterval(0), [][]byte{keyA, keyB})
	if err != nil {
		f.Fatal(err)
	}
	deadline := time.Now().Add(24 * time.Hour)
	b, err := strategies.SessionCodec{}.Encode(deadline, map[string]any{"state": "abc", "m": map[string]string{"a": "b"}})
	if err != nil {
		f.Fatal(err)
	}
	good, fits, err := strategies.SealForTest(s, b, deadline)
	if err != nil || !fits {
		f.Fatalf("seal: fits %v, err %v", fits, err)
	}
	if _, found, _ := s.FindCtx(context.Background(), good); !found {
		f.Fatal("the seed token does not open")
	}
	mutated := []byte(good)
	mutated[len(mutated)-10] ^= 0x01
	for _, seed := range []string{good, string(mutated), "", "enc:v1:", "enc:v1::", "enc:v1:AAAAAAAAAAA:AAAA",
		good[:len(good)-1], good + "A", "\x00\xff garbage", strings.Repeat("enc:v1:", 600)} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, token string) {
		b, found, err := s.FindCtx(context.Background(), token)
		if err != nil {
			t.Fatalf("FindCtx: %v", err)
		}
		if !found {
			return
		}
		if !strategies.IsSealed(token) || len(token) > strategies.MaxSealedToken {
			t.Errorf("found a token of length %d (sealed: %v)", len(token), strategies.IsSealed(token))
		}
		if _, _, err := (strategies.SessionCodec{}).Decode(b); err != nil {
			t.Errorf("found bytes do not decode: %v", err)
		}
	})
}

// A sealed session ends unused for the idle timeout, as a stored one: its
// cookie's lifetime is min(deadline, now + idle), not the 24 h deadline,
// and a change moves it.
func TestSealedSessionIdleTimeout(t *testing.T) {
	e := newSealedEnv(t, keyA)
	a := e.do("", set(map[string]any{"next": "/courses/"}))
	if a.cookie == nil || !strategies.IsSealed(a.cookie.Value) {
		t.Fatalf("no sealed cookie: %+v", a)
	}
	idle := int(strategies.DefaultSessionIdleTimeout.Seconds())
	if a.cookie.MaxAge < idle-60 || a.cookie.MaxAge > idle+1 {
		t.Errorf("sealed cookie Max-Age = %d s, want the idle timeout (%d s), not the %v deadline",
			a.cookie.MaxAge, idle, strategies.DefaultSessionLifetime)
	}
}

// A sealed session is never a signed-in one: only anonymous sessions are
// sealed, so one that names a user was forged with a key, and it would be
// a sign-in no session row records (beyond sign-out everywhere and
// back-channel logout). It is no session: the handler sees nobody, and
// nothing reaches the store.
func TestSealedSignedInSessionIsRefused(t *testing.T) {
	e := newSealedEnv(t, keyA)
	ss, err := strategies.NewSealedStore(newCountingStore(), [][]byte{keyA})
	if err != nil {
		t.Fatal(err)
	}
	for name, values := range map[string]map[string]any{
		"user id":       {socialauth.SessionUserID: "1", socialauth.SessionUserBackend: "edx-oauth2"},
		"empty user id": {socialauth.SessionUserID: ""},
	} {
		t.Run(name, func(t *testing.T) {
			b, err := strategies.SessionCodec{}.Encode(time.Now().Add(time.Hour), values)
			if err != nil {
				t.Fatal(err)
			}
			forged, fits, err := strategies.SealForTest(ss, b, time.Now().Add(time.Hour))
			if err != nil || !fits {
				t.Fatalf("sealing: fits %v, %v", fits, err)
			}
			if _, found, err := ss.FindCtx(context.Background(), forged); found || err != nil {
				t.Errorf("FindCtx of a sealed signed-in session: found %v, err %v", found, err)
			}
			e.store.reset()
			got, a := e.read(forged)
			if a.status != http.StatusOK || len(got) != 0 {
				t.Errorf("a forged signed-in cookie gave %d and session %v, want 200 and an empty session", a.status, got)
			}
			if finds, commits, deletes := e.store.seen(); len(finds)+len(commits)+len(deletes) != 0 {
				t.Errorf("the inner store was used: finds %v commits %v deletes %v", finds, commits, deletes)
			}
		})
	}
	// The same values without the user id open.
	b, _ := strategies.SessionCodec{}.Encode(time.Now().Add(time.Hour), map[string]any{socialauth.SessionUserBackend: "edx-oauth2"})
	tok, _, _ := strategies.SealForTest(ss, b, time.Now().Add(time.Hour))
	if _, found, _ := ss.FindCtx(context.Background(), tok); !found {
		t.Error("an anonymous sealed session with other keys did not open")
	}
}
