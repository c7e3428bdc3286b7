package fakelms

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jws"
)

// oidcIDToken runs a code grant with scope openid and returns the token response.
func oidcIDToken(t *testing.T, l *LMS) tokenResult {
	t.Helper()
	q := getCode(t, l, url.Values{"scope": {"openid profile email"}, "nonce": {"n-1"}})
	res := exchange(t, l, q.Get("code"), url.Values{"token_type": nil})
	if res.status != http.StatusOK {
		t.Fatalf("token: %d %s", res.status, res.raw)
	}
	return res
}

func TestOIDCModeJWKSOneEntryPerKey(t *testing.T) {
	l := newTestLMS(t, func(o *Options) { o.OIDC = true })
	set := fetchJWKS(t, l)
	if set.Len() != 1 {
		t.Fatalf("JWKS holds %d keys, want 1", set.Len())
	}
	k, _ := set.Key(0)
	if k.KeyID() != l.KeyID()+"-rs256" || k.Algorithm().String() != "RS256" {
		t.Errorf("key kid %q alg %q", k.KeyID(), k.Algorithm())
	}
	res := oidcIDToken(t, l)
	alg, kid, claims := verify(t, l, res.body["id_token"].(string))
	if alg != "RS256" || kid != k.KeyID() {
		t.Errorf("ID token alg %s kid %s", alg, kid)
	}
	for _, c := range []string{"iss", "sub", "aud", "iat", "exp", "nonce", "at_hash", "auth_time"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("ID token has no %s", c)
		}
	}
}

func TestSetOIDCFaults(t *testing.T) {
	l := newTestLMS(t, func(o *Options) { o.OIDC = true })
	l.SetOIDCFaults(OIDCFaults{Issuer: "https://x.invalid", OmitSub: true, OmitAud: true, OmitIat: true, Nonce: "other", InvalidAtHash: true})
	_, _, claims := verify(t, l, oidcIDToken(t, l).body["id_token"].(string))
	if claims["iss"] != "https://x.invalid" || claims["nonce"] != "other" || claims["at_hash"] != atHash("not-the-access-token") {
		t.Errorf("claims = %v", claims)
	}
	for _, c := range []string{"sub", "aud", "iat"} {
		if _, ok := claims[c]; ok {
			t.Errorf("%s not omitted", c)
		}
	}
	l.SetOIDCFaults(OIDCFaults{AlgNone: true})
	if tok := oidcIDToken(t, l).body["id_token"].(string); !strings.HasSuffix(tok, ".") {
		t.Errorf("alg none token %q has a signature", tok)
	}
	l.SetOIDCFaults(OIDCFaults{InvalidSignature: true})
	tok := oidcIDToken(t, l).body["id_token"].(string)
	if _, err := verifyErr(l, t, tok); err == nil {
		t.Error("corrupted signature verifies")
	}
	l.SetOIDCFaults(OIDCFaults{DiscoveryIssuer: "https://d.invalid", UserInfoSub: "u-other"})
	if d := getJSON(t, l.URL()+"/.well-known/openid-configuration", ""); d.body["issuer"] != "https://d.invalid" {
		t.Errorf("discovery issuer %v", d.body["issuer"])
	}
	res := oidcIDToken(t, l)
	if ui := getJSON(t, l.URL()+"/oauth2/userinfo", res.body["access_token"].(string)); ui.body["sub"] != "u-other" {
		t.Errorf("userinfo sub %v", ui.body["sub"])
	}
	l.SetOIDCFaults(OIDCFaults{})
	if d := getJSON(t, l.URL()+"/.well-known/openid-configuration", ""); d.body["issuer"] != l.Issuer() {
		t.Errorf("faults not cleared: issuer %v", d.body["issuer"])
	}
}

func TestReplaceKeyKeepsKid(t *testing.T) {
	l := newTestLMS(t, func(o *Options) { o.OIDC = true })
	kid := l.KeyID()
	old := oidcIDToken(t, l).body["id_token"].(string)
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.ReplaceKey(priv); err != nil {
		t.Fatal(err)
	}
	if l.KeyID() != kid || !l.PublicKey().Equal(&priv.PublicKey) {
		t.Fatal("ReplaceKey changed the kid or kept the key")
	}
	verify(t, l, oidcIDToken(t, l).body["id_token"].(string))
	if _, err := verifyErr(l, t, old); err == nil {
		t.Error("a token of the replaced key still verifies under the kid")
	}
	if err := l.ReplaceKey(&rsa.PrivateKey{}); err == nil {
		t.Error("ReplaceKey accepted an unusable key")
	}
}

// verifyErr verifies token against the LMS's JWKS and returns the error instead of failing.
func verifyErr(l *LMS, t *testing.T, token string) ([]byte, error) {
	return jws.Verify([]byte(token), jws.WithKeySet(fetchJWKS(t, l), jws.WithRequireKid(true)))
}
