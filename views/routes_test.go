package views_test

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/views"
)

func TestRouteTable(t *testing.T) {
	a := newApp(t, appOptions{prefix: "/auth/"})
	type row struct{ Method, Pattern string }
	var got []row
	for _, r := range a.views.Routes() {
		if r.Handler == nil {
			t.Errorf("%s %s: no handler", r.Method, r.Pattern)
		}
		got = append(got, row{r.Method, r.Pattern})
	}
	want := []row{
		{"GET", "/auth/login/"},
		{"", "/auth/logout/"},
		{"GET", "/auth/login/{backend}/"},
		{"POST", "/auth/login/{backend}/"},
		{"GET", "/auth/complete/{backend}/"},
		{"POST", "/auth/complete/{backend}/"},
		{"POST", "/auth/disconnect/{backend}/"},
		{"POST", "/auth/disconnect/{backend}/{association_id}/"},
		{"GET", "/auth/logout/{backend}/return/"},
		{"POST", "/auth/backchannel-logout/{backend}/"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Routes (-want +got):\n%s", diff)
	}
}

// Mounted under /auth on ServeMux and on chi, the redirect_uri sent to the
// provider is …/auth/complete/<backend>/, and a sign-in through it
// completes; disconnect and logout work under the prefix too.
func TestSignInUnderPrefix(t *testing.T) {
	for _, router := range routers {
		t.Run(router, func(t *testing.T) {
			a := newApp(t, appOptions{prefix: "/auth", router: router})
			resp, _ := a.do(t, http.MethodGet, "/auth/login/?next=/courses/", nil, nil, nil)
			if got := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || got != "/auth/login/edx-oauth2/?next=/courses/" {
				t.Fatalf("login: %d to %q", resp.StatusCode, got)
			}
			resp, _ = a.do(t, http.MethodGet, "/auth/login/edx-oauth2/?next=/courses/", nil, nil, nil)
			if resp.StatusCode != http.StatusFound {
				t.Fatalf("begin: status %d", resp.StatusCode)
			}
			q := mustQuery(t, resp.Header.Get("Location"))
			if got, want := q.Get("redirect_uri"), a.srv.URL+"/auth/complete/edx-oauth2/"; got != want {
				t.Errorf("redirect_uri %q, want %q", got, want)
			}
			c := sessionCookie(resp)
			resp, body := a.do(t, http.MethodGet, q.Get("redirect_uri")+"?state="+url.QueryEscape(q.Get("state")), nil, c, nil)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/courses/" {
				t.Fatalf("complete: %d to %q (%s); logs:\n%s", resp.StatusCode, resp.Header.Get("Location"), body, a.logs.String())
			}
			post := sessionCookie(resp)
			if !a.authenticated(t, post) {
				t.Fatal("the sign-in did not authenticate the session")
			}
			if n := len(a.store.Users()); n != 1 {
				t.Errorf("%d users, want 1", n)
			}
			// Disconnect under the prefix reaches the view (last login method: 403).
			resp, _ = a.do(t, http.MethodPost, "/auth/disconnect/edx-oauth2/", url.Values{}, post, http.Header{"Origin": {a.srv.URL}})
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("disconnect: status %d, want 403", resp.StatusCode)
			}
			resp, _ = a.do(t, http.MethodGet, "/auth/logout/", nil, post, nil)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != providerLogout {
				t.Errorf("logout: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
			}
			if a.authenticated(t, post) {
				t.Error("the session authenticates after logout")
			}
			// Paths outside the prefix are not the views'.
			resp, _ = a.do(t, http.MethodGet, "/login/edx-oauth2/", nil, nil, nil)
			if resp.StatusCode != http.StatusNotFound {
				t.Errorf("/login/edx-oauth2/ without the prefix: status %d, want 404", resp.StatusCode)
			}
		})
	}
}

// A service behind a reverse proxy at <host>/app (the proxy strips /app):
// the redirect_uri and the redirects the views send carry /app.
func TestBaseURLWithPath(t *testing.T) {
	for _, router := range routers {
		t.Run(router, func(t *testing.T) {
			a := newApp(t, appOptions{prefix: "/auth", basePath: "/app", router: router,
				extra: func(a *app, h http.Handler) http.Handler {
					mux := http.NewServeMux()
					mux.Handle("/", h)
					mux.Handle("/private/", a.views.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						_, _ = io.WriteString(w, "hello "+views.CurrentUser(r).Username)
					})))
					return mux
				}})
			resp, _ := a.do(t, http.MethodGet, "/app/private/page?x=1", nil, nil, nil)
			if got, want := resp.Header.Get("Location"), "/app/auth/login/?next=%2Fapp%2Fprivate%2Fpage%3Fx%3D1"; got != want {
				t.Errorf("RequireLogin: Location %q, want %q", got, want)
			}
			resp, _ = a.do(t, http.MethodGet, "/app/auth/login/?next=/app/private/page", nil, nil, nil)
			if got, want := resp.Header.Get("Location"), "/app/auth/login/edx-oauth2/?next=/app/private/page"; got != want {
				t.Errorf("login: Location %q, want %q", got, want)
			}
			resp, _ = a.do(t, http.MethodGet, "/app/auth/login/edx-oauth2/?next=/app/private/page", nil, nil, nil)
			q := mustQuery(t, resp.Header.Get("Location"))
			if got, want := q.Get("redirect_uri"), a.srv.URL+"/app/auth/complete/edx-oauth2/"; got != want {
				t.Errorf("redirect_uri %q, want %q", got, want)
			}
			resp, body := a.do(t, http.MethodGet, q.Get("redirect_uri")+"?state="+url.QueryEscape(q.Get("state")), nil, sessionCookie(resp), nil)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/app/private/page" {
				t.Fatalf("complete: %d to %q (%s)", resp.StatusCode, resp.Header.Get("Location"), body)
			}
			resp, body = a.do(t, http.MethodGet, "/app/private/page", nil, sessionCookie(resp), nil)
			if resp.StatusCode != http.StatusOK || body != "hello jsmith" {
				t.Errorf("private page after sign-in: %d %q", resp.StatusCode, body)
			}
		})
	}
}

// A route's handler finds its {backend} without the router's help: under a
// router that sets no path values, or behind a stripped prefix.
func TestRouteHandlerWithoutRouterPathValues(t *testing.T) {
	a := newApp(t, appOptions{prefix: "/auth"})
	handlers := map[string]http.Handler{}
	for _, r := range a.views.Routes() {
		handlers[r.Method+" "+r.Pattern] = r.Handler
	}
	begin := handlers["GET /auth/login/{backend}/"]
	for _, path := range []string{"/auth/login/edx-oauth2/", "/login/edx-oauth2/", "/auth/login/edx%2Doauth2/"} {
		w := httptest.NewRecorder()
		begin.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusFound || !strings.HasPrefix(w.Header().Get("Location"), authorizeURL+"?") {
			t.Errorf("%s: %d to %q, want the provider", path, w.Code, w.Header().Get("Location"))
		}
	}
	// A path that does not end like the pattern names no backend: 404.
	for _, path := range []string{"/auth/login/", "/auth/other/edx-oauth2/", "/auth/login/edx-oauth2"} {
		w := httptest.NewRecorder()
		begin.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		if w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", path, w.Code)
		}
	}
	// Both wildcards of the disconnect route.
	c := a.login(t)
	if err := a.store.SetUsablePassword(a.store.Users()[0].ID, true); err != nil {
		t.Fatal(err)
	}
	id := a.store.SocialAuths()[0].ID
	req := httptest.NewRequest(http.MethodPost, "/auth/disconnect/edx-oauth2/"+strconv.FormatInt(id, 10)+"/", nil)
	req.AddCookie(c)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	w := httptest.NewRecorder()
	handlers["POST /auth/disconnect/{backend}/{association_id}/"].ServeHTTP(w, req)
	if w.Code != http.StatusFound || len(a.store.SocialAuths()) != 0 {
		t.Errorf("disconnect by id: %d, %d associations left", w.Code, len(a.store.SocialAuths()))
	}
}

// The whole set as one http.Handler.
func TestHandler(t *testing.T) {
	a := newApp(t, appOptions{prefix: "/auth"})
	srv := httptest.NewServer(a.views.Handler())
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for path, want := range map[string]int{"/auth/login/": 302, "/auth/login/edx-oauth2/": 302, "/auth/logout/": 302, "/other/": 404, "/login/": 404} {
		resp, err := client.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s: status %d, want %d", path, resp.StatusCode, want)
		}
	}
}

func TestRequireLogin(t *testing.T) {
	for _, router := range routers {
		t.Run(router, func(t *testing.T) { testRequireLogin(t, router, nil, "/auth/login/?next=") })
	}
	t.Run("LOGIN_URL", func(t *testing.T) {
		testRequireLogin(t, serveMux, settings.Map{"LOGIN_URL": "/accounts/login/?lang=fr"}, "/accounts/login/?lang=fr&next=")
	})
}

func testRequireLogin(t *testing.T, router string, set settings.Map, wantLogin string) {
	var seen *socialauth.User
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = views.CurrentUser(r)
		if views.UserFrom(r.Context()) != seen {
			t.Error("CurrentUser and UserFrom disagree")
		}
		_, _ = io.WriteString(w, "private")
	})
	a := newApp(t, appOptions{prefix: "/auth", router: router, settings: set,
		extra: func(a *app, h http.Handler) http.Handler {
			mux := http.NewServeMux()
			mux.Handle("/auth/", h)
			mux.Handle("/private/", a.views.RequireLogin(page))
			return mux
		}})

	// Anonymous GET (and HEAD): 302 to the sign-in, next = path and query.
	for _, m := range []string{http.MethodGet, http.MethodHead} {
		resp, _ := a.do(t, m, "/private/x?y=1&z=%2F", nil, nil, nil)
		if want := wantLogin + url.QueryEscape("/private/x?y=1&z=%2F"); resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
			t.Errorf("anonymous %s: %d to %q, want 302 to %q", m, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// Anonymous POST: 401.
	resp, _ := a.do(t, http.MethodPost, "/private/x", url.Values{}, nil, nil)
	if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("Location") != "" {
		t.Errorf("anonymous POST: %d to %q, want 401", resp.StatusCode, resp.Header.Get("Location"))
	}
	if seen != nil {
		t.Fatal("the page ran for an anonymous request")
	}
	// Following the redirect signs in and comes back.
	if set == nil {
		resp, _ = a.do(t, http.MethodGet, "/private/x?y=1", nil, nil, nil)
		resp, _ = a.do(t, http.MethodGet, resp.Header.Get("Location"), nil, nil, nil)
		resp, _ = a.do(t, http.MethodGet, resp.Header.Get("Location"), nil, nil, nil)
		q := mustQuery(t, resp.Header.Get("Location"))
		resp, _ = a.do(t, http.MethodGet, q.Get("redirect_uri")+"?state="+url.QueryEscape(q.Get("state")), nil, sessionCookie(resp), nil)
		if got := resp.Header.Get("Location"); got != "/private/x?y=1" {
			t.Errorf("after sign-in: Location %q, want /private/x?y=1", got)
		}
	}
	// Signed in: the page runs with the user.
	c := a.login(t)
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		seen = nil
		resp, body := a.do(t, m, "/private/x", url.Values{}, c, nil)
		if resp.StatusCode != http.StatusOK || body != "private" {
			t.Errorf("signed-in %s: %d %q", m, resp.StatusCode, body)
		}
		if seen == nil || seen.Username != "jsmith" {
			t.Errorf("signed-in %s: CurrentUser %+v, want jsmith", m, seen)
		}
	}
	// An inactive user is anonymous.
	u := a.store.Users()[0]
	u.IsActive = false
	if err := a.store.UpdateUser(t.Context(), u, []string{"is_active"}); err != nil {
		t.Fatal(err)
	}
	seen = nil
	resp, _ = a.do(t, http.MethodGet, "/private/x", nil, c, nil)
	if resp.StatusCode != http.StatusFound || seen != nil {
		t.Errorf("inactive user: %d, page ran: %v", resp.StatusCode, seen != nil)
	}
}

func TestLoadUser(t *testing.T) {
	var seen *socialauth.User
	ran := 0
	a := newApp(t, appOptions{extra: func(a *app, h http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("/", h)
		mux.Handle("/home/", a.views.LoadUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ran++
			seen = views.CurrentUser(r)
		})))
		return mux
	}})
	resp, _ := a.do(t, http.MethodGet, "/home/", nil, nil, nil)
	if resp.StatusCode != http.StatusOK || ran != 1 || seen != nil {
		t.Errorf("anonymous: %d, ran %d, user %+v", resp.StatusCode, ran, seen)
	}
	c := a.login(t)
	resp, _ = a.do(t, http.MethodGet, "/home/", nil, c, nil)
	if resp.StatusCode != http.StatusOK || seen == nil || seen.Username != "jsmith" {
		t.Errorf("signed in: %d, user %+v", resp.StatusCode, seen)
	}
	if views.UserFrom(t.Context()) != nil || views.CurrentUser(httptest.NewRequest(http.MethodGet, "/", nil)) != nil {
		t.Error("a user outside the middleware")
	}
}

// The app may wrap its whole mux in the same session manager: the routes
// and RequireLogin then use the session already loaded (one commit, one
// cookie).
func TestAppLoadsTheSession(t *testing.T) {
	a := newApp(t, appOptions{extra: func(a *app, h http.Handler) http.Handler {
		return a.sessions.LoadAndSave(h)
	}})
	resp, _ := a.do(t, http.MethodGet, "/login/edx-oauth2/", nil, nil, nil)
	if n := len(resp.Header.Values("Set-Cookie")); n != 1 {
		t.Errorf("%d Set-Cookie headers, want 1", n)
	}
	c := a.login(t)
	if !a.authenticated(t, c) {
		t.Error("sign-in inside the app's LoadAndSave did not authenticate")
	}
}

// The login and logout routes' backend: the only one the Service serves,
// else Config.DefaultBackend, which is then required.
func TestDefaultBackend(t *testing.T) {
	other := &testutil.FakeBackend{BackendName: "other", Logout: "https://other.example/logout"}
	a := newApp(t, appOptions{others: []socialauth.Backend{other}, config: func(c *views.Config) { c.DefaultBackend = "other" }})
	resp, _ := a.do(t, http.MethodGet, "/login/?next=/x", nil, nil, nil)
	if got := resp.Header.Get("Location"); got != "/login/other/?next=/x" {
		t.Errorf("login: Location %q", got)
	}
	resp, _ = a.do(t, http.MethodGet, "/logout/", nil, nil, nil)
	if got := resp.Header.Get("Location"); got != "https://other.example/logout" {
		t.Errorf("logout: Location %q", got)
	}
	_, err := views.New("", views.Config{Service: a.svc, HTTP: strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://x"}})
	if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), "DefaultBackend") {
		t.Errorf("two backends, no DefaultBackend: err %v, want ImproperlyConfigured naming DefaultBackend", err)
	}
	// One backend: it is the default.
	one := newApp(t, appOptions{})
	if got := one.views.DefaultBackend(); got != backendName {
		t.Errorf("DefaultBackend() = %q, want %q", got, backendName)
	}
}

// A StrategyFactory replaces the net/http strategy; with a Sessions method
// the routes load its manager.
func TestStrategyFactoryOverride(t *testing.T) {
	a := newApp(t, appOptions{})
	h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "https://sso.example.com", Prefix: "/sso"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := views.New("/sso", views.Config{Service: a.svc, Strategies: h, HTTP: strategies.HTTPConfig{BaseURL: "ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	if v.Sessions() != h.Sessions() {
		t.Error("the views do not load the factory's session manager")
	}
	mux := http.NewServeMux()
	v.Mount(mux)
	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/sso/login/edx-oauth2/", nil))
	q := mustQuery(t, w.Header().Get("Location"))
	if got := q.Get("redirect_uri"); got != "https://sso.example.com/sso/complete/edx-oauth2/" {
		t.Errorf("redirect_uri %q", got)
	}
	if len(w.Result().Cookies()) != 1 {
		t.Error("the route did not load and save the session")
	}
}
