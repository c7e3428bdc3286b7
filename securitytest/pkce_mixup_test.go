package securitytest

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// PKCE: S256 by default on every backend; the verifier is the one kept with
// the state, never a value the callback carries (query or form body).
func TestPKCEVerifierIsServerSide(t *testing.T) {
	for _, backend := range []string{edxName, oidcName, oauthName} {
		t.Run(backend, func(t *testing.T) {
			envs(t, options{}, func(t *testing.T, e *env) {
				const forged = "attacker-chosen-verifier-attacker-chosen-verifier-0123456789"
				for _, method := range []string{http.MethodGet, http.MethodPost} {
					b := e.browser()
					au := b.begin(backend, nil)
					q := au.Query()
					if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
						t.Fatalf("authorization request: code_challenge_method=%q code_challenge=%q, want S256",
							q.Get("code_challenge_method"), q.Get("code_challenge"))
					}
					if q.Has("code_verifier") {
						t.Fatal("the verifier was sent in the authorization request")
					}
					cb := e.authorize(au)
					var p page
					if method == http.MethodGet {
						p = b.complete(withQuery(cb, func(v url.Values) { v.Set("code_verifier", forged) }))
					} else {
						form := cb.Query()
						form.Set("code_verifier", forged)
						p = b.post(cb.Path, form, nil)
						e.recordTokenSecrets()
					}
					if p.status != http.StatusFound || b.me() == "" {
						t.Fatalf("%s: login with an extra code_verifier failed: %d %s", method, p.status, p.location())
					}
					trs := e.lms.TokenRequests()
					got := trs[len(trs)-1].Form.Get("code_verifier")
					sum := sha256.Sum256([]byte(got))
					if got == forged || base64.RawURLEncoding.EncodeToString(sum[:]) != q.Get("code_challenge") {
						t.Errorf("%s: the token request's verifier is not the one kept with the state", method)
					}
				}
			})
		})
	}
}

// Mix-up (RFC 9207): where the provider declares the iss response
// parameter, a callback must carry it and it must equal the issuer exactly;
// a callback carrying any other iss is refused by every backend — all before
// the code is sent anywhere.
func TestIssResponseParameter(t *testing.T) {
	envs(t, options{lms: fakelms.Options{IssParameter: true}}, func(t *testing.T, e *env) {
		good := e.lms.Issuer()
		variants := map[string]string{
			"other issuer":         "https://evil.example/oauth2",
			"trailing slash":       good + "/",
			"upper case":           strings.ToUpper(good),
			"prefix":               good[:len(good)-1],
			"with query":           good + "?x",
			"percent-encoded":      strings.Replace(good, "/oauth2", "/%6Fauth2", 1),
			"space padded":         " " + good,
			"empty":                "",
			"attacker's lookalike": strings.Replace(good, "127.0.0.1", "127.0.0.1.evil.example", 1),
		}
		for _, backend := range []string{edxName, oidcName} {
			for name, iss := range variants {
				t.Run(backend+"/"+name, func(t *testing.T) {
					b := e.browser()
					cb := b.callbackURL(backend, nil)
					if cb.Query().Get("iss") != good {
						t.Fatalf("the LMS sent iss=%q, want %q", cb.Query().Get("iss"), good)
					}
					want := rejection{status: 403, code: socialauth.CodeAuthForbidden}
					if backend == oidcName && iss == "" {
						want = rejection{status: 403, code: socialauth.CodeAuthForbidden}
					}
					e.reject(t, b, want, func() page { return b.complete(withQuery(cb, func(q url.Values) { q.Set("iss", iss) })) })
				})
			}
		}
		t.Run("oidc/missing where declared", func(t *testing.T) {
			b := e.browser()
			cb := b.callbackURL(oidcName, nil)
			e.reject(t, b, rejection{status: 400, code: socialauth.CodeAuthMissingParameter},
				func() page { return b.complete(withQuery(cb, func(q url.Values) { q.Del("iss") })) })
		})
		t.Run("duplicated iss", func(t *testing.T) {
			b := e.browser()
			cb := b.callbackURL(oidcName, nil)
			e.reject(t, b, rejection{status: 400, code: socialauth.CodeAuthInvalidParameter},
				func() page {
					return b.complete(withRawQuery(cb, cb.RawQuery+"&iss="+url.QueryEscape("https://evil.example")))
				})
		})
		t.Run("the exact iss passes", func(t *testing.T) {
			for _, backend := range []string{edxName, oidcName} {
				b := e.browser()
				b.login(backend)
			}
		})
		t.Run("a backend that knows no issuer refuses any iss", func(t *testing.T) {
			b := e.browser()
			cb := b.callbackURL(oauthName, nil)
			e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthForbidden}, func() page { return b.complete(cb) })
		})
	})
}
