package views_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"
	"github.com/alexedwards/scs/v2/memstore"
	"github.com/go-chi/chi/v5"

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
	authorizeURL   = "https://lms.example.com/oauth2/authorize"
)

// Routers the views are mounted on in the tests.
const (
	serveMux = "servemux"
	chiMux   = "chi"
)

var routers = []string{serveMux, chiMux}

// app is a service mounted on a loopback server.
type app struct {
	srv      *httptest.Server
	handler  http.Handler
	views    *views.Views
	sessions *scs.SessionManager
	svc      *socialauth.Service
	store    *testutil.MemStore
	backend  *callbackBackend
	logs     *testutil.LogBuffer
	client   *http.Client
	prefix   string // the views' prefix, under basePath
	basePath string // the base URL's path, stripped in front of the router
}

type appOptions struct {
	settings settings.Map
	prefix   string
	basePath string                // the base URL's path ("" or such as /app)
	router   string                // serveMux (default) or chiMux
	backend  *testutil.FakeBackend // nil: a default fake edx-oauth2
	others   []socialauth.Backend  // more backends
	config   func(*views.Config)   // changes to the views' Config
	extra    func(a *app, mux http.Handler) http.Handler
}

// callbackBackend is a FakeBackend that sends the strategy's CallbackURL
// as redirect_uri, as an OAuth2 backend does, and checks the state at the
// callback.
type callbackBackend struct {
	*testutil.FakeBackend
}

func (b *callbackBackend) Start(ctx context.Context, s socialauth.Strategy) (*socialauth.Response, error) {
	resp, err := b.FakeBackend.Start(ctx, s)
	if err != nil {
		return nil, err
	}
	resp.Location += "&redirect_uri=" + url.QueryEscape(s.CallbackURL(b.Name()))
	return resp, nil
}

func (b *callbackBackend) Complete(ctx context.Context, s socialauth.Strategy) (map[string]any, error) {
	if b.CompleteErr == nil {
		want, _ := s.SessionPop(b.Name() + "_state")
		if got := s.RequestData().Get("state"); got == "" || got != want {
			return nil, socialauth.NewError(socialauth.CodeAuthStateForbidden, b.Name(), "", nil)
		}
	}
	return b.FakeBackend.Complete(ctx, s)
}

func newApp(t *testing.T, opts appOptions) *app {
	t.Helper()
	a := &app{store: testutil.NewStore(), logs: &testutil.LogBuffer{}, basePath: opts.basePath}
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.handler.ServeHTTP(w, r)
	}))
	t.Cleanup(a.srv.Close)
	logger := slog.New(slog.NewJSONHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	fb := opts.backend
	if fb == nil {
		fb = &testutil.FakeBackend{
			BackendName:  backendName,
			Response:     map[string]any{"id": "jsmith", "username": "jsmith", "email": "jsmith@example.com"},
			AuthorizeURL: authorizeURL,
			Logout:       providerLogout,
		}
	}
	a.backend = &callbackBackend{fb}
	reg := append([]socialauth.Backend{a.backend}, opts.others...)
	var err error
	a.svc, err = socialauth.New(socialauth.Options{
		Storage:  a.store,
		Backends: reg,
		Steps:    pipeline.NewSteps(),
		Settings: settings.New(opts.settings),
		Logger:   logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg := views.Config{
		Service: a.svc,
		HTTP:    strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: a.srv.URL + opts.basePath},
		Logger:  logger,
	}
	if opts.config != nil {
		opts.config(&cfg)
	}
	a.views, err = views.New(opts.prefix, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a.prefix = a.views.Prefix()
	a.sessions = a.views.Sessions()
	a.handler = mount(t, a.views, opts.router)
	if opts.extra != nil {
		a.handler = opts.extra(a, a.handler)
	}
	if opts.basePath != "" {
		a.handler = http.StripPrefix(opts.basePath, a.handler)
	}
	a.client = a.srv.Client()
	a.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return a
}

// mount mounts the views' routes on router, as an app would.
func mount(t *testing.T, v *views.Views, router string) http.Handler {
	t.Helper()
	switch router {
	case "", serveMux:
		mux := http.NewServeMux()
		v.Mount(mux)
		return mux
	case chiMux:
		r := chi.NewRouter()
		for _, rt := range v.Routes() {
			if rt.Method == "" {
				r.Handle(rt.Pattern, rt.Handler)
			} else {
				r.Method(rt.Method, rt.Pattern, rt.Handler)
			}
		}
		return r
	}
	t.Fatalf("unknown router %q", router)
	return nil
}

// do sends a request and returns the answer with its body read.
func (a *app) do(t *testing.T, method, path string, body url.Values, cookie *http.Cookie, header http.Header) (*http.Response, string) {
	t.Helper()
	target := path
	if !strings.HasPrefix(path, "http://") {
		target = a.srv.URL + path
	}
	var rd io.Reader
	if body != nil {
		rd = strings.NewReader(body.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, target, rd)
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
	return logouttest.SessionChecker(a.sessions, a.views, a.svc)(t, c)
}

// path is p under the base path and the views' prefix.
func (a *app) path(p string) string { return a.basePath + a.prefix + p }

// login runs the whole flow (begin, then the provider's callback at the
// redirect_uri the backend sent) and returns the authenticated session
// cookie.
func (a *app) login(t *testing.T) *http.Cookie {
	t.Helper()
	resp, _ := a.do(t, http.MethodGet, a.path("/login/"+backendName+"/"), nil, nil, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("begin: status %d", resp.StatusCode)
	}
	c := sessionCookie(resp)
	if c == nil {
		t.Fatal("begin set no session cookie")
	}
	q := mustQuery(t, resp.Header.Get("Location"))
	resp, body := a.do(t, http.MethodGet, q.Get("redirect_uri")+"?state="+url.QueryEscape(q.Get("state")), nil, c, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("complete: status %d (%s); logs:\n%s", resp.StatusCode, body, a.logs.String())
	}
	nc := sessionCookie(resp)
	if nc == nil {
		t.Fatal("complete set no session cookie")
	}
	return nc
}

func mustQuery(t *testing.T, raw string) url.Values {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query()
}
