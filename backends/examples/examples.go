// Package examples holds the two custom backends of docs/custom-backend.md:
// a GitHub-like OAuth2 backend and a company OpenID Connect backend, each a
// few dozen lines on top of package backends.
package examples

import (
	"context"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// NewAcme returns "acme", a GitHub-like OAuth2 backend: fixed endpoints under
// root, a comma-separated scope, one API call for the user, and the user's
// numeric-or-string id as uid. Its client credentials are the
// SOCIAL_AUTH_ACME_KEY and SOCIAL_AUTH_ACME_SECRET settings.
func NewAcme(root string, set *settings.Settings) *backends.OAuth2 {
	var b *backends.OAuth2
	b = backends.NewOAuth2(backends.OAuth2Config{
		Name: "acme",
		Endpoints: backends.Endpoints{
			AuthorizationURL: root + "/oauth2/authorize",
			AccessTokenURL:   root + "/oauth2/access_token",
			RevokeURL:        root + "/oauth2/revoke_token",
		},
		DefaultScope:   []string{"profile", "email"},
		ScopeSeparator: ",",
		IDKey:          "sub",
		ExtraData: []backends.ExtraDataField{
			{Name: "refresh_token"},
			{Name: "expires_in"},
			{Name: "preferred_username", Alias: "login", DiscardIfEmpty: true},
		},
		UserData: func(ctx context.Context, s socialauth.Strategy, token string, _ map[string]any) (map[string]any, error) {
			return b.GetJSON(ctx, s, root+"/oauth2/user_info", token)
		},
		Details: func(r map[string]any) socialauth.Details {
			full, first, last := backends.UserNames(backends.StringOf(r["name"]), "", "")
			return socialauth.Details{
				"username":   backends.StringOf(r["preferred_username"]),
				"email":      backends.StringOf(r["email"]),
				"fullname":   full,
				"first_name": first,
				"last_name":  last,
			}
		},
		Settings: set,
	})
	return b
}

// NewCompanyIdP returns "company", an OpenID Connect backend for one known
// issuer. Discovery, keys, ID-token checks, UserInfo and logout come from the
// base; the backend only names itself, the issuer and an extra scope. Its
// settings are SOCIAL_AUTH_COMPANY_KEY / _SECRET (and any OIDC setting,
// e.g. SOCIAL_AUTH_COMPANY_USERNAME_KEY).
func NewCompanyIdP(issuer string, set *settings.Settings) *backends.OIDC {
	return backends.NewOIDC(backends.OIDCConfig{
		Name:         "company",
		Endpoint:     issuer,
		DefaultScope: []string{"openid", "profile", "email", "user_id"},
		Settings:     set,
	})
}
