// Package keycloak is the "keycloak" backend: a Keycloak realm's OpenID
// Connect. Its uid is the details' username, the token's
// preferred_username: what python-social-auth's KeycloakOAuth2 (ID_KEY
// "username", the access token's username claim, added by a client mapper)
// stored when that mapper maps the username (docs/providers.md).
package keycloak

import (
	"strings"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_KEYCLOAK_*).
const Name = "keycloak"

// New builds the backend from KEY, SECRET, REALM_URL (required unless
// OIDC_ENDPOINT is set: https://sso.example.com/realms/<realm>, the realm's
// issuer) and the OIDC base's settings. ID_KEY=sub makes the uid the
// immutable user id instead of the username (a realm may let users rename
// themselves: see docs/providers.md).
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OIDC, error) {
	r := s.Reader(Name)
	realm := strings.TrimRight(r.URL("REALM_URL", ""), "/")
	if realm == "" && !r.IsSet("OIDC_ENDPOINT") {
		r.Missing("REALM_URL")
	}
	if err := backends.ReaderErr(Name, r); err != nil {
		return nil, err
	}
	return backends.OIDCProviderFrom(s, backends.OIDCConfig{
		Endpoint: realm,
		OAuth2: backends.OAuth2Config{
			Name:         Name,
			IDKey:        "username",
			DefaultScope: []string{"openid", "profile", "email"},
			Details: func(resp map[string]any) socialauth.Details {
				return backends.ClaimDetails(resp, backends.DetailKeys{Username: "preferred_username", Email: "email",
					EmailVerified: "email_verified", FullName: "name", FirstName: "given_name", LastName: "family_name"})
			},
		},
	}, opts)
}
