package backends

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// The django-oauth-toolkit case: {issuer}/.well-known/openid-configuration
// answers 301 to the same URL with a trailing slash, and the key set may sit
// behind a redirect too. Both are followed and the login works.
func TestOIDCDiscoveryBehindRedirect(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	l.Fault(fakelms.Fault{Endpoint: "discovery", Times: 1, Status: http.StatusMovedPermanently,
		RedirectTo: l.Issuer() + "/.well-known/openid-configuration/"})
	l.Fault(fakelms.Fault{Endpoint: "jwks", Times: 1, RedirectTo: l.Issuer() + "/jwks.json"})
	defer l.ClearFaults()
	b := newOIDC(t, l, nil)
	if _, err := login(t, l, b, newStrategy()); err != nil {
		t.Fatalf("login: %v", err)
	}
	if c := l.Calls(); c.Discovery != 2 || c.JWKS != 2 {
		t.Errorf("calls = %+v, want the redirect and its target for each", c)
	}
}

func TestOIDCDiscoveryRedirectRefused(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	var hits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	defer other.Close()
	l.Fault(fakelms.Fault{Endpoint: "discovery", RedirectTo: other.URL + "/.well-known/openid-configuration"})
	defer l.ClearFaults()
	b := newOIDC(t, l, nil)
	_, err := b.AuthURL(t.Context(), newStrategy())
	wantCode(t, err, socialauth.CodeAuthUnknownError)
	if !strings.Contains(err.Error(), other.URL) {
		t.Errorf("error %q does not name the redirect target", err)
	}
	if hits.Load() != 0 {
		t.Error("redirect to another origin followed")
	}
}

// The configured issuer with a trailing slash the provider's issuer does not
// have is another issuer (Discovery §4.3).
func TestOIDCDiscoveryIssuerMismatch(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := newOIDC(t, l, settings.Map{"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": l.Issuer() + "/"})
	_, err := b.AuthURL(t.Context(), newStrategy())
	wantCode(t, err, socialauth.CodeAuthUnknownError)
	if !strings.Contains(err.Error(), "issuer") {
		t.Errorf("err = %v", err)
	}
}

// discoveryWith serves the fake LMS's discovery document with
// id_token_signing_alg_values_supported replaced (removed when algs is nil).
func discoveryWith(t *testing.T, l *fakelms.LMS, algs []string) {
	t.Helper()
	resp, err := l.Client().Get(l.Issuer() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if algs == nil {
		delete(doc, "id_token_signing_alg_values_supported")
	} else {
		doc["id_token_signing_alg_values_supported"] = algs
	}
	body, _ := json.Marshal(doc)
	l.Fault(fakelms.Fault{Endpoint: "discovery", Body: string(body)})
}

// ID tokens are pinned to the provider's advertised algorithms (RS256 when
// it advertises none), narrowed by JWT_ALGORITHMS; a token in another
// algorithm is refused though its key is published.
func TestOIDCAlgorithmPinning(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	rs512 := func(c, h map[string]any) string { s, _ := l.SignJWT(jwa.RS512, c, h); return s }
	rs512Kid := func(c, h map[string]any) { // the key published with alg RS512
		h["kid"] = l.KeyID()
		delete(c, "at_hash") // the forged one is RS256's
	}
	both := settings.Map{"SOCIAL_AUTH_OIDC_JWT_ALGORITHMS": []string{"RS256", "RS512"}}
	only256 := settings.Map{"SOCIAL_AUTH_OIDC_JWT_ALGORITHMS": []string{"RS256"}}
	tests := []struct {
		name      string
		advertise []string // nil: the member is absent
		set       settings.Map
		mutate    func(c, h map[string]any)
		sign      func(c, h map[string]any) string
		ok        bool
	}{
		{name: "RS512 allowed here, not advertised", advertise: []string{"RS256"}, set: both, mutate: rs512Kid, sign: rs512},
		{name: "RS512 advertised", advertise: []string{"RS512"}, mutate: rs512Kid, sign: rs512, ok: true},
		{name: "RS512 advertised, none and HS256 too", advertise: []string{"none", "HS256", "RS512"}, mutate: rs512Kid, sign: rs512, ok: true},
		{name: "RS512 advertised, JWT_ALGORITHMS RS256", advertise: []string{"RS512"}, set: only256, mutate: rs512Kid, sign: rs512},
		{name: "RS256 not advertised", advertise: []string{"RS512"}},
		{name: "nothing advertised: RS256", advertise: nil, ok: true},
		{name: "nothing advertised: not RS512", advertise: nil, set: both, mutate: rs512Kid, sign: rs512},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			discoveryWith(t, l, tt.advertise)
			err := oidcForged(t, l, tt.set, tt.mutate, tt.sign)
			if tt.ok {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			wantCode(t, err, socialauth.CodeAuthTokenError)
		})
	}
}

// Discovery GETs follow same-origin redirects; the token and revocation POSTs
// still never do, not even to the same URL.
func TestOIDCPostsNeverFollowRedirects(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := newOIDC(t, l, nil)
	st := newStrategy()
	resp, err := login(t, l, b, st)
	if err != nil {
		t.Fatal(err)
	}
	at, _ := resp["access_token"].(string)

	st = newStrategy()
	cb := authorize(t, l, start(t, b, st).String())
	tokenURL := l.URL() + "/oauth2/access_token"
	l.Fault(fakelms.Fault{Endpoint: "token", Times: 1, Status: http.StatusTemporaryRedirect, RedirectTo: tokenURL})
	before := l.Calls().Token
	_, err = callback(b, st, cb)
	l.ClearFaults()
	if err == nil {
		t.Fatal("token exchange followed a redirect")
	}
	if n := l.Calls().Token - before; n != 1 {
		t.Errorf("token POST sent %d times, want 1", n)
	}

	revokes := l.Calls().Revoke
	l.Fault(fakelms.Fault{Endpoint: "revoke", Times: 1, Status: http.StatusTemporaryRedirect, RedirectTo: l.URL() + "/oauth2/revoke_token"})
	err = b.Revoke(t.Context(), at, "jsmith")
	l.ClearFaults()
	if err == nil {
		t.Error("revocation followed a redirect")
	}
	if n := l.Calls().Revoke - revokes; n != 1 {
		t.Errorf("revocation POST sent %d times", n)
	}
}
