// Package gitlab is the "gitlab" backend: GitLab's OpenID Connect, on
// gitlab.com or a self-hosted instance (python-social-auth's GitLabOAuth2
// name; its uid, the numeric user id, is GitLab's sub).
package gitlab

import (
	"strings"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_GITLAB_*).
const Name = "gitlab"

// New builds the backend from KEY, SECRET, API_URL (the instance's base
// URL, default https://gitlab.com: also its OpenID issuer) and the OIDC
// base's settings.
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OIDC, error) {
	r := s.Reader(Name)
	api := strings.TrimRight(r.URL("API_URL", "https://gitlab.com"), "/")
	if err := backends.ReaderErr(Name, r); err != nil {
		return nil, err
	}
	return backends.OIDCProviderFrom(s, backends.OIDCConfig{
		Endpoint: api,
		OAuth2: backends.OAuth2Config{
			Name:         Name,
			DefaultScope: []string{"openid", "profile", "email"},
			Details: func(resp map[string]any) socialauth.Details {
				return backends.ClaimDetails(resp, backends.DetailKeys{Username: "nickname", Email: "email",
					EmailVerified: "email_verified", FullName: "name"})
			},
		},
	}, opts)
}
