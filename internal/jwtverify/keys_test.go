package jwtverify

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/socialauth-go/socialauth/internal/discovery"
)

func TestSeveralKeysSameKid(t *testing.T) {
	k := newTestKeys(t)
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	// A botched rotation: two RSA keys and an EC key under one kid.
	set := keySet(t, pubJWK(t, other.Public(), "dup"), pubJWK(t, k.ec.Public(), "dup"), pubJWK(t, k.rsa.Public(), "dup"))
	v := staticVerifier(t, StaticKeys(set))
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, jwa.RS256, k.rsa, "dup", goodClaims())); err != nil {
		t.Fatalf("RS256 with the third key under the kid: %v", err)
	}
	if _, err := v.Verify(ctx, sign(t, jwa.ES256, k.ec, "dup", goodClaims())); err != nil {
		t.Fatalf("ES256 with the EC key under the kid: %v", err)
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwa.RS256, stranger, "dup", goodClaims())
	_, err = v.Verify(ctx, tok)
	assertRejected(t, tok, err, BadSignature)
}

func TestKidAbsent(t *testing.T) {
	k := newTestKeys(t)
	ctx := context.Background()
	one := staticVerifier(t, StaticKeys(keySet(t, k.rsaJWK)))
	if _, err := one.Verify(ctx, sign(t, jwa.RS256, k.rsa, "", goodClaims())); err != nil {
		t.Fatalf("no kid, one key: %v", err)
	}
	several := staticVerifier(t, StaticKeys(keySet(t, k.rsaJWK, k.ecJWK)))
	tok := sign(t, jwa.RS256, k.rsa, "", goodClaims())
	_, err := several.Verify(ctx, tok)
	assertRejected(t, tok, err, UnknownKey)
}

func TestUnfitKeysNeverVerify(t *testing.T) {
	k := newTestKeys(t)
	ctx := context.Background()
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	enc := pubJWK(t, k.rsa.Public(), "enc")
	if err := enc.Set(jwk.KeyUsageKey, "enc"); err != nil {
		t.Fatal(err)
	}
	secret := []byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	oct, err := jwk.FromRaw(secret)
	if err != nil {
		t.Fatal(err)
	}
	_ = oct.Set(jwk.KeyIDKey, "oct")

	// Straight from a static set (no filtering by discovery).
	v := staticVerifier(t, StaticKeys(keySet(t, enc, oct, pubJWK(t, weak.Public(), "weak"))))
	for _, tok := range []string{
		sign(t, jwa.RS256, k.rsa, "enc", goodClaims()),
		sign(t, jwa.RS256, weak, "weak", goodClaims()),
	} {
		_, err := v.Verify(ctx, tok)
		assertRejected(t, tok, err, BadAlgorithm)
	}
	tok := sign(t, jwa.HS256, secret, "oct", goodClaims())
	_, err = v.Verify(ctx, tok)
	assertRejected(t, tok, err, BadAlgorithm)

	// Through discovery, such keys are not even in the set.
	idp := newFakeIdP(t, enc, oct, pubJWK(t, weak.Public(), "weak"))
	clk := &clock{t: testNow}
	dv, _ := discoveryVerifier(t, idp, clk)
	for _, tok := range []string{
		sign(t, jwa.RS256, k.rsa, "enc", goodClaims()),
		sign(t, jwa.RS256, weak, "weak", goodClaims()),
	} {
		_, err := dv.Verify(ctx, tok)
		assertRejected(t, tok, err, UnknownKey)
	}
}

func TestAlgorithmsFuncPins(t *testing.T) {
	k := newTestKeys(t)
	ctx := context.Background()
	advertised := []jwa.SignatureAlgorithm{jwa.RS256}
	v, err := New(Options{
		Keys: StaticKeys(keySet(t, k.rsaJWK, k.ecJWK)), Issuer: testIssuer, Audience: []string{testAudience},
		AlgorithmsFunc: func(context.Context) ([]jwa.SignatureAlgorithm, error) { return advertised, nil },
		Now:            func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())); err != nil {
		t.Fatalf("advertised alg: %v", err)
	}
	for _, tok := range []string{
		sign(t, jwa.ES256, k.ec, "ec1", goodClaims()),   // its key is published
		sign(t, jwa.RS512, k.rsa, "rsa1", goodClaims()), // same key, other alg
	} {
		_, err := v.Verify(ctx, tok)
		assertRejected(t, tok, err, BadAlgorithm)
	}
	boom := errors.New("discovery down")
	v, err = New(Options{
		Keys:           StaticKeys(keySet(t, k.rsaJWK)),
		AlgorithmsFunc: func(context.Context) ([]jwa.SignatureAlgorithm, error) { return nil, boom },
		Now:            func() time.Time { return testNow },
	})
	if err != nil {
		t.Fatal(err)
	}
	tok := sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())
	if _, err := v.Verify(ctx, tok); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want the AlgorithmsFunc error", err)
	}
	if _, err := New(Options{HMACKey: []byte("k"), AlgorithmsFunc: func(context.Context) ([]jwa.SignatureAlgorithm, error) { return nil, nil }}); err == nil {
		t.Fatal("AlgorithmsFunc accepted in HMAC mode")
	}
}

// A provider replaces the key behind a kid it keeps: the first token signed
// with the new key forces one refetch for that kid and verifies; a flood of
// bad signatures under the kid costs no further fetch within the cooldown;
// after the window, one more.
func TestKeyReplacedUnderSameKid(t *testing.T) {
	k := newTestKeys(t)
	idp := newFakeIdP(t, k.rsaJWK)
	clk := &clock{t: testNow}
	v, p := discoveryVerifier(t, idp, clk)
	ctx := context.Background()
	if _, err := v.Verify(ctx, sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())); err != nil {
		t.Fatal(err)
	}
	replaced, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	idp.setKeys(t, pubJWK(t, replaced.Public(), "rsa1"))
	before := p.Stats().JWKSFetches
	if _, err := v.Verify(ctx, sign(t, jwa.RS256, replaced, "rsa1", goodClaims())); err != nil {
		t.Fatalf("a token of the key now behind the kid: %v", err)
	}
	if n := p.Stats().JWKSFetches - before; n != 1 {
		t.Fatalf("JWKS fetches = %d, want 1", n)
	}
	stranger, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for range 50 {
		tok := sign(t, jwa.RS256, stranger, "rsa1", goodClaims())
		_, err := v.Verify(ctx, tok)
		assertRejected(t, tok, err, BadSignature)
	}
	// The old key is gone for good.
	tok := sign(t, jwa.RS256, k.rsa, "rsa1", goodClaims())
	_, err = v.Verify(ctx, tok)
	assertRejected(t, tok, err, BadSignature)
	if n := p.Stats().JWKSFetches - before; n != 1 {
		t.Fatalf("JWKS fetches after a bad-signature flood = %d, want still 1 (cooldown)", n)
	}
	clk.Advance(discovery.DefaultRefetchCooldown + time.Second)
	_, err = v.Verify(ctx, tok)
	assertRejected(t, tok, err, BadSignature)
	if n := p.Stats().JWKSFetches - before; n != 2 {
		t.Fatalf("JWKS fetches after the window = %d, want 2", n)
	}
	// A static key set has nothing to refetch: the refusal stands.
	sv := staticVerifier(t, StaticKeys(keySet(t, k.rsaJWK)))
	tok = sign(t, jwa.RS256, replaced, "rsa1", goodClaims())
	_, err = sv.Verify(ctx, tok)
	assertRejected(t, tok, err, BadSignature)
}
