package keycloak_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/keycloak"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

func suite(extra settings.Map) providertest.Suite {
	return providertest.Suite{
		Routes: map[string]string{"GET /.well-known/openid-configuration": "discovery.http",
			"POST /protocol/openid-connect/token": "token.http", "GET /protocol/openid-connect/userinfo": "userinfo.http"},
		Claims: map[string]any{"sub": "f:6b6b3c8e-1d1a-4c9e-9c50-7cdb3f0a9a11:jdoe", "typ": "ID", "azp": "example",
			"preferred_username": "jdoe", "session_state": "c9d7b6ae-7f60-4c5a-9f2b-0b5e1f0e4b1a"},
		New: func(t *testing.T, p *providertest.Provider) socialauth.Backend {
			s := settings.Map{"SOCIAL_AUTH_KEYCLOAK_KEY": "example", "SOCIAL_AUTH_KEYCLOAK_SECRET": "s",
				"SOCIAL_AUTH_KEYCLOAK_REALM_URL": p.URL()}
			for k, v := range extra {
				s[k] = v
			}
			b, err := keycloak.New(settings.New(s), backends.ProviderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		// Keycloak declares authorization_response_iss_parameter_supported.
		SendIss: true,
		UID:     "jdoe", Username: "jdoe", Email: "jdoe@example.com",
		Extra: []string{"id", "id_token", "refresh_token"},
		Errors: []providertest.ErrorCase{
			{Name: "access_denied", Params: url.Values{"error": {"access_denied"}}},
			{Name: "token invalid_grant", Route: "POST /protocol/openid-connect/token", File: "token_invalid_grant.http"},
			{Name: "userinfo 401", Route: "GET /protocol/openid-connect/userinfo", File: "userinfo_401.http"},
			{Name: "callback with another iss", Params: url.Values{"code": {"c"}, "iss": {"https://attacker.example"}}},
		},
		Refresh:        [2]string{"POST /protocol/openid-connect/token", "token_refresh.http"},
		RefreshedToken: "eyJhbGciOiJSUzI1NiIsInR5cCIgOiAiSldUIn0.keycloak-access-2",
	}
}

// The uid is upstream's effective one: the username (preferred_username).
func TestKeycloak(t *testing.T) { suite(nil).Run(t) }

// ID_KEY=sub makes it the immutable user id.
func TestKeycloakIDKeySub(t *testing.T) {
	s := suite(settings.Map{"SOCIAL_AUTH_KEYCLOAK_ID_KEY": "sub"})
	s.UID, s.Errors, s.Refresh = "f:6b6b3c8e-1d1a-4c9e-9c50-7cdb3f0a9a11:jdoe", nil, [2]string{}
	s.Run(t)
}

func TestRealmURLRequired(t *testing.T) {
	_, err := keycloak.New(settings.New(settings.Map{"SOCIAL_AUTH_KEYCLOAK_KEY": "k"}), backends.ProviderOptions{})
	if err == nil || !strings.Contains(err.Error(), "SOCIAL_AUTH_KEYCLOAK_REALM_URL") {
		t.Errorf("err = %v", err)
	}
}
