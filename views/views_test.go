package views_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/logouttest"
	"github.com/socialauth-go/socialauth/views"
)

func TestLoginViewRedirect(t *testing.T) {
	tests := []struct {
		prefix, path, want string
	}{
		{"", "/login/?next=/test/", "/login/edx-oauth2/?next=/test/"},
		{"", "/login/", "/login/edx-oauth2/"},
		{"", "/login/?next=%2Fa%3Fb%3D1&x=1&x=2", "/login/edx-oauth2/?next=%2Fa%3Fb%3D1&x=1&x=2"},
		{"/auth", "/auth/login/?next=/test/", "/auth/login/edx-oauth2/?next=/test/"},
		{"/auth/", "/auth/login/?next=/test/", "/auth/login/edx-oauth2/?next=/test/"},
	}
	for _, router := range routers {
		for _, tc := range tests {
			t.Run(router+tc.prefix+tc.path, func(t *testing.T) {
				a := newApp(t, appOptions{prefix: tc.prefix, router: router})
				resp, _ := a.do(t, http.MethodGet, tc.path, nil, nil, nil)
				if resp.StatusCode != http.StatusFound {
					t.Fatalf("status %d, want 302", resp.StatusCode)
				}
				if got := resp.Header.Get("Location"); got != tc.want {
					t.Errorf("Location %q, want %q", got, tc.want)
				}
				if a.backend.Calls().Start != 0 {
					t.Error("the login view must not start a flow itself")
				}
			})
		}
	}
}

func TestRoutesMethodsAndExactPaths(t *testing.T) {
	for _, router := range routers {
		t.Run(router, func(t *testing.T) { testMethodsAndExactPaths(t, router) })
	}
}

func testMethodsAndExactPaths(t *testing.T, router string) {
	a := newApp(t, appOptions{router: router})
	tests := []struct {
		method, path string
		want         int
	}{
		{http.MethodPost, "/login/", http.StatusMethodNotAllowed},
		{http.MethodGet, "/login/x/y/", http.StatusNotFound},
		{http.MethodGet, "/login/edx-oauth2/extra/", http.StatusNotFound},
		{http.MethodGet, "/disconnect/edx-oauth2/", http.StatusMethodNotAllowed},
		{http.MethodGet, "/disconnect/edx-oauth2/1/", http.StatusMethodNotAllowed},
		{http.MethodPut, "/complete/edx-oauth2/", http.StatusMethodNotAllowed},
		{http.MethodGet, "/login/nope/", http.StatusNotFound},
		{http.MethodGet, "/complete/nope/", http.StatusNotFound},
		{http.MethodGet, "/complete/edx-oauth2/x", http.StatusNotFound},
	}
	for _, tc := range tests {
		resp, _ := a.do(t, tc.method, tc.path, nil, nil, nil)
		if resp.StatusCode != tc.want {
			t.Errorf("%s %s: status %d, want %d", tc.method, tc.path, resp.StatusCode, tc.want)
		}
	}
}

func TestBeginAcceptsGetAndPost(t *testing.T) {
	a := newApp(t, appOptions{})
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		var form url.Values
		if m == http.MethodPost {
			form = url.Values{"next": {"/from-form"}}
		}
		resp, _ := a.do(t, m, "/login/edx-oauth2/", form, nil, nil)
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), authorizeURL+"?state=") {
			t.Errorf("%s: %d to %q", m, resp.StatusCode, resp.Header.Get("Location"))
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s: Cache-Control %q", m, got)
		}
	}
}

func TestLoginFlowRotatesSession(t *testing.T) {
	a := newApp(t, appOptions{})
	resp, _ := a.do(t, http.MethodGet, "/login/edx-oauth2/?next=/dashboard", nil, nil, nil)
	pre := sessionCookie(resp)
	if pre == nil {
		t.Fatal("no session cookie at begin")
	}
	if !pre.HttpOnly || pre.SameSite != http.SameSiteLaxMode || pre.Path != "/" || pre.Secure {
		t.Errorf("cookie attributes: HttpOnly=%v SameSite=%v Path=%q Secure=%v", pre.HttpOnly, pre.SameSite, pre.Path, pre.Secure)
	}
	q := mustQuery(t, resp.Header.Get("Location"))
	if got, want := q.Get("redirect_uri"), a.srv.URL+"/complete/edx-oauth2/"; got != want {
		t.Errorf("redirect_uri %q, want %q", got, want)
	}

	resp, body := a.do(t, http.MethodGet, "/complete/edx-oauth2/?state="+url.QueryEscape(q.Get("state")), nil, pre, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("complete: status %d (%s); logs:\n%s", resp.StatusCode, body, a.logs.String())
	}
	if got := resp.Header.Get("Location"); got != "/dashboard" {
		t.Errorf("Location %q, want /dashboard", got)
	}
	for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	post := sessionCookie(resp)
	if post == nil {
		t.Fatal("no session cookie at login")
	}
	if post.Value == pre.Value {
		t.Error("the session id was not rotated at login")
	}
	if a.authenticated(t, pre) {
		t.Error("the pre-login session id authenticates")
	}
	if !a.authenticated(t, post) {
		t.Error("the post-login session id does not authenticate")
	}
	if n := len(a.store.Users()); n != 1 {
		t.Errorf("%d users, want 1", n)
	}
}

func TestCompleteErrors(t *testing.T) {
	stateErr := socialauth.NewError(socialauth.CodeAuthStateForbidden, backendName, "", nil)
	tests := []struct {
		name       string
		settings   settings.Map
		err        error
		path       string
		wantStatus int
		wantLoc    string
		wantLevel  string
	}{
		{name: "forbidden, no error URL", err: stateErr, wantStatus: 403, wantLevel: "WARN"},
		{name: "forbidden, error URL", settings: settings.Map{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/oops/"}, err: stateErr,
			wantStatus: 302, wantLoc: "/oops/?error=auth_state_forbidden", wantLevel: "WARN"},
		{name: "error URL with a query", settings: settings.Map{"LOGIN_ERROR_URL": "/oops/?lang=fr#top"}, err: stateErr,
			wantStatus: 302, wantLoc: "/oops/?lang=fr&error=auth_state_forbidden#top", wantLevel: "WARN"},
		{name: "backend setting first", settings: settings.Map{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/generic/", "SOCIAL_AUTH_EDX_OAUTH2_LOGIN_ERROR_URL": "/edx/"},
			err: stateErr, wantStatus: 302, wantLoc: "/edx/?error=auth_state_forbidden", wantLevel: "WARN"},
		{name: "empty error URL is no redirect", settings: settings.Map{"SOCIAL_AUTH_LOGIN_ERROR_URL": ""}, err: stateErr, wantStatus: 403, wantLevel: "WARN"},
		{name: "missing parameter", err: socialauth.MissingParameter(backendName, "code"), wantStatus: 400, wantLevel: "WARN"},
		{name: "already associated", err: socialauth.NewError(socialauth.CodeAuthAlreadyAssociated, backendName, "", nil), wantStatus: 409, wantLevel: "WARN"},
		{name: "provider down", err: socialauth.NewError(socialauth.CodeAuthUnreachableProvider, backendName, "", errors.New("dial")), wantStatus: 502, wantLevel: "ERROR"},
		{name: "provider timeout", err: socialauth.NewError(socialauth.CodeAuthUnreachableProvider, backendName, "", context.DeadlineExceeded), wantStatus: 504, wantLevel: "ERROR"},
		{name: "unexpected", err: errors.New("boom"), wantStatus: 500, wantLevel: "ERROR"},
		{name: "unexpected, error URL", settings: settings.Map{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/oops/"}, err: errors.New("boom"),
			wantStatus: 302, wantLoc: "/oops/?error=server_error", wantLevel: "ERROR"},
		{name: "missing backend", path: "/complete/nope/", wantStatus: 404, wantLevel: "WARN"},
		{name: "missing backend ignores the error URL", settings: settings.Map{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/oops/", "SOCIAL_AUTH_NOPE_LOGIN_ERROR_URL": "/x/"},
			path: "/complete/nope/", wantStatus: 404, wantLevel: "WARN"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newApp(t, appOptions{settings: tc.settings})
			a.backend.CompleteErr = tc.err
			path := tc.path
			if path == "" {
				path = "/complete/edx-oauth2/"
			}
			resp, body := a.do(t, http.MethodGet, path+"?state=s&code=SECRETCODE", nil, nil, nil)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d, want %d (body %q)", resp.StatusCode, tc.wantStatus, body)
			}
			if got := resp.Header.Get("Location"); got != tc.wantLoc {
				t.Errorf("Location %q, want %q", got, tc.wantLoc)
			}
			if tc.wantLoc == "" {
				if want := http.StatusText(tc.wantStatus) + "\n"; body != want {
					t.Errorf("body %q, want the fixed %q", body, want)
				}
			}
			for h, want := range map[string]string{"Referrer-Policy": "no-referrer", "Cache-Control": "no-store"} {
				if got := resp.Header.Get(h); got != want {
					t.Errorf("%s = %q, want %q", h, got, want)
				}
			}
			if c := sessionCookie(resp); c != nil && a.authenticated(t, c) {
				t.Error("a failed completion authenticated the session")
			}
			logs := a.logs.String()
			if !strings.Contains(logs, `"level":"`+tc.wantLevel+`"`) || !strings.Contains(logs, "socialauth: request failed") {
				t.Errorf("want a %s log line, got:\n%s", tc.wantLevel, logs)
			}
			if strings.Contains(logs, "SECRETCODE") {
				t.Error("the authorization code reached the logs")
			}
			if n := len(a.store.Users()); n != 0 {
				t.Errorf("%d users created", n)
			}
		})
	}
}

func TestNoReflectedInput(t *testing.T) {
	a := newApp(t, appOptions{})
	evil := url.PathEscape("<script>alert(1)</script>")
	a.backend.CompleteErr = socialauth.NewError(socialauth.CodeAuthCanceled, backendName, "", nil)
	for _, path := range []string{
		"/complete/" + evil + "/?error=%3Cscript%3E",
		"/login/" + evil + "/",
		"/complete/edx-oauth2/?error_description=%3Cscript%3Ealert(1)%3C/script%3E",
	} {
		resp, body := a.do(t, http.MethodGet, path, nil, nil, nil)
		if resp.StatusCode < 400 {
			t.Errorf("%s: status %d", path, resp.StatusCode)
		}
		if strings.Contains(strings.ToLower(body), "script") {
			t.Errorf("%s: body reflects input: %q", path, body)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
			t.Errorf("%s: Content-Type %q", path, ct)
		}
	}
}

func TestRequestDataFromPostedCallback(t *testing.T) {
	a := newApp(t, appOptions{})
	resp, _ := a.do(t, http.MethodGet, "/login/edx-oauth2/", nil, nil, nil)
	c := sessionCookie(resp)
	state := mustQuery(t, resp.Header.Get("Location")).Get("state")
	// A form_post callback: the provider POSTs the parameters.
	resp, body := a.do(t, http.MethodPost, "/complete/edx-oauth2/", url.Values{"state": {state}, "code": {"y"}}, c, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("POST complete: %d %q", resp.StatusCode, body)
	}
	// An oversized body is refused as data, never a 5xx or a hang.
	big := url.Values{"state": {strings.Repeat("a", 80<<10)}}
	resp, _ = a.do(t, http.MethodPost, "/login/edx-oauth2/", big, nil, nil)
	if resp.StatusCode >= 500 {
		t.Errorf("oversized POST: status %d", resp.StatusCode)
	}
}

func TestLogoutSuite(t *testing.T) {
	for _, router := range routers {
		t.Run(router, func(t *testing.T) {
			a := newApp(t, appOptions{router: router})
			logouttest.Run(t, logouttest.Harness{
				Handler:       a.handler,
				Login:         a.login,
				Authenticated: a.authenticated,
				RedirectURL:   providerLogout,
			})
		})
	}
}

func TestLogoutSuiteWithLoginSession(t *testing.T) {
	a := newApp(t, appOptions{prefix: "/auth"})
	u, err := a.store.AddUser(&socialauth.User{Username: "test", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	logouttest.Run(t, logouttest.Harness{
		Handler:    a.handler,
		LogoutPath: "/auth/logout/",
		Login: func(t *testing.T) *http.Cookie {
			return logouttest.LoginSession(t, a.sessions, u.ID, backendName)
		},
		Authenticated: a.authenticated,
		RedirectURL:   providerLogout,
	})
}

func TestLogoutFallbacks(t *testing.T) {
	tests := []struct {
		name     string
		settings settings.Map
		logout   string
		want     string
	}{
		{"provider URL", nil, providerLogout, providerLogout},
		{"no provider URL, LOGIN_REDIRECT_URL", settings.Map{"LOGIN_REDIRECT_URL": "/home/"}, "", "/home/"},
		{"no provider URL, no setting", nil, "", "/"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fb := &testutil.FakeBackend{BackendName: backendName, Logout: tc.logout,
				Response: map[string]any{"id": "jsmith", "username": "jsmith"}}
			a := newApp(t, appOptions{settings: tc.settings, backend: fb})
			resp, _ := a.do(t, http.MethodGet, "/logout/?next=/elsewhere/", nil, nil, nil)
			if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != tc.want {
				t.Errorf("got %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), tc.want)
			}
		})
	}
}

func TestLogoutReplaced(t *testing.T) {
	var sawUser string
	a := newApp(t, appOptions{config: func(c *views.Config) {
		c.LogoutRedirect = func(_ context.Context, _ socialauth.Strategy, u *socialauth.User) (string, error) {
			if u != nil {
				sawUser = u.Username
			}
			return "/bye/", nil
		}
	}})
	logouttest.Run(t, logouttest.Harness{
		Handler:       a.handler,
		Login:         a.login,
		Authenticated: a.authenticated,
		RedirectURL:   "/bye/",
	})
	if sawUser != "jsmith" {
		t.Errorf("the replacement saw user %q, want jsmith (the user before logout)", sawUser)
	}
}

func TestDisconnect(t *testing.T) {
	a := newApp(t, appOptions{})
	same := http.Header{"Origin": {a.srv.URL}}
	path := "/disconnect/edx-oauth2/"

	// Anonymous: 401.
	resp, _ := a.do(t, http.MethodPost, path, url.Values{}, nil, same)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("anonymous: status %d, want 401", resp.StatusCode)
	}

	c := a.login(t)
	users := a.store.Users()
	if len(users) != 1 || len(a.store.SocialAuths()) != 1 {
		t.Fatalf("setup: %d users, %d associations", len(users), len(a.store.SocialAuths()))
	}

	csrf := []struct {
		name   string
		header http.Header
	}{
		{"no origin headers", nil},
		{"cross-site fetch", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {a.srv.URL}}},
		{"same-site fetch", http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"foreign origin", http.Header{"Origin": {"https://evil.example"}}},
		{"null origin", http.Header{"Origin": {"null"}}},
		{"foreign referer", http.Header{"Referer": {"https://evil.example/" + a.srv.URL}}},
		{"lookalike origin", http.Header{"Origin": {a.srv.URL + ".evil.example"}}},
	}
	for _, tc := range csrf {
		resp, body := a.do(t, http.MethodPost, path, url.Values{}, c, tc.header)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d (%q), want 403", tc.name, resp.StatusCode, body)
		}
	}
	if n := len(a.store.SocialAuths()); n != 1 {
		t.Fatalf("a refused request removed an association (%d left)", n)
	}

	// Not allowed: the association is the user's only way to log in.
	resp, _ = a.do(t, http.MethodPost, path, url.Values{}, c, same)
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("last login method: status %d, want 403", resp.StatusCode)
	}
	if err := a.store.SetUsablePassword(users[0].ID, true); err != nil {
		t.Fatal(err)
	}
	id := a.store.SocialAuths()[0].ID
	resp, _ = a.do(t, http.MethodPost, "/disconnect/edx-oauth2/0"+fmt.Sprint(id)+"/", url.Values{}, c, same)
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("non-canonical id: status %d, want 404", resp.StatusCode)
	}
	resp, _ = a.do(t, http.MethodPost, fmt.Sprintf("/disconnect/edx-oauth2/%d/", id), url.Values{}, c,
		http.Header{"Sec-Fetch-Site": {"same-origin"}})
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		t.Errorf("disconnect: %d to %q, want 302 to /", resp.StatusCode, resp.Header.Get("Location"))
	}
	if diff := cmp.Diff(0, len(a.store.SocialAuths())); diff != "" {
		t.Errorf("associations left (-want +got):\n%s", diff)
	}
}

func TestDisconnectLoginURL(t *testing.T) {
	a := newApp(t, appOptions{settings: settings.Map{"LOGIN_URL": "/accounts/login/"}})
	resp, _ := a.do(t, http.MethodPost, "/disconnect/edx-oauth2/", url.Values{}, nil,
		http.Header{"Referer": {a.srv.URL + "/settings/"}})
	want := "/accounts/login/?next=%2Fdisconnect%2Fedx-oauth2%2F"
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != want {
		t.Errorf("got %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
}

func TestErrorResponseDirect(t *testing.T) {
	a := newApp(t, appOptions{settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGIN_ERROR_URL": "/e"}})
	tests := []struct {
		name    string
		backend string
		err     error
		status  int
		loc     string
	}{
		{"redirect", backendName, socialauth.NewError(socialauth.CodeAuthCanceled, backendName, "", nil), 302, "/e?error=auth_canceled"},
		{"not a backend: no redirect", "b", socialauth.NewError(socialauth.CodeAuthCanceled, "b", "", nil), 403, ""},
		{"no backend: no redirect", "", socialauth.NewError(socialauth.CodeAuthCanceled, "", "", nil), 403, ""},
		{"nil error is never a 2xx", "", nil, 500, ""},
		{"missing backend", backendName, socialauth.NewError(socialauth.CodeMissingBackend, "x", "", nil), 404, ""},
		{"conflict: storage unavailable", backendName, fmt.Errorf("storage: create user: %w", socialauth.ErrConflict), 302, "/e?error=storage_unavailable"},
		{"conflict, no error URL", "", fmt.Errorf("storage: create user: %w", socialauth.ErrConflict), 503, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			a.views.ErrorResponse(w, httptest.NewRequest(http.MethodGet, "/", nil), tc.backend, tc.err)
			if w.Code != tc.status || w.Header().Get("Location") != tc.loc {
				t.Errorf("got %d to %q, want %d to %q", w.Code, w.Header().Get("Location"), tc.status, tc.loc)
			}
			if w.Header().Get("Cache-Control") != "no-store" {
				t.Error("no Cache-Control: no-store")
			}
		})
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	a := newApp(t, appOptions{})
	good := views.Config{Service: a.svc, HTTP: strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://127.0.0.1:8000"}}
	if _, err := views.New("/auth", good); err != nil {
		t.Fatalf("good config: %v", err)
	}
	for _, p := range []string{"auth", "/a/../b", "/a b", "/{x}", "//evil", "/a%2F"} {
		if _, err := views.New(p, good); !errors.Is(err, socialauth.CodeImproperlyConfigured) {
			t.Errorf("prefix %q: err %v, want ImproperlyConfigured", p, err)
		}
	}
	bad := []struct {
		name string
		cfg  func(c *views.Config)
		want string // in the error
	}{
		{"no service", func(c *views.Config) { c.Service = nil }, "Service"},
		{"no base URL", func(c *views.Config) { c.HTTP.BaseURL = "" }, "BaseURL"},
		{"no sessions", func(c *views.Config) { c.HTTP.SessionStore = nil }, "Session"},
		{"unknown default backend", func(c *views.Config) { c.DefaultBackend = "nope" }, "DefaultBackend"},
		{"another prefix in HTTP", func(c *views.Config) { c.HTTP.Prefix = "/other" }, "Prefix"},
		{"https redirect URIs over http", func(c *views.Config) { c.HTTP.RedirectIsHTTPS = true }, "REDIRECT_IS_HTTPS"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.cfg(&cfg)
			_, err := views.New("/auth", cfg)
			if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want ImproperlyConfigured naming %s", err, tc.want)
			}
		})
	}
	// The same prefix in HTTP is accepted.
	same := good
	same.HTTP.Prefix = "/auth/"
	if _, err := views.New("/auth", same); err != nil {
		t.Errorf("HTTP.Prefix equal to the views' prefix: %v", err)
	}
}

// REDIRECT_IS_HTTPS=true with an http base URL fails at construction,
// naming the setting (it used to switch the redirect_uri to https
// silently).
func TestRedirectIsHTTPSOverHTTPFailsConstruction(t *testing.T) {
	a := newApp(t, appOptions{})
	for _, key := range []string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS", "REDIRECT_IS_HTTPS"} {
		set := settings.New(settings.Map{key: true})
		hc, err := strategies.HTTPConfigFrom(set, strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://127.0.0.1:8000"})
		if err == nil {
			_, err = views.New("/auth", views.Config{Service: a.svc, HTTP: hc})
		}
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=true over http: err %v, want ImproperlyConfigured naming %s", key, err, key)
		}
	}
	// Over https the redirect_uri is https (and the cookie Secure).
	hc, err := strategies.HTTPConfigFrom(settings.New(settings.Map{"REDIRECT_IS_HTTPS": true}),
		strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "https://sso.example.com"})
	if err != nil {
		t.Fatal(err)
	}
	v, err := views.New("/auth", views.Config{Service: a.svc, HTTP: hc})
	if err != nil {
		t.Fatal(err)
	}
	if !v.Sessions().Cookie.Secure {
		t.Error("the session cookie of an https service is not Secure")
	}
	st := v.Strategy(httptest.NewRequest(http.MethodGet, "/", nil))
	if got, want := st.CallbackURL(backendName), "https://sso.example.com/auth/complete/edx-oauth2/"; got != want {
		t.Errorf("CallbackURL %q, want %q", got, want)
	}
}
