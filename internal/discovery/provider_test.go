package discovery

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeIdP serves a discovery document and a JWKS on loopback and counts hits.
type fakeIdP struct {
	srv         *httptest.Server
	jwks        atomic.Value // []byte
	failJWKS    atomic.Bool
	failConfig  atomic.Bool
	configHits  atomic.Int64
	jwksHits    atomic.Int64
	jwksRelease atomic.Pointer[chan struct{}] // when set, JWKS requests block until it is closed
}

func newFakeIdP(t *testing.T, keys ...jwk.Key) *fakeIdP {
	t.Helper()
	f := &fakeIdP{}
	f.setKeys(t, keys...)
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.configHits.Add(1)
		if f.failConfig.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                f.srv.URL,
			"authorization_endpoint":                f.srv.URL + "/authorize",
			"token_endpoint":                        f.srv.URL + "/token",
			"userinfo_endpoint":                     f.srv.URL + "/userinfo",
			"jwks_uri":                              f.srv.URL + "/jwks",
			"end_session_endpoint":                  f.srv.URL + "/logout",
			"revocation_endpoint":                   f.srv.URL + "/revoke",
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
			"authorization_response_iss_parameter_supported": true,
			"x_extra": "kept in Raw",
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		f.jwksHits.Add(1)
		if ch := f.jwksRelease.Load(); ch != nil {
			<-*ch
		}
		if f.failJWKS.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(f.jwks.Load().([]byte))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) setKeys(t *testing.T, keys ...jwk.Key) {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	f.jwks.Store(b)
}

func rsaJWK(t testing.TB, kid string) jwk.Key {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		_ = k.Set(jwk.KeyIDKey, kid)
	}
	return k
}

func ecJWK(t testing.TB, kid string) jwk.Key {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := jwk.FromRaw(priv) // private on purpose: the provider must publish only public halves
	if err != nil {
		t.Fatal(err)
	}
	_ = k.Set(jwk.KeyIDKey, kid)
	return k
}

func TestConfigCachedAndParsed(t *testing.T) {
	idp := newFakeIdP(t, rsaJWK(t, "k1"))
	clk := newClock()
	p := New(idp.srv.URL+"/.well-known/openid-configuration", Options{Now: clk.Now})
	if got := p.Stats(); got != (Stats{}) {
		t.Fatalf("New did I/O: %+v", got)
	}
	ctx := context.Background()
	cfg, err := p.Config(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Issuer:                idp.srv.URL,
		AuthorizationEndpoint: idp.srv.URL + "/authorize",
		TokenEndpoint:         idp.srv.URL + "/token",
		UserinfoEndpoint:      idp.srv.URL + "/userinfo",
		JWKSURI:               idp.srv.URL + "/jwks",
		EndSessionEndpoint:    idp.srv.URL + "/logout",
		RevocationEndpoint:    idp.srv.URL + "/revoke",
		IDTokenSigningAlgs:    []string{"RS256", "ES256"},
		AuthorizationResponseIssParameterSupported: true,
	}
	if diff := cmp.Diff(want, cfg, cmp.FilterPath(func(p cmp.Path) bool { return p.String() == "Raw" }, cmp.Ignore())); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if cfg.Raw["x_extra"] != "kept in Raw" {
		t.Errorf("Raw lost extension member: %v", cfg.Raw)
	}
	for i := 0; i < 50; i++ {
		if _, err := p.Config(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if got := idp.configHits.Load(); got != 1 {
		t.Fatalf("config fetched %d times within TTL, want 1", got)
	}
	clk.Advance(DefaultConfigTTL + time.Second)
	if _, err := p.Config(ctx); err != nil {
		t.Fatal(err)
	}
	if got := p.Stats().ConfigFetches; got != 2 {
		t.Fatalf("config fetched %d times after TTL, want 2", got)
	}
}

func TestStaleServedWhenRefreshFails(t *testing.T) {
	idp := newFakeIdP(t, rsaJWK(t, "k1"))
	clk := newClock()
	p := New(idp.srv.URL+"/.well-known/openid-configuration", Options{Now: clk.Now, ConfigTTL: time.Hour, JWKSTTL: time.Hour, RefetchCooldown: time.Minute})
	ctx := context.Background()
	if _, err := p.KeyFor(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	idp.failConfig.Store(true)
	idp.failJWKS.Store(true)
	clk.Advance(2 * time.Hour)
	for i := 0; i < 20; i++ {
		if _, err := p.Config(ctx); err != nil {
			t.Fatalf("stale config not served: %v", err)
		}
		if _, err := p.KeyFor(ctx, "k1"); err != nil {
			t.Fatalf("stale key not served: %v", err)
		}
	}
	// One failed attempt each, then quiet until the cooldown passes.
	if got, want := p.Stats(), (Stats{ConfigFetches: 2, JWKSFetches: 2}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	clk.Advance(time.Minute + time.Second)
	idp.failConfig.Store(false)
	idp.failJWKS.Store(false)
	if _, err := p.KeyFor(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	if got, want := p.Stats(), (Stats{ConfigFetches: 3, JWKSFetches: 3}); got != want {
		t.Fatalf("after recovery stats = %+v, want %+v", got, want)
	}
}

func TestKeyRotationRefetchesOnce(t *testing.T) {
	old := rsaJWK(t, "old")
	idp := newFakeIdP(t, old)
	clk := newClock()
	p := NewStatic(idp.srv.URL+"/jwks", Options{Now: clk.Now})
	ctx := context.Background()
	if _, err := p.KeyFor(ctx, "old"); err != nil {
		t.Fatal(err)
	}
	idp.setKeys(t, old, rsaJWK(t, "new"))
	key, err := p.KeyFor(ctx, "new")
	if err != nil {
		t.Fatal(err)
	}
	if key.KeyID() != "new" {
		t.Fatalf("kid = %q", key.KeyID())
	}
	for i := 0; i < 10; i++ {
		if _, err := p.KeyFor(ctx, "new"); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Stats().JWKSFetches; got != 2 {
		t.Fatalf("JWKS fetches = %d, want 2 (initial + one rotation refetch)", got)
	}
}

func TestUnknownKidFloodOneRefetch(t *testing.T) {
	idp := newFakeIdP(t, rsaJWK(t, "k1"))
	clk := newClock()
	p := NewStatic(idp.srv.URL+"/jwks", Options{Now: clk.Now})
	ctx := context.Background()
	if _, err := p.KeySet(ctx); err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	idp.jwksRelease.Store(&release)
	var wg sync.WaitGroup
	var unknown atomic.Int64
	const n = 1000
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.KeyFor(ctx, "attacker"); errors.Is(err, ErrUnknownKey) {
				unknown.Add(1)
			}
		}()
	}
	// Let the (single) refetch complete while the flood is in flight.
	for idp.jwksHits.Load() < 2 && unknown.Load() < n {
		time.Sleep(time.Millisecond)
	}
	close(release)
	wg.Wait()
	if got := unknown.Load(); got != n {
		t.Fatalf("%d of %d lookups returned ErrUnknownKey", got, n)
	}
	if got := p.Stats().JWKSFetches; got != 2 {
		t.Fatalf("JWKS fetches = %d, want 2 (initial + at most one refetch)", got)
	}
	// Still inside the window: the same unknown kid makes no request.
	if _, err := p.KeyFor(ctx, "attacker"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v", err)
	}
	if got := p.Stats().JWKSFetches; got != 2 {
		t.Fatalf("JWKS fetches in cooldown = %d, want 2", got)
	}
	// Another unknown kid may be a key just published: one refetch, then
	// none for it either until the window passes.
	for i := 0; i < 5; i++ {
		if _, err := p.KeyFor(ctx, "other"); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("err = %v", err)
		}
	}
	if got := p.Stats().JWKSFetches; got != 3 {
		t.Fatalf("JWKS fetches in cooldown = %d, want 3 (one for the new kid)", got)
	}
	// Known keys are served from the cache throughout.
	if _, err := p.KeyFor(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	clk.Advance(DefaultRefetchCooldown + time.Second)
	_, _ = p.KeyFor(ctx, "other")
	if got := p.Stats().JWKSFetches; got != 4 {
		t.Fatalf("JWKS fetches after cooldown = %d, want 4", got)
	}
}

func TestSelectKey(t *testing.T) {
	one := jwk.NewSet()
	_ = one.AddKey(rsaJWK(t, ""))
	two := jwk.NewSet()
	_ = two.AddKey(rsaJWK(t, "a"))
	_ = two.AddKey(rsaJWK(t, "b"))
	tests := []struct {
		name    string
		set     jwk.Set
		kid     string
		wantErr bool
	}{
		{"no kid, one key", one, "", false},
		{"no kid, two keys", two, "", true},
		{"kid found", two, "b", false},
		{"kid missing", two, "c", true},
		{"kid given, one key without kid", one, "x", true},
		{"empty set", jwk.NewSet(), "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := SelectKey(tt.set, tt.kid)
			if tt.wantErr {
				if !errors.Is(err, ErrUnknownKey) {
					t.Fatalf("err = %v, want ErrUnknownKey", err)
				}
				return
			}
			if err != nil || key == nil {
				t.Fatalf("key=%v err=%v", key, err)
			}
			if tt.kid != "" && key.KeyID() != tt.kid {
				t.Fatalf("kid = %q", key.KeyID())
			}
		})
	}
}

func TestOnlyPublicSigningKeysKept(t *testing.T) {
	sym, _ := jwk.FromRaw([]byte("0123456789abcdef0123456789abcdef"))
	_ = sym.Set(jwk.KeyIDKey, "oct")
	enc := rsaJWK(t, "enc")
	_ = enc.Set(jwk.KeyUsageKey, jwk.ForEncryption)
	idp := newFakeIdP(t, rsaJWK(t, "rsa"), ecJWK(t, "ec-private"), sym, enc)
	p := NewStatic(idp.srv.URL+"/jwks", Options{})
	ctx := context.Background()
	for _, kid := range []string{"oct", "enc"} {
		if _, err := p.KeyFor(ctx, kid); !errors.Is(err, ErrUnknownKey) {
			t.Errorf("KeyFor(%q) err = %v, want ErrUnknownKey", kid, err)
		}
	}
	for _, kid := range []string{"rsa", "ec-private"} {
		k, err := p.KeyFor(ctx, kid)
		if err != nil {
			t.Fatalf("KeyFor(%q): %v", kid, err)
		}
		if pk, ok := k.(jwk.AsymmetricKey); !ok || pk.IsPrivate() {
			t.Errorf("KeyFor(%q) returned a private or non-asymmetric key", kid)
		}
	}
}

func TestStaticHasNoConfig(t *testing.T) {
	p := NewStatic("http://127.0.0.1:1/jwks", Options{})
	if _, err := p.Config(context.Background()); !errors.Is(err, ErrNoConfiguration) {
		t.Fatalf("err = %v", err)
	}
}

func TestFetchErrors(t *testing.T) {
	redirectTarget := atomic.Int64{}
	mux := http.NewServeMux()
	mux.HandleFunc("/target", func(w http.ResponseWriter, r *http.Request) {
		redirectTarget.Add(1)
		_, _ = w.Write([]byte(`{"keys":[]}`))
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/target", http.StatusFound)
	})
	mux.HandleFunc("/500", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	mux.HandleFunc("/404", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	mux.HandleFunc("/html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte("<html><body>login</body></html>"))
	})
	mux.HandleFunc("/html-as-json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte("<html><body>login</body></html>"))
	})
	mux.HandleFunc("/notjwks", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte(`{"keys":"nope"}`)) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("a", 4096) + `"}`))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()

	tests := []struct {
		path       string
		url        string
		want       error
		wantStatus int
		noRedirect bool
	}{
		{path: "/500", want: ErrUnreachable, wantStatus: 500},
		{path: "/404", want: ErrBadResponse, wantStatus: 404},
		{path: "/redirect", want: ErrBadResponse, wantStatus: 302, noRedirect: true},
		{path: "/html", want: ErrBadResponse, wantStatus: 200},
		{path: "/html-as-json", want: ErrBadResponse, wantStatus: 200},
		{path: "/notjwks", want: ErrBadResponse, wantStatus: 200},
		{path: "/huge", want: ErrBadResponse, wantStatus: 200},
		{path: "/slow", want: ErrUnreachable},
		{url: closedURL + "/jwks", want: ErrUnreachable},
	}
	for _, tt := range tests {
		name := tt.path
		if name == "" {
			name = "connection refused"
		}
		t.Run(name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				u = srv.URL + tt.path
			}
			opts := Options{MaxBody: 1024, HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}}
			if tt.noRedirect {
				opts.MaxRedirects = -1
			}
			p := NewStatic(u, opts)
			_, err := p.KeySet(context.Background())
			var fe *FetchError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want *FetchError", err)
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if fe.Status != tt.wantStatus || fe.URL != u {
				t.Fatalf("FetchError = {URL:%q Status:%d}, want {URL:%q Status:%d}", fe.URL, fe.Status, u, tt.wantStatus)
			}
		})
	}
	if got := redirectTarget.Load(); got != 0 {
		t.Fatalf("redirect was followed %d times", got)
	}
}

func TestConfigWithoutJWKSURI(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"issuer":"https://idp.example"}`))
	}))
	defer srv.Close()
	p := New(srv.URL, Options{})
	if _, err := p.KeySet(context.Background()); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("err = %v, want ErrBadResponse", err)
	}
}

func FuzzParseDocuments(f *testing.F) {
	f.Add([]byte(`{"issuer":"x","jwks_uri":"y","id_token_signing_alg_values_supported":["RS256"]}`))
	f.Add([]byte(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","kid":"a"}]}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"","y":""}]}`))
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if cfg, err := parseConfig("u", body); err == nil && cfg.Raw == nil {
			t.Fatal("config accepted without a JSON object")
		}
		set, _, err := parseKeySet("u", body)
		if err != nil {
			return
		}
		for i := 0; i < set.Len(); i++ {
			k, _ := set.Key(i)
			if k.KeyType() == "oct" || k.KeyUsage() == string(jwk.ForEncryption) {
				t.Fatalf("unusable key kept: %v", k.KeyType())
			}
			if ak, ok := k.(jwk.AsymmetricKey); !ok || ak.IsPrivate() {
				t.Fatal("private or non-asymmetric key kept")
			}
		}
	})
}

func TestCanceledCallerDoesNotSpoilSharedFetch(t *testing.T) {
	idp := newFakeIdP(t, rsaJWK(t, "k1"))
	p := NewStatic(idp.srv.URL+"/jwks", Options{})
	release := make(chan struct{})
	idp.jwksRelease.Store(&release)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := p.KeyFor(ctx, "k1")
		done <- err
	}()
	for idp.jwksHits.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("canceled caller: err = %v", err)
	}
	patient := make(chan error, 1)
	go func() {
		_, err := p.KeyFor(context.Background(), "k1")
		patient <- err
	}()
	close(release)
	if err := <-patient; err != nil {
		t.Fatalf("other caller failed after the first hung up: %v", err)
	}
	if got := p.Stats().JWKSFetches; got != 1 {
		t.Fatalf("JWKS fetches = %d, want 1 (the detached fetch completed and was cached)", got)
	}
}

// A key replaced behind the same kid: RefetchKeysFor fetches the new set once
// per kid and cooldown window, however often it is called, and serves the
// cached keys in between.
func TestRefetchKeysForBoundedPerKid(t *testing.T) {
	old, replaced := rsaJWK(t, "k1"), rsaJWK(t, "k1")
	idp := newFakeIdP(t, old)
	clk := newClock()
	p := NewStatic(idp.srv.URL+"/jwks", Options{Now: clk.Now})
	ctx := context.Background()
	if _, err := p.KeysFor(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	idp.setKeys(t, replaced)
	same := func(keys []jwk.Key, want jwk.Key) bool {
		a, _ := keys[0].Thumbprint(crypto.SHA256)
		b, _ := want.Thumbprint(crypto.SHA256)
		return len(keys) == 1 && string(a) == string(b)
	}
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := p.RefetchKeysFor(ctx, "k1"); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got := p.Stats().JWKSFetches; got != 2 {
		t.Fatalf("JWKS fetches = %d, want 2 (initial + one refetch for k1)", got)
	}
	keys, err := p.KeysFor(ctx, "k1")
	if err != nil || !same(keys, replaced) {
		t.Fatalf("KeysFor after the refetch: %v, want the replaced key", err)
	}
	// Within the window: no fetch, the cached (new) keys.
	idp.setKeys(t, old)
	if keys, err := p.RefetchKeysFor(ctx, "k1"); err != nil || !same(keys, replaced) {
		t.Fatalf("RefetchKeysFor in the window: %v", err)
	}
	if got := p.Stats().JWKSFetches; got != 2 {
		t.Fatalf("JWKS fetches in the window = %d, want 2", got)
	}
	clk.Advance(DefaultRefetchCooldown + time.Second)
	if keys, err := p.RefetchKeysFor(ctx, "k1"); err != nil || !same(keys, old) {
		t.Fatalf("RefetchKeysFor after the window: %v", err)
	}
	if got := p.Stats().JWKSFetches; got != 3 {
		t.Fatalf("JWKS fetches after the window = %d, want 3", got)
	}
	// A kid no longer published: ErrUnknownKey.
	clk.Advance(DefaultRefetchCooldown + time.Second)
	if _, err := p.RefetchKeysFor(ctx, "gone"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
}
