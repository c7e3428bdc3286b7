package securitytest

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
)

// State and CSRF: a callback is accepted only with the state of one of this
// session's pending flows of this backend, within its lifetime, and each flow
// is redeemed once. Every refusal is local: zero calls to the token endpoint.
// A callback that names no pending flow consumes nothing: the genuine
// callback that follows it completes.
func TestStateRejections(t *testing.T) {
	for _, backend := range []string{edxName, oidcName, oauthName} {
		t.Run(backend, func(t *testing.T) {
			envs(t, options{}, func(t *testing.T, e *env) { stateRejections(t, e, backend) })
		})
	}
}

func stateRejections(t *testing.T, e *env, backend string) {
	dropState := func(q url.Values) { q.Del("state"); q.Del("redirect_state") }
	cases := []struct {
		name string
		cb   func(cb *url.URL) *url.URL
		want rejection
	}{
		{"missing", func(cb *url.URL) *url.URL { return withQuery(cb, dropState) },
			rejection{status: 400, code: socialauth.CodeAuthMissingParameter}},
		{"empty", func(cb *url.URL) *url.URL {
			return withQuery(cb, func(q url.Values) { dropState(q); q.Set("state", "") })
		}, rejection{status: 400, code: socialauth.CodeAuthMissingParameter}},
		{"wrong", func(cb *url.URL) *url.URL {
			return withQuery(cb, func(q url.Values) { dropState(q); q.Set("state", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA") })
		}, rejection{status: 403, code: socialauth.CodeAuthStateForbidden}},
		{"wrong by one character", func(cb *url.URL) *url.URL {
			return withQuery(cb, func(q url.Values) {
				s := q.Get("state")
				dropState(q)
				q.Set("state", s[:len(s)-1]+string(rune('A'+(s[len(s)-1]+1)%26)))
			})
		}, rejection{status: 403, code: socialauth.CodeAuthStateForbidden}},
		{"prefix of the real one", func(cb *url.URL) *url.URL {
			return withQuery(cb, func(q url.Values) { s := q.Get("state"); dropState(q); q.Set("state", s[:10]) })
		}, rejection{status: 403, code: socialauth.CodeAuthStateForbidden}},
		{"duplicated state=a&state=b", func(cb *url.URL) *url.URL {
			q := cb.Query()
			return withRawQuery(cb, "code="+url.QueryEscape(q.Get("code"))+"&state="+url.QueryEscape(q.Get("state"))+"&state=b")
		}, rejection{status: 400, code: socialauth.CodeAuthInvalidParameter}},
		{"duplicated, attacker's first", func(cb *url.URL) *url.URL {
			q := cb.Query()
			return withRawQuery(cb, "code="+url.QueryEscape(q.Get("code"))+"&state=b&state="+url.QueryEscape(q.Get("state")))
		}, rejection{status: 400, code: socialauth.CodeAuthInvalidParameter}},
		{"control character", func(cb *url.URL) *url.URL {
			return withQuery(cb, func(q url.Values) { q.Set("state", q.Get("state")+"\x00") })
		}, rejection{status: 400, code: socialauth.CodeAuthInvalidParameter}},
		{"oversized", func(cb *url.URL) *url.URL {
			return withQuery(cb, func(q url.Values) { dropState(q); q.Set("state", string(make([]byte, 0))+longString(4096)) })
		}, rejection{status: 400, code: socialauth.CodeAuthInvalidParameter}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := e.browser()
			cb := b.callbackURL(backend, nil)
			e.reject(t, b, c.want, func() page { return b.complete(c.cb(cb)) })
			// The refused callback named no pending flow, so it consumed
			// nothing: the genuine callback completes. (This used to
			// assert the opposite — a failed callback consumed the flow
			// — until issue 11 changed the rule.)
			e.genuine(t, b, cb)
		})
	}

	t.Run("replayed after a login", func(t *testing.T) {
		b := e.browser()
		cb := b.callbackURL(backend, nil)
		if p := b.complete(cb); p.status != http.StatusFound {
			t.Fatalf("login: %d", p.status)
		}
		user := b.me()
		e.reject(t, b, rejection{status: 400, code: socialauth.CodeAuthStateMissing, user: user}, func() page { return b.complete(cb) })
		thief := e.browser()
		e.reject(t, thief, rejection{status: 400, code: socialauth.CodeAuthStateMissing}, func() page { return thief.complete(cb) })
	})

	t.Run("expired", func(t *testing.T) {
		b := e.browser()
		cb := b.callbackURL(backend, nil)
		e.clock.Advance(11 * time.Minute)
		defer e.clock.Advance(-11 * time.Minute)
		e.reject(t, b, rejection{status: 400, code: socialauth.CodeAuthStateMissing}, func() page { return b.complete(cb) })
	})

	t.Run("from another session", func(t *testing.T) {
		victim, attacker := e.browser(), e.browser()
		cb := attacker.callbackURL(backend, nil)
		// Login CSRF: the attacker's callback in the victim's browser.
		e.reject(t, victim, rejection{status: 400, code: socialauth.CodeAuthStateMissing}, func() page { return victim.complete(cb) })
		// The victim has a flow of its own: the attacker's state is wrong
		// for it, and consumes nothing of it.
		own := victim.callbackURL(backend, nil)
		e.reject(t, victim, rejection{status: 403, code: socialauth.CodeAuthStateForbidden}, func() page { return victim.complete(cb) })
		e.genuine(t, victim, own)
		// The attacker's own flow is untouched by its use elsewhere.
		e.genuine(t, attacker, cb)
	})

	t.Run("from another backend", func(t *testing.T) {
		other := oauthName
		if backend == oauthName {
			other = oidcName
		}
		b := e.browser()
		cb := b.callbackURL(backend, nil)
		// Both backends have a flow in this session; the state of one is
		// delivered to the other.
		b.begin(other, nil)
		moved := *cb
		moved.Path = "/complete/" + other + "/"
		e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthStateForbidden}, func() page { return b.complete(&moved) })
		// Neither flow was consumed: the callback at its own backend
		// completes.
		e.genuine(t, b, cb)
		// A backend with no flow at all.
		b2 := e.browser()
		cb2 := b2.callbackURL(backend, nil)
		moved2 := *cb2
		moved2.Path = "/complete/" + other + "/"
		e.reject(t, b2, rejection{status: 400, code: socialauth.CodeAuthStateMissing}, func() page { return b2.complete(&moved2) })
		e.genuine(t, b2, cb2)
	})
}

// With LOGIN_ERROR_URL set, a refusal is a redirect carrying only the code.
func TestStateRejectionRedirectsToLoginErrorURL(t *testing.T) {
	e := newEnv(t, options{settings: map[string]any{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/login-error/"}})
	b := e.browser()
	cb := b.callbackURL(edxName, nil)
	p := e.reject(t, b, rejection{status: http.StatusFound, code: socialauth.CodeAuthStateForbidden}, func() page {
		return b.complete(withQuery(cb, func(q url.Values) { q.Set("state", "<script>x</script>"); q.Del("redirect_state") }))
	})
	if p.location() != "/login-error/?error=auth_state_forbidden" {
		t.Errorf("Location = %q", p.location())
	}
	e.genuine(t, b, cb)
}

// genuine delivers the genuine callback cb in b and asserts that it
// completes: one token request, a 302 to the next page, a signed-in
// session, no error logged.
func (e *env) genuine(t *testing.T, b *browser, cb *url.URL) {
	t.Helper()
	calls := e.lms.Calls()
	mark := e.logs.Len()
	p := b.complete(cb)
	if p.status != http.StatusFound || p.location() != "/done/" {
		t.Errorf("genuine callback: status %d, Location %q, want 302 to /done/ (body %q); logs:\n%s",
			p.status, p.location(), p.body, e.logs.String()[mark:])
	}
	if got := e.lms.Calls().Token - calls.Token; got != 1 {
		t.Errorf("genuine callback: %d token requests, want 1", got)
	}
	if b.me() == "" {
		t.Error("genuine callback: the session is not signed in")
	}
	for _, r := range e.logs.records(t, mark) {
		if r["msg"] == "socialauth: request failed" {
			t.Errorf("genuine callback: failure logged: %v", r)
		}
	}
}

func longString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return string(b)
}
