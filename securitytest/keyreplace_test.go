package securitytest

import (
	"net/http"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// The provider rotates its key but reuses the kid: the cached key under that
// kid no longer verifies. The first sign-in after the change forces one key
// fetch for the kid and succeeds (it used to fail until the cache expired);
// bad signatures under the kid afterwards cost no fetch within the cooldown.
func TestOIDCKeyReplacedUnderSameKid(t *testing.T) {
	e := oidccEnv(t, nil)
	e.oidccSignIn(t, e.browser(), nil)
	kid := e.lms.KeyID()
	if err := e.lms.ReplaceKey(attackerKey()); err != nil {
		t.Fatal(err)
	}
	if e.lms.KeyID() != kid {
		t.Fatal("ReplaceKey changed the kid")
	}
	jwks := e.lms.Calls().JWKS
	e.oidccSignIn(t, e.browser(), nil)
	if n := e.lms.Calls().JWKS - jwks; n != 1 {
		t.Errorf("JWKS fetched %d times for the replaced key, want 1", n)
	}
	e.oidccSignIn(t, e.browser(), nil)
	if n := e.lms.Calls().JWKS - jwks; n != 1 {
		t.Errorf("JWKS fetched %d times after two sign-ins, want 1 (the new key cached)", n)
	}
	e.lms.SetOIDCFaults(fakelms.OIDCFaults{InvalidSignature: true})
	jwks = e.lms.Calls().JWKS
	for range 5 {
		b := e.browser()
		cb := b.callbackURL(oidcName, nil)
		e.reject(t, b, rejection{status: http.StatusForbidden, code: socialauth.CodeAuthTokenError, tokenCalls: 1},
			func() page { return b.complete(cb) })
	}
	if n := e.lms.Calls().JWKS - jwks; n != 0 {
		t.Errorf("5 bad signatures under a kid refetched within its cooldown: %d JWKS fetches, want 0", n)
	}
}

// The same for edx-oauth2's JWT access tokens (the verifier and key cache are
// shared).
func TestEdxKeyReplacedUnderSameKid(t *testing.T) {
	e := newEnv(t, options{})
	e.browser().login(edxName)
	if err := e.lms.ReplaceKey(attackerKey()); err != nil {
		t.Fatal(err)
	}
	jwks := e.lms.Calls().JWKS
	e.browser().login(edxName)
	if n := e.lms.Calls().JWKS - jwks; n != 1 {
		t.Errorf("JWKS fetched %d times for the replaced key, want 1", n)
	}
}
