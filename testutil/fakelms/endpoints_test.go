package fakelms

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
)

func TestDiscovery(t *testing.T) {
	l := newTestLMS(t, func(o *Options) { o.PublicURL = "http://localhost:18000/"; o.IssParameter = true })
	res := getJSON(t, l.URL()+"/.well-known/openid-configuration", "")
	if res.status != 200 {
		t.Fatalf("status %d", res.status)
	}
	base := l.URL()
	want := map[string]any{
		"issuer":                 base + "/oauth2",
		"authorization_endpoint": "http://localhost:18000/oauth2/authorize",
		"token_endpoint":         base + "/oauth2/access_token",
		"userinfo_endpoint":      base + "/oauth2/user_info",
		"jwks_uri":               base + "/oauth2/jwks.json",
		"end_session_endpoint":   "http://localhost:18000/logout",
		"revocation_endpoint":    base + "/oauth2/revoke_token",
		"authorization_response_iss_parameter_supported": true,
		"id_token_signing_alg_values_supported":          []any{"RS256"},
	}
	got := map[string]any{}
	for k := range want {
		got[k] = res.body[k]
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("discovery (-want +got):\n%s", d)
	}
}

func TestKeyRotation(t *testing.T) {
	l := newTestLMS(t, nil)
	oldKID := l.KeyID()
	oldTok := exchange(t, l, getCode(t, l, nil).Get("code"), nil).body["access_token"].(string)

	newKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	newKID, err := l.RotateKeyWith(newKey)
	if err != nil || newKID == oldKID || l.KeyID() != newKID {
		t.Fatalf("RotateKeyWith = %q, %v (old %q)", newKID, err, oldKID)
	}
	newTok := exchange(t, l, getCode(t, l, nil).Get("code"), nil).body["access_token"].(string)
	if _, kid, _ := verify(t, l, newTok); kid != newKID {
		t.Errorf("new token kid = %q, want %q", kid, newKID)
	}
	if _, kid, _ := verify(t, l, oldTok); kid != oldKID {
		t.Errorf("old token kid = %q", kid)
	}
	if got := kidsOf(t, l); !cmp.Equal(got, []string{oldKID, oldKID + "-rs256", newKID, newKID + "-rs256"}) {
		t.Errorf("JWKS kids = %v", got)
	}
	l.DropOldKeys()
	if got := kidsOf(t, l); !cmp.Equal(got, []string{newKID, newKID + "-rs256"}) {
		t.Errorf("JWKS kids after drop = %v", got)
	}
	if _, err := jws.Verify([]byte(oldTok), jws.WithKeySet(fetchJWKS(t, l))); err == nil {
		t.Errorf("old token still verifies after DropOldKeys")
	}
	if kid := l.RotateKey(); kid == "" || kid == newKID || l.KeyID() != kid {
		t.Errorf("RotateKey = %q", kid)
	}
	if _, err := l.RotateKeyWith(&rsa.PrivateKey{}); err == nil {
		t.Errorf("RotateKeyWith accepted an empty key")
	}
}

func kidsOf(t *testing.T, l *LMS) []string {
	t.Helper()
	set := fetchJWKS(t, l)
	var kids []string
	for i := range set.Len() {
		k, _ := set.Key(i)
		if k.Algorithm().String() == "" || k.KeyUsage() != "sig" {
			t.Errorf("key %s lacks alg/use", k.KeyID())
		}
		if _, isPrivate := k.(interface{ D() []byte }); isPrivate {
			t.Errorf("JWKS publishes a private key")
		}
		kids = append(kids, k.KeyID())
	}
	return kids
}

func TestSignAccessTokenAndPublicKeyPEM(t *testing.T) {
	l := newTestLMS(t, nil)
	claims, ok := l.AccessTokenClaims("jsmith")
	if !ok {
		t.Fatal("no claims for jsmith")
	}
	claims["administrator"] = true
	tok := l.SignAccessToken(claims)
	alg, kid, got := verify(t, l, tok)
	if alg != "RS512" || kid != l.KeyID() || got["administrator"] != true || got["user_id"] != "1" || got["iss"] != l.Issuer() {
		t.Errorf("forged token: %s %s %v", alg, kid, got)
	}
	if s := l.SignAccessToken(map[string]any{"bad": make(chan int)}); s != "" {
		t.Errorf("unencodable claims signed: %q", s)
	}
	if _, ok := l.AccessTokenClaims("nobody"); ok {
		t.Errorf("claims for unknown user")
	}

	block, _ := pem.Decode(l.PublicKeyPEM())
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("PEM = %q", l.PublicKeyPEM())
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil || !pub.(*rsa.PublicKey).Equal(l.PublicKey()) {
		t.Fatalf("PEM key: %v", err)
	}
	// The algorithm-confusion forgery a test would build with it: HS256 keyed with the PEM bytes.
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	body := base64.RawURLEncoding.EncodeToString([]byte(`{"preferred_username":"jsmith"}`))
	mac := hmac.New(sha256.New, l.PublicKeyPEM())
	mac.Write([]byte(hdr + "." + body))
	forged := hdr + "." + body + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
	if _, err := jws.Verify([]byte(forged), jws.WithKeySet(fetchJWKS(t, l))); err == nil {
		t.Errorf("HS256 forgery verified against the JWKS")
	}

	s, err := l.SignJWT(jwa.RS256, map[string]any{"a": 1}, map[string]any{"kid": "other"})
	if err != nil || !strings.Contains(string(mustHeader(t, s)), `"kid":"other"`) {
		t.Errorf("SignJWT = %v %s", err, mustHeader(t, s))
	}
	if _, err := l.SignJWT(jwa.HS256, nil, nil); !errors.Is(err, ErrSign) {
		t.Errorf("SignJWT HS256 err = %v", err)
	}
}

func mustHeader(t *testing.T, tok string) []byte {
	t.Helper()
	h, _, _ := strings.Cut(tok, ".")
	b, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLogout(t *testing.T) {
	tests := []struct {
		name     string
		query    string
		wantTo   string // "" means the signed-out page
		clientID string
	}{
		{name: "allowed host", query: "redirect_url=https://app.example.com/after", wantTo: "https://app.example.com/after"},
		{name: "allowed host with port entry", query: "redirect_url=http://localhost:9000/x", wantTo: "http://localhost:9000/x"},
		{name: "redirect uri host allowed", query: "redirect_url=http://127.0.0.1:8000/bye", wantTo: "http://127.0.0.1:8000/bye"},
		{name: "host case-insensitive", query: "redirect_url=https://APP.example.com/", wantTo: "https://APP.example.com/"},
		{name: "port entry wrong port", query: "redirect_url=http://localhost:9001/x"},
		{name: "unlisted host", query: "redirect_url=https://evil.example/"},
		{name: "lookalike suffix", query: "redirect_url=https://app.example.com.evil.example/"},
		{name: "userinfo trick", query: "redirect_url=https://app.example.com@evil.example/"},
		{name: "scheme-relative", query: "redirect_url=//app.example.com/"},
		{name: "backslash", query: "redirect_url=https://evil.example\\@app.example.com/"},
		{name: "javascript", query: "redirect_url=javascript:alert(1)//app.example.com"},
		{name: "tab", query: "redirect_url=https://app.example.com%09/"},
		{name: "encoded host", query: "redirect_url=https://app%252eexample.com/"},
		{name: "no client_id", query: "redirect_url=https://app.example.com/", clientID: "-"},
		{name: "unknown client_id", query: "redirect_url=https://app.example.com/", clientID: "nobody"},
		{name: "no redirect_url", query: ""},
	}
	l := newTestLMS(t, nil)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.query
			switch tc.clientID {
			case "":
				q = "client_id=" + testClientID + "&" + q
			case "-":
			default:
				q = "client_id=" + url.QueryEscape(tc.clientID) + "&" + q
			}
			resp, err := noRedirect().Get(l.URL() + "/logout?" + q)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.wantTo != "" {
				if resp.StatusCode != 302 || resp.Header.Get("Location") != tc.wantTo {
					t.Errorf("= %d %q, want 302 to %q", resp.StatusCode, resp.Header.Get("Location"), tc.wantTo)
				}
				return
			}
			if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || !strings.Contains(string(b), "signed out") {
				t.Errorf("= %d %q, want the signed-out page", resp.StatusCode, resp.Header.Get("Location"))
			}
		})
	}
}

func TestFaults(t *testing.T) {
	l := newTestLMS(t, nil)
	tokenURL := l.URL() + "/oauth2/access_token"

	l.Fault(Fault{Endpoint: "token", Status: 503, Body: "<html>down</html>", ContentType: "text/html", Times: 1})
	res := postForm(t, tokenURL, url.Values{}, "", "")
	if res.status != 503 || res.raw != "<html>down</html>" || res.header.Get("Content-Type") != "text/html" {
		t.Errorf("fault = %d %q %q", res.status, res.raw, res.header.Get("Content-Type"))
	}
	if res := postForm(t, tokenURL, url.Values{}, "", ""); res.status != 401 {
		t.Errorf("after Times=1 = %d, want the normal 401", res.status)
	}

	l.Fault(Fault{Endpoint: "jwks", Status: 500})
	for range 2 {
		if res := getJSON(t, l.URL()+"/oauth2/jwks.json", ""); res.status != 500 {
			t.Errorf("jwks fault = %d", res.status)
		}
	}
	l.ClearFaults()
	if res := getJSON(t, l.URL()+"/oauth2/jwks.json", ""); res.status != 200 {
		t.Errorf("after ClearFaults = %d", res.status)
	}

	l.Fault(Fault{Endpoint: "token", RedirectTo: "http://127.0.0.1:1/steal", Status: 307})
	if res := postForm(t, tokenURL, url.Values{"client_secret": {"s"}}, "", ""); res.status != 307 || res.header.Get("Location") != "http://127.0.0.1:1/steal" {
		t.Errorf("redirect fault = %d %q", res.status, res.header.Get("Location"))
	}

	l.Fault(Fault{Endpoint: "discovery", BodySize: 5 << 20})
	resp, err := noRedirect().Get(l.URL() + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != 5<<20 || resp.ContentLength != 5<<20 {
		t.Errorf("huge body = %d bytes (Content-Length %d)", n, resp.ContentLength)
	}

	// Delay alone passes through to the normal answer.
	l.Fault(Fault{Endpoint: "userinfo", Delay: time.Millisecond, Times: 1})
	if res := getJSON(t, l.URL()+"/oauth2/user_info", ""); res.status != 401 {
		t.Errorf("delay-only fault = %d, want the normal 401", res.status)
	}

	// A long delay is abandoned when the client gives up.
	l.Fault(Fault{Endpoint: "userinfo", Delay: time.Hour})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, l.URL()+"/oauth2/user_info", nil)
	if _, err := noRedirect().Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow endpoint err = %v", err)
	}

	l.Fault(Fault{Endpoint: "no-such-endpoint", Status: 500})
	if res := getJSON(t, l.URL()+"/oauth2/jwks.json", ""); res.status != 200 {
		t.Errorf("unknown-endpoint fault applied: %d", res.status)
	}
}
