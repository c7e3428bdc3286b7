// Package okta is the "okta-openidconnect" backend: an Okta authorization
// server's OpenID Connect (python-social-auth's OktaOpenIdConnect name and
// uid: preferred_username, the ID_KEY it inherits from OktaOAuth2;
// ID_KEY=sub makes it the immutable user id).
package okta

import (
	"strings"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_OKTA_OPENIDCONNECT_*).
const Name = "okta-openidconnect"

// New builds the backend from KEY, SECRET, API_URL (required: the
// authorization server, such as https://dev-1.okta.com/oauth2/default, which
// is its issuer) and the OIDC base's settings.
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OIDC, error) {
	r := s.Reader(Name)
	api := strings.TrimRight(r.URL("API_URL", ""), "/")
	if api == "" && !r.IsSet("OIDC_ENDPOINT") {
		r.Missing("API_URL")
	}
	if err := backends.ReaderErr(Name, r); err != nil {
		return nil, err
	}
	return backends.OIDCProviderFrom(s, backends.OIDCConfig{
		Endpoint: api,
		OAuth2: backends.OAuth2Config{
			Name:         Name,
			IDKey:        "preferred_username",
			DefaultScope: []string{"openid", "profile", "email", "offline_access"},
			ExtraData: []backends.ExtraDataField{
				{Name: "id_token"}, {Name: "refresh_token", DiscardIfEmpty: true},
				{Name: "expires_in", Alias: "expires"}, {Name: "token_type", DiscardIfEmpty: true},
			},
			Details: func(resp map[string]any) socialauth.Details {
				return backends.ClaimDetails(resp, backends.DetailKeys{Username: "preferred_username", Email: "email",
					EmailVerified: "email_verified", FullName: "name", FirstName: "given_name", LastName: "family_name"})
			},
		},
	}, opts)
}
