package securitytest

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// OpenID Connect Back-Channel Logout 1.0 at the generic OIDC backend, against
// the fake LMS, named after the OpenID conformance suite's RP tests
// (oidcc-client-test-rp-backchannel-rpinitlogout and its variants): a valid
// logout token ends the session; every malformed one is a 400 with a JSON
// error, Cache-Control: no-store, and leaves the session signed in.

const bclPath = "/backchannel-logout/" + oidcName + "/"

// signedInOIDC signs a fresh browser in with the OIDC backend as username,
// the LMS putting sid in the ID token.
func signedInOIDC(t *testing.T, e *env, username, sid string) *browser {
	t.Helper()
	e.lms.AutoApprove(username)
	e.lms.SetSessionID(username, sid)
	b := e.browser()
	b.login(oidcName)
	return b
}

// postLogoutToken POSTs a logout_token to base's back-channel endpoint, as
// the provider does (no cookie).
func postLogoutToken(t *testing.T, base, token string) (int, http.Header, string) {
	t.Helper()
	form := url.Values{"logout_token": {token}}
	resp, err := http.Post(base+bclPath, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if len(resp.Cookies()) != 0 {
		t.Errorf("back-channel logout set a cookie")
	}
	return resp.StatusCode, resp.Header, sb.String()
}

func signLogout(t *testing.T, e *env, claims map[string]any) string {
	t.Helper()
	tok, err := e.lms.SignLogoutToken(claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsignedToken is claims under an alg "none" header with an empty signature.
func unsignedToken(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(map[string]any{"alg": "none", "typ": "logout+jwt"}) + "." + enc(claims) + "."
}

// hs256Token signs claims with HS256 keyed with the LMS's public key (the
// algorithm-confusion forgery).
func hs256Token(t *testing.T, e *env, claims map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.Sign(payload, jws.WithKey(jwa.HS256, e.lms.PublicKeyPEM()))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestBackChannelLogoutConformance(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		sub := func() string { return e.lms.Subject("jsmith") }
		valid := func(sid string) map[string]any { return e.lms.LogoutTokenClaims(clientID, sub(), sid) }
		refused := []struct {
			name  string
			token func(sid string) string
		}{
			{"oidcc-client-test-rp-backchannel-rpinitlogout-alg-none", func(sid string) string {
				return unsignedToken(t, valid(sid))
			}},
			{"oidcc-client-test-rp-backchannel-rpinitlogout-no-event", func(sid string) string {
				c := valid(sid)
				delete(c, "events")
				return signLogout(t, e, c)
			}},
			{"oidcc-client-test-rp-backchannel-rpinitlogout-with-nonce", func(sid string) string {
				c := valid(sid)
				c["nonce"] = "n-0S6_WzA2Mj"
				return signLogout(t, e, c)
			}},
			{"oidcc-client-test-rp-backchannel-rpinitlogout-wrong-alg", func(sid string) string {
				return hs256Token(t, e, valid(sid))
			}},
			{"oidcc-client-test-rp-backchannel-rpinitlogout-wrong-alg/rs512-not-the-providers", func(sid string) string {
				tok, err := e.lms.SignJWT(jwa.RS512, valid(sid), map[string]any{"typ": "logout+jwt"})
				if err != nil {
					t.Fatal(err)
				}
				return tok
			}},
			{"oidcc-client-test-rp-backchannel-rpinitlogout-wrong-aud", func(sid string) string {
				c := valid(sid)
				c["aud"] = "another-client"
				return signLogout(t, e, c)
			}},
			{"oidcc-client-test-rp-backchannel-rpinitlogout-wrong-event", func(sid string) string {
				c := valid(sid)
				c["events"] = map[string]any{"http://schemas.openid.net/event/other": map[string]any{}}
				return signLogout(t, e, c)
			}},
			{"oidcc-client-test-rp-backchannel-rpinitlogout-wrong-event/not-an-object", func(sid string) string {
				c := valid(sid)
				c["events"] = map[string]any{fakelms.BackChannelLogoutEvent: "yes"}
				return signLogout(t, e, c)
			}},
			{"oidcc-client-test-rp-backchannel-rpinitlogout-wrong-iss", func(sid string) string {
				c := valid(sid)
				c["iss"] = "https://evil.example/oauth2"
				return signLogout(t, e, c)
			}},
			{"no-sub-no-sid", func(string) string {
				return signLogout(t, e, e.lms.LogoutTokenClaims(clientID, "", ""))
			}},
			{"no-jti", func(sid string) string {
				c := valid(sid)
				delete(c, "jti")
				return signLogout(t, e, c)
			}},
			{"iat-too-old", func(sid string) string {
				c := valid(sid)
				c["iat"] = time.Now().Add(-time.Hour).Unix()
				return signLogout(t, e, c)
			}},
			{"iat-in-the-future", func(sid string) string {
				c := valid(sid)
				c["iat"] = time.Now().Add(time.Hour).Unix()
				return signLogout(t, e, c)
			}},
			{"exp-in-the-past", func(sid string) string {
				c := valid(sid)
				c["exp"] = time.Now().Add(-time.Minute).Unix()
				return signLogout(t, e, c)
			}},
			{"signed-by-another-key", func(sid string) string {
				out, err := jws.Sign(mustJSON(t, valid(sid)), jws.WithKey(jwa.RS256, attackerKey()))
				if err != nil {
					t.Fatal(err)
				}
				return string(out)
			}},
			{"garbage", func(string) string { return "not.a.jwt" }},
		}
		for i, c := range refused {
			t.Run(c.name, func(t *testing.T) {
				sid := "sid-refused-" + string(rune('a'+i))
				b := signedInOIDC(t, e, "jsmith", sid)
				status, h, body := postLogoutToken(t, e.srv.URL, c.token(sid))
				if status != http.StatusBadRequest {
					t.Fatalf("status %d, want 400: %s", status, body)
				}
				if h.Get("Cache-Control") != "no-store" || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
					t.Errorf("headers %v", h)
				}
				var v map[string]string
				if err := json.Unmarshal([]byte(body), &v); err != nil || v["error"] != "invalid_request" {
					t.Errorf("body %q is not a JSON invalid_request error", body)
				}
				if b.me() == "" {
					t.Errorf("a refused logout token ended the session")
				}
			})
		}

		t.Run("oidcc-client-test-rp-backchannel-rpinitlogout", func(t *testing.T) {
			b := signedInOIDC(t, e, "jsmith", "sid-valid")
			other := signedInOIDC(t, e, "jsmith", "sid-other")
			status, h, body := postLogoutToken(t, e.srv.URL, signLogout(t, e, valid("sid-valid")))
			if status != http.StatusOK || h.Get("Cache-Control") != "no-store" {
				t.Fatalf("status %d (%v): %s", status, h, body)
			}
			if b.me() != "" {
				t.Errorf("the session named by the logout token is still signed in")
			}
			if other.me() == "" {
				t.Errorf("another provider session of the user ended (sid given)")
			}
		})
	})
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// A logout token is single use: a replay of an accepted one is refused
// (on any instance: the jti is recorded in the shared database).
func TestBackChannelLogoutReplay(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		b := signedInOIDC(t, e, "jsmith", "sid-replay")
		tok := signLogout(t, e, e.lms.LogoutTokenClaims(clientID, "", "sid-replay"))
		if status, _, body := postLogoutToken(t, e.srv.URL, tok); status != http.StatusOK {
			t.Fatalf("first use: %d %s", status, body)
		}
		if b.me() != "" {
			t.Fatal("not logged out")
		}
		b2 := signedInOIDC(t, e, "jsmith", "sid-replay")
		other := e.instance(t)
		for _, base := range []string{e.srv.URL, other.srv.URL} {
			if status, _, _ := postLogoutToken(t, base, tok); status != http.StatusBadRequest {
				t.Errorf("replay at %s: %d, want 400", base, status)
			}
		}
		if b2.me() == "" {
			t.Errorf("a replayed token ended a new session")
		}
	})
}

// sid only: the sessions of that provider session end, not the user's
// others. sub only: every session of the user ends; another user's stays.
func TestBackChannelLogoutSidOrSub(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		if err := e.lms.AddUser(fakelms.User{Username: "bob", Email: "bob@example.com"}); err != nil {
			t.Fatal(err)
		}
		a1 := signedInOIDC(t, e, "jsmith", "sid-1")
		a2 := signedInOIDC(t, e, "jsmith", "sid-2")
		bob := signedInOIDC(t, e, "bob", "sid-bob")

		tok := signLogout(t, e, e.lms.LogoutTokenClaims(clientID, "", "sid-1"))
		if status, _, body := postLogoutToken(t, e.srv.URL, tok); status != http.StatusOK {
			t.Fatalf("sid only: %d %s", status, body)
		}
		if a1.me() != "" || a2.me() == "" || bob.me() == "" {
			t.Fatalf("sid only: want only sid-1's session ended")
		}

		a3 := signedInOIDC(t, e, "jsmith", "")
		tok = signLogout(t, e, e.lms.LogoutTokenClaims(clientID, e.lms.Subject("jsmith"), ""))
		if status, _, body := postLogoutToken(t, e.srv.URL, tok); status != http.StatusOK {
			t.Fatalf("sub only: %d %s", status, body)
		}
		if a2.me() != "" || a3.me() != "" {
			t.Errorf("sub only: a session of the user is still signed in")
		}
		if bob.me() == "" {
			t.Errorf("sub only: another user's session ended")
		}

		// An unknown sub or sid is a success that ends nothing.
		tok = signLogout(t, e, e.lms.LogoutTokenClaims(clientID, "no-such-sub", ""))
		if status, _, _ := postLogoutToken(t, e.srv.URL, tok); status != http.StatusOK {
			t.Errorf("unknown sub: %d, want 200", status)
		}
		if bob.me() == "" {
			t.Errorf("unknown sub ended bob's session")
		}
	})
}

// Two instances share one database: a logout at instance B's endpoint ends
// the session created at instance A.
func TestBackChannelLogoutAcrossInstances(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		b := signedInOIDC(t, e, "jsmith", "sid-a")
		other := e.instance(t)
		sessions, err := e.svc.Sessions(context.Background(), b.me())
		if err != nil || len(sessions) != 1 || sessions[0].SID != "sid-a" || sessions[0].Backend != oidcName {
			t.Fatalf("Sessions = %+v, %v", sessions, err)
		}
		tok := signLogout(t, e, e.lms.LogoutTokenClaims(clientID, e.lms.Subject("jsmith"), "sid-a"))
		if status, _, body := postLogoutToken(t, other.srv.URL, tok); status != http.StatusOK {
			t.Fatalf("at B: %d %s", status, body)
		}
		if b.me() != "" {
			t.Errorf("the session created at A survived a logout at B")
		}
	})
}

// Requests that carry no usable logout_token.
func TestBackChannelLogoutBadRequests(t *testing.T) {
	e := newEnv(t, options{})
	post := func(path, ctype, body string) int {
		resp, err := http.Post(e.srv.URL+path, ctype, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	tok := signLogout(t, e, e.lms.LogoutTokenClaims(clientID, "x", ""))
	for _, c := range []struct {
		name, path, ctype, body string
		want                    int
	}{
		{"no token", bclPath, "application/x-www-form-urlencoded", "", 400},
		{"two tokens", bclPath, "application/x-www-form-urlencoded", "logout_token=a&logout_token=b", 400},
		{"json body", bclPath, "application/json", `{"logout_token":"` + tok + `"}`, 400},
		{"unknown backend", "/backchannel-logout/nope/", "application/x-www-form-urlencoded", "logout_token=" + tok, 404},
		{"OAuth2 backend", "/backchannel-logout/" + oauthName + "/", "application/x-www-form-urlencoded", "logout_token=" + tok, 501},
	} {
		if got := post(c.path, c.ctype, c.body); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
