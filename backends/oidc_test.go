package backends

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

func oidcSettings(l *fakelms.LMS, m settings.Map) *settings.Settings {
	base := settings.Map{"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": l.Issuer()}
	for k, v := range m {
		base[k] = v
	}
	return testSettings(base)
}

// newOIDC builds the generic "oidc" backend for the fake LMS from settings,
// as an application would at start-up.
func newOIDC(t testing.TB, l *fakelms.LMS, m settings.Map) *OIDC {
	t.Helper()
	cfg, err := OIDCConfigFrom(oidcSettings(l, m), OIDCConfig{OAuth2: OAuth2Config{HTTPClient: l.Client()}})
	if err != nil {
		t.Fatalf("OIDCConfigFrom: %v", err)
	}
	b, err := NewOIDC(cfg)
	if err != nil {
		t.Fatalf("NewOIDC: %v", err)
	}
	return b
}

func TestOIDCLogin(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := newOIDC(t, l, nil)
	st := newStrategy()

	au := start(t, b, st)
	q := au.Query()
	if q.Get("scope") != "openid profile email" || len(q.Get("nonce")) < 43 || q.Get("code_challenge_method") != "S256" {
		t.Errorf("authorization query = %v", q)
	}
	resp, err := callback(b, st, authorize(t, l, au.String()))
	if err != nil {
		t.Fatal(err)
	}
	sub := fakelms.FixtureUser().Subject
	if v, _ := st.SessionGet("oidc_id_token"); v == nil || v != resp["id_token"] {
		t.Error("id_token not kept in the session for logout")
	}
	details := b.UserDetails(resp)
	uid, err := b.UserID(details, resp)
	if err != nil || uid != sub {
		t.Errorf("uid = %q, %v", uid, err)
	}
	if details["username"] != "jsmith" || details["email"] != "jsmith@example.com" || details["first_name"] != "Joe" {
		t.Errorf("details = %v", details)
	}
	extra := b.ExtraData(nil, uid, resp, details)
	if _, ok := extra["id_token"]; !ok || extra["id"] != sub {
		t.Errorf("extra = %v", extra)
	}
	if _, ok := extra[IDTokenClaimsKey]; ok {
		t.Error("claims copied into extra data")
	}
	if c, ok := extra[IDTokenContextKey].(map[string]any); !ok || c["sub"] != sub {
		t.Errorf("identity context = %v", extra[IDTokenContextKey])
	}
	// Basic auth by default (discovery lists client_secret_basic).
	trs := l.TokenRequests()
	if !trs[len(trs)-1].BasicAuth {
		t.Error("client_secret_basic not used")
	}
	// Discovery and JWKS are cached across logins.
	if _, err := login(t, l, b, newStrategy()); err != nil {
		t.Fatal(err)
	}
	if c := l.Calls(); c.Discovery != 1 || c.JWKS != 1 || c.UserInfo != 2 {
		t.Errorf("calls = %+v", c)
	}
}

// oidcForged starts an OIDC flow and answers the token request with an ID
// token built from the flow's nonce by mutate (claims, headers), signed by
// sign (default: the LMS key, RS256, the ID-token kid).
func oidcForged(t *testing.T, l *fakelms.LMS, set settings.Map, mutate func(claims, headers map[string]any), sign func(claims, headers map[string]any) string) error {
	t.Helper()
	b := newOIDC(t, l, set)
	st := newStrategy()
	au := start(t, b, st)
	nonce := onlyFlow(t, st, "oidc").Nonce
	now := time.Now().Unix()
	access := "opaque-access-token"
	sum := sha256.Sum256([]byte(access))
	claims := map[string]any{
		"iss": l.Issuer(), "aud": testClientID, "sub": "subject-1", "iat": now, "exp": now + 300,
		"nonce": nonce, "at_hash": base64.RawURLEncoding.EncodeToString(sum[:16]),
	}
	headers := map[string]any{"kid": l.KeyID() + "-rs256"}
	if mutate != nil {
		mutate(claims, headers)
	}
	var tok string
	if sign != nil {
		tok = sign(claims, headers)
	} else {
		var err error
		if tok, err = l.SignJWT(jwa.RS256, claims, headers); err != nil {
			t.Fatal(err)
		}
	}
	body, _ := json.Marshal(map[string]any{"access_token": access, "token_type": "Bearer", "id_token": tok})
	l.Fault(fakelms.Fault{Endpoint: "token", Times: 1, Body: string(body)})
	l.Fault(fakelms.Fault{Endpoint: "userinfo", Body: `{"sub":"subject-1","preferred_username":"x"}`})
	defer l.ClearFaults()
	cb := &url.URL{Path: "/complete/oidc/", RawQuery: url.Values{"state": {au.Query().Get("state")}, "code": {"c"}}.Encode()}
	_, err := callback(b, st, cb)
	return err
}

func TestOIDCIDTokenChecks(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	unsigned := func(claims, headers map[string]any) string {
		h, _ := json.Marshal(map[string]any{"alg": "none", "kid": headers["kid"]})
		p, _ := json.Marshal(claims)
		return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
	}
	hmacWithPublicKey := func(claims, headers map[string]any) string {
		p, _ := json.Marshal(claims)
		hdr := jws.NewHeaders()
		_ = hdr.Set("kid", headers["kid"])
		out, err := jws.Sign(p, jws.WithKey(jwa.HS256, l.PublicKeyPEM(), jws.WithProtectedHeaders(hdr)))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	tests := []struct {
		name   string
		set    settings.Map
		mutate func(c, h map[string]any)
		sign   func(c, h map[string]any) string
		want   socialauth.Code
	}{
		{name: "valid", want: ""},
		{name: "alg none", sign: unsigned, want: socialauth.CodeAuthTokenError},
		{name: "HS256 with the RSA public key", sign: hmacWithPublicKey, want: socialauth.CodeAuthTokenError},
		{name: "RS512 not on the allow-list", mutate: func(c, h map[string]any) { h["kid"] = l.KeyID() },
			sign: func(c, h map[string]any) string { s, _ := l.SignJWT(jwa.RS512, c, h); return s }, want: socialauth.CodeAuthTokenError},
		{name: "wrong issuer", mutate: func(c, h map[string]any) { c["iss"] = l.Issuer() + "/" }, want: socialauth.CodeAuthTokenError},
		{name: "wrong audience", mutate: func(c, h map[string]any) { c["aud"] = "someone-else" }, want: socialauth.CodeAuthTokenError},
		{name: "several audiences without azp", mutate: func(c, h map[string]any) { c["aud"] = []string{testClientID, "other"} }, want: socialauth.CodeAuthTokenError},
		{name: "several audiences with azp", mutate: func(c, h map[string]any) { c["aud"] = []string{testClientID, "other"}; c["azp"] = testClientID }, want: ""},
		{name: "azp of another client", mutate: func(c, h map[string]any) { c["azp"] = "other" }, want: socialauth.CodeAuthTokenError},
		{name: "expired", mutate: func(c, h map[string]any) { c["exp"] = time.Now().Unix() - 60 }, want: socialauth.CodeAuthTokenError},
		{name: "not yet valid", mutate: func(c, h map[string]any) { c["nbf"] = time.Now().Unix() + 60 }, want: socialauth.CodeAuthTokenError},
		{name: "issued in the future", mutate: func(c, h map[string]any) { c["iat"] = time.Now().Unix() + 60 }, want: socialauth.CodeAuthTokenError},
		{name: "too old for ID_TOKEN_MAX_AGE", mutate: func(c, h map[string]any) { c["iat"] = time.Now().Unix() - 700 }, want: socialauth.CodeAuthTokenError},
		{name: "ID_TOKEN_MAX_AGE setting", set: settings.Map{"SOCIAL_AUTH_OIDC_ID_TOKEN_MAX_AGE": 30},
			mutate: func(c, h map[string]any) { c["iat"] = time.Now().Unix() - 60 }, want: socialauth.CodeAuthTokenError},
		{name: "MAX_AGE: auth_time recent", set: settings.Map{"SOCIAL_AUTH_OIDC_MAX_AGE": 300},
			mutate: func(c, h map[string]any) { c["auth_time"] = time.Now().Unix() - 200 }, want: ""},
		{name: "MAX_AGE: auth_time too old", set: settings.Map{"SOCIAL_AUTH_OIDC_MAX_AGE": 300},
			mutate: func(c, h map[string]any) { c["auth_time"] = time.Now().Unix() - 400 }, want: socialauth.CodeAuthTokenError},
		{name: "MAX_AGE: auth_time in the future", set: settings.Map{"SOCIAL_AUTH_OIDC_MAX_AGE": 300},
			mutate: func(c, h map[string]any) { c["auth_time"] = time.Now().Unix() + 60 }, want: socialauth.CodeAuthTokenError},
		{name: "MAX_AGE: no auth_time", set: settings.Map{"SOCIAL_AUTH_OIDC_MAX_AGE": 300},
			mutate: func(c, h map[string]any) { delete(c, "auth_time") }, want: socialauth.CodeAuthTokenError},
		{name: "MAX_AGE: auth_time not a number", set: settings.Map{"SOCIAL_AUTH_OIDC_MAX_AGE": 300},
			mutate: func(c, h map[string]any) { c["auth_time"] = "yesterday" }, want: socialauth.CodeAuthTokenError},
		{name: "no MAX_AGE: an old auth_time is fine", mutate: func(c, h map[string]any) { c["auth_time"] = time.Now().Unix() - 86400 }, want: ""},
		{name: "no iat", mutate: func(c, h map[string]any) { delete(c, "iat") }, want: socialauth.CodeAuthTokenError},
		{name: "wrong nonce", mutate: func(c, h map[string]any) { c["nonce"] = "other" }, want: socialauth.CodeAuthTokenError},
		{name: "no nonce", mutate: func(c, h map[string]any) { delete(c, "nonce") }, want: socialauth.CodeAuthTokenError},
		{name: "bad at_hash", mutate: func(c, h map[string]any) { c["at_hash"] = "AAAAAAAAAAAAAAAAAAAAAA" }, want: socialauth.CodeAuthTokenError},
		{name: "no at_hash is fine", mutate: func(c, h map[string]any) { delete(c, "at_hash") }, want: ""},
		{name: "no sub", mutate: func(c, h map[string]any) { delete(c, "sub") }, want: socialauth.CodeAuthTokenError},
		{name: "userinfo sub of someone else", mutate: func(c, h map[string]any) { c["sub"] = "subject-2" }, want: socialauth.CodeAuthTokenError},
		{name: "unknown kid", mutate: func(c, h map[string]any) { h["kid"] = "nope" }, want: socialauth.CodeAuthTokenError},
		{name: "oversized", mutate: func(c, h map[string]any) { c["pad"] = strings.Repeat("a", 20<<10) }, want: socialauth.CodeAuthTokenError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := oidcForged(t, l, tt.set, tt.mutate, tt.sign)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			wantCode(t, err, tt.want)
		})
	}
}

func TestOIDCUnknownKidRefetchBounded(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	for range 5 {
		err := oidcForged(t, l, nil, func(c, h map[string]any) { h["kid"] = "rotated-away" }, nil)
		wantCode(t, err, socialauth.CodeAuthTokenError)
	}
	// Each test flow uses a fresh backend (fresh cache): at most 2 fetches each.
	// Within one backend, 5 unknown kids refetch once.
	b := newOIDC(t, l, nil)
	before := l.Calls().JWKS
	for range 5 {
		_, err := b.VerifyIDToken(context.Background(), mustSign(t, l, map[string]any{"iss": l.Issuer()}, map[string]any{"kid": "unknown"}), "")
		wantCode(t, err, socialauth.CodeAuthTokenError)
	}
	if n := l.Calls().JWKS - before; n > 2 {
		t.Errorf("JWKS fetched %d times for 5 unknown kids", n)
	}
}

func mustSign(t *testing.T, l *fakelms.LMS, claims, headers map[string]any) string {
	t.Helper()
	s, err := l.SignJWT(jwa.RS256, claims, headers)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestOIDCNonceBoundToFlow(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := newOIDC(t, l, settings.Map{"SOCIAL_AUTH_OIDC_USE_PKCE": false})
	// The victim's code (bound to nonce 1) replayed into the attacker's flow (nonce 2).
	st1 := newStrategy()
	cb1 := authorize(t, l, start(t, b, st1).String())
	st2 := newStrategy()
	au2 := start(t, b, st2)
	cb := withQuery(cb1, func(q url.Values) { q.Set("state", au2.Query().Get("state")) })
	_, err := callback(b, st2, cb)
	wantCode(t, err, socialauth.CodeAuthTokenError)
	if !strings.Contains(err.Error(), "nonce") {
		t.Errorf("err = %v", err)
	}
}

func TestOIDCDiscoveryFailure(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := newOIDC(t, l, nil)
	if l.Calls().Discovery != 0 {
		t.Error("NewOIDC did I/O")
	}
	l.Fault(fakelms.Fault{Endpoint: "discovery", Status: 503})
	_, err := b.Start(context.Background(), newStrategy())
	wantCode(t, err, socialauth.CodeAuthUnreachableProvider)
	l.Fault(fakelms.Fault{Endpoint: "discovery", Status: 200, Body: "<html>", ContentType: "text/html"})
	_, err = b.Start(context.Background(), newStrategy())
	wantCode(t, err, socialauth.CodeAuthUnknownError)
	if l.Calls().Token != 0 || l.Calls().Authorize != 0 {
		t.Errorf("calls = %+v", l.Calls())
	}
	// No OIDC_ENDPOINT (and not every URL it would give): a construction
	// error naming it, whether configured by settings or in code.
	_, err = OIDCConfigFrom(testSettings(nil), OIDCConfig{})
	wantConfigErr(t, err, "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT")
	_, err = NewOIDC(OIDCConfig{OAuth2: OAuth2Config{Key: testClientID}})
	wantConfigErr(t, err, "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT")
}

func TestOIDCIssParameterDeclared(t *testing.T) {
	l := newLMS(t, fakelms.Options{IssParameter: true})
	b := newOIDC(t, l, nil)
	st := newStrategy()
	cb := authorize(t, l, start(t, b, st).String())
	before := l.Calls().Token
	_, err := callback(b, st, withQuery(cb, func(q url.Values) { q.Del("iss") }))
	wantCode(t, err, socialauth.CodeAuthMissingParameter)
	if l.Calls().Token != before {
		t.Error("token endpoint called")
	}
	if _, err := login(t, l, b, newStrategy()); err != nil {
		t.Fatalf("login with iss: %v", err)
	}
}

func TestOIDCRefresh(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := newOIDC(t, l, nil)
	store := testutil.NewStore()
	social := associate(t, l, b, store)
	got, err := b.RefreshSocial(context.Background(), store, social)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken() == social.AccessToken() {
		t.Error("not refreshed")
	}
	// An ID token of another subject on refresh is refused; nothing stored.
	now := time.Now().Unix()
	other := mustSign(t, l, map[string]any{"iss": l.Issuer(), "aud": testClientID, "sub": "intruder", "iat": now, "exp": now + 60},
		map[string]any{"kid": l.KeyID() + "-rs256"})
	body, _ := json.Marshal(map[string]any{"access_token": "a2", "token_type": "Bearer", "id_token": other})
	l.Fault(fakelms.Fault{Endpoint: "token", Times: 1, Body: string(body)})
	_, err = b.RefreshSocial(context.Background(), store, got)
	wantCode(t, err, socialauth.CodeAuthTokenError)
	after, _ := store.GetSocialAuthByID(context.Background(), social.ID)
	if after.AccessToken() != got.AccessToken() {
		t.Error("rejected refresh was stored")
	}
}

func TestOIDCLogoutURL(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := newOIDC(t, l, settings.Map{"SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS": []string{"partner.example"}})
	st := newStrategy()
	resp, err := login(t, l, b, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		next, want string
		code       socialauth.Code
	}{
		{"/bye", testutil.DefaultBaseURL + "/bye", ""},
		{"https://partner.example/x", "https://partner.example/x", ""},
		{"//evil.example", "", socialauth.CodeAuthInvalidParameter},
		{"https://evil.example/", "", socialauth.CodeAuthInvalidParameter},
		{"javascript:alert(1)", "", socialauth.CodeAuthInvalidParameter},
	} {
		st.SessionSet("oidc_id_token", resp["id_token"])
		st.SetRequestData(url.Values{"next": {tt.next}})
		u, err := b.LogoutURL(context.Background(), st)
		if tt.code != "" {
			wantCode(t, err, tt.code)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		pu, _ := url.Parse(u)
		q := pu.Query()
		if pu.Path != "/logout" || q.Get("post_logout_redirect_uri") != tt.want || q.Get("id_token_hint") != resp["id_token"] || len(q.Get("state")) < 43 {
			t.Errorf("LogoutURL(%q) = %s", tt.next, u)
		}
	}
}

func TestAtHash(t *testing.T) {
	sum := sha256.Sum256([]byte("tok"))
	good := base64.RawURLEncoding.EncodeToString(sum[:16])
	if !atHashOK("RS256", "tok", good) || atHashOK("RS256", "tok2", good) || atHashOK("none", "tok", good) || atHashOK("RS512", "tok", good) {
		t.Error("atHashOK")
	}
}

// TestOIDCConfigFromErrors: every malformed OpenID setting fails
// construction naming its key (they used to fail the first login, or be
// sent to the provider as they were).
func TestOIDCConfigFromErrors(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	tests := []struct {
		name string
		set  settings.Map
		key  string
	}{
		{"OIDC_ENDPOINT not a URL", settings.Map{"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": "not a url"}, "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT"},
		{"JWKS_URI relative", settings.Map{"SOCIAL_AUTH_OIDC_JWKS_URI": "/jwks"}, "SOCIAL_AUTH_OIDC_JWKS_URI"},
		{"END_SESSION_URL", settings.Map{"SOCIAL_AUTH_OIDC_END_SESSION_URL": "javascript:x"}, "SOCIAL_AUTH_OIDC_END_SESSION_URL"},
		{"TOKEN_ENDPOINT_AUTH_METHOD", settings.Map{"SOCIAL_AUTH_OIDC_TOKEN_ENDPOINT_AUTH_METHOD": "private_key_jwt"}, "SOCIAL_AUTH_OIDC_TOKEN_ENDPOINT_AUTH_METHOD"},
		{"JWT_ALGORITHMS none", settings.Map{"SOCIAL_AUTH_OIDC_JWT_ALGORITHMS": []string{"none"}}, "SOCIAL_AUTH_OIDC_JWT_ALGORITHMS"},
		{"JWT_ALGORITHMS HMAC", settings.Map{"SOCIAL_AUTH_OIDC_JWT_ALGORITHMS": []string{"RS256", "HS256"}}, "SOCIAL_AUTH_OIDC_JWT_ALGORITHMS"},
		{"JWT_ALGORITHMS type", settings.Map{"SOCIAL_AUTH_OIDC_JWT_ALGORITHMS": 256}, "SOCIAL_AUTH_OIDC_JWT_ALGORITHMS"},
		{"JWT_LEEWAY", settings.Map{"SOCIAL_AUTH_OIDC_JWT_LEEWAY": "abc"}, "SOCIAL_AUTH_OIDC_JWT_LEEWAY"},
		{"ID_TOKEN_MAX_AGE", settings.Map{"SOCIAL_AUTH_OIDC_ID_TOKEN_MAX_AGE": "-1s"}, "SOCIAL_AUTH_OIDC_ID_TOKEN_MAX_AGE"},
		{"DISPLAY", settings.Map{"SOCIAL_AUTH_OIDC_DISPLAY": "fullscreen"}, "SOCIAL_AUTH_OIDC_DISPLAY"},
		{"PROMPT", settings.Map{"SOCIAL_AUTH_OIDC_PROMPT": "login maybe"}, "SOCIAL_AUTH_OIDC_PROMPT"},
		{"MAX_AGE negative", settings.Map{"SOCIAL_AUTH_OIDC_MAX_AGE": -1}, "SOCIAL_AUTH_OIDC_MAX_AGE"},
		{"MAX_AGE not a number", settings.Map{"SOCIAL_AUTH_OIDC_MAX_AGE": "soon"}, "SOCIAL_AUTH_OIDC_MAX_AGE"},
		{"UI_LOCALES empty", settings.Map{"SOCIAL_AUTH_OIDC_UI_LOCALES": " "}, "SOCIAL_AUTH_OIDC_UI_LOCALES"},
		{"ID_TOKEN_HINT empty", settings.Map{"SOCIAL_AUTH_OIDC_ID_TOKEN_HINT": ""}, "SOCIAL_AUTH_OIDC_ID_TOKEN_HINT"},
		{"LOGIN_HINT empty", settings.Map{"SOCIAL_AUTH_OIDC_LOGIN_HINT": ""}, "SOCIAL_AUTH_OIDC_LOGIN_HINT"},
		{"ACR_VALUES empty", settings.Map{"SOCIAL_AUTH_OIDC_ACR_VALUES": ""}, "SOCIAL_AUTH_OIDC_ACR_VALUES"},
		{"USERNAME_KEY type", settings.Map{"SOCIAL_AUTH_OIDC_USERNAME_KEY": []string{"a"}}, "SOCIAL_AUTH_OIDC_USERNAME_KEY"},
		{"ALLOWED_REDIRECT_HOSTS type", settings.Map{"SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS": 1}, "SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS"},
		{"LOGOUT_REDIRECT_URL type", settings.Map{"SOCIAL_AUTH_OIDC_LOGOUT_REDIRECT_URL": []string{"/"}}, "SOCIAL_AUTH_OIDC_LOGOUT_REDIRECT_URL"},
		{"an OAuth2 setting", settings.Map{"SOCIAL_AUTH_OIDC_STATE_TTL": "abc"}, "SOCIAL_AUTH_OIDC_STATE_TTL"},
		{"no KEY", settings.Map{"SOCIAL_AUTH_OIDC_KEY": ""}, "SOCIAL_AUTH_OIDC_KEY"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OIDCConfigFrom(oidcSettings(l, tt.set), OIDCConfig{})
			wantConfigErr(t, err, tt.key)
		})
	}
	// The same values in code fail NewOIDC the same way.
	base := OIDCConfig{OAuth2: OAuth2Config{Key: testClientID}, Endpoint: l.Issuer()}
	for _, tt := range []struct {
		mod func(*OIDCConfig)
		key string
	}{
		{func(c *OIDCConfig) { c.Algorithms = []string{"HS512"} }, "SOCIAL_AUTH_OIDC_JWT_ALGORITHMS"},
		{func(c *OIDCConfig) { c.Display = "x" }, "SOCIAL_AUTH_OIDC_DISPLAY"},
		{func(c *OIDCConfig) { n := -5; c.MaxAge = &n }, "SOCIAL_AUTH_OIDC_MAX_AGE"},
		{func(c *OIDCConfig) { c.Endpoint = "ftp://idp" }, "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT"},
		{func(c *OIDCConfig) { c.OAuth2.Key = "" }, "SOCIAL_AUTH_OIDC_KEY"},
		{func(c *OIDCConfig) { c.OAuth2.Endpoints.UserInfoURL = "/me" }, "SOCIAL_AUTH_OIDC_USERINFO_URL"},
	} {
		cfg := base
		tt.mod(&cfg)
		_, err := NewOIDC(cfg)
		wantConfigErr(t, err, tt.key)
	}
	if _, err := NewOIDC(base); err != nil {
		t.Errorf("NewOIDC(valid) = %v", err)
	}
}

// TestOIDCRequestParameters: the optional OpenID parameters, read once, are
// sent as configured.
func TestOIDCRequestParameters(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := newOIDC(t, l, settings.Map{
		"SOCIAL_AUTH_OIDC_DISPLAY": "popup", "SOCIAL_AUTH_OIDC_PROMPT": " login  consent ", "SOCIAL_AUTH_OIDC_MAX_AGE": 0,
		"SOCIAL_AUTH_OIDC_UI_LOCALES": "fr", "SOCIAL_AUTH_OIDC_LOGIN_HINT": "joe", "SOCIAL_AUTH_OIDC_ACR_VALUES": "mfa",
	})
	q := start(t, b, newStrategy()).Query()
	for k, want := range map[string]string{
		"display": "popup", "prompt": "login consent", "max_age": "0", "ui_locales": "fr", "login_hint": "joe", "acr_values": "mfa", "id_token_hint": "",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	q = start(t, newOIDC(t, l, nil), newStrategy()).Query()
	for _, k := range []string{"display", "prompt", "max_age", "ui_locales"} {
		if q.Has(k) {
			t.Errorf("%s sent without its setting", k)
		}
	}
}

// TestOIDCWithoutDiscovery: with every URL given, the backend never fetches
// a discovery document; the ID-token issuer is the configured one.
func TestOIDCWithoutDiscovery(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	cfg, err := OIDCConfigFrom(testSettings(settings.Map{
		"SOCIAL_AUTH_OIDC_AUTHORIZATION_URL": l.URL() + "/oauth2/authorize",
		"SOCIAL_AUTH_OIDC_ACCESS_TOKEN_URL":  l.URL() + "/oauth2/access_token",
		"SOCIAL_AUTH_OIDC_USERINFO_URL":      l.URL() + "/oauth2/user_info",
		"SOCIAL_AUTH_OIDC_JWKS_URI":          l.URL() + "/oauth2/jwks.json",
		"SOCIAL_AUTH_OIDC_ID_TOKEN_ISSUER":   l.Issuer(),
	}), OIDCConfig{OAuth2: OAuth2Config{HTTPClient: l.Client()}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewOIDC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := login(t, l, b, newStrategy())
	if err != nil {
		t.Fatal(err)
	}
	if claims := claimsOf(resp); claims["iss"] != l.Issuer() {
		t.Errorf("claims = %v", claims)
	}
	if c := l.Calls(); c.Discovery != 0 || c.JWKS != 1 || c.UserInfo != 1 {
		t.Errorf("calls = %+v", c)
	}
	// A wrong configured issuer refuses the LMS's tokens.
	cfg.IDTokenIssuer = l.Issuer() + "/other"
	wrong, err := NewOIDC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	_, err = login(t, l, wrong, newStrategy())
	wantCode(t, err, socialauth.CodeAuthTokenError)
}

// TestOIDCUserHooks: the hooks of OIDCConfig.OAuth2 run after the OIDC ones
// (the ID token is verified first) and receive the backend.
func TestOIDCUserHooks(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	var got []string
	var gotB *OAuth2
	cfg, err := OIDCConfigFrom(oidcSettings(l, nil), OIDCConfig{OAuth2: OAuth2Config{
		HTTPClient: l.Client(),
		TokenResponse: func(_ context.Context, b *OAuth2, _ *Flow, resp map[string]any) error {
			gotB = b
			if claimsOf(resp) == nil {
				t.Error("user TokenResponse ran before the ID token was verified")
			}
			got = append(got, "TokenResponse")
			return nil
		},
		MoreExtraData: func(_ string, _ map[string]any, _ socialauth.Details, extra map[string]any) {
			if _, ok := extra[IDTokenContextKey]; !ok {
				t.Error("user MoreExtraData ran before the OIDC one")
			}
			extra["mine"] = true
		},
	}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewOIDC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := login(t, l, b, newStrategy())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || gotB != b.OAuth2 {
		t.Errorf("TokenResponse calls %v, backend %p want %p", got, gotB, b.OAuth2)
	}
	details := b.UserDetails(resp)
	uid, _ := b.UserID(details, resp)
	if extra := b.ExtraData(nil, uid, resp, details); extra["mine"] != true {
		t.Errorf("extra = %v", extra)
	}
	if c := b.Config(); c.OAuth2.TokenResponse == nil || c.OAuth2.Name != "oidc" || c.Endpoint != l.Issuer() {
		t.Errorf("Config() = %+v", c)
	}
}
