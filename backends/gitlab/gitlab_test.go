package gitlab_test

import (
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/gitlab"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

func TestGitLab(t *testing.T) {
	providertest.Suite{
		Routes: map[string]string{"GET /.well-known/openid-configuration": "discovery.http",
			"POST /oauth/token": "token.http", "GET /oauth/userinfo": "userinfo.http"},
		Claims: map[string]any{"sub": "1", "auth_time": 1607635700},
		New: func(t *testing.T, p *providertest.Provider) socialauth.Backend {
			b, err := gitlab.New(settings.New(settings.Map{"SOCIAL_AUTH_GITLAB_KEY": "app-id",
				"SOCIAL_AUTH_GITLAB_SECRET": "s", "SOCIAL_AUTH_GITLAB_API_URL": p.URL() + "/"}), backends.ProviderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		Scope: "openid profile email",
		UID:   "1", Username: "root", Email: "admin@example.com",
		Extra: []string{"id", "id_token", "refresh_token", "expires_in"},
		Errors: []providertest.ErrorCase{
			{Name: "access_denied", Params: url.Values{"error": {"access_denied"}}},
			{Name: "token invalid_grant", Route: "POST /oauth/token", File: "token_invalid_grant.http"},
			{Name: "userinfo 401", Route: "GET /oauth/userinfo", File: "userinfo_401.http"},
		},
		Refresh:        [2]string{"POST /oauth/token", "token_refresh.http"},
		RefreshedToken: "c97d1fe52119f38c7f67f0a14db68d60caa35ddc86fd12401718b649dcfa9c68",
	}.Run(t)
}
