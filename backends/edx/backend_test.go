package edx_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/settings"
)

func newBackend(t *testing.T) *edx.EdXOAuth2 {
	t.Helper()
	b, err := edx.New(edx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// test_logout_url, test_authorization_url, test_end_session_url, and the
// token URL (always URL_ROOT).
func TestURLs(t *testing.T) {
	b := newBackend(t)
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
			s := fixtureStrategy(t, nil, tc.extra)
			got := map[string]string{}
			var err error
			if got["authorize"], err = b.AuthorizationURL(s); err != nil {
				t.Fatal(err)
			}
			if got["end_session"], err = b.EndSessionURL(s); err != nil {
				t.Fatal(err)
			}
			if got["logout"], err = b.LogoutURL(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			if got["token"], err = b.AccessTokenURL(s); err != nil {
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
	b := newBackend(t)
	for _, redirect := range []string{
		"https://example.com/logout_redirect&client_id=evil",
		"https://example.com/a#frag",
		"https://example.com/a b",
		"https://example.com/%2F..%2F",
		"https://example.com/a;b=c+d",
		"https://example.com/é\t\n",
	} {
		t.Run(redirect, func(t *testing.T) {
			s := fixtureStrategy(t, nil, settings.Map{
				"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": redirect,
				"SOCIAL_AUTH_EDX_OAUTH2_KEY":                 "key&x=1 #",
			})
			got, err := b.LogoutURL(context.Background(), s)
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

func TestURLRootRequired(t *testing.T) {
	b := newBackend(t)
	for name, m := range map[string]settings.Map{
		"unset":        {"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": nil},
		"not absolute": {"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "example.com"},
		"userinfo":     {"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://u:p@example.com"},
		"wrong type":   {"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": 42},
	} {
		t.Run(name, func(t *testing.T) {
			s := fixtureStrategy(t, nil, m)
			if _, err := b.AccessTokenURL(s); !errors.Is(err, socialauth.ErrImproperlyConfigured) {
				t.Errorf("AccessTokenURL error = %v, want ImproperlyConfigured", err)
			}
			if _, err := b.Start(context.Background(), s); !errors.Is(err, socialauth.ErrImproperlyConfigured) {
				t.Errorf("Start error = %v, want ImproperlyConfigured", err)
			}
		})
	}
}

// The authorization redirect: upstream's parameters (client_id, redirect_uri
// with redirect_state, state, response_type, scope) on the public root.
func TestStartRedirect(t *testing.T) {
	b := newBackend(t)
	s := fixtureStrategy(t, nil, settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": publicURLRoot,
		"SOCIAL_AUTH_EDX_OAUTH2_SCOPE": []string{"read"}})
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
		"redirect_uri":          "http://testserver/complete/edx-oauth2/?redirect_state=" + state,
		"code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if _, ok := s.SessionGet(backends.SessionKey(edx.Name)); !ok {
		t.Error("the flow was not kept in the session")
	}
}

// test_extra_data and the class attributes.
func TestClassAttributes(t *testing.T) {
	b := newBackend(t)
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
	if diff := cmp.Diff(wantExtra, b.Config().ExtraData); diff != "" {
		t.Errorf("backend ExtraData (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"user_id", "profile", "email"}, b.Config().DefaultScope); diff != "" {
		t.Errorf("DEFAULT_SCOPE (-want +got):\n%s", diff)
	}
	if b.IDKey() != "preferred_username" {
		t.Errorf("ID_KEY = %q", b.IDKey())
	}
	if got := b.Config().ExtraTokenParams.Get("token_type"); got != "jwt" {
		t.Errorf("token_type = %q", got)
	}
}

// test_user_data: exactly the seven claims of the fixture, verified against
// the JWKS of URL_ROOT (iss https://example.com from discovery).
func TestUserData(t *testing.T) {
	lms := &exampleLMS{key: lmsKey}
	b := newBackend(t)
	s := fixtureStrategy(t, lms, nil)
	token := signJWT(t, jwa.RS512, lmsKey, fixtureClaims(time.Now()), nil)
	got, err := b.UserData(context.Background(), s, token)
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
	set := settings.New(settings.Map{edx.SettingInsecureSkipTokenVerification: true})
	b, err := edx.New(edx.Options{Logger: logger, Settings: set})
	if err != nil {
		t.Fatal(err)
	}
	if w := logs.messages(t, "WARN"); len(w) != 1 {
		t.Fatalf("warnings at construction = %q, want one", w)
	}
	s := fixtureStrategy(t, nil, settings.Map{edx.SettingInsecureSkipTokenVerification: "true"})
	claims := fixtureClaims(time.Now().Add(-24 * time.Hour))
	claims["locale"] = "en_US"
	token := unsignedJWT(t, map[string]any{"alg": "none", "typ": "JWT"}, claims, "")
	got, err := b.UserData(context.Background(), s, token)
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
		if _, err := b.UserData(context.Background(), s, bad); !errors.Is(err, socialauth.ErrAuthTokenError) {
			t.Errorf("UserData(%q) error = %v, want AuthTokenError", bad, err)
		}
	}
	// Only the exact backend key turns verification off.
	s2 := fixtureStrategy(t, &exampleLMS{key: lmsKey}, settings.Map{"INSECURE_SKIP_TOKEN_VERIFICATION": true,
		"SOCIAL_AUTH_INSECURE_SKIP_TOKEN_VERIFICATION": true})
	if _, err := b.UserData(context.Background(), s2, token); !errors.Is(err, socialauth.ErrAuthTokenError) {
		t.Errorf("fallback names turned verification off: %v", err)
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
