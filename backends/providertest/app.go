package providertest

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/views"
)

// App is a service with one backend mounted on a loopback server through
// the real views, with a MemStore, signed in as a browser would.
type App struct {
	t       testing.TB
	srv     *httptest.Server
	backend string
	client  *http.Client
	// Store holds the users and associations the sign-ins made.
	Store *testutil.MemStore
	// Logs holds the service's log lines.
	Logs *testutil.LogBuffer
	// Cookie is the browser's session cookie (nil: none yet).
	Cookie *http.Cookie
	// Iss, when set, is sent as the callback's RFC 9207 iss parameter (a
	// provider that declares authorization_response_iss_parameter_supported).
	Iss string
}

// NewApp mounts b at the root of a loopback server, with the default
// pipeline and the settings s (nil: none).
func NewApp(t testing.TB, b socialauth.Backend, s settings.Map) *App {
	t.Helper()
	a := &App{t: t, backend: b.Name(), Store: testutil.NewStore(), Logs: &testutil.LogBuffer{}}
	var h http.Handler
	a.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(a.srv.Close)
	logger := slog.New(slog.NewJSONHandler(a.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := socialauth.New(socialauth.Options{Storage: a.Store, Backends: []socialauth.Backend{b},
		Steps: pipeline.NewSteps(), Settings: settings.New(s), Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	v, err := views.New("", views.Config{Service: svc, Logger: logger,
		HTTP: strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: a.srv.URL}})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	v.Mount(mux)
	h = mux
	a.client = a.srv.Client()
	a.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return a
}

// URL is the app's base URL.
func (a *App) URL() string { return a.srv.URL }

// CallbackURL is the backend's redirect_uri.
func (a *App) CallbackURL() string { return a.srv.URL + "/complete/" + a.backend + "/" }

// Do sends a request with the session cookie (when withCookie and there is
// one), keeps a new session cookie, and returns the answer and its body.
func (a *App) Do(method, target string, form url.Values, withCookie bool) (*http.Response, string) {
	a.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = a.srv.URL + target
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, target, body)
	if err != nil {
		a.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if withCookie && a.Cookie != nil {
		req.AddCookie(a.Cookie)
	}
	resp, err := a.client.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	for _, c := range resp.Cookies() {
		if c.Name == strategies.SessionCookieName {
			a.Cookie = c
		}
	}
	return resp, string(b)
}

// Begin starts a sign-in (GET /login/<backend>/) and returns the
// authorization request's parameters; p (when not nil) learns its nonce
// and client id.
func (a *App) Begin(p *Provider) url.Values {
	a.t.Helper()
	resp, body := a.Do(http.MethodGet, "/login/"+a.backend+"/", nil, true)
	if resp.StatusCode != http.StatusFound {
		a.t.Fatalf("begin: %d %s\nlogs:\n%s", resp.StatusCode, body, a.Logs.String())
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		a.t.Fatal(err)
	}
	q := u.Query()
	if q.Get("redirect_uri") != a.CallbackURL() {
		a.t.Fatalf("redirect_uri = %q, want %q", q.Get("redirect_uri"), a.CallbackURL())
	}
	if p != nil {
		p.mu.Lock()
		p.Nonce, p.ClientID = q.Get("nonce"), q.Get("client_id")
		p.mu.Unlock()
	}
	q.Set("authorize_url", u.Scheme+"://"+u.Host+u.Path)
	return q
}

// Callback sends the provider's callback: GET with the parameters in the
// query, or POST (form_post) with them in the body.
func (a *App) Callback(method string, params url.Values) (*http.Response, string) {
	a.t.Helper()
	if a.Iss != "" && !params.Has("iss") {
		params.Set("iss", a.Iss)
	}
	if method == http.MethodPost {
		return a.Do(method, a.CallbackURL(), params, true)
	}
	return a.Do(method, a.CallbackURL()+"?"+params.Encode(), nil, true)
}

// SignIn runs a whole sign-in with the documented code and returns the
// association it made or updated; the callback must answer 302.
func (a *App) SignIn(p *Provider) *socialauth.UserSocialAuth {
	a.t.Helper()
	q := a.Begin(p)
	resp, body := a.Callback(http.MethodGet, url.Values{"code": {"documented-code"}, "state": {q.Get("state")}})
	if resp.StatusCode != http.StatusFound {
		a.t.Fatalf("complete: %d %s\nlogs:\n%s", resp.StatusCode, body, a.Logs.String())
	}
	return a.Association()
}

// Association returns the backend's only association.
func (a *App) Association() *socialauth.UserSocialAuth {
	a.t.Helper()
	var found []*socialauth.UserSocialAuth
	for _, u := range a.Store.Users() {
		list, err := a.Store.GetSocialAuthsForUser(a.t.Context(), u.ID, a.backend, 0)
		if err != nil {
			a.t.Fatal(err)
		}
		found = append(found, list...)
	}
	if len(found) != 1 {
		a.t.Fatalf("%d associations of %s, want 1", len(found), a.backend)
	}
	return found[0]
}

// User returns the only user.
func (a *App) User() *socialauth.User {
	a.t.Helper()
	users := a.Store.Users()
	if len(users) != 1 {
		a.t.Fatalf("%d users, want 1", len(users))
	}
	return users[0]
}

// ExpectError runs a sign-in whose callback (params added to the state)
// must fail with status; nothing may be stored.
func (a *App) ExpectError(p *Provider, params url.Values, status int) string {
	a.t.Helper()
	q := a.Begin(p)
	params.Set("state", q.Get("state"))
	resp, body := a.Callback(http.MethodGet, params)
	if resp.StatusCode != status {
		a.t.Fatalf("complete: %d %s, want %d\nlogs:\n%s", resp.StatusCode, body, status, a.Logs.String())
	}
	if n := len(a.Store.Users()); n != 0 {
		a.t.Fatalf("%d users stored after a failed sign-in", n)
	}
	return body
}
