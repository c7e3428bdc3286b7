package apple_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"html"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/apple"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

const (
	client = "com.example.web"
	team   = "ABCDE12345"
	keyID  = "XYZ987WVU6"
	sub    = "001234.5f2ed1f1b4b44b0fa4d8f8d3d2c7a1b2.1234"
)

type env struct {
	p   *providertest.Provider
	b   *backends.OIDC
	app *providertest.App
	key *ecdsa.PrivateKey
}

func setup(t *testing.T, extra ...settings.Map) env {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	p8 := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	p := providertest.NewProvider(t, "testdata")
	p.Replay("GET /.well-known/openid-configuration", "discovery.http")
	p.Replay("POST /auth/token", "token.http")
	p.Claims = map[string]any{"sub": sub, "email": "8nnfhjk4k2@privaterelay.appleid.com", "email_verified": "true",
		"is_private_email": "true", "auth_time": 1700000000, "nonce_supported": true}
	s := settings.Map{"SOCIAL_AUTH_APPLE_ID_CLIENT": client, "SOCIAL_AUTH_APPLE_ID_TEAM": team,
		"SOCIAL_AUTH_APPLE_ID_KEY": keyID, "SOCIAL_AUTH_APPLE_ID_SECRET": strings.ReplaceAll(p8, "\n", `\n`),
		"SOCIAL_AUTH_APPLE_ID_OIDC_ENDPOINT": p.URL()}
	for _, m := range extra {
		for k, v := range m {
			s[k] = v
		}
	}
	b, err := apple.New(settings.New(s), backends.ProviderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return env{p, b, providertest.NewApp(t, b, nil), key}
}

// formPost is Apple's cross-site form_post: without the session cookie the
// views answer a relay page, whose form the browser POSTs from the
// service's origin, cookie included.
func (e env) formPost(t *testing.T, fields url.Values) (*http.Response, string) {
	resp, page := e.app.Do(http.MethodPost, e.app.CallbackURL(), fields, false)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "relay") {
		t.Fatalf("cookie-less form_post: %d %s", resp.StatusCode, page)
	}
	relayed := url.Values{}
	for _, m := range regexp.MustCompile(`name="([^"]*)" value="([^"]*)"`).FindAllStringSubmatch(page, -1) {
		relayed.Add(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return e.app.Do(http.MethodPost, e.app.CallbackURL(), relayed, true)
}

func (e env) signIn(t *testing.T, user string) {
	q := e.app.Begin(e.p)
	if q.Get("response_mode") != "form_post" || q.Get("scope") != "name email" || q.Get("client_id") != client {
		t.Errorf("authorization request %v", q)
	}
	fields := url.Values{"code": {"c5d8e1d0a1b24d1e8a9c"}, "state": {q.Get("state")}}
	if user != "" {
		fields.Set("user", user)
	}
	if resp, body := e.formPost(t, fields); resp.StatusCode != http.StatusFound {
		t.Fatalf("complete %d %s\n%s", resp.StatusCode, body, e.app.Logs.String())
	}
}

// The name comes with the first sign-in only; the second keeps it.
func TestSignInNameOnFirstSignIn(t *testing.T) {
	e := setup(t)
	e.signIn(t, `{"name":{"firstName":"John","lastName":"Appleseed"},"email":"attacker@example.com"}`)
	u := e.app.User()
	if u.FirstName != "John" || u.LastName != "Appleseed" || u.Email != "8nnfhjk4k2@privaterelay.appleid.com" || u.Username != sub {
		t.Errorf("user %+v (the email must be the ID token's, never the user JSON's)", u)
	}
	if uid := e.app.Association().UID; uid != sub {
		t.Errorf("uid %q", uid)
	}
	first, _ := e.p.Last("POST /auth/token")
	e.signIn(t, "")
	if u := e.app.User(); u.FirstName != "John" || u.LastName != "Appleseed" {
		t.Errorf("second sign-in blanked the name: %+v", u)
	}
	second, _ := e.p.Last("POST /auth/token")
	if first.Form.Get("client_secret") != second.Form.Get("client_secret") {
		t.Error("client secret not reused before its expiry")
	}
}

// The client secret is an ES256 JWT that verifies with the key's public half.
func TestClientSecret(t *testing.T) {
	e := setup(t)
	e.signIn(t, "")
	req, _ := e.p.Last("POST /auth/token")
	if req.Form.Get("client_id") != client {
		t.Errorf("client_id %q", req.Form.Get("client_id"))
	}
	parts := strings.Split(req.Form.Get("client_secret"), ".")
	if len(parts) != 3 {
		t.Fatalf("client_secret is not a JWS")
	}
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if len(sig) != 64 || !ecdsa.Verify(&e.key.PublicKey, sum[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatal("client_secret does not verify with the public key")
	}
	var h, c map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	_ = json.Unmarshal(hb, &h)
	_ = json.Unmarshal(cb, &c)
	if h["alg"] != "ES256" || h["kid"] != keyID || c["iss"] != team || c["sub"] != client || c["aud"] != "https://appleid.apple.com" {
		t.Errorf("header %v claims %v", h, c)
	}
	if exp, iat := c["exp"].(float64), c["iat"].(float64); exp <= iat || exp-iat > 180*24*3600 {
		t.Errorf("lifetime %v..%v", iat, exp)
	}
}

func TestProviderErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		fields url.Values
		prep   func(e env)
	}{
		{"user_cancelled_authorize", url.Values{"error": {"user_cancelled_authorize"}}, nil},
		{"token invalid_grant", url.Values{"code": {"c"}}, func(e env) { e.p.Replay("POST /auth/token", "token_invalid_grant.http") }},
		{"id token for another client", url.Values{"code": {"c"}}, func(e env) { e.p.Claims["aud"] = "com.example.other" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := setup(t)
			if tc.prep != nil {
				tc.prep(e)
			}
			tc.fields.Set("state", e.app.Begin(e.p).Get("state"))
			if resp, body := e.formPost(t, tc.fields); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
			if len(e.app.Store.Users()) != 0 {
				t.Error("a user was stored")
			}
		})
	}
}

// AUDIENCE admits an ID token for the iOS app's bundle id next to the web
// services id; any other audience is refused (TestProviderErrors).
func TestAudience(t *testing.T) {
	e := setup(t, settings.Map{"SOCIAL_AUTH_APPLE_ID_AUDIENCE": []string{client, "com.example.ios"}})
	e.p.Claims["aud"] = "com.example.ios"
	e.signIn(t, "")
	if uid := e.app.Association().UID; uid != sub {
		t.Errorf("uid %q", uid)
	}
}

func TestRefresh(t *testing.T) {
	e := setup(t)
	e.signIn(t, "")
	e.p.Replay("POST /auth/token", "token_refresh.http")
	updated, err := e.b.RefreshSocial(t.Context(), e.app.Store, e.app.Association())
	if err != nil || updated.AccessToken() != "beg5...67Or9" || updated.RefreshToken() != "rca7...lABoQ" {
		t.Fatalf("refresh: %v %v", err, updated)
	}
}

func TestBadPrivateKey(t *testing.T) {
	_, err := apple.New(settings.New(settings.Map{"SOCIAL_AUTH_APPLE_ID_CLIENT": client, "SOCIAL_AUTH_APPLE_ID_TEAM": team,
		"SOCIAL_AUTH_APPLE_ID_KEY": keyID, "SOCIAL_AUTH_APPLE_ID_SECRET": "not a key"}), backends.ProviderOptions{})
	if err == nil || !strings.Contains(err.Error(), "SOCIAL_AUTH_APPLE_ID_SECRET") || strings.Contains(err.Error(), "not a key") {
		t.Errorf("err = %v", err)
	}
}
