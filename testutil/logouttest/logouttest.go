// Package logouttest is the Go counterpart of edx-auth-backends'
// LogoutViewTestMixin: a reusable test suite an app runs against its own
// logout handler (the views' logout route, with its default redirect or
// views.Config.LogoutRedirect, or a handler of its own).
//
//	func TestLogout(t *testing.T) {
//		logouttest.Run(t, logouttest.Harness{
//			Handler:       app.Handler(),               // mounts the views (v.Mount)
//			Login:         func(t *testing.T) *http.Cookie { … },
//			Authenticated: logouttest.SessionChecker(v.Sessions(), v, service), // v: *views.Views
//			RedirectURL:   "https://lms.example.com/logout",
//		})
//	}
//
// It checks: an anonymous request gets no X-Frame-Options header and no
// frame-ancestors policy (the provider may frame the view for single
// sign-out); ?no_redirect=1 gives an
// empty 200; otherwise a 302 to exactly the provider logout URL, whatever the
// request's next says and whatever the method; and every time the session
// is flushed, so the old cookie no longer authenticates.
package logouttest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
)

// Harness describes the app under test.
type Harness struct {
	// Handler is the app's handler with the logout route mounted and the
	// session middleware applied (required).
	Handler http.Handler
	// LogoutPath is the logout route ("" means "/logout/").
	LogoutPath string
	// Login logs a fresh user in and returns the session cookie that
	// authenticates them (required); the client.login of the mixin.
	// LoginSession builds one.
	Login func(t *testing.T) *http.Cookie
	// Authenticated reports whether a request carrying cookie is
	// authenticated (required). SessionChecker builds one.
	Authenticated func(t *testing.T, cookie *http.Cookie) bool
	// RedirectURL is the exact provider logout URL expected in Location
	// (the mixin's get_redirect_url; required).
	RedirectURL string
	// AllowXFrameOptions skips the check that the logout answer carries no
	// X-Frame-Options header nor Content-Security-Policy frame-ancestors
	// directive (for an app that frames nothing on purpose).
	AllowXFrameOptions bool
}

// Run runs the suite as subtests of t.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Handler == nil || h.Login == nil || h.Authenticated == nil || h.RedirectURL == "" {
		t.Fatal("logouttest: Harness.Handler, Login, Authenticated and RedirectURL are required")
	}
	path := h.LogoutPath
	if path == "" {
		path = "/logout/"
	}
	srv := httptest.NewServer(h.Handler)
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	do := func(t *testing.T, method, query string, cookie *http.Cookie) (*http.Response, string) {
		t.Helper()
		target := srv.URL + path
		if query != "" {
			target += "?" + query
		}
		req, err := http.NewRequestWithContext(t.Context(), method, target, nil)
		if err != nil {
			t.Fatal(err)
		}
		if cookie != nil {
			req.AddCookie(cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(body)
	}
	login := func(t *testing.T) *http.Cookie {
		t.Helper()
		c := h.Login(t)
		if c == nil {
			t.Fatal("Harness.Login returned no cookie")
		}
		if !h.Authenticated(t, c) {
			t.Fatal("the cookie from Harness.Login does not authenticate")
		}
		return c
	}
	assertLoggedOut := func(t *testing.T, old *http.Cookie, resp *http.Response) {
		t.Helper()
		if h.Authenticated(t, old) {
			t.Error("the session cookie still authenticates after logout: the session was not flushed")
		}
		for _, c := range resp.Cookies() {
			if c.Name == old.Name && c.Value != "" && h.Authenticated(t, c) {
				t.Error("the cookie set by the logout answer authenticates")
			}
		}
	}

	t.Run("x_frame_options_header", func(t *testing.T) {
		if h.AllowXFrameOptions {
			t.Skip("Harness.AllowXFrameOptions")
		}
		resp, _ := do(t, http.MethodGet, "", nil)
		if got := resp.Header.Get("X-Frame-Options"); got != "" {
			t.Errorf("X-Frame-Options = %q, want none (the provider frames the logout view)", got)
		}
		for _, p := range resp.Header.Values("Content-Security-Policy") {
			if strings.Contains(p, "frame-ancestors") {
				t.Errorf("Content-Security-Policy %q restricts framing; the provider frames the logout view", p)
			}
		}
	})

	t.Run("anonymous", func(t *testing.T) {
		resp, _ := do(t, http.MethodGet, "", nil)
		if resp.StatusCode != http.StatusFound {
			t.Errorf("anonymous logout: status %d, want 302", resp.StatusCode)
		}
		if got := resp.Header.Get("Location"); got != h.RedirectURL {
			t.Errorf("anonymous logout: Location %q, want %q", got, h.RedirectURL)
		}
	})

	t.Run("logout", func(t *testing.T) {
		c := login(t)
		resp, _ := do(t, http.MethodGet, "next=/test/", c)
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("status %d, want 302", resp.StatusCode)
		}
		if got := resp.Header.Get("Location"); got != h.RedirectURL {
			t.Errorf("Location %q, want exactly %q (next must be ignored)", got, h.RedirectURL)
		}
		assertLoggedOut(t, c, resp)
	})

	t.Run("next_absolute_ignored", func(t *testing.T) {
		c := login(t)
		resp, _ := do(t, http.MethodGet, "next=https%3A%2F%2Fevil.example%2F", c)
		if got := resp.Header.Get("Location"); got != h.RedirectURL {
			t.Errorf("Location %q, want exactly %q", got, h.RedirectURL)
		}
		assertLoggedOut(t, c, resp)
	})

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		t.Run("method_"+method, func(t *testing.T) {
			c := login(t)
			resp, _ := do(t, method, "", c)
			if resp.StatusCode != http.StatusFound {
				t.Errorf("%s: status %d, want 302", method, resp.StatusCode)
			}
			if got := resp.Header.Get("Location"); got != h.RedirectURL {
				t.Errorf("%s: Location %q, want %q", method, got, h.RedirectURL)
			}
			assertLoggedOut(t, c, resp)
		})
	}

	t.Run("no_redirect", func(t *testing.T) {
		c := login(t)
		resp, body := do(t, http.MethodGet, "no_redirect=1", c)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("status %d, want 200", resp.StatusCode)
		}
		if body != "" {
			t.Errorf("body %q, want empty", body)
		}
		if got := resp.Header.Get("Location"); got != "" {
			t.Errorf("Location %q, want none", got)
		}
		assertLoggedOut(t, c, resp)
	})

	t.Run("no_redirect_empty_redirects", func(t *testing.T) {
		c := login(t)
		resp, _ := do(t, http.MethodGet, "no_redirect=", c)
		if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != h.RedirectURL {
			t.Errorf("?no_redirect= gave %d to %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), h.RedirectURL)
		}
		assertLoggedOut(t, c, resp)
	})
}

// StrategyFactory gives the strategy of a request; *views.Views and
// *strategies.HTTP implement it.
type StrategyFactory interface {
	Strategy(r *http.Request) socialauth.Strategy
}

// LoginSession stores a new session in sessions' store holding userID as
// the logged-in user (and backend as its backend) and returns its cookie,
// the equivalent of Django's client.login.
func LoginSession(t testing.TB, sessions *scs.SessionManager, userID, backend string) *http.Cookie {
	t.Helper()
	ctx, err := sessions.Load(context.Background(), "")
	if err != nil {
		t.Fatalf("logouttest: load session: %v", err)
	}
	sessions.Put(ctx, socialauth.SessionUserID, userID)
	if backend != "" {
		sessions.Put(ctx, socialauth.SessionUserBackend, backend)
	}
	token, _, err := sessions.Commit(ctx)
	if err != nil {
		t.Fatalf("logouttest: commit session: %v", err)
	}
	return &http.Cookie{Name: sessions.Cookie.Name, Value: token}
}

// SessionChecker returns a Harness.Authenticated that loads the cookie's
// session from sessions' store and asks service for its current user.
func SessionChecker(sessions *scs.SessionManager, strategies StrategyFactory, service *socialauth.Service) func(*testing.T, *http.Cookie) bool {
	return func(t *testing.T, c *http.Cookie) bool {
		t.Helper()
		if c == nil || c.Value == "" {
			return false
		}
		ctx, err := sessions.Load(t.Context(), c.Value)
		if err != nil {
			t.Fatalf("logouttest: load session: %v", err)
		}
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
		u, err := service.CurrentUser(ctx, strategies.Strategy(req))
		if err != nil {
			t.Fatalf("logouttest: current user: %v", err)
		}
		return u != nil
	}
}
