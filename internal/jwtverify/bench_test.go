package jwtverify

import (
	"context"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/socialauth-go/socialauth/internal/discovery"
)

// benchCase is one algorithm: our Verifier (in steady state: keys cached by a
// discovery.Provider over loopback) against bare jwx jwt.Parse with the raw
// key, which is the floor.
type benchCase struct {
	alg   jwa.SignatureAlgorithm
	token string
	ours  func() error
	bare  func() error
}

func newBenchCase(b *testing.B, alg jwa.SignatureAlgorithm) benchCase {
	b.Helper()
	k := newTestKeys(b)
	now := time.Now()
	claims := with(goodClaims(), "iat", now.Unix(), "exp", now.Add(time.Hour).Unix())
	ctx := context.Background()
	var (
		signKey, rawPub any
		kid             string
		v               *Verifier
	)
	switch alg {
	case jwa.HS512:
		signKey, rawPub = hmacKey, hmacKey
		var err error
		if v, err = New(Options{HMACKey: hmacKey, Issuer: testIssuer, Audience: []string{testAudience}}); err != nil {
			b.Fatal(err)
		}
	default:
		if alg == jwa.ES256 {
			signKey, rawPub, kid = k.ec, k.ec.Public(), "ec1"
		} else {
			signKey, rawPub, kid = k.rsa, k.rsa.Public(), "rsa1"
		}
		idp := newFakeIdP(b, k.rsaJWK, k.ecJWK, k.edJWK)
		p := discovery.New(idp.configURL(), discovery.Options{})
		var err error
		if v, err = New(Options{Keys: p, Issuer: testIssuer, Audience: []string{testAudience}}); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			if s := p.Stats(); s.ConfigFetches != 1 || s.JWKSFetches != 1 {
				b.Errorf("steady state broken: %+v", s)
			}
		})
	}
	token := sign(b, alg, signKey, kid, claims)
	tb := []byte(token)
	c := benchCase{
		alg:   alg,
		token: token,
		ours: func() error {
			_, err := v.Verify(ctx, token)
			return err
		},
		bare: func() error {
			_, err := jwt.Parse(tb, jwt.WithKey(alg, rawPub))
			return err
		},
	}
	if err := c.ours(); err != nil { // also warms the key cache
		b.Fatal(err)
	}
	if err := c.bare(); err != nil {
		b.Fatal(err)
	}
	return c
}

func runLoop(b *testing.B, f func() error) {
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := f(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyRS512Ours(b *testing.B)    { runLoop(b, newBenchCase(b, jwa.RS512).ours) }
func BenchmarkVerifyRS512JWXBare(b *testing.B) { runLoop(b, newBenchCase(b, jwa.RS512).bare) }
func BenchmarkVerifyES256Ours(b *testing.B)    { runLoop(b, newBenchCase(b, jwa.ES256).ours) }
func BenchmarkVerifyES256JWXBare(b *testing.B) { runLoop(b, newBenchCase(b, jwa.ES256).bare) }
func BenchmarkVerifyHS512Ours(b *testing.B)    { runLoop(b, newBenchCase(b, jwa.HS512).ours) }
func BenchmarkVerifyHS512JWXBare(b *testing.B) { runLoop(b, newBenchCase(b, jwa.HS512).bare) }

// BenchmarkVerifyRatio runs ours and bare jwx interleaved in the same
// benchmark (so both see the same machine state) and reports ours/bare; the
// target is ≤ 1.1.
func BenchmarkVerifyRatio(b *testing.B) {
	for _, alg := range []jwa.SignatureAlgorithm{jwa.RS512, jwa.ES256, jwa.HS512} {
		b.Run(alg.String(), func(b *testing.B) {
			c := newBenchCase(b, alg)
			const chunk = 64
			var ours, bare time.Duration
			n := 0
			b.ResetTimer()
			for b.Loop() {
				n++
				if n%chunk != 0 {
					continue
				}
				t0 := time.Now()
				for range chunk {
					if err := c.ours(); err != nil {
						b.Fatal(err)
					}
				}
				t1 := time.Now()
				for range chunk {
					if err := c.bare(); err != nil {
						b.Fatal(err)
					}
				}
				ours += t1.Sub(t0)
				bare += time.Since(t1)
			}
			if bare > 0 {
				rounds := float64(n / chunk * chunk)
				b.ReportMetric(float64(ours.Nanoseconds())/rounds, "ours-ns/op")
				b.ReportMetric(float64(bare.Nanoseconds())/rounds, "bare-ns/op")
				b.ReportMetric(float64(ours)/float64(bare), "ours/bare")
			}
		})
	}
}
