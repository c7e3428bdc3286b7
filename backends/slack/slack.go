// Package slack is the "slack-openidconnect" backend: Sign in with Slack
// (OpenID Connect). Its uid is the sub, the Slack user id that
// python-social-auth's legacy "slack" backend stored (docs/providers.md).
package slack

import (
	"context"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_SLACK_OPENIDCONNECT_*).
const Name = "slack-openidconnect"

// New builds the backend from KEY, SECRET and the OIDC base's settings
// (OIDC_ENDPOINT defaults to https://slack.com). Slack answers Web API
// errors with 200 and {"ok": false}: such a UserInfo answer fails the
// sign-in instead of being merged.
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OIDC, error) {
	return backends.OIDCProviderFrom(s, backends.OIDCConfig{
		Endpoint: "https://slack.com",
		OAuth2: backends.OAuth2Config{
			Name:         Name,
			DefaultScope: []string{"openid", "profile", "email"},
			ExtraData: []backends.ExtraDataField{
				{Name: "id_token"}, {Name: "refresh_token"}, {Name: "expires_in"}, {Name: "sub", Alias: "id"},
				{Name: "https://slack.com/team_id", Alias: "team_id"},
			},
			UserData: userInfo,
			Details: func(resp map[string]any) socialauth.Details {
				return backends.ClaimDetails(resp, backends.DetailKeys{Username: "name", Email: "email",
					EmailVerified: "email_verified", FullName: "name", FirstName: "given_name", LastName: "family_name"})
			},
		},
	}, opts)
}

// userInfo is the OIDC UserInfo request with Slack's error convention
// checked; its sub must be the ID token's.
func userInfo(ctx context.Context, b *backends.OAuth2, token string, resp map[string]any) (map[string]any, error) {
	ep, err := b.Endpoints(ctx)
	if err != nil || ep.UserInfoURL == "" {
		return nil, err
	}
	info, err := b.GetJSON(ctx, ep.UserInfoURL, token)
	if err != nil {
		return nil, err
	}
	if ok, has := info["ok"].(bool); has && !ok {
		return nil, socialauth.NewError(socialauth.CodeAuthForbidden, Name, "Slack refused the UserInfo request", nil)
	}
	if sub := backends.StringOf(info["sub"]); sub == "" || sub != backends.Claim(resp, "sub") {
		return nil, socialauth.NewError(socialauth.CodeAuthTokenError, Name, "Invalid UserInfo sub", nil)
	}
	delete(info, backends.IDTokenClaimsKey)
	return info, nil
}
