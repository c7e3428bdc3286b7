package jwtverify

import (
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// An issuer alias is accepted exactly; nothing near it is.
func TestIssuerAliases(t *testing.T) {
	k := newTestKeys(t)
	v, err := New(Options{Keys: StaticKeys(keySet(t, k.rsaJWK)), Issuer: testIssuer, IssuerAliases: []string{"accounts.example.com"},
		Audience: []string{testAudience}, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	for iss, ok := range map[string]bool{testIssuer: true, "accounts.example.com": true,
		"https://accounts.example.com.evil": false, "ACCOUNTS.EXAMPLE.COM": false, "": false} {
		c := goodClaims()
		c["iss"] = iss
		tok := sign(t, jwa.RS256, k.rsa, "rsa1", c)
		_, err := v.Verify(t.Context(), tok)
		if ok && err != nil {
			t.Errorf("iss %q refused: %v", iss, err)
		}
		if !ok {
			assertRejected(t, tok, err, BadIssuer)
		}
	}
}
