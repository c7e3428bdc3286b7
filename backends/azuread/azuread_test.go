package azuread_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/azuread"
	"github.com/socialauth-go/socialauth/backends/providertest"
	"github.com/socialauth-go/socialauth/settings"
)

const (
	clientID   = "6731de76-14a6-49ae-97bc-6eba6914391e"
	homeTenant = "9188040d-6c67-4c5b-b112-36a304b66dad"
	userTenant = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	sub        = "OLu859SGc2Sr9ZsqbkG-QbeLgJlb41KcdiPoLYNpSFA"
)

// suite signs in a user of userTenant through tenant ("common" or
// homeTenant).
func suite(tenant, tokenTenant string) providertest.Suite {
	prefix, disc := "/common", "discovery_common.http"
	if tenant != "common" {
		prefix, disc = "/"+tenant, "discovery_tenant.http"
	}
	return providertest.Suite{
		Routes: map[string]string{"GET " + prefix + "/v2.0/.well-known/openid-configuration": disc,
			"POST " + prefix + "/oauth2/v2.0/token": "token.http", "GET /oidc/userinfo": "userinfo.http"},
		Claims: map[string]any{"sub": sub, "tid": tokenTenant, "oid": "00000000-0000-0000-66f3-3332eca7ea81",
			"ver": "2.0", "preferred_username": "mikoll@contoso.com", "name": "Mikah Ollenburg", "email": "mikoll@contoso.com"},
		New: func(t *testing.T, p *providertest.Provider) socialauth.Backend {
			p.Issuer = p.URL() + "/" + tokenTenant + "/v2.0"
			b, err := azuread.New(settings.New(settings.Map{"SOCIAL_AUTH_AZUREAD_TENANT_OAUTH2_KEY": clientID,
				"SOCIAL_AUTH_AZUREAD_TENANT_OAUTH2_SECRET": "s", "SOCIAL_AUTH_AZUREAD_TENANT_OAUTH2_TENANT_ID": tenant,
				"SOCIAL_AUTH_AZUREAD_TENANT_OAUTH2_AUTHORITY_HOST": p.URL()}), backends.ProviderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return b
		},
		Scope: "openid profile email offline_access",
		UID:   sub, Username: "mikoll@contoso.com",
		Extra: []string{"id_token", "refresh_token", "expires", "first_name", "last_name"},
		Errors: []providertest.ErrorCase{
			{Name: "access_denied", Params: url.Values{"error": {"access_denied"}, "error_description": {"the user canceled"}}},
			{Name: "token invalid_grant", Route: "POST " + prefix + "/oauth2/v2.0/token", File: "token_invalid_grant.http"},
			{Name: "userinfo 401", Route: "GET /oidc/userinfo", File: "userinfo_401.http"},
		},
		Refresh:        [2]string{"POST " + prefix + "/oauth2/v2.0/token", "token_refresh.http"},
		RefreshedToken: "eyJ0eXAiOiJKV1QiLCJub25jZSI6IkFRQUJBQUFBQUFCbmZpRy1tQTZOVGFlN0NkV1c3UWZkcTNKbGJMZDNwZ3JCNWhFQzYtSmE2T2Y1eDNhdWRf-refreshed",
	}
}

// Multi-tenant: the issuer is templated with the verified tid; the email of
// another tenant's user is not trusted without xms_edov.
func TestMultiTenant(t *testing.T) { suite("common", userTenant).Run(t) }

func TestMultiTenantEmailWithDomainOwnerVerified(t *testing.T) {
	s := suite("common", userTenant)
	s.Claims["xms_edov"] = true
	s.Email, s.Errors, s.Refresh = "mikoll@contoso.com", nil, [2]string{}
	s.Run(t)
}

// Single tenant: its own issuer; the email is the home tenant's.
func TestSingleTenant(t *testing.T) {
	s := suite(homeTenant, homeTenant)
	s.Email = "mikoll@contoso.com"
	s.Run(t)
}

// The issuer template takes nothing but a GUID-shaped tid, and the result
// must still equal the token's iss.
func TestIssuerTemplating(t *testing.T) {
	for _, tc := range []struct {
		name string
		tid  any
		iss  string // "" : the templated issuer of tid
	}{
		{"tid not a GUID", "contoso.onmicrosoft.com", ""},
		{"tid with a path", "../../attacker.example/x", ""},
		{"tid missing", nil, ""},
		{"tid of another tenant than iss", homeTenant, "/" + userTenant + "/v2.0"},
		{"iss of another host", userTenant, "https://attacker.example/" + userTenant + "/v2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, _, app := suite("common", userTenant).Setup(t)
			p.Claims["tid"] = tc.tid
			if tc.tid == nil {
				delete(p.Claims, "tid")
			}
			switch {
			case strings.HasPrefix(tc.iss, "/"):
				p.Issuer = p.URL() + tc.iss
			case tc.iss != "":
				p.Issuer = tc.iss
			default:
				p.Issuer = p.URL() + "/" + backends.StringOf(tc.tid) + "/v2.0"
			}
			app.ExpectError(p, url.Values{"code": {"c"}}, 403)
		})
	}
	// A single-tenant app refuses a token from another tenant.
	t.Run("single tenant, token of another", func(t *testing.T) {
		p, _, app := suite(homeTenant, userTenant).Setup(t)
		app.ExpectError(p, url.Values{"code": {"c"}}, 403)
	})
}

func TestTenantIDMustBeGUIDOrMulti(t *testing.T) {
	_, err := azuread.New(settings.New(settings.Map{"SOCIAL_AUTH_AZUREAD_TENANT_OAUTH2_KEY": clientID,
		"SOCIAL_AUTH_AZUREAD_TENANT_OAUTH2_TENANT_ID": "contoso.onmicrosoft.com"}), backends.ProviderOptions{})
	if err == nil || !strings.Contains(err.Error(), "SOCIAL_AUTH_AZUREAD_TENANT_OAUTH2_TENANT_ID") {
		t.Errorf("err = %v", err)
	}
}
