package securitytest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// The OpenID Foundation's relying-party certification battery (Basic,
// Config and Refresh profiles, plus two tests of the comprehensive plan),
// run against our controllable OpenID provider (fakelms in OIDC mode)
// instead of the Foundation's suite: one subtest per test id, named after
// it. Each drives the generic oidc backend through the real views over
// loopback; the negative ones assert the typed refusal (code, status, fixed
// body), no sign-in, nothing written but the spent flow, and how far the
// flow went at the provider. docs/security.md lists the ids and these tests.
func TestOIDCC(t *testing.T) {
	idTokenRefused := rejection{status: http.StatusForbidden, code: socialauth.CodeAuthTokenError, tokenCalls: 1}
	for _, tc := range []struct {
		id     string
		faults fakelms.OIDCFaults
		// setup runs on the env before the flow starts.
		setup func(t *testing.T, e *env)
	}{
		{id: "oidcc-client-test-invalid-iss", faults: fakelms.OIDCFaults{Issuer: "https://issuer.invalid/"}},
		{id: "oidcc-client-test-missing-sub", faults: fakelms.OIDCFaults{OmitSub: true}},
		{id: "oidcc-client-test-invalid-aud", faults: fakelms.OIDCFaults{Audience: "another-client"}},
		{id: "oidcc-client-test-missing-iat", faults: fakelms.OIDCFaults{OmitIat: true}},
		// Either choice passes the certification; we refuse, so that a
		// token always names its key when there is a choice.
		{id: "oidcc-client-test-kid-absent-multiple-jwks", faults: fakelms.OIDCFaults{OmitKid: true},
			setup: func(t *testing.T, e *env) { publishSecondKey(t, e) }},
		{id: "oidcc-client-test-idtoken-sig-none", faults: fakelms.OIDCFaults{AlgNone: true}},
		{id: "oidcc-client-test-invalid-sig-rs256", faults: fakelms.OIDCFaults{InvalidSignature: true}},
		{id: "oidcc-client-test-nonce-invalid", faults: fakelms.OIDCFaults{Nonce: "not-the-nonce-of-this-flow"}},
		{id: "invalid-athash", faults: fakelms.OIDCFaults{InvalidAtHash: true}},
		{id: "missing-aud", faults: fakelms.OIDCFaults{OmitAud: true}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			e := oidccEnv(t, nil)
			if tc.setup != nil {
				tc.setup(t, e)
			}
			e.lms.SetOIDCFaults(tc.faults)
			b := e.browser()
			cb := b.callbackURL(oidcName, nil)
			userinfo, jwks := e.lms.Calls().UserInfo, e.lms.Calls().JWKS
			e.reject(t, b, idTokenRefused, func() page { return b.complete(cb) })
			if n := e.lms.Calls().UserInfo - userinfo; n != 0 {
				t.Errorf("UserInfo called %d times after a refused ID token", n)
			}
			// A bad signature may force one refetch of the token's kid, no more.
			if n := e.lms.Calls().JWKS - jwks; n > 2 {
				t.Errorf("JWKS fetched %d times for one refused ID token", n)
			}
			if n := e.count(storage.TableSocialAuth); n != 0 {
				t.Errorf("%d associations after a refused ID token", n)
			}
		})
	}

	t.Run("oidcc-client-test", func(t *testing.T) {
		e := oidccEnv(t, nil)
		b := e.browser()
		au := b.begin(oidcName, nil)
		q := au.Query()
		if q.Get("response_type") != "code" || !strings.Contains(" "+q.Get("scope")+" ", " openid ") || q.Get("nonce") == "" || q.Get("state") == "" {
			t.Errorf("authorization request %v: want response_type=code, scope openid, a nonce and a state", q)
		}
		e.oidccSignIn(t, b, e.authorize(au))
	})
	t.Run("oidcc-client-test-kid-absent-single-jwks", func(t *testing.T) {
		e := oidccEnv(t, nil)
		e.lms.SetOIDCFaults(fakelms.OIDCFaults{OmitKid: true})
		e.oidccSignIn(t, e.browser(), nil)
	})
	t.Run("oidcc-client-test-idtoken-sig-rs256", func(t *testing.T) {
		e := oidccEnv(t, nil)
		b := e.browser()
		e.oidccSignIn(t, b, nil)
		if alg := jwtHeader(t, e.storedIDToken(t))["alg"]; alg != "RS256" {
			t.Errorf("ID token alg = %v, want RS256", alg)
		}
	})
	t.Run("oidcc-client-test-userinfo-invalid-sub", func(t *testing.T) {
		e := oidccEnv(t, nil)
		e.lms.SetOIDCFaults(fakelms.OIDCFaults{UserInfoSub: "someone-else"})
		b := e.browser()
		cb := b.callbackURL(oidcName, nil)
		userinfo := e.lms.Calls().UserInfo
		e.reject(t, b, idTokenRefused, func() page { return b.complete(cb) })
		if n := e.lms.Calls().UserInfo - userinfo; n != 1 {
			t.Errorf("UserInfo called %d times, want 1", n)
		}
	})
	t.Run("oidcc-client-test-scope-userinfo-claims", func(t *testing.T) {
		e := oidccEnv(t, nil)
		if err := e.lms.AddUser(fakelms.User{Username: "jsmith", Email: "joe.userinfo@example.com", GivenName: "Joseph", FamilyName: "Userinfo"}); err != nil {
			t.Fatal(err)
		}
		b := e.browser()
		userinfo := e.lms.Calls().UserInfo
		e.oidccSignIn(t, b, nil)
		if n := e.lms.Calls().UserInfo - userinfo; n != 1 {
			t.Errorf("UserInfo called %d times, want 1", n)
		}
		u, err := e.store.GetUser(t.Context(), b.me())
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "joe.userinfo@example.com" || u.FirstName != "Joseph" || u.LastName != "Userinfo" {
			t.Errorf("user = %+v, want the email and names of the scopes' claims", u)
		}
	})
	t.Run("oidcc-client-test-client-secret-basic", func(t *testing.T) {
		e := oidccEnv(t, settings.Map{"SOCIAL_AUTH_OIDC_TOKEN_ENDPOINT_AUTH_METHOD": "client_secret_basic"})
		e.oidccSignIn(t, e.browser(), nil)
		trs := e.lms.TokenRequests()
		if len(trs) != 1 {
			t.Fatalf("%d token requests, want 1", len(trs))
		}
		tr := trs[0]
		if !tr.BasicAuth || tr.BasicUser != clientID || tr.BasicPassword != e.secret || tr.Form.Has("client_secret") {
			t.Errorf("token request: Basic %v user %q, client_secret in form %v; want client_secret_basic only",
				tr.BasicAuth, tr.BasicUser, tr.Form.Has("client_secret"))
		}
	})

	t.Run("oidcc-client-test-discovery-openid-config", func(t *testing.T) {
		e := oidccEnv(t, nil)
		b := e.browser()
		au := b.begin(oidcName, nil)
		if c := e.lms.Calls(); c.Discovery != 1 {
			t.Errorf("discovery fetched %d times, want 1", c.Discovery)
		}
		if got, want := au.Scheme+"://"+au.Host+au.Path, e.lms.URL()+"/oauth2/authorize"; got != want {
			t.Errorf("authorization endpoint %q, want the discovered %q", got, want)
		}
		e.oidccSignIn(t, b, e.authorize(au))
		// The token and UserInfo endpoints came from the document too.
		if c := e.lms.Calls(); c.Token != 1 || c.UserInfo != 1 || c.Discovery != 1 {
			t.Errorf("calls = %+v, want one token and one UserInfo call and the document fetched once", c)
		}
	})
	t.Run("oidcc-client-test-discovery-jwks-uri-keys", func(t *testing.T) {
		e := oidccEnv(t, nil)
		e.oidccSignIn(t, e.browser(), nil)
		if n := e.lms.Calls().JWKS; n != 1 {
			t.Errorf("jwks_uri fetched %d times, want 1", n)
		}
		// The cached keys verify the next sign-in.
		e.oidccSignIn(t, e.browser(), nil)
		if n := e.lms.Calls().JWKS; n != 1 {
			t.Errorf("jwks_uri fetched %d times after two sign-ins, want 1 (cached)", n)
		}
	})
	t.Run("oidcc-client-test-discovery-issuer-mismatch", func(t *testing.T) {
		e := oidccEnv(t, nil)
		e.lms.SetOIDCFaults(fakelms.OIDCFaults{DiscoveryIssuer: "https://issuer.invalid"})
		b := e.browser()
		e.reject(t, b, rejection{status: http.StatusBadGateway, code: socialauth.CodeAuthUnknownError},
			func() page { return b.get("/login/" + oidcName + "/") })
		if c := e.lms.Calls(); c.Authorize != 0 || c.JWKS != 0 {
			t.Errorf("calls = %+v: the flow went on past a mismatched issuer", c)
		}
	})
	t.Run("oidcc-client-test-signing-key-rotation-just-before-signing", func(t *testing.T) {
		e := oidccEnv(t, nil)
		e.oidccSignIn(t, e.browser(), nil) // the old key set is cached now
		b := e.browser()
		cb := b.callbackURL(oidcName, nil)
		// The provider rotates between the authorization and the token
		// request: the ID token names a kid the cached set lacks.
		publishSecondKey(t, e)
		e.lms.DropOldKeys()
		jwks := e.lms.Calls().JWKS
		e.oidccSignIn(t, b, cb)
		if n := e.lms.Calls().JWKS - jwks; n != 1 {
			t.Errorf("JWKS fetched %d times for the new kid, want 1", n)
		}
	})
	t.Run("oidcc-client-test-signing-key-rotation", func(t *testing.T) {
		e := oidccEnv(t, nil)
		e.oidccSignIn(t, e.browser(), nil)
		publishSecondKey(t, e)
		e.oidccSignIn(t, e.browser(), nil) // signed with the new key, the old one still published
		e.lms.DropOldKeys()
		e.oidccSignIn(t, e.browser(), nil)
		if n := e.lms.Calls().JWKS; n != 2 {
			t.Errorf("JWKS fetched %d times over the rotation, want 2", n)
		}
	})

	t.Run("oidcc-refresh-token", func(t *testing.T) {
		e := oidccEnv(t, nil)
		e.oidccSignIn(t, e.browser(), nil)
		social := e.oidccSocial(t)
		got, err := e.oidccRefresher(t).RefreshSocial(t.Context(), e.store, social)
		if err != nil {
			t.Fatalf("refresh: %v", err)
		}
		if got.AccessToken() == "" || got.AccessToken() == social.AccessToken() {
			t.Error("access token not renewed")
		}
		stored, err := e.store.GetSocialAuthByID(t.Context(), social.ID)
		if err != nil {
			t.Fatal(err)
		}
		if stored.AccessToken() != got.AccessToken() {
			t.Error("refreshed token not stored")
		}
		if n := e.lms.TokenRequests(); len(n) != 2 || n[1].Form.Get("grant_type") != "refresh_token" {
			t.Errorf("token requests = %d, want the code grant and one refresh_token grant", len(n))
		}
	})
	for _, tc := range []struct {
		id     string
		faults fakelms.OIDCFaults
	}{
		// OpenID Connect Core §12.2: a refreshed ID token's iss and sub
		// must be the original's.
		{"oidcc-refresh-token-invalid-issuer", fakelms.OIDCFaults{Issuer: "https://issuer.invalid/"}},
		{"oidcc-refresh-token-invalid-sub", fakelms.OIDCFaults{Subject: "another-subject"}},
	} {
		t.Run(tc.id, func(t *testing.T) {
			e := oidccEnv(t, nil)
			e.oidccSignIn(t, e.browser(), nil)
			social := e.oidccSocial(t)
			before := e.snapshot()
			e.lms.SetOIDCFaults(tc.faults)
			_, err := e.oidccRefresher(t).RefreshSocial(t.Context(), e.store, social)
			var se *socialauth.Error
			if !errors.As(err, &se) || se.Code != socialauth.CodeAuthTokenError {
				t.Fatalf("refresh error = %v, want AuthTokenError", err)
			}
			if d := cmp.Diff(before, e.snapshot()); d != "" {
				t.Errorf("a refused refresh changed the database (-before +after):\n%s", d)
			}
		})
	}
}

// oidccEnv is a service whose oidc backend talks to the fake LMS in OIDC
// mode (SQLite).
func oidccEnv(t *testing.T, set settings.Map) *env {
	t.Helper()
	return newEnv(t, options{lms: fakelms.Options{OIDC: true}, settings: set})
}

// publishSecondKey makes a second key the provider's signing key; the first
// stays published until DropOldKeys.
func publishSecondKey(t *testing.T, e *env) {
	t.Helper()
	if _, err := e.lms.RotateKeyWith(attackerKey()); err != nil {
		t.Fatal(err)
	}
}

// oidccSignIn completes cb (a fresh flow of b when nil) and asserts a whole
// sign-in through the oidc backend: the redirect to LOGIN_REDIRECT_URL, the
// session's user, and one association whose uid is the LMS user's sub.
func (e *env) oidccSignIn(t *testing.T, b *browser, cb interface{ RequestURI() string }) {
	t.Helper()
	if cb == nil {
		cb = b.callbackURL(oidcName, nil)
	}
	p := b.get(cb.RequestURI())
	e.recordTokenSecrets()
	if p.status != http.StatusFound || p.location() != "/done/" {
		t.Fatalf("sign-in: %d Location %q body %q\nlogs:\n%s", p.status, p.location(), p.body, e.logs.String())
	}
	uid := b.me()
	if uid == "" {
		t.Fatal("sign-in: the session has no user")
	}
	u, _ := e.lms.User("jsmith")
	social, err := e.store.GetSocialAuth(t.Context(), oidcName, u.Subject)
	if err != nil {
		t.Fatalf("no association for the LMS user's sub: %v", err)
	}
	if social.UserID != uid {
		t.Errorf("association of user %q, session user %q", social.UserID, uid)
	}
}

func (e *env) oidccSocial(t *testing.T) *socialauth.UserSocialAuth {
	t.Helper()
	u, _ := e.lms.User("jsmith")
	social, err := e.store.GetSocialAuth(t.Context(), oidcName, u.Subject)
	if err != nil {
		t.Fatal(err)
	}
	return social
}

type socialRefresher interface {
	RefreshSocial(ctx context.Context, store socialauth.SocialStorage, social *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, error)
}

func (e *env) oidccRefresher(t *testing.T) socialRefresher {
	t.Helper()
	be, ok := e.svc.Backend(oidcName)
	if !ok {
		t.Fatal("no oidc backend")
	}
	r, ok := be.(socialRefresher)
	if !ok {
		t.Fatalf("%T cannot refresh", be)
	}
	return r
}

// storedIDToken is the id_token kept in the oidc association's extra_data.
func (e *env) storedIDToken(t *testing.T) string {
	t.Helper()
	s := e.oidccSocial(t)
	tok, _ := s.ExtraData["id_token"].(string)
	if tok == "" {
		t.Fatalf("no id_token in extra_data (keys %v)", slices.Collect(maps.Keys(s.ExtraData)))
	}
	return tok
}

// jwtHeader decodes a compact JWS's protected header.
func jwtHeader(t *testing.T, token string) map[string]any {
	t.Helper()
	h, _, _ := strings.Cut(token, ".")
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
