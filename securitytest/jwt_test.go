package securitytest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/discovery"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// sign signs claims with alg and key, with kid and extra protected headers.
func sign(t testing.TB, alg jwa.SignatureAlgorithm, key any, kid string, claims map[string]any, headers map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	h := jws.NewHeaders()
	_ = h.Set(jws.TypeKey, "JWT")
	if kid != "" {
		_ = h.Set(jws.KeyIDKey, kid)
	}
	for k, v := range headers {
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// unsigned builds header.payload.sig by hand.
func unsigned(header, claims map[string]any, sig string) string {
	enc := func(v any) string {
		b, _ := json.Marshal(v)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "." + sig
}

func tokenResponse(fields map[string]any) string {
	m := map[string]any{"token_type": "Bearer", "expires_in": 3600, "scope": "user_id profile email"}
	maps.Copy(m, fields)
	b, _ := json.Marshal(m)
	return string(b)
}

// serveToken makes the LMS's token endpoint answer body once.
func (e *env) serveToken(body string) {
	e.lms.Fault(fakelms.Fault{Endpoint: "token", Body: body, Times: 1})
}

// lastRejectReason is the reason of the newest "access token rejected" log.
func (e *env) rejectReasons(t *testing.T, mark int) []string {
	var out []string
	for _, r := range e.logs.records(t, mark) {
		if r["msg"] == "edx-oauth2: access token rejected" {
			out = append(out, r["reason"].(string))
		}
	}
	return out
}

// JWT access tokens (edx-oauth2, the product's main path): every forgery is
// refused with AuthTokenError (403) after exactly one token call, for the
// reason intended, with nothing written and no session.
func TestEdxAccessTokenForgeries(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		kid := e.lms.KeyID()
		claims := func(mod func(c map[string]any)) map[string]any {
			c, ok := e.lms.AccessTokenClaims("jsmith")
			if !ok {
				t.Fatal("no jsmith")
			}
			if mod != nil {
				mod(c)
			}
			return c
		}
		now := time.Now()
		pubJWK, _ := jwk.FromRaw(&attackerKey().PublicKey)
		var jku atomic.Int32
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			jku.Add(1)
			set := jwk.NewSet()
			_ = set.AddKey(pubJWK)
			_ = json.NewEncoder(w).Encode(set)
		}))
		defer evil.Close()

		// A token the verifier accepts, so the forgeries differ from a
		// good token in one point only.
		t.Run("control: a well-formed RS512 token is accepted", func(t *testing.T) {
			b := e.browser()
			cb := b.callbackURL(edxName, nil)
			tok := sign(t, jwa.RS512, lmsKey(), kid, claims(nil), nil)
			e.addSecret(tok, "forged access token")
			e.serveToken(tokenResponse(map[string]any{"access_token": tok}))
			if p := b.complete(cb); p.status != http.StatusFound || b.me() == "" {
				t.Fatalf("control login failed: %d\n%s", p.status, e.logs.String())
			}
		})

		cases := []struct {
			name   string
			token  func() string
			reason string
		}{
			{"alg none", func() string {
				return unsigned(map[string]any{"alg": "none", "typ": "JWT", "kid": kid}, claims(nil), "")
			}, "malformed|bad_algorithm"},
			{"alg None with a signature", func() string {
				return unsigned(map[string]any{"alg": "None", "typ": "JWT", "kid": kid}, claims(nil), "c2ln")
			}, "bad_algorithm"},
			{"HS512 keyed with the RSA public key PEM", func() string {
				return sign(t, jwa.HS512, e.lms.PublicKeyPEM(), kid, claims(nil), nil)
			}, "bad_algorithm"},
			{"HS256 keyed with the RSA public key PEM", func() string {
				return sign(t, jwa.HS256, e.lms.PublicKeyPEM(), kid, claims(nil), nil)
			}, "bad_algorithm"},
			{"signed by another key under the LMS kid", func() string {
				return sign(t, jwa.RS512, attackerKey(), kid, claims(nil), nil)
			}, "bad_signature"},
			{"the attacker's key embedded (jwk header)", func() string {
				return sign(t, jwa.RS512, attackerKey(), "", claims(nil), map[string]any{"jwk": pubJWK})
			}, ""},
			{"the attacker's JWKS by URL (jku header)", func() string {
				return sign(t, jwa.RS512, attackerKey(), "attacker", claims(nil), map[string]any{"jku": evil.URL})
			}, "unknown_key"},
			{"PS512 by the LMS key (algorithm from the token)", func() string {
				return sign(t, jwa.PS512, lmsKey(), kid, claims(nil), nil)
			}, "bad_algorithm"},
			{"expired", func() string {
				return sign(t, jwa.RS512, lmsKey(), kid, claims(func(c map[string]any) { c["exp"] = now.Add(-time.Hour).Unix() }), nil)
			}, "expired"},
			{"no exp", func() string {
				return sign(t, jwa.RS512, lmsKey(), kid, claims(func(c map[string]any) { delete(c, "exp") }), nil)
			}, "expired"},
			{"not yet valid", func() string {
				return sign(t, jwa.RS512, lmsKey(), kid, claims(func(c map[string]any) { c["nbf"] = now.Add(time.Hour).Unix() }), nil)
			}, "not_yet_valid"},
			{"issued in the future", func() string {
				return sign(t, jwa.RS512, lmsKey(), kid, claims(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() }), nil)
			}, "issued_in_future"},
			{"another issuer", func() string {
				return sign(t, jwa.RS512, lmsKey(), kid, claims(func(c map[string]any) { c["iss"] = "https://evil.example/oauth2" }), nil)
			}, "bad_issuer"},
			{"issuer with a trailing slash", func() string {
				return sign(t, jwa.RS512, lmsKey(), kid, claims(func(c map[string]any) { c["iss"] = e.lms.Issuer() + "/" }), nil)
			}, "bad_issuer"},
			{"another audience", func() string {
				return sign(t, jwa.RS512, lmsKey(), kid, claims(func(c map[string]any) { c["aud"] = "someone-else" }), nil)
			}, "bad_audience"},
			{"exp as a string", func() string {
				return sign(t, jwa.RS512, lmsKey(), kid, claims(func(c map[string]any) { c["exp"] = "9999999999" }), nil)
			}, ""},
			{"malformed: two segments", func() string { return "eyJhbGciOiJSUzUxMiJ9.eyJ9" }, "malformed"},
			{"malformed: garbage", func() string { return "!!!.???.***" }, "malformed"},
			{"malformed: JSON header not an object", func() string {
				return base64.RawURLEncoding.EncodeToString([]byte(`[1]`)) + ".e30.c2ln"
			}, "malformed"},
			{"oversized (200 KB)", func() string {
				return "eyJhbGciOiJSUzUxMiJ9." + strings.Repeat("A", 200<<10) + ".c2ln"
			}, "too_large"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				b := e.browser()
				cb := b.callbackURL(edxName, nil)
				tok := c.token()
				e.addSecret(tok, "forged access token")
				e.serveToken(tokenResponse(map[string]any{"access_token": tok}))
				jwks := e.lms.Calls().JWKS
				mark := e.logs.Len()
				e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthTokenError, tokenCalls: 1}, func() page { return b.complete(cb) })
				reasons := e.rejectReasons(t, mark)
				if len(reasons) != 1 || (c.reason != "" && !slices.Contains(strings.Split(c.reason, "|"), reasons[0])) {
					t.Errorf("rejection reasons = %v, want [%s]", reasons, c.reason)
				}
				switch c.reason {
				case "bad_algorithm", "malformed", "too_large", "malformed|bad_algorithm":
					// Refused before any key lookup.
					if got := e.lms.Calls().JWKS - jwks; got != 0 {
						t.Errorf("JWKS fetches = %d, want 0", got)
					}
				}
			})
		}
		if jku.Load() != 0 {
			t.Errorf("the verifier fetched a key from the token's jku (%d requests)", jku.Load())
		}
	})
}

// An unknown kid causes at most one JWKS refetch per cooldown, however many
// tokens name one.
func TestUnknownKidFloodRefetchesOnce(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	b.login(edxName) // the keys are cached now
	before := e.lms.Calls().JWKS
	c, _ := e.lms.AccessTokenClaims("jsmith")
	flood := func() {
		for i := 0; i < 25; i++ {
			b := e.browser()
			cb := b.callbackURL(edxName, nil)
			tok := sign(t, jwa.RS512, attackerKey(), "unknown-kid-"+string(rune('a'+i)), c, nil)
			e.serveToken(tokenResponse(map[string]any{"access_token": tok}))
			e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthTokenError, tokenCalls: 1}, func() page { return b.complete(cb) })
		}
	}
	// At most one fetch per unknown kid in a cooldown window (a key the
	// provider has just published must verify at once), and at most
	// discovery.MaxUnknownKeyIDs kids may force one in a window.
	flood()
	first := e.lms.Calls().JWKS - before
	if first > discovery.MaxUnknownKeyIDs {
		t.Errorf("JWKS fetches during a flood of 25 unknown kids = %d, want at most %d", first, discovery.MaxUnknownKeyIDs)
	}
	flood() // the same kids again, within the window: no fetch at all
	if again := e.lms.Calls().JWKS - before - first; again != 0 {
		t.Errorf("the same 25 unknown kids again made %d more JWKS fetches, want 0", again)
	}
	b.login(edxName) // known keys were never blocked
}

// HMAC mode (JWS_HMAC_SIGNING_KEY): HS512 with the shared key passes; the key
// never reaches a log; any other key or algorithm is refused.
func TestEdxHMACMode(t *testing.T) {
	key := canary("hmac") + strings.Repeat("k", 64) // HS512 wants a key of 64 bytes at least
	e := newEnv(t, options{settings: map[string]any{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": key}})
	c, _ := e.lms.AccessTokenClaims("jsmith")
	b := e.browser()
	cb := b.callbackURL(edxName, nil)
	good := sign(t, jwa.HS512, []byte(key), "", c, nil)
	e.addSecret(good, "access token")
	e.serveToken(tokenResponse(map[string]any{"access_token": good}))
	if p := b.complete(cb); p.status != http.StatusFound || b.me() == "" {
		t.Fatalf("HS512 login failed: %d\n%s", p.status, e.logs.String())
	}
	for name, tok := range map[string]string{
		"wrong key":                sign(t, jwa.HS512, []byte(key+"x"), "", c, nil),
		"HS256 with the key":       sign(t, jwa.HS256, []byte(key), "", c, nil),
		"RS512 by the LMS":         sign(t, jwa.RS512, lmsKey(), e.lms.KeyID(), c, nil),
		"alg none":                 unsigned(map[string]any{"alg": "none"}, c, ""),
		"HS512 with the empty key": sign(t, jwa.HS512, []byte{0}, "", c, nil),
	} {
		t.Run(name, func(t *testing.T) {
			b := e.browser()
			cb := b.callbackURL(edxName, nil)
			e.serveToken(tokenResponse(map[string]any{"access_token": tok}))
			e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthTokenError, tokenCalls: 1}, func() page { return b.complete(cb) })
		})
	}
}
