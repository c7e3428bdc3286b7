package jwtverify

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

var testNow = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// testKeys holds one private key per family and their public JWKs.
type testKeys struct {
	rsa     *rsa.PrivateKey
	ec      *ecdsa.PrivateKey
	ec384   *ecdsa.PrivateKey
	ed      ed25519.PrivateKey
	rsaJWK  jwk.Key // kid "rsa1"
	ecJWK   jwk.Key // kid "ec1"
	ec384JW jwk.Key // kid "ec384"
	edJWK   jwk.Key // kid "ed1"
}

func newTestKeys(t testing.TB) *testKeys {
	t.Helper()
	k := &testKeys{}
	var err error
	if k.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		t.Fatal(err)
	}
	if k.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if k.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	if _, k.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		t.Fatal(err)
	}
	k.rsaJWK = pubJWK(t, k.rsa.Public(), "rsa1")
	k.ecJWK = pubJWK(t, k.ec.Public(), "ec1")
	k.ec384JW = pubJWK(t, k.ec384.Public(), "ec384")
	k.edJWK = pubJWK(t, k.ed.Public(), "ed1")
	return k
}

func pubJWK(t testing.TB, pub any, kid string) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(pub)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		if err := k.Set(jwk.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func keySet(t testing.TB, keys ...jwk.Key) jwk.Set {
	t.Helper()
	set := jwk.NewSet()
	for _, k := range keys {
		if err := set.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	return set
}

// sign makes a compact JWS over claims with jwx.
func sign(t testing.TB, alg jwa.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	hdr := jws.NewHeaders()
	if kid != "" {
		_ = hdr.Set(jws.KeyIDKey, kid)
	}
	_ = hdr.Set(jws.TypeKey, "JWT")
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// rawToken assembles a token from a header map, claims and signature bytes,
// for shapes jwx refuses to produce (alg none, odd headers).
func rawToken(t testing.TB, header, claims map[string]any, sig []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	c, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	e := base64.RawURLEncoding
	return e.EncodeToString(h) + "." + e.EncodeToString(c) + "." + e.EncodeToString(sig)
}

const (
	testIssuer   = "https://lms.example.com/oauth2"
	testAudience = "lms-key"
)

// goodClaims returns claims that pass the default test verifier.
func goodClaims() map[string]any {
	return map[string]any{
		"iss":                testIssuer,
		"aud":                testAudience,
		"sub":                "user-1",
		"preferred_username": "edx",
		"exp":                testNow.Add(time.Hour).Unix(),
		"iat":                testNow.Unix(),
		"administrator":      false,
	}
}

func with(c map[string]any, kv ...any) map[string]any {
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
			continue
		}
		c[kv[i].(string)] = kv[i+1]
	}
	return c
}

// fakeIdP serves discovery and a JWKS on loopback and counts requests.
type fakeIdP struct {
	srv        *httptest.Server
	jwks       atomic.Value // []byte
	failJWKS   atomic.Bool
	configHits atomic.Int64
	jwksHits   atomic.Int64
	hold       atomic.Pointer[chan struct{}] // when set, JWKS requests wait for it to close
}

func newFakeIdP(t testing.TB, keys ...jwk.Key) *fakeIdP {
	t.Helper()
	f := &fakeIdP{}
	f.setKeys(t, keys...)
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth2/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		f.configHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":   testIssuer,
			"jwks_uri": f.srv.URL + "/oauth2/jwks",
		})
	})
	mux.HandleFunc("/oauth2/jwks", func(w http.ResponseWriter, r *http.Request) {
		f.jwksHits.Add(1)
		if ch := f.hold.Load(); ch != nil {
			<-*ch
		}
		if f.failJWKS.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(f.jwks.Load().([]byte))
	})
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) configURL() string { return f.srv.URL + "/oauth2/.well-known/openid-configuration" }

func (f *fakeIdP) setKeys(t testing.TB, keys ...jwk.Key) {
	t.Helper()
	b, err := json.Marshal(keySet(t, keys...))
	if err != nil {
		t.Fatal(err)
	}
	f.jwks.Store(b)
}
