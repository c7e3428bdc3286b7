package jwtverify

import (
	"context"
	"crypto"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

const cryptoSHA256 = crypto.SHA256

func FuzzVerify(f *testing.F) {
	k := newTestKeys(f)
	asym := staticVerifier(f, StaticKeys(keySet(f, k.rsaJWK, k.ecJWK, k.edJWK)))
	hm := hmacVerifier(f)
	valid := map[string]bool{
		sign(f, jwa.RS256, k.rsa, "rsa1", goodClaims()): true,
		sign(f, jwa.ES256, k.ec, "ec1", goodClaims()):   true,
		sign(f, jwa.HS512, hmacKey, "", goodClaims()):   true,
		sign(f, jwa.EdDSA, k.ed, "ed1", goodClaims()):   true,
	}
	for tok := range valid {
		f.Add(tok)
	}
	f.Add(rawToken(f, map[string]any{"alg": "none"}, goodClaims(), nil))
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.AAAA")
	f.Add("...")
	f.Add("")
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, token string) {
		// Only the seeded, genuinely signed tokens may pass: anything the
		// fuzzer derives from them changes the signed bytes or the signature.
		for _, v := range []*Verifier{asym, hm} {
			claims, err := v.Verify(ctx, token)
			if err == nil && !valid[token] {
				t.Fatalf("accepted a fuzzed token")
			}
			if err != nil && claims != nil {
				t.Fatal("claims returned with an error")
			}
			if err != nil && len(token) >= 16 && strings.Contains(err.Error(), token) {
				t.Fatal("error string contains the token")
			}
		}
	})
}
