package securitytest

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
)

// With SESSION_COOKIE_KEYS a session nobody is signed in to lives in its
// cookie, sealed, and costs the session store nothing; the sign-in moves
// it to the store under a new id. The sealed cookie of before the sign-in
// can be replayed by its browser or by whoever copied it: it still holds
// the pending flow, but that flow was redeemed once (the nonce table), so
// the replay signs nobody in and writes nothing. A tampered sealed cookie
// is no session. Without the keys (sqlite-stored-sessions) the same
// replays fail because the pre-login session was deleted at rotation.
func TestPreLoginCookieReplay(t *testing.T) {
	for _, backend := range []string{edxName, oidcName, oauthName} {
		t.Run(backend, func(t *testing.T) {
			envs(t, options{}, func(t *testing.T, e *env) {
				stored := e.count(storage.TableSessions)
				b := e.browser()
				cb := b.callbackURL(backend, nil)
				pre := b.sessionID()
				if got, want := strategies.IsSealed(pre), !e.opts.storedSessions; got != want {
					t.Fatalf("pre-login session cookie sealed = %v, want %v", got, want)
				}
				if n := e.count(storage.TableSessions); !e.opts.storedSessions && n != stored {
					t.Errorf("starting a sign-in stored %d sessions", n-stored)
				}
				if p := b.complete(cb); p.status != http.StatusFound {
					t.Fatalf("sign-in: %d %s", p.status, p.body)
				}
				post := b.sessionID()
				if post == "" || post == pre || strategies.IsSealed(post) {
					t.Fatalf("after the sign-in the session cookie is %q (sealed: %v); want a new stored session id",
						post, strategies.IsSealed(post))
				}
				user := b.me()
				if user == "" {
					t.Fatal("not signed in")
				}
				u, _ := url.Parse(e.base)
				for _, who := range []string{"the same browser, back a step", "a thief"} {
					t.Run(who, func(t *testing.T) {
						r := e.browser()
						r.jar.SetCookies(u, []*http.Cookie{{Name: strategies.SessionCookieName, Value: pre}})
						e.reject(t, r, rejection{status: 400, code: socialauth.CodeAuthStateMissing},
							func() page { return r.complete(cb) })
					})
				}
				if got := b.me(); got != user {
					t.Errorf("the signed-in browser is now %q, want %q", got, user)
				}
				t.Run("tampered", func(t *testing.T) {
					second := e.browser()
					cb2 := second.callbackURL(backend, nil)
					v := []byte(second.sessionID())
					v[len(v)-5] ^= 1
					r := e.browser()
					r.jar.SetCookies(u, []*http.Cookie{{Name: strategies.SessionCookieName, Value: string(v)}})
					e.reject(t, r, rejection{status: 400, code: socialauth.CodeAuthStateMissing},
						func() page { return r.complete(cb2) })
					if p := second.complete(cb2); p.status != http.StatusFound {
						t.Errorf("the genuine callback after a tampered copy: %d", p.status)
					}
				})
			})
		})
	}
}
