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

func newHTTP(t *testing.T, m settings.Map, base string) *strategies.HTTP {
	t.Helper()
	h, err := strategies.NewHTTP(strategies.HTTPConfig{
		Sessions: strategies.NewSessionManager(memstore.New(), false),
		Settings: settings.New(m),
		BaseURL:  base,
	})
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestNewHTTPValidatesBaseURL(t *testing.T) {
	good := map[string]string{
		"http://127.0.0.1:8000":   "http://127.0.0.1:8000",
		"http://127.0.0.1:8000/":  "http://127.0.0.1:8000",
		"HTTPS://Example.com":     "https://Example.com",
		"http://[::1]:8000":       "http://[::1]:8000",
		"https://sso.example.com": "https://sso.example.com",
	}
	for raw, want := range good {
		h, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: strategies.NewSessionManager(memstore.New(), false), BaseURL: raw})
		if err != nil {
			t.Errorf("%q: %v", raw, err)
			continue
		}
		if h.BaseURL() != want {
			t.Errorf("%q: BaseURL %q, want %q", raw, h.BaseURL(), want)
		}
	}
	bad := []string{"", "127.0.0.1:8000", "ftp://x", "http://", "http://u:p@x", "http://x/app", "http://x/?a=1",
		"http://x/#f", "http://x:80a", "http://x\n", "http://x y", "javascript:alert(1)", "//x", `http://x\y`}
	for _, raw := range bad {
		_, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: strategies.NewSessionManager(memstore.New(), false), BaseURL: raw})
		if !errors.Is(err, socialauth.ErrImproperlyConfigured) {
			t.Errorf("%q: err %v, want ImproperlyConfigured", raw, err)
		}
	}
}

func TestNewHTTPRejectsGobAndMissingSessions(t *testing.T) {
	if _, err := strategies.NewHTTP(strategies.HTTPConfig{BaseURL: "http://x"}); !errors.Is(err, socialauth.ErrImproperlyConfigured) {
		t.Errorf("no sessions: %v", err)
	}
	if _, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: scs.New(), BaseURL: "http://x"}); !errors.Is(err, socialauth.ErrImproperlyConfigured) {
		t.Errorf("gob codec: %v", err)
	}
}

func TestNewSessionManagerCookie(t *testing.T) {
	for _, secure := range []bool{false, true} {
		m := strategies.NewSessionManager(memstore.New(), secure)
		want := scs.SessionCookie{Name: "sessionid", HttpOnly: true, Path: "/", SameSite: http.SameSiteLaxMode, Secure: secure, Persist: true}
		if diff := cmp.Diff(want, m.Cookie); diff != "" {
			t.Errorf("secure=%v cookie (-want +got):\n%s", secure, diff)
		}
		if m.Lifetime <= 0 || m.Lifetime > 14*24*time.Hour || m.IdleTimeout <= 0 {
			t.Errorf("lifetime %v idle %v", m.Lifetime, m.IdleTimeout)
		}
	}
}

func TestAbsoluteURI(t *testing.T) {
	tests := []struct {
		https      any
		path, want string
	}{
		{nil, "/complete/edx-oauth2/", "http://127.0.0.1:8000/complete/edx-oauth2/"},
		{nil, "complete/", "http://127.0.0.1:8000/complete/"},
		{nil, "", "http://127.0.0.1:8000/"},
		{true, "/complete/x/", "https://127.0.0.1:8000/complete/x/"},
		{"true", "/", "https://127.0.0.1:8000/"},
		{false, "/", "http://127.0.0.1:8000/"},
		{nil, "https://other.example/x", "https://other.example/x"},
		{true, "http://other.example/x", "https://other.example/x"},
	}
	for _, tc := range tests {
		m := settings.Map{}
		if tc.https != nil {
			m["SOCIAL_AUTH_REDIRECT_IS_HTTPS"] = tc.https
		}
		h := newHTTP(t, m, "http://127.0.0.1:8000")
		r := httptest.NewRequest(http.MethodGet, "http://evil.example/", nil)
		r.Host = "evil.example"
		if got := h.Strategy(r).AbsoluteURI(tc.path); got != tc.want {
			t.Errorf("https=%v AbsoluteURI(%q) = %q, want %q", tc.https, tc.path, got, tc.want)
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
	h := newHTTP(t, nil, "http://x")
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
	h := newHTTP(t, nil, "http://x")
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
	h := newHTTP(t, nil, "http://x")
	st := h.Strategy(httptest.NewRequest(http.MethodGet, "/", nil))
	st.SessionSet("k", "v") // dropped, no panic
	if _, ok := st.SessionGet("k"); ok {
		t.Error("read a value without a session")
	}
	if err := st.SessionRotate(context.Background()); !errors.Is(err, socialauth.ErrImproperlyConfigured) {
		t.Errorf("rotate: %v", err)
	}
	if err := st.SessionFlush(context.Background()); !errors.Is(err, strategies.ErrNoSession) {
		t.Errorf("flush: %v", err)
	}
}

func TestRequestData(t *testing.T) {
	h := newHTTP(t, nil, "http://x")
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
	h := newHTTP(t, nil, "http://x")
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
	logger := slog.New(slog.DiscardHandler)
	client := &http.Client{}
	set := settings.New(settings.Map{"X": "1"})
	h, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: strategies.NewSessionManager(memstore.New(), true),
		Settings: set, BaseURL: "http://x", Logger: logger, HTTPClient: client})
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	st := h.Strategy(r)
	if st.Settings() != set || st.Logger() != logger || st.HTTPClient() != client || st.Request() != r {
		t.Error("accessors do not return the configured values")
	}
	d := newHTTP(t, nil, "http://x").Strategy(r)
	if d.Logger() == nil || d.HTTPClient() == nil || d.HTTPClient().Timeout == 0 || d.Settings() == nil {
		t.Error("defaults missing")
	}
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
