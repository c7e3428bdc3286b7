package securitytest

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/socialauth-go/socialauth"
)

// Every answer on the auth paths is private (Cache-Control: no-store), and
// every answer of the complete view carries Referrer-Policy: no-referrer,
// so the code in its URL never reaches the next page's Referer. The login
// and complete answers forbid framing; the logout answers do not.
func TestAuthPathHeaders(t *testing.T) {
	e := partialEnv(t)
	type check struct {
		name     string
		p        page
		complete bool
	}
	var checks []check
	add := func(name string, p page, complete bool) { checks = append(checks, check{name, p, complete}) }

	b := e.browser()
	add("login view", b.get("/login/?next=/x"), false)
	add("auth view", b.get("/login/"+edxName+"/"), false)
	add("auth view, unknown backend", b.get("/login/nope/"), false)
	add("complete, success", b.complete(b.callbackURL(edxName, nil)), true)
	add("complete, state missing", b.get("/complete/"+edxName+"/?code=x&state=y"), true)
	add("complete, provider error", b.get("/complete/"+edxName+"/?error=access_denied"), true)
	add("complete, unknown backend", b.get("/complete/nope/?code=x"), true)
	add("disconnect, cross-origin", b.post("/disconnect/"+edxName+"/", nil, http.Header{"Origin": {"http://evil.com"}}), false)
	add("disconnect, last login method", b.post("/disconnect/"+edxName+"/", nil, http.Header{"Origin": {e.base}}), false)
	add("logout, redirect", b.get("/logout/"), false)
	add("logout, no_redirect", b.get("/logout/?no_redirect=1"), false)
	add("disconnect, anonymous", b.post("/disconnect/"+edxName+"/", nil, http.Header{"Origin": {e.base}}), false)
	p2 := e.browser()
	add("complete, partial page", p2.complete(p2.callbackURL(oauthName, nil)), true)
	add("complete, partial resumed", resume(p2, "", url.Values{}), true)

	errURL := newEnv(t, options{settings: map[string]any{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/err/"}})
	b3 := errURL.browser()
	add("complete, LOGIN_ERROR_URL redirect", b3.get("/complete/"+edxName+"/?code=x&state=y"), true)

	for _, c := range checks {
		if got := c.p.header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s (%d): Cache-Control = %q, want no-store", c.name, c.p.status, got)
		}
		if c.complete && c.p.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s (%d): Referrer-Policy = %q, want no-referrer", c.name, c.p.status, c.p.header.Get("Referrer-Policy"))
		}
		if c.p.status >= 500 {
			t.Errorf("%s: %d", c.name, c.p.status)
		}
		// Anti-framing: the sign-in answers may not be framed; the logout
		// view may (edX single sign-out frames each service's /logout/).
		xfo, csp := c.p.header.Get("X-Frame-Options"), strings.Join(c.p.header.Values("Content-Security-Policy"), "; ")
		switch {
		case c.complete || strings.HasPrefix(c.name, "login view") || strings.HasPrefix(c.name, "auth view"):
			if xfo != "DENY" || !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("%s (%d): X-Frame-Options %q, Content-Security-Policy %q; want DENY and frame-ancestors 'none'", c.name, c.p.status, xfo, csp)
			}
		case strings.HasPrefix(c.name, "logout"):
			if xfo != "" || strings.Contains(csp, "frame-ancestors") {
				t.Errorf("%s: X-Frame-Options %q, Content-Security-Policy %q; the logout view must stay framable", c.name, xfo, csp)
			}
		}
	}
}

// Logout clears the flow state and the partial: a callback of a flow
// started before the logout is refused, and the session holds nothing.
func TestLogoutClearsStateAndPartials(t *testing.T) {
	e := partialEnv(t)
	b := e.browser()
	cb := b.callbackURL(edxName, nil)
	b.callbackURL(oidcName, nil)
	b.pause(t)
	if keys := b.sessionKeys(); !slices.Contains(keys, socialauth.SessionPartialToken) || !slices.Contains(keys, edxName+"_state") {
		t.Fatalf("session before logout: %v", keys)
	}
	b.get("/logout/")
	if keys := b.sessionKeys(); len(keys) != 0 {
		t.Errorf("session after logout: %v, want empty", keys)
	}
	if n := e.count("social_auth_partial"); n != 0 {
		t.Errorf("%d partials after logout", n)
	}
	e.reject(t, b, rejection{status: 400, code: socialauth.CodeAuthStateMissing}, func() page { return b.complete(cb) })
}

// Logins, token refreshes and logouts in parallel, for the race detector:
// every login ends in its own user's session, refreshes keep one row per
// association, logouts end their session.
func TestParallelLoginsRefreshesLogouts(t *testing.T) {
	e := newEnv(t, options{})
	users := []string{"u0", "u1", "u2", "u3"}
	for _, u := range users {
		b := e.browser()
		e.lms.AutoApprove(u)
		b.login(edxName)
		b.get("/logout/?no_redirect=1")
	}
	e.lms.AutoApprove("jsmith")
	bk, ok := e.svc.Backend(edxName)
	if !ok {
		t.Fatal("no edX backend")
	}
	type refresher interface {
		RefreshSocial(ctx context.Context, store socialauth.SocialStorage, social *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, error)
	}
	r := bk.(refresher)
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 3 {
				b := e.browser()
				p := b.complete(b.callbackURL(edxName, nil))
				if p.status != http.StatusFound || b.me() == "" {
					errs <- "login failed"
					continue
				}
				if i%2 == 0 {
					b.get("/logout/")
					if b.me() != "" {
						errs <- "logout left a session"
					}
				}
			}
		}()
	}
	for _, u := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			soc, err := e.store.GetSocialAuth(context.Background(), edxName, u)
			if err != nil {
				errs <- err.Error()
				return
			}
			for range 3 {
				if _, err := r.RefreshSocial(context.Background(), e.store, soc); err != nil {
					errs <- "refresh: " + err.Error()
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if n := e.count(socialAuthTable); n != len(users)+1 {
		t.Errorf("associations = %d, want %d", n, len(users)+1)
	}
	e.recordTokenSecrets()
}
