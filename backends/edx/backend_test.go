package edx_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// test_logout_url, test_authorization_url, test_end_session_url, and the
// token URL (always URL_ROOT).
func TestURLs(t *testing.T) {
	tests := []struct {
		name                          string
		extra                         settings.Map
		authorize, endSession, logout string
	}{
		{
			name:       "URL_ROOT only",
			authorize:  "https://example.com/oauth2/authorize",
			endSession: "https://example.com/logout",
			logout:     "https://example.com/logout",
		},
		{
			name:       "PUBLIC_URL_ROOT wins for the browser",
			extra:      settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": publicURLRoot},
			authorize:  "https://public.example.com/oauth2/authorize",
			endSession: "https://public.example.com/logout",
			logout:     "https://public.example.com/logout",
		},
		{
			name:       "empty PUBLIC_URL_ROOT falls back to URL_ROOT",
			extra:      settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": ""},
			authorize:  "https://example.com/oauth2/authorize",
			endSession: "https://example.com/logout",
			logout:     "https://example.com/logout",
		},
		{
			name:       "logout redirect, unencoded as upstream",
			extra:      settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": logoutRedirectURL},
			authorize:  "https://example.com/oauth2/authorize",
			endSession: "https://example.com/logout",
			logout:     "https://example.com/logout?client_id=a-key&redirect_url=https://example.com/logout_redirect",
		},
		{
			name: "logout redirect and PUBLIC_URL_ROOT",
			extra: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": logoutRedirectURL,
				"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": publicURLRoot},
			authorize:  "https://public.example.com/oauth2/authorize",
			endSession: "https://public.example.com/logout",
			logout:     "https://public.example.com/logout?client_id=a-key&redirect_url=https://example.com/logout_redirect",
		},
		{
			name:       "logout redirect from SOCIAL_AUTH_LOGOUT_REDIRECT_URL",
			extra:      settings.Map{"SOCIAL_AUTH_LOGOUT_REDIRECT_URL": logoutRedirectURL},
			authorize:  "https://example.com/oauth2/authorize",
			endSession: "https://example.com/logout",
			logout:     "https://example.com/logout?client_id=a-key&redirect_url=https://example.com/logout_redirect",
		},
		{
			name:       "logout redirect from Django's plain LOGOUT_REDIRECT_URL",
			extra:      settings.Map{"LOGOUT_REDIRECT_URL": "https://example.com/bye?x=1"},
			authorize:  "https://example.com/oauth2/authorize",
			endSession: "https://example.com/logout",
			logout:     "https://example.com/logout?client_id=a-key&redirect_url=https://example.com/bye?x=1",
		},
		{
			name: "backend-prefixed logout redirect wins",
			extra: settings.Map{"LOGOUT_REDIRECT_URL": "https://example.com/plain",
				"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": logoutRedirectURL},
			authorize:  "https://example.com/oauth2/authorize",
			endSession: "https://example.com/logout",
			logout:     "https://example.com/logout?client_id=a-key&redirect_url=https://example.com/logout_redirect",
		},
		{
			name:       "nil logout redirect means none",
			extra:      settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": nil},
			authorize:  "https://example.com/oauth2/authorize",
			endSession: "https://example.com/logout",
			logout:     "https://example.com/logout",
		},
		{
			name:       "trailing slash on the roots is ignored",
			extra:      settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://example.com/", "SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": "https://public.example.com/"},
			authorize:  "https://public.example.com/oauth2/authorize",
			endSession: "https://public.example.com/logout",
			logout:     "https://public.example.com/logout",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := fixtureBackend(t, nil, tc.extra, edx.Options{})
			got := map[string]string{"authorize": b.AuthorizationURL(), "end_session": b.EndSessionURL(),
				"token": b.AccessTokenURL()}
			var err error
			if got["logout"], err = b.LogoutURL(context.Background(), newStrategy()); err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"authorize": tc.authorize, "end_session": tc.endSession,
				"logout": tc.logout, "token": "https://example.com/oauth2/access_token"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("URLs (-want +got):\n%s", diff)
			}
		})
	}
}

// A logout redirect or key holding &, #, space or % cannot leave its query
// parameter: parsing the URL gives back exactly the configured values.
func TestLogoutURLValuesCannotBreakOut(t *testing.T) {
	for _, redirect := range []string{
		"https://example.com/logout_redirect&client_id=evil",
		"https://example.com/a#frag",
		"https://example.com/a b",
		"https://example.com/%2F..%2F",
		"https://example.com/a;b=c+d",
		"https://example.com/é\t\n",
	} {
		t.Run(redirect, func(t *testing.T) {
			b := fixtureBackend(t, nil, settings.Map{
				"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": redirect,
				"SOCIAL_AUTH_EDX_OAUTH2_KEY":                 "key&x=1 #",
			}, edx.Options{})
			got, err := b.LogoutURL(context.Background(), newStrategy())
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(got)
			if err != nil {
				t.Fatalf("LogoutURL %q does not parse: %v", got, err)
			}
			if u.Fragment != "" || u.Host != "example.com" || u.Path != "/logout" {
				t.Fatalf("LogoutURL %q: the value escaped its parameter", got)
			}
			q, err := url.ParseQuery(u.RawQuery)
			if err != nil {
				t.Fatal(err)
			}
			want := url.Values{"client_id": {"key&x=1 #"}, "redirect_url": {redirect}}
			if diff := cmp.Diff(want, q); diff != "" {
				t.Errorf("query of %q (-want +got):\n%s", got, diff)
			}
		})
	}
}

// Every missing or malformed setting fails ConfigFrom (and a Config in
// code fails New) with an ImproperlyConfigured error naming the key that
// answered, never quoting the value; the first login never gets that far.
func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		set  *settings.Settings
		keys []string // each must be named
	}{
		{"no settings at all", nil, []string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_EDX_OAUTH2_KEY", "SOCIAL_AUTH_EDX_OAUTH2_SECRET"}},
		{"empty settings", settings.New(), []string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_EDX_OAUTH2_KEY", "SOCIAL_AUTH_EDX_OAUTH2_SECRET"}},
		{"SECRET missing (the LMS's applications are confidential)", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_SECRET": nil}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_SECRET"}},
		{"SECRET empty", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_SECRET": ""}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_SECRET"}},
		{"URL_ROOT unset", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": nil}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"}},
		{"URL_ROOT not a url", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "not a url"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"}},
		{"URL_ROOT not absolute", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "example.com"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"}},
		{"URL_ROOT with userinfo", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://u:p4ss@example.com"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"}},
		{"URL_ROOT with a query", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://example.com/?a=b"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"}},
		{"URL_ROOT of the wrong type", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": 42}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"}},
		{"plain URL_ROOT is named as it answered", settings.New(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_KEY": clientKey, "URL_ROOT": "ftp://lms"}),
			[]string{"URL_ROOT"}},
		{"PUBLIC_URL_ROOT not absolute", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": "/lms"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT"}},
		{"KEY missing", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_KEY": nil}), []string{"SOCIAL_AUTH_EDX_OAUTH2_KEY"}},
		{"STATE_TTL=abc", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL": "abc"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL"}},
		{"global STATE_TTL=abc", fixtureSettings(settings.Map{"SOCIAL_AUTH_STATE_TTL": "abc"}), []string{"SOCIAL_AUTH_STATE_TTL"}},
		{"USE_PKCE=maybe", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE": "maybe"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE"}},
		{"JWKS_CACHE_TTL malformed", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL": "soon"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL"}},
		{"PROVIDER_CONFIGURATION_CACHE_TTL negative", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_PROVIDER_CONFIGURATION_CACHE_TTL": -5}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_PROVIDER_CONFIGURATION_CACHE_TTL"}},
		{"JWT_AUDIENCE of the wrong type", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE": 42}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE"}},
		{"JWS_HMAC_SIGNING_KEY of the wrong type", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": 7}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY"}},
		{"JWS_HMAC_SIGNING_KEY shorter than 64 bytes", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": "p4ss" + strings.Repeat("k", 59)}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY"}},
		{"global JWS_HMAC_SIGNING_KEY shorter than 64 bytes", fixtureSettings(settings.Map{"JWS_HMAC_SIGNING_KEY": "p4ss-short"}),
			[]string{"JWS_HMAC_SIGNING_KEY"}},
		{"insecure switch malformed", fixtureSettings(settings.Map{edx.SettingInsecureSkipTokenVerification: "perhaps"}),
			[]string{edx.SettingInsecureSkipTokenVerification}},
		{"every error at once", fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "not a url",
			"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL": "abc", "SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE": "maybe"}),
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL", "SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := edx.ConfigFrom(tc.set)
			assertConfigError(t, err, tc.keys...)
			if err != nil && strings.Contains(err.Error(), "p4ss") {
				t.Errorf("the value reached the error: %v", err)
			}
		})
	}
}

// A Config written in code is checked by New as the settings are by
// ConfigFrom, naming the setting that would set the value.
func TestNewConfigErrors(t *testing.T) {
	valid := func() edx.Config {
		c := edx.DefaultConfig()
		c.URLRoot, c.OAuth2.Key, c.OAuth2.Secret = fixtureURLRoot, clientKey, clientSecret
		return c
	}
	tests := []struct {
		name string
		edit func(c *edx.Config)
		keys []string
	}{
		{"zero Config", func(c *edx.Config) { *c = edx.Config{} },
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_EDX_OAUTH2_KEY", "SOCIAL_AUTH_EDX_OAUTH2_SECRET"}},
		{"defaults only", func(c *edx.Config) { *c = edx.DefaultConfig() },
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_EDX_OAUTH2_KEY"}},
		{"URLRoot not a url", func(c *edx.Config) { c.URLRoot = "not a url" }, []string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"}},
		{"PublicURLRoot with a fragment", func(c *edx.Config) { c.PublicURLRoot = "https://lms/#x" },
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT"}},
		{"negative JWKSCacheTTL", func(c *edx.Config) { c.JWKSCacheTTL = -time.Second }, []string{"SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL"}},
		{"negative StateTTL", func(c *edx.Config) { c.OAuth2.StateTTL = -time.Second }, []string{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL"}},
		{"JWSHMACSigningKey of 63 bytes", func(c *edx.Config) { c.JWSHMACSigningKey = strings.Repeat("k", edx.MinHMACKeyBytes-1) },
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := valid()
			tc.edit(&c)
			b, err := edx.New(c, edx.Options{})
			if b != nil {
				t.Error("New returned a backend with its error")
			}
			assertConfigError(t, err, tc.keys...)
		})
	}
	if _, err := edx.New(valid(), edx.Options{}); err != nil {
		t.Errorf("New(valid) = %v", err)
	}
	c := valid()
	c.JWSHMACSigningKey = strings.Repeat("k", edx.MinHMACKeyBytes)
	if _, err := edx.New(c, edx.Options{}); err != nil {
		t.Errorf("New with a 64-byte JWSHMACSigningKey = %v", err)
	}
}

// assertConfigError checks an ImproperlyConfigured *socialauth.Error for
// the edx-oauth2 backend naming every key.
func assertConfigError(t *testing.T, err error, keys ...string) {
	t.Helper()
	if !errors.Is(err, socialauth.CodeImproperlyConfigured) {
		t.Fatalf("error = %v, want ImproperlyConfigured", err)
	}
	var se *socialauth.Error
	if !errors.As(err, &se) || se.Backend != edx.Name {
		t.Errorf("error %v is not a *socialauth.Error of %s", err, edx.Name)
	}
	for _, k := range keys {
		if !strings.Contains(err.Error(), k+" ") && !strings.Contains(err.Error(), k+":") {
			t.Errorf("error %q does not name %s", err, k)
		}
	}
}

// ConfigFrom reads every setting of the backend into its typed field,
// over DefaultConfig.
func TestConfigFrom(t *testing.T) {
	c, err := edx.ConfigFrom(fixtureSettings(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":                         "https://lms.internal:8000/",
		"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT":                  "https://lms.example.com",
		"SOCIAL_AUTH_LOGOUT_REDIRECT_URL":                         logoutRedirectURL,
		"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY":             hmacKey,
		"SOCIAL_AUTH_EDX_OAUTH2_ISSUER":                           "https://lms.example.com/oauth2",
		"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE":                     "a, b",
		"SOCIAL_AUTH_EDX_OAUTH2_PROVIDER_CONFIGURATION_CACHE_TTL": 3600,
		"SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL":                   "90s",
		edx.SettingInsecureSkipTokenVerification:                  "true",
		"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL":                        "5m",
		"SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE":                         false,
		"SOCIAL_AUTH_EDX_OAUTH2_SCOPE":                            []string{"read"},
		"SOCIAL_AUTH_EDX_OAUTH2_REDIRECT_STATE":                   true,
	}))
	if err != nil {
		t.Fatal(err)
	}
	got := []any{c.URLRoot, c.PublicURLRoot, c.LogoutRedirectURL, c.JWSHMACSigningKey, c.Issuer, c.JWTAudience,
		c.ProviderConfigurationCacheTTL, c.JWKSCacheTTL, c.InsecureSkipTokenVerification,
		c.OAuth2.Name, c.OAuth2.Key, c.OAuth2.Secret, c.OAuth2.StateTTL, c.OAuth2.PKCEDisabled, c.OAuth2.Scope,
		c.OAuth2.DefaultScope, c.OAuth2.IDKey, c.OAuth2.RedirectState, c.OAuth2.ExtraTokenParams.Get("token_type")}
	want := []any{"https://lms.internal:8000", "https://lms.example.com", logoutRedirectURL, hmacKey,
		"https://lms.example.com/oauth2", []string{"a", "b"}, time.Hour, 90 * time.Second, true,
		edx.Name, clientKey, clientSecret, 5 * time.Minute, true, []string{"read"},
		edx.DefaultScope(), edx.IDKey, true, "jwt"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Config (-want +got):\n%s", diff)
	}
	d, err := edx.ConfigFrom(fixtureSettings(nil))
	if err != nil {
		t.Fatal(err)
	}
	if d.ProviderConfigurationCacheTTL != edx.DefaultProviderConfigurationCacheTTL || d.JWKSCacheTTL != edx.DefaultJWKSCacheTTL ||
		d.InsecureSkipTokenVerification || d.PublicURLRoot != "" || d.OAuth2.PKCEDisabled {
		t.Errorf("defaults = %+v", d)
	}
}

// The authorization redirect: upstream's parameters (client_id,
// redirect_uri, state, response_type, scope) on the public root. Unlike
// upstream, the redirect_uri carries no redirect_state by default (it would
// leak the state through Referer headers and access logs).
func TestStartRedirect(t *testing.T) {
	b := fixtureBackend(t, nil, settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": publicURLRoot,
		"SOCIAL_AUTH_EDX_OAUTH2_SCOPE": []string{"read"}}, edx.Options{})
	s := newStrategy()
	resp, err := b.Start(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(resp.Location)
	if err != nil {
		t.Fatal(err)
	}
	if got := u.Scheme + "://" + u.Host + u.Path; got != "https://public.example.com/oauth2/authorize" {
		t.Errorf("authorize endpoint = %q", got)
	}
	q := u.Query()
	state := q.Get("state")
	if state == "" {
		t.Fatal("no state")
	}
	for k, want := range map[string]string{
		"client_id":             clientKey,
		"response_type":         "code",
		"scope":                 "read user_id profile email",
		"redirect_uri":          "http://testserver/complete/edx-oauth2/",
		"code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if strings.Contains(resp.Location, "redirect_state") {
		t.Errorf("redirect_state sent by default: %s", resp.Location)
	}
	if f := pendingFlows(t, s); len(f) != 1 || f[state].RedirectURI != "http://testserver/complete/edx-oauth2/" {
		t.Errorf("pending flows = %+v, want the one just started", f)
	}
}

// SOCIAL_AUTH_EDX_OAUTH2_REDIRECT_STATE=true brings upstream's redirect_uri
// back (?redirect_state=<state>), and the sign-in completes with it.
func TestStartRedirectState(t *testing.T) {
	h := newHarness(t, harnessOptions{settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_REDIRECT_STATE": true}})
	sess := testutil.NewSession()
	loc, err := url.Parse(h.begin(sess, nil).Location)
	if err != nil {
		t.Fatal(err)
	}
	state := loc.Query().Get("state")
	want := appBaseURL + "/complete/edx-oauth2/?redirect_state=" + state
	if got := loc.Query().Get("redirect_uri"); state == "" || got != want {
		t.Fatalf("redirect_uri = %q, want %q", got, want)
	}
	cb := h.authorize(loc.String())
	if cb.Get("redirect_state") != state || cb.Get("state") != state {
		t.Errorf("callback = %v, want redirect_state and state %q", cb, state)
	}
	resp, err := h.svc.Complete(context.Background(), h.strategy(sess, cb), edx.Name)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if resp.Location != "/done/" || sessionUser(sess) == "" {
		t.Errorf("Complete = %+v, user %q; want signed in", resp, sessionUser(sess))
	}
	trs := h.lms.TokenRequests()
	if len(trs) != 1 {
		t.Fatalf("token requests = %d, want 1", len(trs))
	}
	if got := trs[0].Form.Get("redirect_uri"); got != want {
		t.Errorf("token request redirect_uri = %q, want %q", got, want)
	}
}

// test_extra_data and the class attributes.
func TestClassAttributes(t *testing.T) {
	b := fixtureBackend(t, nil, nil, edx.Options{})
	if b.Name() != "edx-oauth2" {
		t.Errorf("Name = %q", b.Name())
	}
	wantExtra := []backends.ExtraDataField{
		{Name: "user_id", Alias: "user_id", DiscardIfEmpty: true},
		{Name: "refresh_token", Alias: "refresh_token", DiscardIfEmpty: true},
	}
	if diff := cmp.Diff(wantExtra, edx.ExtraDataFields()); diff != "" {
		t.Errorf("EXTRA_DATA (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantExtra, b.Config().OAuth2.ExtraData); diff != "" {
		t.Errorf("backend ExtraData (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"user_id", "profile", "email"}, b.Config().OAuth2.DefaultScope); diff != "" {
		t.Errorf("DEFAULT_SCOPE (-want +got):\n%s", diff)
	}
	if b.IDKey() != "preferred_username" {
		t.Errorf("ID_KEY = %q", b.IDKey())
	}
	if got := b.Config().OAuth2.ExtraTokenParams.Get("token_type"); got != "jwt" {
		t.Errorf("token_type = %q", got)
	}
}

// test_user_data: exactly the seven claims of the fixture, verified against
// the JWKS of URL_ROOT (iss https://example.com from discovery).
func TestUserData(t *testing.T) {
	lms := &exampleLMS{key: lmsKey}
	b := fixtureBackend(t, lms, nil, edx.Options{})
	token := signJWT(t, jwa.RS512, lmsKey, fixtureClaims(time.Now()), nil)
	got, err := b.UserData(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"name": "Joe Smith", "preferred_username": "jsmith", "email": "jsmith@example.com",
		"given_name": "Joe", "user_id": "1", "family_name": "Smith", "administrator": false,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("user_data (-want +got):\n%s", diff)
	}
}

// With the insecure setting, upstream's behaviour: any token decodes, even
// unsigned or expired; a malformed one is still an AuthTokenError. A warning
// is logged at construction.
func TestInsecureSkipVerification(t *testing.T) {
	logger, logs := newLogger()
	b := fixtureBackend(t, nil, settings.Map{edx.SettingInsecureSkipTokenVerification: true}, edx.Options{Logger: logger})
	if w := logs.messages(t, "WARN"); len(w) != 1 {
		t.Fatalf("warnings at construction = %q, want one", w)
	}
	claims := fixtureClaims(time.Now().Add(-24 * time.Hour))
	claims["locale"] = "en_US"
	token := unsignedJWT(t, map[string]any{"alg": "none", "typ": "JWT"}, claims, "")
	got, err := b.UserData(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if got["preferred_username"] != "jsmith" || got["locale"] != "en_US" || len(got) != 8 {
		t.Errorf("user_data = %v", got)
	}
	if w := logs.messages(t, "WARN"); len(w) != 1 {
		t.Errorf("warnings = %q, want still one", w)
	}
	for _, bad := range []string{"", "opaque-token", "a.b", "e30.W10.", "!!.e30."} {
		if _, err := b.UserData(context.Background(), bad); !errors.Is(err, socialauth.CodeAuthTokenError) {
			t.Errorf("UserData(%q) error = %v, want AuthTokenError", bad, err)
		}
	}
	// Only the exact backend key turns verification off.
	logger2, logs2 := newLogger()
	b2 := fixtureBackend(t, &exampleLMS{key: lmsKey}, settings.Map{"INSECURE_SKIP_TOKEN_VERIFICATION": true,
		"SOCIAL_AUTH_INSECURE_SKIP_TOKEN_VERIFICATION": true}, edx.Options{Logger: logger2})
	if _, err := b2.UserData(context.Background(), token); !errors.Is(err, socialauth.CodeAuthTokenError) {
		t.Errorf("fallback names turned verification off: %v", err)
	}
	if w := logs2.messages(t, "WARN"); len(w) != 0 {
		t.Errorf("warnings with verification on = %q", w)
	}
}

// get_user_details: mapping, language, is_staff/is_superuser defaults, only
// null skipped.
func TestUserDetails(t *testing.T) {
	tests := []struct {
		name     string
		response map[string]any
		want     socialauth.Details
	}{
		{
			name: "fixture",
			response: map[string]any{"name": "Joe Smith", "preferred_username": "jsmith", "email": "jsmith@example.com",
				"given_name": "Joe", "user_id": "1", "family_name": "Smith", "administrator": false, "access_token": "x"},
			want: socialauth.Details{"username": "jsmith", "email": "jsmith@example.com", "full_name": "Joe Smith",
				"first_name": "Joe", "last_name": "Smith", "user_id": "1", "is_staff": false, "is_superuser": false},
		},
		{
			name:     "locale, staff, superuser",
			response: map[string]any{"preferred_username": "a", "locale": "en_US", "administrator": true, "superuser": true},
			want:     socialauth.Details{"username": "a", "language": "en-us", "is_staff": true, "is_superuser": true},
		},
		{
			name:     "empty strings kept, null skipped",
			response: map[string]any{"preferred_username": "a", "email": "", "name": nil, "locale": ""},
			want:     socialauth.Details{"username": "a", "email": "", "language": "", "is_staff": false, "is_superuser": false},
		},
		{
			name:     "absent claims absent",
			response: map[string]any{},
			want:     socialauth.Details{"is_staff": false, "is_superuser": false},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, edx.UserDetails(tc.response)); diff != "" {
				t.Errorf("details (-want +got):\n%s", diff)
			}
		})
	}
}

func TestToLanguage(t *testing.T) {
	for in, want := range map[string]string{"en_US": "en-us", "fr": "fr", "zh_Hans_CN": "zh-hans-cn", "EN-gb": "en-gb"} {
		if got := edx.ToLanguage(in); got != want {
			t.Errorf("ToLanguage(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryValueEscape(t *testing.T) {
	for in, want := range map[string]string{
		"https://example.com/logout_redirect": "https://example.com/logout_redirect",
		"a-key":                               "a-key",
		"https://x/?a=1&b=2#f":                "https://x/?a=1%26b=2%23f",
		"a b+c%d;e":                           "a%20b%2Bc%25d%3Be",
		"é":                                   "%C3%A9",
	} {
		if got := edx.QueryValueEscape(in); got != want {
			t.Errorf("QueryValueEscape(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestConfigErrorsNameOnlyWhatIsWrong: a missing KEY does not make a set
// SECRET look missing too.
func TestConfigErrorsNameOnlyWhatIsWrong(t *testing.T) {
	_, err := edx.ConfigFrom(fixtureSettings(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_KEY": nil}))
	assertConfigError(t, err, "SOCIAL_AUTH_EDX_OAUTH2_KEY")
	if strings.Contains(err.Error(), "SECRET") {
		t.Errorf("error %q names SECRET, which is set", err)
	}
}
