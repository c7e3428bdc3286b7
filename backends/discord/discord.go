// Package discord is the "discord" backend: Discord's OAuth2
// (python-social-auth's DiscordOAuth2 name and uid, the user id).
package discord

import (
	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_DISCORD_*).
const Name = "discord"

// New builds the backend from KEY, SECRET and the OAuth2 base's settings.
// The email is kept only when Discord marks it verified.
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OAuth2, error) {
	return backends.OAuth2ProviderFrom(s, backends.OAuth2Config{
		Name: Name,
		Endpoints: backends.Endpoints{
			AuthorizationURL: "https://discord.com/oauth2/authorize",
			AccessTokenURL:   "https://discord.com/api/oauth2/token",
			RevokeURL:        "https://discord.com/api/oauth2/token/revoke",
			UserInfoURL:      "https://discord.com/api/users/@me",
		},
		DefaultScope: []string{"identify", "email"},
		ExtraData:    []backends.ExtraDataField{{Name: "expires_in", Alias: "expires"}, {Name: "refresh_token"}},
		Details: func(resp map[string]any) socialauth.Details {
			return backends.ClaimDetails(resp, backends.DetailKeys{Username: "username", Email: "email",
				EmailVerified: "verified", FullName: "global_name"})
		},
	}, opts)
}
