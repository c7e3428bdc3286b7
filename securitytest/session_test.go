package securitytest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/storage"
)

// Sessions: the id rotates at login (a fixated id never becomes an
// authenticated one) and the session is flushed at logout (the old id is
// worthless).
func TestSessionRotatedAtLoginFlushedAtLogout(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		for _, backend := range []string{edxName, oidcName, oauthName} {
			b := e.browser()
			cb := b.callbackURL(backend, nil)
			fixated := b.sessionID()
			if fixated == "" {
				t.Fatal("no session before the login")
			}
			b.complete(cb)
			after := b.sessionID()
			if after == fixated || after == "" || b.me() == "" {
				t.Fatalf("%s: session id not rotated at login (%q → %q)", backend, fixated, after)
			}
			attacker := e.browser()
			u, _ := url.Parse(e.base)
			attacker.jar.SetCookies(u, []*http.Cookie{{Name: "sessionid", Value: fixated}})
			if attacker.me() != "" {
				t.Errorf("%s: the pre-login session id is authenticated", backend)
			}
			p := b.get("/logout/?no_redirect=1")
			if p.status != http.StatusOK || p.header.Get("Cache-Control") != "no-store" {
				t.Errorf("logout: %d %v", p.status, p.header)
			}
			if b.me() != "" {
				t.Errorf("%s: logged in after logout", backend)
			}
			stolen := e.browser()
			stolen.jar.SetCookies(u, []*http.Cookie{{Name: "sessionid", Value: after}})
			if stolen.me() != "" {
				t.Errorf("%s: the logged-out session id still authenticates", backend)
			}
		}
	})
}

// setActive flips auth_user.is_active for the user with that id.
func (e *env) setActive(t *testing.T, id string, active bool) {
	t.Helper()
	res := e.store.DB().Table(storage.TableUsers).Where("id = ?", id).Update("is_active", active)
	if res.Error != nil || res.RowsAffected != 1 {
		t.Fatalf("setActive(%s): %v, %d rows", id, res.Error, res.RowsAffected)
	}
}

// An inactive user cannot log in: 403, no session, and nothing of the
// refused login (tokens, details) is written.
func TestInactiveUserCannotLogIn(t *testing.T) {
	for _, backend := range []string{edxName, oidcName, oauthName} {
		t.Run(backend, func(t *testing.T) {
			envs(t, options{}, func(t *testing.T, e *env) {
				b := e.browser()
				b.login(backend)
				id := b.me()
				b.get("/logout/?no_redirect=1")
				e.setActive(t, id, false)
				b2 := e.browser()
				cb := b2.callbackURL(backend, nil)
				e.reject(t, b2, rejection{status: 403, code: socialauth.CodeAuthForbidden, tokenCalls: 1}, func() page { return b2.complete(cb) })
			})
		})
	}
}

// With INACTIVE_USER_URL set, the inactive user is refused or sent there,
// never with a session. (The social_user step already refuses an inactive
// associated user with 403, before the login could redirect: see the
// security report.)
func TestInactiveUserURL(t *testing.T) {
	e := newEnv(t, options{settings: map[string]any{"SOCIAL_AUTH_INACTIVE_USER_URL": "/inactive/"}})
	b := e.browser()
	b.login(oauthName)
	id := b.me()
	b.get("/logout/?no_redirect=1")
	e.setActive(t, id, false)
	p := b.complete(b.callbackURL(oauthName, nil))
	ok := p.status == http.StatusForbidden || (p.status == http.StatusFound && p.location() == "/inactive/")
	if !ok || b.me() != "" {
		t.Errorf("inactive login: %d %q, user %q", p.status, p.location(), b.me())
	}
}

// A logged-in user completing SSO as an account that belongs to someone else
// is refused (409) and stays who they were; nothing merges.
func TestLoggedInUserCompletingAsSomeoneElse(t *testing.T) {
	for _, backend := range []string{oidcName, oauthName} {
		t.Run(backend, func(t *testing.T) {
			envs(t, options{}, func(t *testing.T, e *env) {
				mallory := e.browser()
				e.lms.AutoApprove("mallory")
				mallory.login(backend)
				e.lms.AutoApprove("jsmith")
				alice := e.browser()
				alice.login(edxName)
				aliceID := alice.me()
				// Alice links her account at the LMS, but the LMS signs in
				// mallory (a shared computer, or a login CSRF at the LMS).
				e.lms.AutoApprove("mallory")
				cb := alice.callbackURL(backend, nil)
				e.reject(t, alice, rejection{status: 409, code: socialauth.CodeAuthAlreadyAssociated, tokenCalls: 1, user: aliceID},
					func() page { return alice.complete(cb) })
			})
		})
	}
}

// edx-oauth2 logs a logged-in user out when a new login starts, so a login
// as someone else is a new session for that someone, never a merge.
func TestEdxLoginAsSomeoneElseStartsClean(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	b.login(edxName)
	alice := b.me()
	e.lms.AutoApprove("mallory")
	au := b.begin(edxName, nil)
	if b.me() != "" {
		t.Error("still logged in after starting a new edX login")
	}
	b.complete(e.authorize(au))
	if got := b.me(); got == "" || got == alice {
		t.Errorf("session user = %q, want mallory's (alice is %q)", got, alice)
	}
	var n int64
	e.store.DB().Table(socialAuthTable).Where("user_id = ?", alice).Count(&n)
	if n != 1 {
		t.Errorf("alice has %d associations, want 1 (no merge)", n)
	}
}
