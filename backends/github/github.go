// Package github is the "github" backend: GitHub's OAuth2 web application
// flow (python-social-auth's GithubOAuth2: uid the numeric user id).
package github

import (
	"context"
	"errors"
	"strings"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_GITHUB_*).
const Name = "github"

// New builds the backend from its settings: KEY and SECRET, API_URL
// (GitHub Enterprise; default https://api.github.com) and the base's
// (backends.OAuth2ConfigFrom). The email is the primary address of
// /user/emails, and only when GitHub says it is verified: the public
// profile email and unverified addresses are never used.
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OAuth2, error) {
	r := s.Reader(Name)
	api := strings.TrimRight(r.URL("API_URL", "https://api.github.com"), "/")
	if err := backends.ReaderErr(Name, r); err != nil {
		return nil, err
	}
	return backends.OAuth2ProviderFrom(s, backends.OAuth2Config{
		Name: Name,
		Endpoints: backends.Endpoints{
			AuthorizationURL: "https://github.com/login/oauth/authorize",
			AccessTokenURL:   "https://github.com/login/oauth/access_token",
		},
		DefaultScope:   []string{"user:email"},
		ScopeSeparator: ",",
		ExtraData: []backends.ExtraDataField{
			{Name: "id"}, {Name: "expires_in", Alias: "expires"}, {Name: "login"}, {Name: "refresh_token"},
		},
		UserData: func(ctx context.Context, b *backends.OAuth2, token string, _ map[string]any) (map[string]any, error) {
			return userData(ctx, b, api, token)
		},
		Details: func(resp map[string]any) socialauth.Details {
			return backends.ClaimDetails(resp, backends.DetailKeys{Username: "login", Email: "email", FullName: "name"})
		},
	}, opts)
}

// userData is /user with its email replaced by the primary verified one of
// /user/emails ("" when there is none, or the user:email scope was not
// granted: GitHub answers 403/404).
func userData(ctx context.Context, b *backends.OAuth2, api, token string) (map[string]any, error) {
	user, err := b.GetJSON(ctx, api+"/user", token)
	if err != nil {
		return nil, err
	}
	emails, err := b.GetJSONList(ctx, api+"/user/emails", token)
	var se *socialauth.Error
	if err != nil && (!errors.As(err, &se) || (se.Code != socialauth.CodeAuthForbidden && se.Code != socialauth.CodeAuthFailed)) {
		return nil, err
	}
	user["email"] = backends.VerifiedEmail(emails)
	return user, nil
}
