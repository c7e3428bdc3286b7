package securitytest

import (
	"net/http"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
)

// OpenID Connect ID tokens (the generic oidc backend): the same forgeries
// as the access tokens, plus the nonce binding to this flow.
func TestOIDCIDTokenForgeries(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		kid := e.lms.KeyID() + "-rs256"
		idClaims := func(nonce string, mod func(c map[string]any)) map[string]any {
			now := time.Now()
			c := map[string]any{
				"iss": e.lms.Issuer(), "sub": "forged-subject", "aud": clientID, "azp": clientID,
				"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "nonce": nonce,
				"preferred_username": "jsmith", "email": "jsmith@example.com",
			}
			if mod != nil {
				mod(c)
			}
			return c
		}
		// start returns the browser, the callback and the flow's nonce.
		start := func() (*browser, string, func() page) {
			b := e.browser()
			au := b.begin(oidcName, nil)
			nonce := au.Query().Get("nonce")
			if nonce == "" {
				t.Fatal("no nonce in the authorization request")
			}
			cb := e.authorize(au)
			return b, nonce, func() page { return b.complete(cb) }
		}
		t.Run("control: a well-formed ID token is accepted", func(t *testing.T) {
			b, nonce, complete := start()
			// The UserInfo call must agree on sub, so use the LMS's own
			// answer's subject by taking the real flow: here only the ID
			// token is replaced, signed by the LMS key with the real sub.
			claims, _ := e.lms.AccessTokenClaims("jsmith")
			id := sign(t, jwa.RS256, lmsKey(), kid, idClaims(nonce, func(c map[string]any) { c["sub"] = claims["sub"] }), nil)
			e.addSecret(id, "id token")
			// UserInfo needs an access token the LMS issued: take one from
			// an earlier login's association.
			e.browser().login(oidcName)
			at := e.storedAccessToken(t)
			e.serveToken(tokenResponse(map[string]any{"access_token": at, "id_token": id}))
			if p := complete(); p.status != http.StatusFound || b.me() == "" {
				t.Fatalf("control login failed: %d\n%s", p.status, e.logs.String())
			}
		})
		cases := map[string]func(nonce string) string{
			"alg none": func(n string) string {
				return unsigned(map[string]any{"alg": "none", "kid": kid}, idClaims(n, nil), "")
			},
			"HS256 keyed with the RSA public key PEM": func(n string) string {
				return sign(t, jwa.HS256, e.lms.PublicKeyPEM(), kid, idClaims(n, nil), nil)
			},
			"another key":       func(n string) string { return sign(t, jwa.RS256, attackerKey(), kid, idClaims(n, nil), nil) },
			"RS512 not allowed": func(n string) string { return sign(t, jwa.RS512, lmsKey(), e.lms.KeyID(), idClaims(n, nil), nil) },
			"another nonce": func(n string) string {
				return sign(t, jwa.RS256, lmsKey(), kid, idClaims(n+"x", nil), nil)
			},
			"no nonce": func(n string) string {
				return sign(t, jwa.RS256, lmsKey(), kid, idClaims(n, func(c map[string]any) { delete(c, "nonce") }), nil)
			},
			"expired": func(n string) string {
				return sign(t, jwa.RS256, lmsKey(), kid, idClaims(n, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }), nil)
			},
			"not yet valid": func(n string) string {
				return sign(t, jwa.RS256, lmsKey(), kid, idClaims(n, func(c map[string]any) { c["nbf"] = time.Now().Add(time.Hour).Unix() }), nil)
			},
			"issued in the future": func(n string) string {
				return sign(t, jwa.RS256, lmsKey(), kid, idClaims(n, func(c map[string]any) { c["iat"] = time.Now().Add(time.Hour).Unix() }), nil)
			},
			"another issuer": func(n string) string {
				return sign(t, jwa.RS256, lmsKey(), kid, idClaims(n, func(c map[string]any) { c["iss"] = "https://evil.example" }), nil)
			},
			"another audience": func(n string) string {
				return sign(t, jwa.RS256, lmsKey(), kid, idClaims(n, func(c map[string]any) { c["aud"] = "other-client"; delete(c, "azp") }), nil)
			},
			"another azp": func(n string) string {
				return sign(t, jwa.RS256, lmsKey(), kid, idClaims(n, func(c map[string]any) { c["aud"] = []string{clientID, "other"}; c["azp"] = "other" }), nil)
			},
			"unknown kid": func(n string) string {
				return sign(t, jwa.RS256, attackerKey(), "nope", idClaims(n, nil), nil)
			},
			"malformed": func(string) string { return "a.b" },
			"oversized": func(string) string { return "eyJhbGciOiJSUzI1NiJ9." + longString(100<<10) + ".c2ln" },
		}
		for name, forge := range cases {
			t.Run(name, func(t *testing.T) {
				b, nonce, complete := start()
				id := forge(nonce)
				e.addSecret(id, "forged id token")
				claims, _ := e.lms.AccessTokenClaims("jsmith")
				at := e.lms.SignAccessToken(claims)
				e.addSecret(at, "access token")
				e.serveToken(tokenResponse(map[string]any{"access_token": at, "id_token": id}))
				userinfo := e.lms.Calls().UserInfo
				e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthTokenError, tokenCalls: 1}, complete)
				if got := e.lms.Calls().UserInfo - userinfo; got != 0 {
					t.Errorf("UserInfo calls after a refused ID token = %d, want 0", got)
				}
			})
		}
	})
}
