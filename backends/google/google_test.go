package google_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/google"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

const clientID = "1234987819200.apps.googleusercontent.com"

func setup(t *testing.T, extra settings.Map) (*providertest.Provider, *google.Backend, *providertest.App) {
	p := providertest.NewProvider(t, "testdata")
	p.Replay("GET /.well-known/openid-configuration", "discovery.http")
	p.Replay("POST /token", "token.http")
	p.Replay("GET /v1/userinfo", "userinfo.http")
	// The documented ID-token payload (email_verified is a string there).
	p.Claims = map[string]any{"azp": clientID, "sub": "110169484474386276334", "hd": "example.com",
		"email": "jane.doe@gmail.com", "email_verified": "true"}
	s := settings.Map{
		"SOCIAL_AUTH_GOOGLE_OAUTH2_KEY":           clientID,
		"SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET":        "a-secret",
		"SOCIAL_AUTH_GOOGLE_OAUTH2_OIDC_ENDPOINT": p.URL(),
	}
	for k, v := range extra {
		s[k] = v
	}
	b, err := google.New(settings.New(s), backends.ProviderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p, b, providertest.NewApp(t, b, nil)
}

func TestSignInUIDIsEmail(t *testing.T) {
	p, _, app := setup(t, nil)
	q := app.Begin(p)
	if q.Get("scope") != "openid email profile" || q.Get("nonce") == "" || q.Get("authorize_url") != p.URL()+"/o/oauth2/v2/auth" {
		t.Errorf("authorization request %v", q)
	}
	resp, body := app.Callback(http.MethodGet, url.Values{"code": {"4/P7q7W91a-oMsCeLvIaQm6bTrgtp7"}, "state": {q.Get("state")}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("complete %d %s\n%s", resp.StatusCode, body, app.Logs.String())
	}
	social := app.Association()
	if social.UID != "jane.doe@gmail.com" || social.ExtraData["expires"] == nil || social.RefreshToken() == "" {
		t.Errorf("association %s %v", social.UID, social.ExtraData)
	}
	if u := app.User(); u.Username != "jane.doe" || u.FirstName != "Jane" || u.LastName != "Doe" {
		t.Errorf("user %+v", u)
	}
}

func TestUseUniqueUserID(t *testing.T) {
	p, _, app := setup(t, settings.Map{"SOCIAL_AUTH_GOOGLE_OAUTH2_USE_UNIQUE_USER_ID": true})
	if uid := app.SignIn(p).UID; uid != "110169484474386276334" {
		t.Errorf("uid %q, want the sub", uid)
	}
}

// Google documents both spellings of its issuer in iss; nothing else near
// them is accepted.
func TestIssuerSpellings(t *testing.T) {
	p, _, app := setup(t, nil)
	p.Claims["iss"] = "accounts.google.com"
	if uid := app.SignIn(p).UID; uid != "jane.doe@gmail.com" {
		t.Errorf("uid %q", uid)
	}
	p, _, app = setup(t, nil)
	p.Claims["iss"] = "accounts.google.com.attacker.example"
	app.ExpectError(p, url.Values{"code": {"c"}}, http.StatusForbidden)
}

// An address Google does not mark verified is neither the uid nor the email.
func TestUnverifiedEmailRefused(t *testing.T) {
	p, _, app := setup(t, nil)
	p.Claims["email_verified"] = false
	p.Replay("GET /v1/userinfo", "userinfo_unverified.http")
	app.ExpectError(p, url.Values{"code": {"c"}}, http.StatusForbidden)
}

func TestProviderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, route, file string
		params            url.Values
	}{
		{"access_denied", "", "", url.Values{"error": {"access_denied"}}},
		{"token invalid_grant", "POST /token", "token_invalid_grant.http", url.Values{"code": {"c"}}},
		{"userinfo 401", "GET /v1/userinfo", "userinfo_401.http", url.Values{"code": {"c"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, app := setup(t, nil)
			if tc.route != "" {
				p.Replay(tc.route, tc.file)
			}
			app.ExpectError(p, tc.params, http.StatusForbidden)
		})
	}
}

func TestRefresh(t *testing.T) {
	p, b, app := setup(t, nil)
	social := app.SignIn(p)
	p.Replay("POST /token", "token_refresh.http")
	updated, err := b.RefreshSocial(t.Context(), app.Store, social)
	if err != nil {
		t.Fatal(err)
	}
	if updated.AccessToken() != "1/fFAGRNJru1FTz70BzhT3Zg-refreshed" || updated.RefreshToken() != social.RefreshToken() {
		t.Errorf("refreshed %v", updated.ExtraData)
	}
}
