package discord_test

import (
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/discord"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

func TestDiscord(t *testing.T) {
	providertest.Suite{
		Routes: map[string]string{"POST /api/oauth2/token": "token.http", "GET /api/users/@me": "user.http"},
		New: func(t *testing.T, p *providertest.Provider) socialauth.Backend {
			b, err := discord.New(settings.New(settings.Map{"SOCIAL_AUTH_DISCORD_KEY": "157730590492196864",
				"SOCIAL_AUTH_DISCORD_SECRET":            "s",
				"SOCIAL_AUTH_DISCORD_AUTHORIZATION_URL": p.URL() + "/oauth2/authorize",
				"SOCIAL_AUTH_DISCORD_ACCESS_TOKEN_URL":  p.URL() + "/api/oauth2/token",
				"SOCIAL_AUTH_DISCORD_USERINFO_URL":      p.URL() + "/api/users/@me"}), backends.ProviderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		Scope: "identify email",
		UID:   "80351110224678912", Username: "nelly", Email: "nelly@discord.com",
		Extra: []string{"expires", "refresh_token"},
		Errors: []providertest.ErrorCase{
			{Name: "access_denied", Params: url.Values{"error": {"access_denied"},
				"error_description": {"The resource owner or authorization server denied the request"}}},
			{Name: "token invalid_grant", Route: "POST /api/oauth2/token", File: "token_invalid_grant.http"},
			{Name: "user 401", Route: "GET /api/users/@me", File: "user_401.http"},
		},
		Refresh:        [2]string{"POST /api/oauth2/token", "token_refresh.http"},
		RefreshedToken: "6qrZcUqja7812RVdnEKjpzOL4CvHBFH",
	}.Run(t)
}
