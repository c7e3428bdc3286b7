package auth0_test

import (
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/auth0"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

func TestAuth0(t *testing.T) {
	providertest.Suite{
		Routes: map[string]string{"GET /.well-known/openid-configuration": "discovery.http",
			"POST /oauth/token": "token.http", "GET /userinfo": "userinfo.http"},
		Claims: map[string]any{"sub": "auth0|248289761001", "name": "Jane Josephine Doe", "nickname": "JJ"},
		New: func(t *testing.T, p *providertest.Provider) socialauth.Backend {
			p.Issuer = p.URL() + "/" // Auth0's issuer ends with a slash
			b, err := auth0.New(settings.New(settings.Map{"SOCIAL_AUTH_AUTH0_KEY": "dKo2uS1wgLUwODmVjVFb9dKXGb4gLyqA",
				"SOCIAL_AUTH_AUTH0_SECRET": "s", "SOCIAL_AUTH_AUTH0_DOMAIN": p.URL()}), backends.ProviderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		UID: "auth0|248289761001", Username: "JJ", Email: "janedoe@exampleco.com",
		Extra: []string{"picture", "id_token", "refresh_token"},
		Errors: []providertest.ErrorCase{
			{Name: "access_denied", Params: url.Values{"error": {"access_denied"}, "error_description": {"Service not found"}}},
			{Name: "token invalid_grant", Route: "POST /oauth/token", File: "token_invalid_grant.http"},
			{Name: "userinfo 401", Route: "GET /userinfo", File: "userinfo_401.http"},
		},
		Refresh:        [2]string{"POST /oauth/token", "token_refresh.http"},
		RefreshedToken: "eyJ...MoQ",
	}.Run(t)
}

func TestDomainRequired(t *testing.T) {
	if _, err := auth0.New(settings.New(settings.Map{"SOCIAL_AUTH_AUTH0_KEY": "k"}), backends.ProviderOptions{}); err == nil {
		t.Error("no error without DOMAIN")
	}
}
