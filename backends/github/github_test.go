package github_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/github"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

func setup(t *testing.T) (*providertest.Provider, *backends.OAuth2, *providertest.App) {
	p := providertest.NewProvider(t, "testdata")
	p.Replay("POST /login/oauth/access_token", "token.http")
	p.Replay("GET /user", "user.http")
	p.Replay("GET /user/emails", "emails.http")
	b, err := github.New(settings.New(settings.Map{
		"SOCIAL_AUTH_GITHUB_KEY":               "Iv1.8a61f9b3a7aba766",
		"SOCIAL_AUTH_GITHUB_SECRET":            "a-secret",
		"SOCIAL_AUTH_GITHUB_AUTHORIZATION_URL": p.URL() + "/login/oauth/authorize",
		"SOCIAL_AUTH_GITHUB_ACCESS_TOKEN_URL":  p.URL() + "/login/oauth/access_token",
		"SOCIAL_AUTH_GITHUB_API_URL":           p.URL() + "/",
	}), backends.ProviderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return p, b, providertest.NewApp(t, b, nil)
}

func TestSignIn(t *testing.T) {
	p, _, app := setup(t)
	q := app.Begin(p)
	if q.Get("scope") != "user:email" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") != "Iv1.8a61f9b3a7aba766" {
		t.Errorf("authorization request %v", q)
	}
	resp, body := app.Callback(http.MethodGet, url.Values{"code": {"documented-code"}, "state": {q.Get("state")}})
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("complete %d %s", resp.StatusCode, body)
	}
	social := app.Association()
	if social.UID != "1" || social.ExtraData["login"] != "octocat" || social.AccessToken() != "gho_16C7e42F292c6912E7710c838347Ae178B4a" {
		t.Errorf("association %+v", social)
	}
	u := app.User()
	if u.Username != "octocat" || u.Email != "octocat@github.com" || u.FirstName != "monalisa" || u.LastName != "octocat" {
		t.Errorf("user %+v", u)
	}
	tok, _ := p.Last("POST /login/oauth/access_token")
	if tok.Form.Get("code") != "documented-code" || tok.Form.Get("code_verifier") == "" || tok.Form.Get("client_secret") != "a-secret" {
		t.Errorf("token request %v", tok.Form)
	}
	if api, _ := p.Last("GET /user/emails"); api.Header.Get("Authorization") != "Bearer gho_16C7e42F292c6912E7710c838347Ae178B4a" {
		t.Errorf("emails request authorization %q", api.Header.Get("Authorization"))
	}
}

// An unverified primary address is never the email, nor is the public
// profile email, nor another verified address that is not primary.
func TestUnverifiedEmailNeverUsed(t *testing.T) {
	p, _, app := setup(t)
	p.Replay("GET /user/emails", "emails_unverified.http")
	app.SignIn(p)
	if u := app.User(); u.Email != "" {
		t.Errorf("email %q from an unverified primary address", u.Email)
	}
}

func TestProviderErrors(t *testing.T) {
	t.Run("access_denied", func(t *testing.T) {
		p, _, app := setup(t)
		app.ExpectError(p, url.Values{"error": {"access_denied"},
			"error_description": {"The user has denied your application access."}}, http.StatusForbidden)
	})
	t.Run("bad_verification_code", func(t *testing.T) {
		p, _, app := setup(t)
		p.Replay("POST /login/oauth/access_token", "token_bad_verification_code.http")
		app.ExpectError(p, url.Values{"code": {"stale"}}, http.StatusForbidden)
	})
	t.Run("user 401", func(t *testing.T) {
		p, _, app := setup(t)
		p.Replay("GET /user", "user_401.http")
		app.ExpectError(p, url.Values{"code": {"documented-code"}}, http.StatusForbidden)
	})
}

// GitHub App user tokens expire and are refreshed at the token endpoint.
func TestRefresh(t *testing.T) {
	p, b, app := setup(t)
	p.Replay("POST /login/oauth/access_token", "token_refresh.http")
	social := app.SignIn(p)
	if social.ExtraData["expires"] == nil || social.RefreshToken() == "" {
		t.Fatalf("extra data %v", social.ExtraData)
	}
	updated, err := b.RefreshSocial(t.Context(), app.Store, social)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := p.Last("POST /login/oauth/access_token")
	if req.Form.Get("grant_type") != "refresh_token" || req.Form.Get("refresh_token") != social.RefreshToken() {
		t.Errorf("refresh request %v", req.Form)
	}
	if updated.AccessToken() != "ghu_16C7e42F292c6912E7710c838347Ae178B4a" {
		t.Errorf("refreshed %v", updated.ExtraData)
	}
}

func TestBadAPIURL(t *testing.T) {
	_, err := github.New(settings.New(settings.Map{"SOCIAL_AUTH_GITHUB_KEY": "k", "SOCIAL_AUTH_GITHUB_API_URL": "ftp://x"}), backends.ProviderOptions{})
	if err == nil || !contains(err.Error(), "SOCIAL_AUTH_GITHUB_API_URL") {
		t.Errorf("err = %v", err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
