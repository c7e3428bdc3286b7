package backends

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/socialauth-go/socialauth/settings"
)

// BenchmarkIDTokenVerify measures the whole ID-token path of the OIDC base
// (cached keys, algorithm allow-list, signature, claims, azp,
// at_hash) against jwx's bare signature verification of the same token in
// the same run, alternating; ns/op is the sum of both, ours-ns/op and
// jwx-ns/op each part, x-jwx the ratio.
func BenchmarkIDTokenVerify(b *testing.B) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	keys := map[jwa.SignatureAlgorithm]any{jwa.RS256: testKey(), jwa.ES256: ecKey}
	set := jwk.NewSet()
	for alg, priv := range keys {
		pub, err := jwk.PublicKeyOf(priv)
		if err != nil {
			b.Fatal(err)
		}
		_ = pub.Set(jwk.KeyIDKey, string(alg))
		_ = pub.Set(jwk.AlgorithmKey, alg)
		_ = set.AddKey(pub)
	}
	body, _ := json.Marshal(set)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	const issuer = "https://idp.example"
	for _, alg := range []jwa.SignatureAlgorithm{jwa.RS256, jwa.ES256} {
		b.Run(string(alg), func(b *testing.B) {
			s := settings.New(settings.Map{
				"SOCIAL_AUTH_OIDC_KEY": testClientID, "SOCIAL_AUTH_OIDC_JWKS_URI": srv.URL,
				"SOCIAL_AUTH_OIDC_ID_TOKEN_ISSUER": issuer, "SOCIAL_AUTH_OIDC_AUTHORIZATION_URL": issuer + "/auth",
				"SOCIAL_AUTH_OIDC_ACCESS_TOKEN_URL": issuer + "/token", "SOCIAL_AUTH_OIDC_USERINFO_URL": issuer + "/userinfo",
				"SOCIAL_AUTH_OIDC_REVOKE_TOKEN_URL": issuer + "/revoke", "SOCIAL_AUTH_OIDC_TOKEN_ENDPOINT_AUTH_METHOD": "client_secret_post",
				"SOCIAL_AUTH_OIDC_JWT_ALGORITHMS": []string{"RS256", "ES256"},
			})
			cfg, err := OIDCConfigFrom(s, OIDCConfig{OAuth2: OAuth2Config{HTTPClient: srv.Client()}})
			if err != nil {
				b.Fatal(err)
			}
			o, err := NewOIDC(cfg)
			if err != nil {
				b.Fatal(err)
			}
			now := time.Now().Unix()
			claims, _ := json.Marshal(map[string]any{"iss": issuer, "aud": testClientID, "sub": "s", "iat": now, "exp": now + 3600})
			hdr := jws.NewHeaders()
			_ = hdr.Set(jws.KeyIDKey, string(alg))
			tok, err := jws.Sign(claims, jws.WithKey(alg, keys[alg], jws.WithProtectedHeaders(hdr)))
			if err != nil {
				b.Fatal(err)
			}
			pubJWK, _ := set.LookupKeyID(string(alg))
			var pub any
			if err := pubJWK.Raw(&pub); err != nil {
				b.Fatal(err)
			}
			if _, err := o.VerifyIDToken(context.Background(), string(tok), ""); err != nil {
				b.Fatal(err) // also warms the key cache
			}
			// Baseline and our path alternate, one operation each, so that
			// both see the same machine load (testing.Benchmark cannot be
			// nested in a running benchmark).
			var baseDur, oursDur time.Duration
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				if _, err := jws.Verify(tok, jws.WithKey(alg, pub)); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := o.VerifyIDToken(context.Background(), string(tok), ""); err != nil {
					b.Fatal(err)
				}
				oursDur += time.Since(t1)
				baseDur += t1.Sub(t0)
			}
			b.StopTimer()
			base := float64(baseDur.Nanoseconds()) / float64(b.N)
			ours := float64(oursDur.Nanoseconds()) / float64(b.N)
			b.ReportMetric(ours, "ours-ns/op")
			b.ReportMetric(base, "jwx-ns/op")
			b.ReportMetric(ours/base, "x-jwx")
		})
	}
}
