package fakelms

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestCodeFlowJWTAccessTokenHasLMSClaims(t *testing.T) {
	clk := newClock()
	l := newTestLMS(t, func(o *Options) { o.Now = clk.Now })
	cb := getCode(t, l, url.Values{"nonce": {"n-0S6_WzA2Mj"}, "scope": {"openid user_id profile email"}})
	if got := cb.Get("state"); got != "st-123" {
		t.Errorf("state = %q, want st-123", got)
	}
	if cb.Has("iss") {
		t.Errorf("iss present without IssParameter")
	}
	res := exchange(t, l, cb.Get("code"), nil)
	if res.status != http.StatusOK {
		t.Fatalf("token status = %d body %s", res.status, res.raw)
	}
	if got := res.header.Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control = %q", got)
	}
	for k, want := range map[string]any{"token_type": "JWT", "expires_in": float64(3600), "scope": "openid user_id profile email"} {
		if res.body[k] != want {
			t.Errorf("%s = %v, want %v", k, res.body[k], want)
		}
	}
	if rt, _ := res.body["refresh_token"].(string); rt == "" {
		t.Errorf("no refresh_token")
	}
	access := res.body["access_token"].(string)
	alg, kid, claims := verify(t, l, access)
	if alg != "RS512" || kid != l.KeyID() {
		t.Errorf("access token alg/kid = %s/%s, want RS512/%s", alg, kid, l.KeyID())
	}
	now := clk.Now().Unix()
	want := map[string]any{
		"iss": l.URL() + "/oauth2", "aud": "lms-key", "iat": float64(now), "exp": float64(now + 3600),
		"sub": "e3bfe0e4e7c6693efba9c3a93ee7f31b", "preferred_username": "jsmith", "email": "jsmith@example.com",
		"name": "Joe Smith", "given_name": "Joe", "family_name": "Smith", "user_id": "1",
		"administrator": false, "superuser": false, "email_verified": true, "is_restricted": false,
		"scopes": []any{"openid", "user_id", "profile", "email"}, "version": "1.2.0", "filters": []any{},
		"grant_type": "authorization_code",
	}
	if d := cmp.Diff(want, claims); d != "" {
		t.Errorf("access token claims (-want +got):\n%s", d)
	}

	idt, _ := res.body["id_token"].(string)
	alg, kid, idc := verify(t, l, idt)
	if alg != "RS256" || kid != l.KeyID()+"-rs256" {
		t.Errorf("id_token alg/kid = %s/%s", alg, kid)
	}
	sum := sha256.Sum256([]byte(access))
	for k, v := range map[string]any{
		"aud": testClientID, "nonce": "n-0S6_WzA2Mj", "sub": "e3bfe0e4e7c6693efba9c3a93ee7f31b",
		"iss": l.URL() + "/oauth2", "at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]),
		"auth_time": float64(now),
	} {
		if idc[k] != v {
			t.Errorf("id_token %s = %v, want %v", k, idc[k], v)
		}
	}
}

func TestScopesGateClaimsAndNumericUserID(t *testing.T) {
	l := newTestLMS(t, func(o *Options) { o.NumericUserID = true })
	cb := getCode(t, l, url.Values{"scope": nil})
	res := exchange(t, l, cb.Get("code"), nil)
	_, _, c := verify(t, l, res.body["access_token"].(string))
	// Default scopes are read write email profile: no user_id claim, no id_token.
	if _, ok := c["user_id"]; ok {
		t.Errorf("user_id present without the user_id scope")
	}
	if c["email"] != "jsmith@example.com" || c["name"] != "Joe Smith" {
		t.Errorf("email/profile claims missing: %v", c)
	}
	if _, ok := res.body["id_token"]; ok {
		t.Errorf("id_token without openid scope")
	}
	cb = getCode(t, l, url.Values{"scope": {"user_id"}})
	res = exchange(t, l, cb.Get("code"), nil)
	_, _, c = verify(t, l, res.body["access_token"].(string))
	if c["user_id"] != float64(1) {
		t.Errorf("user_id = %#v, want number 1", c["user_id"])
	}
	for _, k := range []string{"email", "name", "administrator"} {
		if _, ok := c[k]; ok {
			t.Errorf("%s present without its scope", k)
		}
	}
}

func TestOpaqueBearerWithoutTokenTypeJWT(t *testing.T) {
	l := newTestLMS(t, nil)
	cb := getCode(t, l, nil)
	res := exchange(t, l, cb.Get("code"), url.Values{"token_type": nil})
	if res.body["token_type"] != "Bearer" {
		t.Fatalf("token_type = %v", res.body["token_type"])
	}
	if tok := res.body["access_token"].(string); strings.Count(tok, ".") == 2 {
		t.Errorf("opaque token looks like a JWT")
	}
	ui := getJSON(t, l.URL()+"/oauth2/user_info", res.body["access_token"].(string))
	if ui.status != http.StatusOK || ui.body["preferred_username"] != "jsmith" {
		t.Errorf("user_info = %d %v", ui.status, ui.body)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	tests := []struct {
		name       string
		authorize  url.Values
		form       url.Values
		basic      [2]string
		wantStatus int
		wantError  string
	}{
		{name: "wrong redirect_uri", form: url.Values{"redirect_uri": {"http://127.0.0.1:8000/other/"}}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "missing redirect_uri", form: url.Values{"redirect_uri": nil}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "wrong secret", form: url.Values{"client_secret": {"nope"}}, wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown client", form: url.Values{"client_id": {"other"}}, wantStatus: 401, wantError: "invalid_client"},
		{name: "no client auth", form: url.Values{"client_id": nil, "client_secret": nil}, wantStatus: 401, wantError: "invalid_client"},
		{name: "basic and form secret", form: url.Values{"client_id": nil}, basic: [2]string{testClientID, testClientSecret}, wantStatus: 400, wantError: "invalid_request"},
		{name: "basic wrong secret", form: url.Values{"client_id": nil, "client_secret": nil}, basic: [2]string{testClientID, "x"}, wantStatus: 401, wantError: "invalid_client"},
		{name: "basic id differs from form id", form: url.Values{"client_secret": nil, "client_id": {"other"}}, basic: [2]string{testClientID, testClientSecret}, wantStatus: 401, wantError: "invalid_client"},
		{name: "unknown code", form: url.Values{"code": {"forged"}}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "missing code", form: url.Values{"code": nil}, wantStatus: 400, wantError: "invalid_request"},
		{name: "unsupported grant", form: url.Values{"grant_type": {"password"}}, wantStatus: 400, wantError: "unsupported_grant_type"},
		{name: "missing grant", form: url.Values{"grant_type": nil}, wantStatus: 400, wantError: "invalid_request"},
		{name: "PKCE verifier mismatch", authorize: url.Values{"code_challenge": {testChallengeS}, "code_challenge_method": {"S256"}},
			form: url.Values{"code_verifier": {strings.Repeat("x", 43)}}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "PKCE verifier missing", authorize: url.Values{"code_challenge": {testChallengeS}, "code_challenge_method": {"S256"}},
			wantStatus: 400, wantError: "invalid_grant"},
		{name: "PKCE S256 verifier sent as plain challenge", authorize: url.Values{"code_challenge": {testChallengeS}, "code_challenge_method": {"S256"}},
			form: url.Values{"code_verifier": {testChallengeS}}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "PKCE verifier without challenge", form: url.Values{"code_verifier": {testVerifier}}, wantStatus: 400, wantError: "invalid_grant"},
		{name: "PKCE S256 ok", authorize: url.Values{"code_challenge": {testChallengeS}, "code_challenge_method": {"S256"}},
			form: url.Values{"code_verifier": {testVerifier}}, wantStatus: 200},
		{name: "PKCE plain ok", authorize: url.Values{"code_challenge": {testVerifier}, "code_challenge_method": {"plain"}},
			form: url.Values{"code_verifier": {testVerifier}}, wantStatus: 200},
		{name: "PKCE method defaults to plain", authorize: url.Values{"code_challenge": {testVerifier}},
			form: url.Values{"code_verifier": {testVerifier}}, wantStatus: 200},
		{name: "basic auth ok", form: url.Values{"client_id": nil, "client_secret": nil}, basic: [2]string{testClientID, testClientSecret}, wantStatus: 200},
		{name: "basic auth with form client_id ok", form: url.Values{"client_secret": nil}, basic: [2]string{testClientID, testClientSecret}, wantStatus: 200},
		{name: "form auth ok", wantStatus: 200},
	}
	l := newTestLMS(t, func(o *Options) {
		o.Clients = append(o.Clients, Client{ID: "other", Secret: "other-secret", RedirectURIs: []string{testRedirect}})
	})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cb := getCode(t, l, tc.authorize)
			form := url.Values{
				"grant_type": {"authorization_code"}, "code": {cb.Get("code")}, "redirect_uri": {testRedirect},
				"client_id": {testClientID}, "client_secret": {testClientSecret}, "token_type": {"jwt"},
			}
			for k, v := range tc.form {
				if v == nil {
					form.Del(k)
				} else {
					form[k] = v
				}
			}
			res := postForm(t, l.URL()+"/oauth2/access_token", form, tc.basic[0], tc.basic[1])
			if res.status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %s)", res.status, tc.wantStatus, res.raw)
			}
			if tc.wantStatus == 200 {
				if res.body["access_token"] == nil {
					t.Errorf("no access_token")
				}
				return
			}
			if res.body["error"] != tc.wantError {
				t.Errorf("error = %v, want %s", res.body["error"], tc.wantError)
			}
			if tc.wantStatus == 401 && !strings.HasPrefix(res.header.Get("WWW-Authenticate"), "Basic") {
				t.Errorf("401 without WWW-Authenticate")
			}
			if strings.Contains(res.raw, testClientSecret) || strings.Contains(res.raw, cb.Get("code")) {
				t.Errorf("error body leaks a secret: %s", res.raw)
			}
		})
	}
}

func TestCodeIsSingleUseAndReplayRevokesTokens(t *testing.T) {
	l := newTestLMS(t, nil)
	cb := getCode(t, l, nil)
	first := exchange(t, l, cb.Get("code"), nil)
	if first.status != 200 {
		t.Fatalf("first exchange: %d %s", first.status, first.raw)
	}
	again := exchange(t, l, cb.Get("code"), nil)
	if again.status != 400 || again.body["error"] != "invalid_grant" {
		t.Fatalf("replay = %d %v, want 400 invalid_grant", again.status, again.body)
	}
	if ui := getJSON(t, l.URL()+"/oauth2/user_info", first.body["access_token"].(string)); ui.status != 401 {
		t.Errorf("access token survived a code replay: %d", ui.status)
	}
	rf := postForm(t, l.URL()+"/oauth2/access_token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {first.body["refresh_token"].(string)},
		"client_id": {testClientID}, "client_secret": {testClientSecret},
	}, "", "")
	if rf.status != 400 {
		t.Errorf("refresh token survived a code replay: %d", rf.status)
	}
}

func TestFailedExchangeConsumesCode(t *testing.T) {
	l := newTestLMS(t, nil)
	cb := getCode(t, l, nil)
	if res := exchange(t, l, cb.Get("code"), url.Values{"redirect_uri": {"http://127.0.0.1:8000/x/"}}); res.status != 400 {
		t.Fatalf("status = %d", res.status)
	}
	if res := exchange(t, l, cb.Get("code"), nil); res.status != 400 {
		t.Errorf("code usable after a failed attempt: %d", res.status)
	}
}

func TestCodeBoundToClient(t *testing.T) {
	l := newTestLMS(t, func(o *Options) {
		o.Clients = append(o.Clients, Client{ID: "other", Secret: "other-secret", RedirectURIs: []string{testRedirect}})
	})
	cb := getCode(t, l, nil)
	res := exchange(t, l, cb.Get("code"), url.Values{"client_id": {"other"}, "client_secret": {"other-secret"}})
	if res.status != 400 || res.body["error"] != "invalid_grant" {
		t.Fatalf("other client = %d %v", res.status, res.body)
	}
	// The rightful client can still use it: a stolen code tried elsewhere is not consumed.
	if res := exchange(t, l, cb.Get("code"), nil); res.status != 200 {
		t.Errorf("rightful exchange = %d %s", res.status, res.raw)
	}
}

func TestCodeExpires(t *testing.T) {
	clk := newClock()
	l := newTestLMS(t, func(o *Options) { o.Now = clk.Now })
	cb := getCode(t, l, nil)
	clk.Advance(61 * time.Second)
	if res := exchange(t, l, cb.Get("code"), nil); res.status != 400 || res.body["error"] != "invalid_grant" {
		t.Fatalf("expired code = %d %v", res.status, res.body)
	}
}

func refresh(t *testing.T, l *LMS, rt string, extra url.Values) tokenResult {
	t.Helper()
	form := url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {testClientID}, "client_secret": {testClientSecret},
	}
	for k, v := range extra {
		form[k] = v
	}
	return postForm(t, l.URL()+"/oauth2/access_token", form, "", "")
}

func TestRefreshRotation(t *testing.T) {
	l := newTestLMS(t, func(o *Options) {
		o.Clients = append(o.Clients, Client{ID: "other", Secret: "other-secret", RedirectURIs: []string{testRedirect}})
	})
	first := exchange(t, l, getCode(t, l, nil).Get("code"), nil)
	rt1 := first.body["refresh_token"].(string)

	second := refresh(t, l, rt1, nil)
	if second.status != 200 {
		t.Fatalf("refresh = %d %s", second.status, second.raw)
	}
	// upstream refresh requests do not send token_type=jwt, so the LMS answers with a bearer token.
	if second.body["token_type"] != "Bearer" || second.body["scope"] != "user_id profile email" {
		t.Errorf("refresh body = %v", second.body)
	}
	rt2 := second.body["refresh_token"].(string)
	if rt2 == rt1 {
		t.Fatalf("refresh token not rotated")
	}
	if res := refresh(t, l, rt1, nil); res.status != 400 || res.body["error"] != "invalid_grant" {
		t.Errorf("old refresh token = %d %v, want invalid_grant", res.status, res.body)
	}
	if ui := getJSON(t, l.URL()+"/oauth2/user_info", first.body["access_token"].(string)); ui.status != 401 {
		t.Errorf("old access token still valid after rotation: %d", ui.status)
	}
	if res := refresh(t, l, rt2, url.Values{"client_id": {"other"}, "client_secret": {"other-secret"}}); res.status != 400 {
		t.Errorf("refresh by another client = %d", res.status)
	}
	if res := refresh(t, l, rt2, url.Values{"scope": {"user_id openid"}}); res.body["error"] != "invalid_scope" {
		t.Errorf("widening scope = %v", res.body)
	}
	third := refresh(t, l, rt2, url.Values{"scope": {"user_id"}, "token_type": {"jwt"}})
	if third.status != 200 || third.body["scope"] != "user_id" || third.body["token_type"] != "JWT" {
		t.Fatalf("narrowed refresh = %d %v", third.status, third.body)
	}
	_, _, c := verify(t, l, third.body["access_token"].(string))
	if c["grant_type"] != "refresh_token" {
		t.Errorf("grant_type claim = %v", c["grant_type"])
	}
}

func TestUserInfo(t *testing.T) {
	clk := newClock()
	l := newTestLMS(t, func(o *Options) {
		o.Now = clk.Now
		o.Users = []User{{Username: "ada.lovelace", Locale: "en_GB", Administrator: true}}
	})
	l.AutoApprove("ada.lovelace")
	resp, err := noRedirect().Get(authorizeURL(l, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	tok := exchange(t, l, loc.Query().Get("code"), nil).body["access_token"].(string)
	want := map[string]any{
		"sub": subjectFor("ada.lovelace"), "preferred_username": "ada.lovelace", "email": "ada.lovelace@example.com",
		"email_verified": true, "name": "Ada Lovelace", "given_name": "Ada", "family_name": "Lovelace",
		"user_id": "1", "administrator": true, "superuser": false, "locale": "en_GB",
	}
	for _, path := range []string{"/oauth2/user_info", "/oauth2/userinfo"} {
		res := getJSON(t, l.URL()+path, tok)
		if res.status != 200 {
			t.Fatalf("%s = %d %s", path, res.status, res.raw)
		}
		if d := cmp.Diff(want, res.body); d != "" {
			t.Errorf("%s (-want +got):\n%s", path, d)
		}
	}
	for name, bearer := range map[string]string{"missing": "", "unknown": "nope", "forged JWT": l.SignAccessToken(map[string]any{"preferred_username": "ada.lovelace"})} {
		if res := getJSON(t, l.URL()+"/oauth2/user_info", bearer); res.status != 401 || res.header.Get("WWW-Authenticate") == "" {
			t.Errorf("%s bearer = %d", name, res.status)
		}
	}
	clk.Advance(time.Hour + time.Second)
	if res := getJSON(t, l.URL()+"/oauth2/user_info", tok); res.status != 401 || res.body["error"] != "invalid_token" {
		t.Errorf("expired token = %d %v", res.status, res.body)
	}
}

func TestRevoke(t *testing.T) {
	l := newTestLMS(t, nil)
	revoke := func(tok string, basic bool) tokenResult {
		form := url.Values{"token": {tok}}
		if basic {
			return postForm(t, l.URL()+"/oauth2/revoke_token", form, testClientID, testClientSecret)
		}
		form.Set("client_id", testClientID)
		form.Set("client_secret", testClientSecret)
		return postForm(t, l.URL()+"/oauth2/revoke_token", form, "", "")
	}
	a := exchange(t, l, getCode(t, l, nil).Get("code"), nil)
	if res := revoke(a.body["access_token"].(string), false); res.status != 200 {
		t.Fatalf("revoke access = %d %s", res.status, res.raw)
	}
	if ui := getJSON(t, l.URL()+"/oauth2/user_info", a.body["access_token"].(string)); ui.status != 401 {
		t.Errorf("revoked access token still works")
	}
	b := exchange(t, l, getCode(t, l, nil).Get("code"), nil)
	if res := revoke(b.body["refresh_token"].(string), true); res.status != 200 {
		t.Fatalf("revoke refresh = %d", res.status)
	}
	if res := refresh(t, l, b.body["refresh_token"].(string), nil); res.status != 400 {
		t.Errorf("revoked refresh token still works")
	}
	if ui := getJSON(t, l.URL()+"/oauth2/user_info", b.body["access_token"].(string)); ui.status != 401 {
		t.Errorf("access token of a revoked refresh token still works")
	}
	if res := revoke("never-issued", false); res.status != 200 {
		t.Errorf("unknown token = %d, want 200 (RFC 7009)", res.status)
	}
	if res := postForm(t, l.URL()+"/oauth2/revoke_token", url.Values{"token": {"x"}}, "", ""); res.status != 401 {
		t.Errorf("unauthenticated revoke = %d", res.status)
	}
	if res := postForm(t, l.URL()+"/oauth2/revoke_token", url.Values{}, testClientID, testClientSecret); res.status != 400 {
		t.Errorf("missing token = %d", res.status)
	}
}

func TestRevokeIgnoresOtherClientsTokens(t *testing.T) {
	l := newTestLMS(t, func(o *Options) {
		o.Clients = append(o.Clients, Client{ID: "other", Secret: "other-secret"})
	})
	a := exchange(t, l, getCode(t, l, nil).Get("code"), nil)
	if res := postForm(t, l.URL()+"/oauth2/revoke_token", url.Values{"token": {a.body["access_token"].(string)}}, "other", "other-secret"); res.status != 200 {
		t.Fatalf("status = %d", res.status)
	}
	if ui := getJSON(t, l.URL()+"/oauth2/user_info", a.body["access_token"].(string)); ui.status != 200 {
		t.Errorf("another client revoked our token")
	}
}

func TestTokenRequestsRecorded(t *testing.T) {
	l := newTestLMS(t, nil)
	cb := getCode(t, l, url.Values{"code_challenge": {testChallengeS}, "code_challenge_method": {"S256"}})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {cb.Get("code")}, "redirect_uri": {testRedirect},
		"token_type": {"jwt"}, "code_verifier": {testVerifier}}
	if res := postForm(t, l.URL()+"/oauth2/access_token", form, testClientID, testClientSecret); res.status != 200 {
		t.Fatalf("status %d %s", res.status, res.raw)
	}
	got := l.TokenRequests()
	want := []TokenRequest{{
		Form: form, BasicAuth: true, BasicUser: testClientID, BasicPassword: testClientSecret,
		ContentType: "application/x-www-form-urlencoded", Accept: "application/json", UserAgent: "Go-http-client/1.1",
	}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("TokenRequests (-want +got):\n%s", d)
	}
	got[0].Form.Set("code", "mutated")
	if l.TokenRequests()[0].Form.Get("code") == "mutated" {
		t.Errorf("TokenRequests returns shared maps")
	}
}

func TestCallsCounted(t *testing.T) {
	l := newTestLMS(t, nil)
	cb := getCode(t, l, nil)
	exchange(t, l, cb.Get("code"), nil)
	getJSON(t, l.URL()+"/oauth2/jwks.json", "")
	getJSON(t, l.URL()+"/oauth2/jwks.json", "")
	getJSON(t, l.URL()+"/.well-known/openid-configuration", "")
	getJSON(t, l.URL()+"/oauth2/user_info", "")
	getJSON(t, l.URL()+"/logout", "")
	postForm(t, l.URL()+"/oauth2/revoke_token", nil, "", "")
	want := Calls{Authorize: 1, Token: 1, UserInfo: 1, JWKS: 2, Discovery: 1, Revoke: 1, Logout: 1}
	if d := cmp.Diff(want, l.Calls()); d != "" {
		t.Errorf("Calls (-want +got):\n%s", d)
	}
	l.ResetCalls()
	if d := cmp.Diff(Calls{}, l.Calls()); d != "" {
		t.Errorf("after ResetCalls: %s", d)
	}
}

func TestConcurrentLogins(t *testing.T) {
	l := newTestLMS(t, nil)
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := range 32 {
		wg.Go(func() {
			user := "user" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
			req, _ := http.NewRequest(http.MethodPost, l.URL()+"/oauth2/authorize", strings.NewReader(url.Values{
				"client_id": {testClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
				"state": {user}, "username": {user}, "scope": {"user_id profile email"},
			}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := noRedirect().Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			loc, _ := url.Parse(resp.Header.Get("Location"))
			form := url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
				"redirect_uri": {testRedirect}, "client_id": {testClientID}, "client_secret": {testClientSecret}}
			tr, err := noRedirect().PostForm(l.URL()+"/oauth2/access_token", form)
			if err != nil {
				errs <- err.Error()
				return
			}
			tr.Body.Close()
			if loc.Query().Get("state") != user || tr.StatusCode != 200 {
				errs <- user + ": " + tr.Status
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := l.Calls().Token; got != 32 {
		t.Errorf("token calls = %d", got)
	}
}

func TestDerivedUsers(t *testing.T) {
	l := newTestLMS(t, func(o *Options) { o.Users = []User{{Username: "admin", UserID: "41"}} })
	for _, u := range []string{"mary_jane.watson", "bob"} {
		if err := l.AddUser(User{Username: u}); err != nil {
			t.Fatal(err)
		}
	}
	var got []User
	for _, u := range []string{"admin", "mary_jane.watson", "bob"} {
		v, _ := l.User(u)
		got = append(got, v)
	}
	want := []User{
		{Username: "admin", Email: "admin@example.com", Name: "Admin", GivenName: "Admin", UserID: "41"},
		{Username: "mary_jane.watson", Email: "mary_jane.watson@example.com", Name: "Mary Jane Watson", GivenName: "Mary", FamilyName: "Jane Watson", UserID: "42"},
		{Username: "bob", Email: "bob@example.com", Name: "Bob", GivenName: "Bob", UserID: "43"},
	}
	if d := cmp.Diff(want, got, cmpopts.IgnoreFields(User{}, "Subject")); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
	if err := l.AddUser(User{Username: "bad name"}); err == nil {
		t.Errorf("AddUser accepted an invalid username")
	}
}
