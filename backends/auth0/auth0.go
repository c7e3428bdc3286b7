// Package auth0 is the "auth0" backend: an Auth0 tenant's OpenID Connect
// (python-social-auth's Auth0OAuth2 name; its uid, details["user_id"], is
// the ID token's sub).
package auth0

import (
	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_AUTH0_*).
const Name = "auth0"

// New builds the backend from KEY, SECRET, DOMAIN (required: the tenant's
// domain, such as example.eu.auth0.com, or its custom domain) and the OIDC
// base's settings. The issuer is https://<DOMAIN>/, trailing slash
// included, as Auth0 writes it.
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OIDC, error) {
	r := s.Reader(Name)
	base, ok := backends.HostName(r.String("DOMAIN", ""))
	if !ok {
		r.Invalid("DOMAIN", "must be the tenant's domain name (or an absolute https URL)")
	}
	if err := backends.ReaderErr(Name, r); err != nil {
		return nil, err
	}
	return backends.OIDCProviderFrom(s, backends.OIDCConfig{
		Endpoint: base + "/",
		OAuth2: backends.OAuth2Config{
			Name:         Name,
			DefaultScope: []string{"openid", "profile", "email"},
			ExtraData: []backends.ExtraDataField{
				{Name: "id_token"}, {Name: "refresh_token"}, {Name: "expires_in"}, {Name: "picture"},
			},
			Details: func(resp map[string]any) socialauth.Details {
				return backends.ClaimDetails(resp, backends.DetailKeys{Username: "nickname", Email: "email",
					EmailVerified: "email_verified", FullName: "name"})
			},
		},
	}, opts)
}
