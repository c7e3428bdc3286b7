// Package examples holds the two custom backends of docs/custom-backend.md:
// a GitHub-like OAuth2 backend and a company OpenID Connect backend, each a
// few dozen lines on top of package backends.
//
// Both read their settings once, in their constructor: a missing
// SOCIAL_AUTH_<NAME>_KEY or a malformed setting is a *socialauth.Error with
// CodeImproperlyConfigured naming the key, returned there and not at the
// first sign-in.
package examples

import (
	"log/slog"
	"net/http"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// NewAcme returns "acme", a GitHub-like OAuth2 backend: fixed endpoints under
// root, a comma-separated scope, the user's data from root's user_info
// endpoint (which the base fetches with the bearer token), and the user's
// subject as uid. Its client credentials are the SOCIAL_AUTH_ACME_KEY
// (required) and SOCIAL_AUTH_ACME_SECRET settings; any OAuth2 setting of
// backends.OAuth2ConfigFrom applies. client makes the calls to the provider
// and logger receives the backend's log lines (nil: a default client, no
// logs).
//
// Details: username (preferred_username), email, fullname, first_name and
// last_name (split from name). Extra data: access_token, refresh_token,
// expires_in and token_type (kept by the base), and login
// (preferred_username, when not empty).
func NewAcme(set *settings.Settings, root string, client *http.Client, logger *slog.Logger) (*backends.OAuth2, error) {
	cfg, err := backends.OAuth2ConfigFrom(set, backends.OAuth2Config{
		Name: "acme",
		Endpoints: backends.Endpoints{
			AuthorizationURL: root + "/oauth2/authorize",
			AccessTokenURL:   root + "/oauth2/access_token",
			RevokeURL:        root + "/oauth2/revoke_token",
			UserInfoURL:      root + "/oauth2/user_info",
		},
		DefaultScope:   []string{"profile", "email"},
		ScopeSeparator: ",",
		IDKey:          "sub",
		ExtraData: []backends.ExtraDataField{
			{Name: "preferred_username", Alias: "login", DiscardIfEmpty: true},
		},
		Details:    acmeDetails,
		HTTPClient: client,
		Logger:     logger,
	})
	if err != nil {
		return nil, err
	}
	return backends.NewOAuth2(cfg)
}

// acmeDetails maps acme's user_info answer to user details.
func acmeDetails(r map[string]any) socialauth.Details {
	full, first, last := backends.UserNames(backends.StringOf(r["name"]), "", "")
	return socialauth.Details{
		"username":   backends.StringOf(r["preferred_username"]),
		"email":      backends.StringOf(r["email"]),
		"fullname":   full,
		"first_name": first,
		"last_name":  last,
	}
}

// NewCompanyIdP returns "company", an OpenID Connect backend for one known
// issuer. Discovery, keys, ID-token checks, UserInfo and logout come from the
// base; the backend only names itself, the issuer and an extra scope. Its
// settings are SOCIAL_AUTH_COMPANY_KEY (required) and _SECRET, and any
// setting of backends.OIDCConfigFrom (e.g. SOCIAL_AUTH_COMPANY_USERNAME_KEY).
// Nothing is fetched here: discovery and keys are fetched at the first
// sign-in and cached.
//
// Details: username (preferred_username), email, fullname (name),
// first_name (given_name), last_name (family_name). Extra data: id_token,
// access_token, refresh_token, expires_in, token_type and id (sub).
func NewCompanyIdP(set *settings.Settings, issuer string, client *http.Client, logger *slog.Logger) (*backends.OIDC, error) {
	cfg, err := backends.OIDCConfigFrom(set, backends.OIDCConfig{
		OAuth2: backends.OAuth2Config{
			Name:         "company",
			DefaultScope: []string{"openid", "profile", "email", "user_id"},
			HTTPClient:   client,
			Logger:       logger,
		},
		Endpoint: issuer, // discovery: {issuer}/.well-known/openid-configuration
	})
	if err != nil {
		return nil, err
	}
	return backends.NewOIDC(cfg)
}
