package okta_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/okta"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

func suite(extra settings.Map) providertest.Suite {
	return providertest.Suite{
		Routes: map[string]string{"GET /.well-known/openid-configuration": "discovery.http",
			"POST /v1/token": "token.http", "GET /v1/userinfo": "userinfo.http"},
		Claims: map[string]any{"sub": "00uid4BxXw6I6TV4m0g3", "ver": 1, "idp": "00oarkgpuvkTjbBdV0h7", "auth_time": 1311280969},
		New: func(t *testing.T, p *providertest.Provider) socialauth.Backend {
			s := settings.Map{"SOCIAL_AUTH_OKTA_OPENIDCONNECT_KEY": "0oabucvyc38HLL1ef0h7",
				"SOCIAL_AUTH_OKTA_OPENIDCONNECT_SECRET": "s", "SOCIAL_AUTH_OKTA_OPENIDCONNECT_API_URL": p.URL()}
			for k, v := range extra {
				s[k] = v
			}
			b, err := okta.New(settings.New(s), backends.ProviderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		Scope: "openid profile email offline_access",
		UID:   "john.doe@example.com", Username: "john.doe@example.com", Email: "john.doe@example.com",
		Extra: []string{"id_token", "refresh_token", "expires", "token_type"},
		Errors: []providertest.ErrorCase{
			{Name: "access_denied", Params: url.Values{"error": {"access_denied"},
				"error_description": {"User is not assigned to the client application."}}},
			{Name: "token invalid_grant", Route: "POST /v1/token", File: "token_invalid_grant.http"},
			{Name: "userinfo 401", Route: "GET /v1/userinfo", File: "userinfo_401.http"},
		},
		Refresh:        [2]string{"POST /v1/token", "token_refresh.http"},
		RefreshedToken: "eyJhbGciOiJSUzI1NiJ9.okta-access-token-refreshed",
	}
}

// The uid is upstream's: OktaOpenIdConnect inherits OktaOAuth2's ID_KEY,
// preferred_username (the Okta login), not the sub.
func TestOkta(t *testing.T) { suite(nil).Run(t) }

// ID_KEY=sub makes it the immutable user id.
func TestOktaIDKeySub(t *testing.T) {
	s := suite(settings.Map{"SOCIAL_AUTH_OKTA_OPENIDCONNECT_ID_KEY": "sub"})
	s.UID, s.Errors, s.Refresh = "00uid4BxXw6I6TV4m0g3", nil, [2]string{}
	s.Run(t)
}

func TestAPIURLRequired(t *testing.T) {
	_, err := okta.New(settings.New(settings.Map{"SOCIAL_AUTH_OKTA_OPENIDCONNECT_KEY": "k"}), backends.ProviderOptions{})
	if err == nil || !strings.Contains(err.Error(), "SOCIAL_AUTH_OKTA_OPENIDCONNECT_API_URL") {
		t.Errorf("err = %v", err)
	}
}
