package views_test

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/logouttest"
	"github.com/socialauth-go/socialauth/views"
)

const (
	backendName    = "edx-oauth2"
	providerLogout = "https://www.example.com/logout"
)

// app is a service mounted on a loopback server.
type app struct {
	srv      *httptest.Server
	mux      *http.ServeMux
	sessions *scs.SessionManager
	strat    *strategies.HTTP
	svc      *socialauth.Service
	store    *testutil.MemStore
	backend  *testutil.FakeBackend
	logs     *testutil.LogBuffer
	client   *http.Client
}

type appOptions struct {
	settings settings.Map
	prefix   string
	backend  *testutil.FakeBackend // nil: a default fake edx-oauth2
	logout   func(v *views.Views) http.Handler
}

func newApp(t *testing.T, opts appOptions) *app {
	t.Helper()
	a := &app{mux: http.NewServeMux(), store: testutil.NewStore(), logs: &testutil.LogBuffer{}}
	a.srv = httptest.NewServer(a.mux)
	t.Cleanup(a.srv.Close)
	logger := slog.New(slog.NewJSONHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	a.backend = opts.backend
	if a.backend == nil {
		a.backend = &testutil.FakeBackend{
			BackendName:  backendName,
			Response:     map[string]any{"id": "jsmith", "username": "jsmith", "email": "jsmith@example.com"},
			AuthorizeURL: "https://lms.example.com/oauth2/authorize",
			Logout:       providerLogout,
		}
	}
	var err error
	a.svc, err = socialauth.New(socialauth.Options{
		Storage:  a.store,
		Backends: socialauth.NewRegistry(a.backend),
		Steps:    pipeline.NewSteps(),
		Logger:   logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	a.sessions = strategies.NewSessionManager(memstore.New(), false)
	a.strat, err = strategies.NewHTTP(strategies.HTTPConfig{
		Sessions: a.sessions,
		Settings: settings.New(opts.settings),
		BaseURL:  a.srv.URL,
		Logger:   logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := views.Config{Service: a.svc, Strategies: a.strat, Sessions: a.sessions, Logger: logger}
	if opts.logout != nil {
		v, err := views.New(opts.prefix, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.LogoutHandler = opts.logout(v)
	}
	if err := views.Routes(a.mux, opts.prefix, cfg); err != nil {
		t.Fatal(err)
	}
	a.client = a.srv.Client()
	a.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return a
}

// do sends a request and returns the answer with its body read.
func (a *app) do(t *testing.T, method, path string, body url.Values, cookie *http.Cookie, header http.Header) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, a.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	if cookie != nil {
		req.AddCookie(cookie)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// sessionCookie returns the session cookie set by resp, or nil.
func sessionCookie(resp *http.Response) *http.Cookie {
	for _, c := range resp.Cookies() {
		if c.Name == strategies.SessionCookieName {
			return c
		}
	}
	return nil
}

func (a *app) authenticated(t *testing.T, c *http.Cookie) bool {
	t.Helper()
	return logouttest.SessionChecker(a.sessions, a.strat, a.svc)(t, c)
}

// login runs the whole flow (begin, then the provider's callback) and
// returns the authenticated session cookie.
func (a *app) login(t *testing.T) *http.Cookie {
	t.Helper()
	resp, _ := a.do(t, http.MethodGet, "/login/"+backendName+"/", nil, nil, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("begin: status %d", resp.StatusCode)
	}
	c := sessionCookie(resp)
	if c == nil {
		t.Fatal("begin set no session cookie")
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	resp, _ = a.do(t, http.MethodGet, "/complete/"+backendName+"/?state="+loc.Query().Get("state"), nil, c, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("complete: status %d", resp.StatusCode)
	}
	nc := sessionCookie(resp)
	if nc == nil {
		t.Fatal("complete set no session cookie")
	}
	return nc
}
