// Package google is the "google-oauth2" backend: Google's OpenID Connect
// (python-social-auth's GoogleOAuth2 name and uid, so rows carry over).
package google

import (
	"strings"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_GOOGLE_OAUTH2_*).
const Name = "google-oauth2"

// Backend is the OIDC base with Google's uid rule.
type Backend struct {
	*backends.OIDC
	uniqueID bool
}

// New builds the backend from KEY, SECRET, USE_UNIQUE_USER_ID and the OIDC
// base's settings (OIDC_ENDPOINT defaults to https://accounts.google.com).
// The uid is the email, as upstream, unless USE_UNIQUE_USER_ID makes it the
// stable sub; an email Google does not mark verified is never used. The ID
// token's iss may be either spelling Google documents.
func New(s *settings.Settings, opts backends.ProviderOptions) (*Backend, error) {
	unique := s.Reader(Name).Bool("USE_UNIQUE_USER_ID", false)
	o, err := backends.OIDCProviderFrom(s, backends.OIDCConfig{
		Endpoint: "https://accounts.google.com", IDTokenIssuerAliases: []string{"accounts.google.com"},
		OAuth2: backends.OAuth2Config{
			Name:         Name,
			DefaultScope: []string{"openid", "email", "profile"},
			ExtraData: []backends.ExtraDataField{
				{Name: "id_token"}, {Name: "refresh_token", DiscardIfEmpty: true},
				{Name: "expires_in", Alias: "expires"}, {Name: "token_type", DiscardIfEmpty: true},
			},
			Details: details,
		},
	}, opts)
	if err != nil {
		return nil, err
	}
	return &Backend{OIDC: o, uniqueID: unique}, nil
}

func details(resp map[string]any) socialauth.Details {
	d := backends.ClaimDetails(resp, backends.DetailKeys{Email: "email", FullName: "name", FirstName: "given_name", LastName: "family_name"})
	if backends.Claim(resp, "email_verified") != "true" {
		d["email"] = ""
	}
	d["username"], _, _ = strings.Cut(d["email"].(string), "@")
	return d
}

// UserID is the verified email (upstream's default), or the sub with
// USE_UNIQUE_USER_ID.
func (b *Backend) UserID(d socialauth.Details, resp map[string]any) (string, error) {
	if b.uniqueID {
		return b.OIDC.UserID(d, resp)
	}
	if email, _ := d["email"].(string); email != "" {
		return email, nil
	}
	return "", socialauth.NewError(socialauth.CodeAuthForbidden, Name, "no verified email for the uid (USE_UNIQUE_USER_ID uses the sub)", nil)
}
