package slack_test

import (
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/backends/slack"
	"github.com/socialauth-go/socialauth/settings"
)

func TestSlack(t *testing.T) {
	providertest.Suite{
		Routes: map[string]string{"GET /.well-known/openid-configuration": "discovery.http",
			"POST /api/openid.connect.token": "token.http", "GET /api/openid.connect.userInfo": "userinfo.http"},
		Claims: map[string]any{"sub": "U0R7JM", "https://slack.com/user_id": "U0R7JM", "https://slack.com/team_id": "T0R7GR",
			"email": "krane@slack-corp.com", "email_verified": true, "auth_time": 1622129148},
		New: func(t *testing.T, p *providertest.Provider) socialauth.Backend {
			b, err := slack.New(settings.New(settings.Map{"SOCIAL_AUTH_SLACK_OPENIDCONNECT_KEY": "1234.5678",
				"SOCIAL_AUTH_SLACK_OPENIDCONNECT_SECRET": "s", "SOCIAL_AUTH_SLACK_OPENIDCONNECT_OIDC_ENDPOINT": p.URL()}), backends.ProviderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		Scope: "openid profile email",
		UID:   "U0R7JM", Username: "krane", Email: "krane@slack-corp.com",
		Extra: []string{"id", "team_id", "id_token"},
		Errors: []providertest.ErrorCase{
			{Name: "access_denied", Params: url.Values{"error": {"access_denied"}}},
			// Slack answers Web API errors with 200 and "ok": false.
			{Name: "token invalid_code", Route: "POST /api/openid.connect.token", File: "token_invalid_code.http"},
			{Name: "userinfo invalid_auth", Route: "GET /api/openid.connect.userInfo", File: "userinfo_invalid_auth.http"},
		},
	}.Run(t)
}
