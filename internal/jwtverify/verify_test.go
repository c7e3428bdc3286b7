package jwtverify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"hash"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/socialauth-go/socialauth/internal/discovery"
)

var hmacKey = []byte("edx-shared-hmac-signing-key-for-tests-only")

func hmacVerifier(t testing.TB) *Verifier {
	t.Helper()
	v, err := New(Options{HMACKey: hmacKey, Issuer: testIssuer, Audience: []string{testAudience}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func staticVerifier(t testing.TB, keys KeySource) *Verifier {
	t.Helper()
	v, err := New(Options{Keys: keys, Issuer: testIssuer, Audience: []string{testAudience}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// assertRejected checks the reason and that the error text carries no part
// of the token.
func assertRejected(t *testing.T, token string, err error, want Reason) {
	t.Helper()
	var ve *Error
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want *Error with reason %s", err, want)
	}
	if ve.Reason != want {
		t.Fatalf("reason = %s (%v), want %s", ve.Reason, err, want)
	}
	if !errors.Is(err, sentinel(want)) {
		t.Fatalf("errors.Is(err, sentinel(%s)) = false", want)
	}
	msg := err.Error()
	for _, part := range strings.Split(token, ".") {
		if len(part) >= 8 && strings.Contains(msg, part) {
			t.Fatalf("error string contains part of the token: %q", msg)
		}
	}
}

func TestHMACMode(t *testing.T) {
	v := hmacVerifier(t)
	ctx := context.Background()
	k := newTestKeys(t)

	good := sign(t, jwa.HS512, hmacKey, "", goodClaims())
	claims, err := v.Verify(ctx, good)
	if err != nil {
		t.Fatalf("valid HS512 token rejected: %v", err)
	}
	want := Claims{
		"iss": testIssuer, "aud": testAudience, "sub": "user-1", "preferred_username": "edx",
		"exp": json.Number(strconv.FormatInt(testNow.Add(time.Hour).Unix(), 10)), "iat": json.Number(strconv.FormatInt(testNow.Unix(), 10)), "administrator": false,
	}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	tests := []struct {
		name  string
		token string
		want  Reason
	}{
		{"HS256 with the right key", sign(t, jwa.HS256, hmacKey, "", goodClaims()), BadAlgorithm},
		{"HS384 with the right key", sign(t, jwa.HS384, hmacKey, "", goodClaims()), BadAlgorithm},
		{"HS512 with another key", sign(t, jwa.HS512, []byte("another-key"), "", goodClaims()), BadSignature},
		{"RS512 token", sign(t, jwa.RS512, k.rsa, "rsa1", goodClaims()), BadAlgorithm},
		{"alg none", rawToken(t, map[string]any{"alg": "none"}, goodClaims(), []byte("x")), BadAlgorithm},
		{"expired", sign(t, jwa.HS512, hmacKey, "", with(goodClaims(), "exp", testNow.Add(-time.Minute).Unix())), Expired},
		{"wrong issuer", sign(t, jwa.HS512, hmacKey, "", with(goodClaims(), "iss", "https://evil.example")), BadIssuer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := v.Verify(ctx, tt.token)
			assertRejected(t, tt.token, err, tt.want)
		})
	}
}

// hsWith signs header.claims with HMAC using secret — the classic
// "RSA public key as HMAC secret" forgery.
func hsWith(t *testing.T, alg string, h func() hash.Hash, secret []byte, kid string) string {
	t.Helper()
	hdr := map[string]any{"alg": alg, "typ": "JWT"}
	if kid != "" {
		hdr["kid"] = kid
	}
	unsigned := rawToken(t, hdr, goodClaims(), nil)
	unsigned = unsigned[:strings.LastIndexByte(unsigned, '.')]
	m := hmac.New(h, secret)
	m.Write([]byte(unsigned))
	return unsigned + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func TestAsymmetricRejections(t *testing.T) {
	k := newTestKeys(t)
	rs256Only := pubJWK(t, k.rsa.Public(), "rsa-rs256")
	_ = rs256Only.Set(jwk.AlgorithmKey, jwa.RS256)
	encKey := pubJWK(t, k.rsa.Public(), "rsa-enc")
	_ = encKey.Set(jwk.KeyUsageKey, jwk.ForEncryption)
	v := staticVerifier(t, StaticKeys(keySet(t, k.rsaJWK, k.ecJWK, k.ec384JW, k.edJWK, rs256Only, encKey)))
	ctx := context.Background()

	der, err := x509.MarshalPKIXPublicKey(k.rsa.Public())
	if err != nil {
		t.Fatal(err)
	}
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)})
	jwkJSON, _ := k.rsaJWK.(interface{ MarshalJSON() ([]byte, error) }).MarshalJSON()

	tampered := sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())
	parts := strings.Split(tampered, ".")
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"` + testIssuer + `","aud":"` + testAudience + `","sub":"admin","exp":9999999999}`))
	tampered = strings.Join(parts, ".")

	sigFlip := sign(t, jwa.ES256, k.ec, "ec1", goodClaims())
	if flipped := sigFlip[:len(sigFlip)-2] + "BA"; flipped != sigFlip {
		sigFlip = flipped
	} else {
		sigFlip = sigFlip[:len(sigFlip)-2] + "AA"
	}

	big := sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "pad", strings.Repeat("x", DefaultMaxTokenSize)))

	tests := []struct {
		name  string
		token string
		want  Reason
	}{
		{"alg none, empty signature", rawToken(t, map[string]any{"alg": "none"}, goodClaims(), nil), Malformed},
		{"alg none, any signature", rawToken(t, map[string]any{"alg": "none", "kid": "rsa1"}, goodClaims(), []byte("sig")), BadAlgorithm},
		{"alg None", rawToken(t, map[string]any{"alg": "None"}, goodClaims(), []byte("sig")), BadAlgorithm},
		{"HS256 with RSA PEM as secret", hsWith(t, "HS256", sha256.New, pemBytes, "rsa1"), BadAlgorithm},
		{"HS512 with RSA PEM as secret", hsWith(t, "HS512", sha512.New, pemBytes, "rsa1"), BadAlgorithm},
		{"HS256 with RSA PKCS1 PEM as secret", hsWith(t, "HS256", sha256.New, pkcs1, "rsa1"), BadAlgorithm},
		{"HS256 with RSA DER as secret", hsWith(t, "HS256", sha256.New, der, "rsa1"), BadAlgorithm},
		{"HS512 with RSA DER as secret, no kid", hsWith(t, "HS512", sha512.New, der, ""), BadAlgorithm},
		{"HS256 with JWK JSON as secret", hsWith(t, "HS256", sha256.New, jwkJSON, "rsa1"), BadAlgorithm},
		{"RS256 header on an EC key", rawToken(t, map[string]any{"alg": "RS256", "kid": "ec1"}, goodClaims(), []byte("sig")), BadAlgorithm},
		{"ES256 header on an RSA key", rawToken(t, map[string]any{"alg": "ES256", "kid": "rsa1"}, goodClaims(), []byte("sig")), BadAlgorithm},
		{"ES384 header on a P-256 key", rawToken(t, map[string]any{"alg": "ES384", "kid": "ec1"}, goodClaims(), []byte("sig")), BadAlgorithm},
		{"ES256 header on a P-384 key", rawToken(t, map[string]any{"alg": "ES256", "kid": "ec384"}, goodClaims(), []byte("sig")), BadAlgorithm},
		{"EdDSA header on an RSA key", rawToken(t, map[string]any{"alg": "EdDSA", "kid": "rsa1"}, goodClaims(), []byte("sig")), BadAlgorithm},
		{"RS512 token on a key pinned to RS256", sign(t, jwa.RS512, k.rsa, "rsa-rs256", goodClaims()), BadAlgorithm},
		{"encryption key", sign(t, jwa.RS256, k.rsa, "rsa-enc", goodClaims()), BadAlgorithm},
		{"unknown alg", rawToken(t, map[string]any{"alg": "RS1024", "kid": "rsa1"}, goodClaims(), []byte("sig")), BadAlgorithm},
		{"tampered payload", tampered, BadSignature},
		{"flipped signature bits", sigFlip, BadSignature},
		{"RS256 signed by another key", sign(t, jwa.RS256, newTestKeys(t).rsa, "rsa1", goodClaims()), BadSignature},
		{"RS256 signature relabelled PS256", swapAlg(t, sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims()), "PS256"), BadSignature},
		{"unknown kid", sign(t, jwa.RS256, k.rsa, "nope", goodClaims()), UnknownKey},
		{"no kid, many keys", sign(t, jwa.RS256, k.rsa, "", goodClaims()), UnknownKey},
		{"expired", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "exp", testNow.Add(-31*time.Second).Unix())), Expired},
		{"exp missing", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "exp", nil)), Expired},
		{"exp not a number", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "exp", "tomorrow")), Malformed},
		{"nbf in the future", sign(t, jwa.ES256, k.ec, "ec1", with(goodClaims(), "nbf", testNow.Add(time.Minute).Unix())), NotYetValid},
		{"iat in the future", sign(t, jwa.EdDSA, k.ed, "ed1", with(goodClaims(), "iat", testNow.Add(time.Minute).Unix())), IssuedInFuture},
		{"wrong iss", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "iss", testIssuer+"/")), BadIssuer},
		{"iss missing", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "iss", nil)), BadIssuer},
		{"iss not a string", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "iss", []string{testIssuer})), BadIssuer},
		{"wrong aud", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "aud", "other")), BadAudience},
		{"aud list without ours", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "aud", []string{"a", "b"})), BadAudience},
		{"aud missing", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "aud", nil)), BadAudience},
		{"oversized", big, TooLarge},
		{"empty", "", Malformed},
		{"garbage", "not a token at all", Malformed},
		{"two parts", "eyJhbGciOiJSUzI1NiJ9.e30", Malformed},
		{"four parts", sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims()) + ".x", Malformed},
		{"empty signature part", "eyJhbGciOiJSUzI1NiJ9.e30.", Malformed},
		{"header not base64", "!!!.e30.AAAA", Malformed},
		{"header not JSON", base64.RawURLEncoding.EncodeToString([]byte("RS256")) + ".e30.AAAA", Malformed},
		{"header JSON array", base64.RawURLEncoding.EncodeToString([]byte(`["alg"]`)) + ".e30.AAAA", Malformed},
		{"padded header", base64.URLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"rsa1"}`)) + ".e30.AAAA", Malformed},
		{"upper-case ALG only", rawToken(t, map[string]any{"ALG": "RS256", "kid": "rsa1"}, goodClaims(), []byte("sig")), Malformed},
		{"crit header", rawToken(t, map[string]any{"alg": "RS256", "kid": "rsa1", "crit": []string{"exp"}}, goodClaims(), []byte("sig")), Malformed},
		{"b64 header", rawToken(t, map[string]any{"alg": "RS256", "kid": "rsa1", "b64": false}, goodClaims(), []byte("sig")), Malformed},
		{"kid not a string", rawToken(t, map[string]any{"alg": "RS256", "kid": 7}, goodClaims(), []byte("sig")), Malformed},
		{"signed non-object payload", signRaw(t, k, []byte(`["not","claims"]`)), Malformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := v.Verify(ctx, tt.token)
			if claims != nil {
				t.Fatalf("claims returned with a rejected token: %v", claims)
			}
			assertRejected(t, tt.token, err, tt.want)
		})
	}

	accepted := []struct {
		name  string
		token string
	}{
		{"RS256", sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())},
		{"RS512", sign(t, jwa.RS512, k.rsa, "rsa1", goodClaims())},
		{"PS384", sign(t, jwa.PS384, k.rsa, "rsa1", goodClaims())},
		{"RS256 on key pinned to RS256", sign(t, jwa.RS256, k.rsa, "rsa-rs256", goodClaims())},
		{"ES256", sign(t, jwa.ES256, k.ec, "ec1", goodClaims())},
		{"ES384", sign(t, jwa.ES384, k.ec384, "ec384", goodClaims())},
		{"EdDSA", sign(t, jwa.EdDSA, k.ed, "ed1", goodClaims())},
		{"exp within leeway", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "exp", testNow.Add(-29*time.Second).Unix()))},
		{"nbf within leeway", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "nbf", testNow.Add(29*time.Second).Unix()))},
		{"iat within leeway", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "iat", testNow.Add(29*time.Second).Unix()))},
		{"aud list with ours", sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "aud", []string{"x", testAudience}))},
	}
	for _, tt := range accepted {
		t.Run("accepts "+tt.name, func(t *testing.T) {
			if _, err := v.Verify(ctx, tt.token); err != nil {
				t.Fatalf("rejected: %v", err)
			}
		})
	}
}

// swapAlg rewrites the header's alg while keeping the signature.
func swapAlg(t *testing.T, token, alg string) string {
	t.Helper()
	parts := strings.Split(token, ".")
	parts[0] = base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"` + alg + `","kid":"rsa1"}`))
	return strings.Join(parts, ".")
}

// signRaw signs an arbitrary payload with the RSA key (kid rsa1).
func signRaw(t *testing.T, k *testKeys, payload []byte) string {
	t.Helper()
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"RS256","kid":"rsa1"}`))
	input := hdr + "." + base64.RawURLEncoding.EncodeToString(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := k.rsa.Sign(nil, sum[:], cryptoSHA256)
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func TestSingleKeyWithoutKid(t *testing.T) {
	k := newTestKeys(t)
	v := staticVerifier(t, StaticKeys(keySet(t, pubJWK(t, k.rsa.Public(), ""))))
	if _, err := v.Verify(context.Background(), sign(t, jwa.RS256, k.rsa, "", goodClaims())); err != nil {
		t.Fatalf("single key, no kid: %v", err)
	}
}

func TestOptionalChecks(t *testing.T) {
	k := newTestKeys(t)
	ctx := context.Background()
	keys := StaticKeys(keySet(t, k.rsaJWK))
	noExp := sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "exp", nil, "iss", "anyone", "aud", nil))
	expired := sign(t, jwa.RS256, k.rsa, "rsa1", with(goodClaims(), "exp", testNow.Add(-time.Second).Unix()))

	v, err := New(Options{Keys: keys, InsecureAllowMissingExp: true, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, noExp); err != nil {
		t.Errorf("InsecureAllowMissingExp, no iss/aud configured: %v", err)
	}
	noLeeway, err := New(Options{Keys: keys, InsecureAllowMissingExp: true, Leeway: -1, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noLeeway.Verify(ctx, expired); !errors.Is(err, ErrExpired) {
		t.Errorf("present exp must still be enforced: err = %v", err)
	}
	if _, err := v.Verify(ctx, expired); err != nil {
		t.Errorf("1 s past exp within default leeway: %v", err)
	}
	small, err := New(Options{Keys: keys, MaxTokenSize: 64, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := small.Verify(ctx, noExp); !errors.Is(err, ErrTooLarge) {
		t.Errorf("MaxTokenSize: err = %v", err)
	}
}

func TestNewRejectsUnsafeOptions(t *testing.T) {
	keys := StaticKeys(jwk.NewSet())
	tests := []struct {
		name string
		opts Options
	}{
		{"nothing", Options{}},
		{"both", Options{HMACKey: []byte("k"), Keys: keys}},
		{"none allowed", Options{Keys: keys, Algorithms: []jwa.SignatureAlgorithm{jwa.RS256, jwa.NoSignature}}},
		{"HS256 allowed", Options{Keys: keys, Algorithms: []jwa.SignatureAlgorithm{jwa.HS256}}},
		{"HS512 allowed", Options{Keys: keys, Algorithms: []jwa.SignatureAlgorithm{jwa.HS512}}},
		{"unknown alg", Options{Keys: keys, Algorithms: []jwa.SignatureAlgorithm{"RS1024"}}},
		{"algorithms in HMAC mode", Options{HMACKey: []byte("k"), Algorithms: []jwa.SignatureAlgorithm{jwa.HS256}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := New(tt.opts); err == nil || v != nil {
				t.Fatalf("New accepted unsafe options: %v", v)
			}
		})
	}
}

func TestAllowListNarrows(t *testing.T) {
	k := newTestKeys(t)
	v, err := New(Options{Keys: StaticKeys(keySet(t, k.rsaJWK, k.ecJWK)), Algorithms: []jwa.SignatureAlgorithm{jwa.ES256}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, jwa.ES256, k.ec, "ec1", goodClaims())); err != nil {
		t.Fatalf("ES256: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())); !errors.Is(err, ErrBadAlgorithm) {
		t.Fatalf("RS256 outside the allow-list: err = %v", err)
	}
}

func discoveryVerifier(t testing.TB, idp *fakeIdP, clk *clock) (*Verifier, *discovery.Provider) {
	t.Helper()
	p := discovery.New(idp.configURL(), discovery.Options{Now: clk.Now})
	v, err := New(Options{Keys: p, Issuer: testIssuer, Audience: []string{testAudience}, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v, p
}

func TestJWKSCachingSteadyState(t *testing.T) {
	k := newTestKeys(t)
	idp := newFakeIdP(t, k.rsaJWK, k.ecJWK)
	clk := &clock{t: testNow}
	v, p := discoveryVerifier(t, idp, clk)
	ctx := context.Background()
	tokens := []string{sign(t, jwa.RS512, k.rsa, "rsa1", goodClaims()), sign(t, jwa.ES256, k.ec, "ec1", goodClaims())}
	for i := 0; i < 200; i++ {
		if _, err := v.Verify(ctx, tokens[i%2]); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := p.Stats(), (discovery.Stats{ConfigFetches: 1, JWKSFetches: 1}); got != want {
		t.Fatalf("stats = %+v, want %+v", got, want)
	}
	if idp.configHits.Load() != 1 || idp.jwksHits.Load() != 1 {
		t.Fatalf("server saw %d config and %d JWKS requests, want 1 and 1", idp.configHits.Load(), idp.jwksHits.Load())
	}
}

func TestKeyRotation(t *testing.T) {
	k := newTestKeys(t)
	idp := newFakeIdP(t, k.rsaJWK)
	clk := &clock{t: testNow}
	v, p := discoveryVerifier(t, idp, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())); err != nil {
		t.Fatal(err)
	}
	idp.setKeys(t, k.rsaJWK, k.ecJWK) // the provider publishes a new key
	rotated := sign(t, jwa.ES256, k.ec, "ec1", goodClaims())
	for i := 0; i < 20; i++ {
		if _, err := v.Verify(ctx, rotated); err != nil {
			t.Fatalf("after rotation: %v", err)
		}
	}
	if got := p.Stats().JWKSFetches; got != 2 {
		t.Fatalf("JWKS fetches = %d, want 2 (initial + one refetch)", got)
	}
}

func TestUnknownKidFlood(t *testing.T) {
	k := newTestKeys(t)
	idp := newFakeIdP(t, k.rsaJWK)
	clk := &clock{t: testNow}
	v, p := discoveryVerifier(t, idp, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())); err != nil {
		t.Fatal(err)
	}
	attacker := newTestKeys(t)
	token := sign(t, jwa.RS256, attacker.rsa, "attacker-kid", goodClaims())
	hold := make(chan struct{})
	idp.hold.Store(&hold)
	const n = 1000
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = v.Verify(ctx, token)
		}()
	}
	for idp.jwksHits.Load() < 2 { // the single refetch is now parked on the server
		time.Sleep(time.Millisecond)
	}
	close(hold)
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("verify %d: err = %v, want ErrUnknownKey", i, err)
		}
	}
	if got := p.Stats().JWKSFetches; got != 2 {
		t.Fatalf("JWKS fetches = %d, want 2 (initial + at most one refetch per window)", got)
	}
	if got := idp.jwksHits.Load(); got != 2 {
		t.Fatalf("server saw %d JWKS requests, want 2", got)
	}
}

func TestStaleKeysWhenJWKSFails(t *testing.T) {
	k := newTestKeys(t)
	idp := newFakeIdP(t, k.rsaJWK)
	clk := &clock{t: testNow}
	v, p := discoveryVerifier(t, idp, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())); err != nil {
		t.Fatal(err)
	}
	idp.failJWKS.Store(true)
	clk.Advance(discovery.DefaultJWKSTTL + time.Minute)
	later := with(goodClaims(), "iat", clk.Now().Unix(), "exp", clk.Now().Add(time.Hour).Unix())
	token := sign(t, jwa.RS256, k.rsa, "rsa1", later)
	for i := 0; i < 5; i++ {
		if _, err := v.Verify(ctx, token); err != nil {
			t.Fatalf("stale keys not served: %v", err)
		}
	}
	if got := p.Stats().JWKSFetches; got != 2 {
		t.Fatalf("JWKS fetches = %d, want 2 (one failed refresh, then cooldown)", got)
	}
}

func TestKeyFetchFailure(t *testing.T) {
	k := newTestKeys(t)
	idp := newFakeIdP(t, k.rsaJWK)
	idp.failJWKS.Store(true)
	v, _ := discoveryVerifier(t, idp, &clock{t: testNow})
	token := sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())
	_, err := v.Verify(context.Background(), token)
	assertRejected(t, token, err, KeyFetch)
	if !errors.Is(err, discovery.ErrUnreachable) {
		t.Fatalf("cause lost: %v", err)
	}
	// Cheap local failures never reach the provider.
	before := idp.jwksHits.Load()
	for _, bad := range []string{"garbage", rawToken(t, map[string]any{"alg": "none"}, goodClaims(), []byte("x")), hsWith(t, "HS256", sha256.New, []byte("k"), "rsa1")} {
		if _, err := v.Verify(context.Background(), bad); errors.Is(err, ErrKeyFetch) {
			t.Fatalf("local failure caused a key fetch: %v", err)
		}
	}
	if got := idp.jwksHits.Load(); got != before {
		t.Fatalf("locally detectable failures made %d JWKS requests", got-before)
	}
}

// TestIssuerFunc: a Verifier built before its issuer is known asks for it at
// each verification; a failure to learn it is KeyFetch, an empty answer
// refuses the token, a fixed Issuer wins.
func TestIssuerFunc(t *testing.T) {
	k := newTestKeys(t)
	keys := StaticKeys(keySet(t, k.rsaJWK))
	tok := sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())
	errDown := errors.New("discovery down")
	tests := []struct {
		name   string
		issuer string
		fn     func(context.Context) (string, error)
		want   Reason // "" accepted
	}{
		{"resolved issuer matches", "", func(context.Context) (string, error) { return testIssuer, nil }, ""},
		{"resolved issuer differs", "", func(context.Context) (string, error) { return testIssuer + "/x", nil }, BadIssuer},
		{"no issuer known", "", func(context.Context) (string, error) { return "", nil }, BadIssuer},
		{"resolution fails", "", func(context.Context) (string, error) { return "", errDown }, KeyFetch},
		{"fixed issuer wins", testIssuer, func(context.Context) (string, error) { return "other", nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New(Options{Keys: keys, Issuer: tt.issuer, IssuerFunc: tt.fn, Audience: []string{testAudience}, Now: func() time.Time { return testNow }})
			if err != nil {
				t.Fatal(err)
			}
			_, err = v.Verify(context.Background(), tok)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Verify = %v", err)
				}
				return
			}
			assertRejected(t, tok, err, tt.want)
			if tt.want == KeyFetch && !errors.Is(err, errDown) {
				t.Errorf("cause lost: %v", err)
			}
		})
	}
}

// Claims keep every digit: a user_id of 2^53+1 is json.Number
// "9007199254740993" (a float64 would be ...992), and NumericDate reads the
// time claims whatever their number form.
func TestExactNumbersAndNumericDate(t *testing.T) {
	v, err := New(Options{HMACKey: hmacKey, Issuer: testIssuer, Audience: []string{testAudience}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	payload := `{"iss":"` + testIssuer + `","aud":"` + testAudience + `","exp":` + strconv.FormatInt(testNow.Add(time.Hour).Unix(), 10) +
		`.5,"iat":` + strconv.FormatInt(testNow.Unix(), 10) + `,"user_id":9007199254740993}`
	enc := base64.RawURLEncoding.EncodeToString
	signed := enc([]byte(`{"alg":"HS512","typ":"JWT"}`)) + "." + enc([]byte(payload))
	mac := hmac.New(sha512.New, hmacKey)
	mac.Write([]byte(signed))
	claims, err := v.Verify(context.Background(), signed+"."+enc(mac.Sum(nil)))
	if err != nil {
		t.Fatal(err)
	}
	if n, ok := claims["user_id"].(json.Number); !ok || n.String() != "9007199254740993" {
		t.Errorf("user_id = %#v, want json.Number 9007199254740993", claims["user_id"])
	}
	if exp, ok, err := claims.NumericDate("exp"); err != nil || !ok || exp != float64(testNow.Add(time.Hour).Unix())+0.5 {
		t.Errorf("NumericDate(exp) = %v, %v, %v", exp, ok, err)
	}
	if _, ok, err := claims.NumericDate("nbf"); ok || err != nil {
		t.Errorf("NumericDate(absent nbf) = %v, %v", ok, err)
	}
	for _, bad := range []any{"1700000000", true, nil, json.Number("1e999"), []any{1.0}} {
		_, ok, err := Claims{"iat": bad}.NumericDate("iat")
		if ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("NumericDate(%#v) = %v, %v; want a Malformed error", bad, ok, err)
		}
	}
	for _, good := range []any{json.Number("17"), 17.0, int64(17), 17} {
		if f, ok := NumericDate(good); !ok || f != 17 {
			t.Errorf("NumericDate(%#v) = %v, %v", good, f, ok)
		}
	}
}
