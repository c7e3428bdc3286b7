package strategies_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
)

func newHTTP(t *testing.T, base string) *strategies.HTTP {
	t.Helper()
	h, err := strategies.NewHTTP(strategies.HTTPConfig{
		SessionStore: memstore.New(),
		BaseURL:      base,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewHTTPValidatesBaseURL(t *testing.T) {
	good := map[string]string{
		"http://127.0.0.1:8000":       "http://127.0.0.1:8000",
		"http://127.0.0.1:8000/":      "http://127.0.0.1:8000",
		"HTTPS://Example.com":         "https://Example.com",
		"http://[::1]:8000":           "http://[::1]:8000",
		"https://sso.example.com":     "https://sso.example.com",
		"http://x/app":                "http://x/app",
		"https://x/app/":              "https://x/app",
		"https://x/a/b":               "https://x/a/b",
		"https://x/my%20app":          "https://x/my%20app",
		"https://x:8443/service/auth": "https://x:8443/service/auth",
		"http://x/{a}":                "http://x/%7Ba%7D",
	}
	for raw, want := range good {
		h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: raw})
		if err != nil {
			t.Errorf("%q: %v", raw, err)
			continue
		}
		if h.BaseURL() != want {
			t.Errorf("%q: BaseURL %q, want %q", raw, h.BaseURL(), want)
		}
	}
	bad := []string{"", "127.0.0.1:8000", "ftp://x", "http://", "http://u:p@x", "http://x/?a=1",
		"http://x/#f", "http://x:80a", "http://x\n", "http://x y", "javascript:alert(1)", "//x", `http://x\y`,
		"http://x/a/../b", "http://x//a", "http://x/./a", "http://x/a%2Fb"}
	for _, raw := range bad {
		_, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: raw})
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) {
			t.Errorf("%q: err %v, want ImproperlyConfigured", raw, err)
		}
	}
}

func TestNewHTTPValidatesPrefix(t *testing.T) {
	good := map[string]string{"": "", "/": "", "/auth": "/auth", "/auth/": "/auth", "/a/b": "/a/b"}
	for raw, want := range good {
		h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://x", Prefix: raw})
		if err != nil {
			t.Errorf("%q: %v", raw, err)
			continue
		}
		if h.Prefix() != want {
			t.Errorf("%q: Prefix %q, want %q", raw, h.Prefix(), want)
		}
	}
	for _, raw := range []string{"auth", "/a/../b", "/a b", "/{x}", "//evil", "/a?b", "/a#b", "/a%2F"} {
		_, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://x", Prefix: raw})
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) {
			t.Errorf("%q: err %v, want ImproperlyConfigured", raw, err)
		}
	}
}

func TestNewHTTPRejectsGobAndMissingSessions(t *testing.T) {
	if _, err := strategies.NewHTTP(strategies.HTTPConfig{BaseURL: "http://x"}); !errors.Is(err, socialauth.CodeImproperlyConfigured) {
		t.Errorf("no sessions: %v", err)
	}
	if _, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: scs.New(), BaseURL: "http://x"}); !errors.Is(err, socialauth.CodeImproperlyConfigured) {
		t.Errorf("gob codec: %v", err)
	}
}

// The session cookie's Secure flag follows the base URL's scheme: derived
// when NewHTTP builds the manager, checked when the app gives one.
func TestSessionCookieSecureFollowsBaseURL(t *testing.T) {
	for base, secure := range map[string]bool{"http://x": false, "https://x": true, "https://x/app": true} {
		h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: base})
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		if got := h.Sessions().Cookie.Secure; got != secure {
			t.Errorf("%s: Secure %v, want %v", base, got, secure)
		}
		if _, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: strategies.NewSessionManager(memstore.New(), secure), BaseURL: base}); err != nil {
			t.Errorf("%s with a matching manager: %v", base, err)
		}
		_, err = strategies.NewHTTP(strategies.HTTPConfig{Sessions: strategies.NewSessionManager(memstore.New(), !secure), BaseURL: base})
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), "Secure") {
			t.Errorf("%s with Secure=%v: err %v, want ImproperlyConfigured naming Secure", base, !secure, err)
		}
	}
}

// REDIRECT_IS_HTTPS asks for https redirect URIs: with an http base URL it
// is a start-up error naming the setting, never a silent switch to https.
func TestRedirectIsHTTPS(t *testing.T) {
	t.Run("option", func(t *testing.T) {
		_, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://x", RedirectIsHTTPS: true})
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), "REDIRECT_IS_HTTPS") {
			t.Errorf("http base, RedirectIsHTTPS: err %v, want ImproperlyConfigured naming REDIRECT_IS_HTTPS", err)
		}
		h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "https://x", RedirectIsHTTPS: true})
		if err != nil {
			t.Fatal(err)
		}
		if got := h.CallbackURL("b"); got != "https://x/complete/b/" {
			t.Errorf("CallbackURL %q", got)
		}
	})
	tests := []struct {
		name    string
		m       settings.Map
		base    string
		want    bool
		wantErr string // the key the error names
	}{
		{"unset keeps the option", nil, "http://x", false, ""},
		{"true over https", settings.Map{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": true}, "https://x", true, ""},
		{"false over http", settings.Map{"REDIRECT_IS_HTTPS": "false"}, "http://x", false, ""},
		{"true over http", settings.Map{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": true}, "http://x", false, "SOCIAL_AUTH_REDIRECT_IS_HTTPS"},
		{"true over http, short name", settings.Map{"REDIRECT_IS_HTTPS": "true"}, "http://127.0.0.1:8000", false, "REDIRECT_IS_HTTPS"},
		{"malformed", settings.Map{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": "maybe"}, "https://x", false, "SOCIAL_AUTH_REDIRECT_IS_HTTPS"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := strategies.HTTPConfigFrom(settings.New(tc.m), strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: tc.base})
			if tc.wantErr != "" {
				if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err %v, want ImproperlyConfigured naming %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RedirectIsHTTPS != tc.want {
				t.Errorf("RedirectIsHTTPS %v, want %v", cfg.RedirectIsHTTPS, tc.want)
			}
			if _, err := strategies.NewHTTP(cfg); err != nil {
				t.Errorf("NewHTTP: %v", err)
			}
		})
	}
	if _, err := strategies.HTTPConfigFrom(nil, strategies.HTTPConfig{BaseURL: "http://x"}); err != nil {
		t.Errorf("nil settings: %v", err)
	}
}

func TestAbsoluteURI(t *testing.T) {
	tests := []struct {
		base, path, want string
	}{
		{"http://127.0.0.1:8000", "/complete/edx-oauth2/", "http://127.0.0.1:8000/complete/edx-oauth2/"},
		{"http://127.0.0.1:8000", "complete/", "http://127.0.0.1:8000/complete/"},
		{"http://127.0.0.1:8000", "", "http://127.0.0.1:8000/"},
		{"https://127.0.0.1:8000", "/complete/x/", "https://127.0.0.1:8000/complete/x/"},
		{"https://127.0.0.1:8000/", "/", "https://127.0.0.1:8000/"},
		{"https://example.com/app", "/", "https://example.com/app/"},
		{"https://example.com/app/", "/x?y=1", "https://example.com/app/x?y=1"},
		{"http://127.0.0.1:8000", "https://other.example/x", "https://other.example/x"},
		{"https://127.0.0.1:8000", "http://other.example/x", "http://other.example/x"},
	}
	for _, tc := range tests {
		h := newHTTP(t, tc.base)
		r := httptest.NewRequest(http.MethodGet, "http://evil.example/", nil)
		r.Host = "evil.example"
		if got := h.Strategy(r).AbsoluteURI(tc.path); got != tc.want {
			t.Errorf("base %s: AbsoluteURI(%q) = %q, want %q", tc.base, tc.path, got, tc.want)
		}
	}
}

// The mount prefix and the base URL's path reach the redirect_uri.
func TestCallbackURL(t *testing.T) {
	tests := []struct {
		base, prefix, backend, want string
	}{
		{"http://127.0.0.1:8000", "", "edx-oauth2", "http://127.0.0.1:8000/complete/edx-oauth2/"},
		{"http://127.0.0.1:8000/", "/auth", "edx-oauth2", "http://127.0.0.1:8000/auth/complete/edx-oauth2/"},
		{"https://host/app", "/auth/", "edx-oauth2", "https://host/app/auth/complete/edx-oauth2/"},
		{"https://host/app/", "", "edx-oauth2", "https://host/app/complete/edx-oauth2/"},
		{"https://host", "/auth", "a b/c?", "https://host/auth/complete/a%20b%2Fc%3F/"},
	}
	for _, tc := range tests {
		h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: tc.base, Prefix: tc.prefix})
		if err != nil {
			t.Fatal(err)
		}
		if got := h.CallbackURL(tc.backend); got != tc.want {
			t.Errorf("%s + %s: CallbackURL(%q) = %q, want %q", tc.base, tc.prefix, tc.backend, got, tc.want)
		}
		st := h.Strategy(httptest.NewRequest(http.MethodGet, "http://evil.example/x/", nil))
		if got := st.CallbackURL(tc.backend); got != tc.want {
			t.Errorf("strategy CallbackURL(%q) = %q, want %q", tc.backend, got, tc.want)
		}
	}
}

// serve runs fn inside LoadAndSave for a request with cookie and returns
// the answer.
func serve(t *testing.T, h *strategies.HTTP, r *http.Request, cookie *http.Cookie, fn func(st socialauth.Strategy)) *http.Response {
	t.Helper()
	if cookie != nil {
		r.AddCookie(cookie)
	}
	w := httptest.NewRecorder()
	h.Sessions().LoadAndSave(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		fn(h.Strategy(r))
	})).ServeHTTP(w, r)
	return w.Result()
}

func cookieOf(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == strategies.SessionCookieName {
			return c
		}
	}
	return nil
}

func TestSessionValuesRoundTrip(t *testing.T) {
	h := newHTTP(t, "http://x")
	values := map[string]any{
		"s":  "text",
		"b":  true,
		"i":  42,
		"i6": int64(1) << 60,
		"f":  1.5,
		"l":  []string{"a", "b"},
		"m":  map[string]string{"state": "abc", "verifier": "v"},
	}
	resp := serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), nil, func(st socialauth.Strategy) {
		for k, v := range values {
			st.SessionSet(k, v)
		}
		st.SessionSet("conv", map[string]any{"k": "v"})
		st.SessionSet("bad", struct{}{})
	})
	c := cookieOf(resp)
	if c == nil {
		t.Fatal("no session cookie")
	}
	serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), c, func(st socialauth.Strategy) {
		for k, want := range values {
			got, ok := st.SessionGet(k)
			if !ok {
				t.Errorf("%s missing", k)
				continue
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("%s (-want +got):\n%s", k, diff)
			}
		}
		if got, _ := st.SessionGet("conv"); !cmp.Equal(got, map[string]string{"k": "v"}) {
			t.Errorf("conv = %#v", got)
		}
		if _, ok := st.SessionGet("bad"); ok {
			t.Error("an unsupported value was stored")
		}
		// A copy: changing it does not change the session.
		m, _ := st.SessionGet("m")
		m.(map[string]string)["state"] = "changed"
		if again, _ := st.SessionGet("m"); again.(map[string]string)["state"] != "abc" {
			t.Error("SessionGet returned the session's own map")
		}
		if v, ok := st.SessionPop("s"); !ok || v != "text" {
			t.Errorf("pop = %v, %v", v, ok)
		}
		if _, ok := st.SessionPop("s"); ok {
			t.Error("popped twice")
		}
	})
}

func TestSessionRotateAndFlush(t *testing.T) {
	h := newHTTP(t, "http://x")
	resp := serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), nil, func(st socialauth.Strategy) {
		st.SessionSet("k", "v")
	})
	first := cookieOf(resp)

	resp = serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), first, func(st socialauth.Strategy) {
		if err := st.SessionRotate(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
	rotated := cookieOf(resp)
	if rotated == nil || rotated.Value == first.Value {
		t.Fatalf("rotate did not issue a new token: %v", rotated)
	}
	serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), first, func(st socialauth.Strategy) {
		if _, ok := st.SessionGet("k"); ok {
			t.Error("the old token still reads the session")
		}
	})
	serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), rotated, func(st socialauth.Strategy) {
		if v, _ := st.SessionGet("k"); v != "v" {
			t.Error("rotation lost the data")
		}
	})

	resp = serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), rotated, func(st socialauth.Strategy) {
		if err := st.SessionFlush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if _, ok := st.SessionGet("k"); ok {
			t.Error("flush kept data")
		}
		st.SessionSet("after", "x")
	})
	fresh := cookieOf(resp)
	if fresh == nil || fresh.Value == "" || fresh.Value == rotated.Value {
		t.Fatalf("flush then write: cookie %v, want a fresh token", fresh)
	}
	serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), rotated, func(st socialauth.Strategy) {
		if _, ok := st.SessionGet("k"); ok {
			t.Error("the flushed token still reads the session")
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), nil, func(st socialauth.Strategy) {
		if err := st.SessionRotate(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("rotate with a canceled context: %v", err)
		}
	})
}

func TestStrategyWithoutLoadedSession(t *testing.T) {
	h := newHTTP(t, "http://x")
	st := h.Strategy(httptest.NewRequest(http.MethodGet, "/", nil))
	st.SessionSet("k", "v") // dropped, no panic
	if _, ok := st.SessionGet("k"); ok {
		t.Error("read a value without a session")
	}
	if err := st.SessionRotate(context.Background()); !errors.Is(err, socialauth.CodeImproperlyConfigured) {
		t.Errorf("rotate: %v", err)
	}
	if err := st.SessionFlush(context.Background()); !errors.Is(err, strategies.ErrNoSession) {
		t.Errorf("flush: %v", err)
	}
}

func TestRequestData(t *testing.T) {
	h := newHTTP(t, "http://x")
	tests := []struct {
		name  string
		query string
		body  string
		want  url.Values
	}{
		{"query only", "a=1&b=2", "", url.Values{"a": {"1"}, "b": {"2"}}},
		{"form first", "a=q&c=3", "a=f", url.Values{"a": {"f", "q"}, "c": {"3"}}},
		{"malformed query pairs skipped", "a=1&b=%zz&c=3", "", url.Values{"a": {"1"}, "c": {"3"}}},
		{"oversized body ignored", "a=1", "state=" + strings.Repeat("x", strategies.MaxFormBytes), url.Values{"a": {"1"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var r *http.Request
			if tc.body != "" {
				r = httptest.NewRequest(http.MethodPost, "/?"+tc.query, strings.NewReader(tc.body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			} else {
				r = httptest.NewRequest(http.MethodGet, "/?"+tc.query, nil)
			}
			st := h.Strategy(r)
			got := st.RequestData()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
			got.Set("a", "mutated")
			if st.RequestData().Get("a") == "mutated" {
				t.Error("RequestData returned its own map")
			}
		})
	}
}

func TestRequestDataBodyReadIsBounded(t *testing.T) {
	h := newHTTP(t, "http://x")
	body := &countingReader{r: strings.NewReader(strings.Repeat("a", 10<<20))}
	r := httptest.NewRequest(http.MethodPost, "/", body)
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	h.Strategy(r).RequestData()
	if body.n > strategies.MaxFormBytes+4096 {
		t.Errorf("read %d bytes of the body, limit %d", body.n, strategies.MaxFormBytes)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestStrategyAccessors(t *testing.T) {
	sessions := strategies.NewSessionManager(memstore.New(), true)
	h, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: sessions, BaseURL: "https://x", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if st := h.Strategy(r); st.Request() != r {
		t.Error("Request does not return the request")
	}
	if h.Sessions() != sessions {
		t.Error("Sessions does not return the configured manager")
	}
	if strategies.SessionLoaded(sessions, r.Context()) {
		t.Error("SessionLoaded outside LoadAndSave")
	}
	serve(t, h, httptest.NewRequest(http.MethodGet, "/", nil), nil, func(st socialauth.Strategy) {
		if !strategies.SessionLoaded(sessions, st.Request().Context()) {
			t.Error("SessionLoaded inside LoadAndSave is false")
		}
	})
}

func TestSessionCodec(t *testing.T) {
	c := strategies.SessionCodec{}
	deadline := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	in := map[string]any{"s": "x", "t": deadline, "by": []byte("raw"), "n": []string(nil)}
	b, err := c.Encode(deadline, in)
	if err != nil {
		t.Fatal(err)
	}
	d, out, err := c.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Equal(deadline) {
		t.Errorf("deadline %v", d)
	}
	want := map[string]any{"s": "x", "t": deadline, "by": []byte("raw"), "n": []string{}}
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := c.Encode(deadline, map[string]any{"k": struct{ Secret string }{"hunter2"}}); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unsupported type: err %v (must fail without the value)", err)
	}
	for _, bad := range []string{"", "{", `{"values":{"k":{"t":"nope","v":1}}}`, `{"values":{"k":{"t":"int","v":"x"}}}`} {
		if _, _, err := c.Decode([]byte(bad)); err == nil {
			t.Errorf("Decode(%q) succeeded", bad)
		}
	}
}
