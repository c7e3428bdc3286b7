package edx_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/internal/discovery"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

const hmacKey = "a-shared-hmac-signing-key-of-the-lms-at-least-64-bytes-for-hs512-0123456789"

// lmsClaims are the claims the fake LMS would put in jsmith's token.
func lmsClaims(t *testing.T, h *harness) map[string]any {
	t.Helper()
	c, ok := h.lms.AccessTokenClaims(expectedUsername)
	if !ok {
		t.Fatal("no jsmith at the LMS")
	}
	return c
}

// loginWithToken runs a login whose token endpoint answers accessToken.
func (h *harness) loginWithToken(sess *testutil.Session, accessToken string) (*socialauth.Response, error) {
	h.t.Helper()
	cb := h.authorize(h.begin(sess, nil).Location)
	h.lms.Fault(fakelms.Fault{Endpoint: "token", Body: tokenBody(accessToken), Times: 1})
	return h.svc.Complete(context.Background(), h.strategy(sess, cb), edx.Name)
}

// assertRejected checks the SECURITY.md contract for a refused token: an
// AuthTokenError (403), no login, nothing written, no secret in the logs.
func assertRejected(t *testing.T, h *harness, sess *testutil.Session, before testutil.Snapshot, token string, err error) {
	t.Helper()
	if !errors.Is(err, socialauth.CodeAuthTokenError) {
		t.Fatalf("error = %v, want AuthTokenError", err)
	}
	if got := socialauth.HTTPStatus(err); got != http.StatusForbidden {
		t.Errorf("HTTP status = %d, want 403", got)
	}
	if sessionUser(sess) != "" {
		t.Error("the session is logged in")
	}
	if diff := before.Diff(h.store.Snapshot()); diff != "" {
		t.Errorf("storage changed (-before +after):\n%s", diff)
	}
	logs := h.logs.String()
	for _, secret := range []string{token, clientSecret, hmacKey} {
		if secret != "" && strings.Contains(logs, secret) {
			t.Errorf("a secret reached the logs")
		}
		if secret != "" && strings.Contains(err.Error(), secret) {
			t.Errorf("a secret reached the error string: %v", err)
		}
	}
}

// Every token that fails verification is refused before a claim is used.
func TestTokenRejections(t *testing.T) {
	expired := func(t *testing.T, h *harness) string {
		c := lmsClaims(t, h)
		c["iat"] = time.Now().Add(-3 * time.Hour).Unix()
		c["exp"] = time.Now().Add(-2 * time.Hour).Unix()
		return h.lms.SignAccessToken(c)
	}
	tests := []rejectionCase{
		{name: "alg none, empty signature", token: func(t *testing.T, h *harness) string {
			return unsignedJWT(t, map[string]any{"alg": "none", "typ": "JWT"}, lmsClaims(t, h), "")
		}},
		{name: "alg none, with a signature", token: func(t *testing.T, h *harness) string {
			return unsignedJWT(t, map[string]any{"alg": "none", "typ": "JWT", "kid": h.lms.KeyID()}, lmsClaims(t, h), "c2ln")
		}},
		{name: "HS256 keyed with the RSA public key", token: func(t *testing.T, h *harness) string {
			return signJWT(t, jwa.HS256, h.lms.PublicKeyPEM(), lmsClaims(t, h), map[string]any{"kid": h.lms.KeyID()})
		}},
		{name: "HS512 keyed with the RSA public key", token: func(t *testing.T, h *harness) string {
			return signJWT(t, jwa.HS512, h.lms.PublicKeyPEM(), lmsClaims(t, h), map[string]any{"kid": h.lms.KeyID()})
		}},
		{name: "bad signature", token: func(t *testing.T, h *harness) string {
			tok := h.lms.SignAccessToken(lmsClaims(t, h))
			i := strings.LastIndexByte(tok, '.') + 10
			c := byte('A')
			if tok[i] == 'A' {
				c = 'B'
			}
			return tok[:i] + string(c) + tok[i+1:]
		}},
		{name: "signed by another key under the LMS's kid", token: func(t *testing.T, h *harness) string {
			return signJWT(t, jwa.RS512, otherKey, lmsClaims(t, h), map[string]any{"kid": h.lms.KeyID()})
		}},
		{name: "claims altered after signing", token: func(t *testing.T, h *harness) string {
			tok := h.lms.SignAccessToken(lmsClaims(t, h))
			parts := strings.Split(tok, ".")
			c := lmsClaims(t, h)
			c["preferred_username"] = "admin"
			forged := unsignedJWT(t, map[string]any{}, c, "")
			return parts[0] + "." + strings.Split(forged, ".")[1] + "." + parts[2]
		}},
		{name: "expired", token: expired},
		{name: "no exp", token: func(t *testing.T, h *harness) string {
			c := lmsClaims(t, h)
			delete(c, "exp")
			return h.lms.SignAccessToken(c)
		}},
		{name: "wrong iss", token: func(t *testing.T, h *harness) string {
			c := lmsClaims(t, h)
			c["iss"] = "https://evil.example.com/oauth2"
			return h.lms.SignAccessToken(c)
		}},
		{name: "iss not the ISSUER setting", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_ISSUER": "https://lms.example.com/oauth2"},
			token: func(t *testing.T, h *harness) string { return h.lms.SignAccessToken(lmsClaims(t, h)) }},
		{name: "wrong aud when JWT_AUDIENCE is set", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE": "my-service"},
			token: func(t *testing.T, h *harness) string { return h.lms.SignAccessToken(lmsClaims(t, h)) }},
		{name: "wrong aud against a JWT_AUDIENCE list", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE": []string{"a", "b"}},
			token: func(t *testing.T, h *harness) string { return h.lms.SignAccessToken(lmsClaims(t, h)) }},
		{name: "unknown kid", token: func(t *testing.T, h *harness) string {
			tok, err := h.lms.SignJWT(jwa.RS512, lmsClaims(t, h), map[string]any{"kid": "not-a-known-kid"})
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}},
		{name: "RS512 token in HMAC mode", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": hmacKey},
			token: func(t *testing.T, h *harness) string { return h.lms.SignAccessToken(lmsClaims(t, h)) }},
		{name: "HS256 with the shared key in HMAC mode", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": hmacKey},
			token: func(t *testing.T, h *harness) string {
				return signJWT(t, jwa.HS256, []byte(hmacKey), lmsClaims(t, h), nil)
			}},
		{name: "HS512 with another key in HMAC mode", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": hmacKey},
			token: func(t *testing.T, h *harness) string {
				return signJWT(t, jwa.HS512, []byte("not-the-key"), lmsClaims(t, h), nil)
			}},
		{name: "expired in HMAC mode", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": hmacKey},
			token: func(t *testing.T, h *harness) string {
				c := lmsClaims(t, h)
				c["exp"] = time.Now().Add(-time.Hour).Unix()
				return signJWT(t, jwa.HS512, []byte(hmacKey), c, nil)
			}},
		{name: "opaque bearer token", token: func(*testing.T, *harness) string { return "2YotnFZFEjr1zCsicMWpAA" }},
		{name: "oversized token", token: func(t *testing.T, h *harness) string {
			c := lmsClaims(t, h)
			c["padding"] = strings.Repeat("x", edx.MaxTokenSize)
			return h.lms.SignAccessToken(c)
		}},
	}
	runRejections(t, tests)
}

// rejectionCase is a token the backend must refuse, built against the
// harness's LMS, with the settings it is refused under.
type rejectionCase struct {
	name     string
	settings settings.Map
	token    func(t *testing.T, h *harness) string
}

// runRejections signs in with each case's token in a fresh harness and
// checks it is refused: typed error, nothing written, no session, no secret
// logged (assertRejected).
func runRejections(t *testing.T, tests []rejectionCase) {
	t.Helper()
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{settings: tc.settings})
			sess := testutil.NewSession()
			before := h.store.Snapshot()
			token := tc.token(t, h)
			_, err := h.loginWithToken(sess, token)
			assertRejected(t, h, sess, before, token, err)
		})
	}
}

// The control for the table above: the same forgeries' honest twins pass.
func TestTokenAccepted(t *testing.T) {
	tests := []struct {
		name     string
		settings settings.Map // "{issuer}" is the running LMS's issuer
	}{
		{name: "defaults"},
		{name: "ISSUER set to the LMS issuer", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_ISSUER": "{issuer}"}},
		{name: "JWT_AUDIENCE holding the token's aud", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE": []any{"x", "lms-key"}}},
		{name: "JWT_AUDIENCE as one value", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE": "lms-key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{lmsSettings: func(lms *fakelms.LMS) settings.Map {
				m := settings.Map{}
				for k, v := range tc.settings {
					if v == "{issuer}" {
						v = lms.Issuer()
					}
					m[k] = v
				}
				return m
			}})
			sess := testutil.NewSession()
			if _, err := h.login(sess, nil); err != nil {
				t.Fatalf("login: %v", err)
			}
			if sessionUser(sess) == "" {
				t.Error("not logged in")
			}
		})
	}
}

// HS512 with JWS_HMAC_SIGNING_KEY: accepted, and no discovery or JWKS
// request is ever made.
func TestHMACVerification(t *testing.T) {
	h := newHarness(t, harnessOptions{settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": hmacKey}})
	for i := 0; i < 3; i++ {
		sess := testutil.NewSession()
		tok := signJWT(t, jwa.HS512, []byte(hmacKey), lmsClaims(t, h), nil)
		if _, err := h.loginWithToken(sess, tok); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
		if sessionUser(sess) == "" {
			t.Fatalf("login %d: not logged in", i)
		}
	}
	if c := h.lms.Calls(); c.Discovery != 0 || c.JWKS != 0 {
		t.Errorf("discovery %d, jwks %d: want none in HMAC mode", c.Discovery, c.JWKS)
	}
}

// The JWKS path in steady state: one discovery and one JWKS fetch for many
// logins (the verifier is built once, by New, without I/O; the keys are
// fetched at the first login and cached by the backend instance).
func TestJWKSCaching(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if s := h.backend.ProviderStats(); s != (discovery.Stats{}) {
		t.Errorf("ProviderStats after New = %+v, want no fetch", s)
	}
	const logins = 6
	for i := 0; i < logins; i++ {
		sess := testutil.NewSession()
		if _, err := h.login(sess, nil); err != nil {
			t.Fatalf("login %d: %v", i, err)
		}
	}
	c := h.lms.Calls()
	if c.Discovery != 1 || c.JWKS != 1 || c.Token != logins {
		t.Errorf("discovery %d, jwks %d, token %d: want 1, 1, %d", c.Discovery, c.JWKS, c.Token, logins)
	}
	if s := h.backend.ProviderStats(); s != (discovery.Stats{ConfigFetches: 1, JWKSFetches: 1}) {
		t.Errorf("ProviderStats = %+v", s)
	}
}

// The TTL settings are honoured: past JWKS_CACHE_TTL the keys are fetched
// again; past PROVIDER_CONFIGURATION_CACHE_TTL the configuration is.
func TestCacheTTLSettings(t *testing.T) {
	var (
		mu  sync.Mutex
		now = time.Now()
	)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	h := newHarness(t, harnessOptions{now: clock, lms: fakelms.Options{Now: clock}, settings: settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL":                   60,
		"SOCIAL_AUTH_EDX_OAUTH2_PROVIDER_CONFIGURATION_CACHE_TTL": "1h",
	}})
	login := func() {
		t.Helper()
		if _, err := h.login(testutil.NewSession(), nil); err != nil {
			t.Fatal(err)
		}
	}
	login()
	advance(30 * time.Second)
	login()
	if c := h.lms.Calls(); c.Discovery != 1 || c.JWKS != 1 {
		t.Fatalf("within TTL: discovery %d, jwks %d", c.Discovery, c.JWKS)
	}
	advance(61 * time.Second)
	login()
	if c := h.lms.Calls(); c.Discovery != 1 || c.JWKS != 2 {
		t.Fatalf("after JWKS TTL: discovery %d, jwks %d, want 1, 2", c.Discovery, c.JWKS)
	}
	advance(time.Hour)
	login()
	if c := h.lms.Calls(); c.Discovery != 2 {
		t.Fatalf("after configuration TTL: discovery %d, want 2", c.Discovery)
	}
}

// Key rotation: tokens signed with the new key are accepted after one JWKS
// refetch; the configuration is not fetched again.
func TestKeyRotation(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if _, err := h.login(testutil.NewSession(), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := h.lms.RotateKeyWith(otherKey); err != nil {
		t.Fatal(err)
	}
	h.lms.DropOldKeys()
	for i := 0; i < 3; i++ {
		sess := testutil.NewSession()
		if _, err := h.login(sess, nil); err != nil {
			t.Fatalf("login %d after rotation: %v", i, err)
		}
	}
	if c := h.lms.Calls(); c.Discovery != 1 || c.JWKS != 2 {
		t.Errorf("discovery %d, jwks %d: want 1, 2", c.Discovery, c.JWKS)
	}
}

// A flood of unknown kids costs at most one JWKS fetch per kid in the
// cooldown window (a key just published is fetched on its first use, so
// each new kid may force one refetch): one unknown kid sent five times
// forces one refetch; five more distinct kids, each sent twice, one each.
func TestUnknownKidFlood(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	reject := func(kid string) {
		t.Helper()
		sess := testutil.NewSession()
		before := h.store.Snapshot()
		tok, err := h.lms.SignJWT(jwa.RS512, lmsClaims(t, h), map[string]any{"kid": kid})
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.loginWithToken(sess, tok)
		assertRejected(t, h, sess, before, tok, err)
	}
	for i := 0; i < 5; i++ {
		reject("unknown-a")
	}
	if c := h.lms.Calls(); c.JWKS > 2 || c.Discovery != 1 {
		t.Errorf("one unknown kid five times: discovery %d, jwks %d: want 1 and at most 2", c.Discovery, c.JWKS)
	}
	for round := 0; round < 2; round++ {
		for i := 1; i <= 5; i++ {
			reject("unknown-" + string(rune('a'+i)))
		}
	}
	if c := h.lms.Calls(); c.JWKS > 7 || c.Discovery != 1 {
		t.Errorf("five more kids, twice each: discovery %d, jwks %d: want 1 and at most 7", c.Discovery, c.JWKS)
	}
}

// Provider faults on the discovery and JWKS endpoints are typed (502 for an
// unreachable LMS, never a 500) and write nothing.
func TestKeyFetchFaults(t *testing.T) {
	tests := []struct {
		fault fakelms.Fault
		want  socialauth.Code
	}{
		{fakelms.Fault{Endpoint: "discovery", Status: http.StatusServiceUnavailable, Body: "{}"}, socialauth.CodeAuthUnreachableProvider},
		{fakelms.Fault{Endpoint: "jwks", Status: http.StatusInternalServerError, Body: "{}"}, socialauth.CodeAuthUnreachableProvider},
		{fakelms.Fault{Endpoint: "jwks", Body: "<html>oops</html>", ContentType: "text/html"}, socialauth.CodeAuthUnknownError},
		{fakelms.Fault{Endpoint: "discovery", Status: http.StatusFound, RedirectTo: "https://evil.example.com/"}, socialauth.CodeAuthUnknownError},
	}
	for _, tc := range tests {
		t.Run(tc.fault.Endpoint+"/"+http.StatusText(tc.fault.Status)+tc.fault.ContentType, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			h.lms.Fault(tc.fault)
			sess := testutil.NewSession()
			before := h.store.Snapshot()
			_, err := h.login(sess, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error = %v, want %v", err, tc.want)
			}
			if st := socialauth.HTTPStatus(err); st != http.StatusBadGateway {
				t.Errorf("HTTP status = %d, want 502", st)
			}
			if sessionUser(sess) != "" || before.Diff(h.store.Snapshot()) != "" {
				t.Error("logged in or storage changed")
			}
		})
	}
}

// A callback carrying RFC 9207's iss is accepted only with the LMS issuer.
func TestIssParameter(t *testing.T) {
	for _, tc := range []struct {
		name string
		iss  func(h *harness) string
		ok   bool
	}{
		{"the LMS issuer", func(h *harness) string { return h.lms.Issuer() }, true},
		{"another issuer", func(*harness) string { return "https://evil.example.com/oauth2" }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			sess := testutil.NewSession()
			cb := h.authorize(h.begin(sess, nil).Location)
			cb.Set("iss", tc.iss(h))
			_, err := h.svc.Complete(context.Background(), h.strategy(sess, cb), edx.Name)
			if tc.ok != (err == nil) {
				t.Fatalf("error = %v, want ok=%v", err, tc.ok)
			}
			if !tc.ok && h.lms.Calls().Token != 0 {
				t.Error("the code was exchanged despite a wrong iss")
			}
		})
	}
}

// TestAlgorithmPinned: with the JWKS, a token signed in any algorithm but
// RS512 (what the LMS signs) is refused even though its key is published,
// unless JWT_ALGORITHMS lists it; JWT_ALGORITHMS with a symmetric or unknown
// algorithm stops start-up naming the setting.
func TestAlgorithmPinned(t *testing.T) {
	ctx := context.Background()
	lms := &exampleLMS{key: lmsKey}
	rs256 := signJWT(t, jwa.RS256, lmsKey, fixtureClaims(time.Now()), nil)
	rs512 := signJWT(t, jwa.RS512, lmsKey, fixtureClaims(time.Now()), nil)

	pinned := fixtureBackend(t, lms, nil, edx.Options{})
	if got := pinned.Config().JWTAlgorithms; len(got) != 1 || got[0] != "RS512" {
		t.Errorf("default JWTAlgorithms = %v, want [RS512]", got)
	}
	if _, err := pinned.UserData(ctx, rs512); err != nil {
		t.Fatalf("RS512: %v", err)
	}
	if _, err := pinned.UserData(ctx, rs256); !errors.Is(err, socialauth.CodeAuthTokenError) {
		t.Errorf("RS256 with the published key: %v, want AuthTokenError", err)
	}

	widened := fixtureBackend(t, lms, settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWT_ALGORITHMS": "RS256,RS512"}, edx.Options{})
	if _, err := widened.UserData(ctx, rs256); err != nil {
		t.Errorf("RS256 listed in JWT_ALGORITHMS: %v", err)
	}

	for _, bad := range []any{"HS256", "none", "RS512,HS512", []string{}} {
		_, err := edx.ConfigFrom(fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWT_ALGORITHMS": bad}))
		assertConfigError(t, err, "SOCIAL_AUTH_EDX_OAUTH2_JWT_ALGORITHMS")
	}
}
