// Package azuread is the "azuread-tenant-oauth2" backend: Microsoft Entra ID
// (Azure AD) on the v2.0 OpenID Connect endpoints, for one tenant or many
// (python-social-auth's AzureADTenantOAuth2 name and uid, the sub).
package azuread

import (
	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name (settings SOCIAL_AUTH_AZUREAD_TENANT_OAUTH2_*).
const Name = "azuread-tenant-oauth2"

// New builds the backend from KEY, SECRET, TENANT_ID (a tenant GUID, or
// common, organizations or consumers; default common, as upstream),
// AUTHORITY_HOST (default login.microsoftonline.com) and the OIDC base's
// settings. With a multi-tenant TENANT_ID the ID token's issuer is
// https://login.microsoftonline.com/{tenantid}/v2.0 filled with the
// verified token's GUID-shaped tid, and must equal its iss. The email is
// kept from the home tenant only, or when the token says its domain owner
// verified it (the xms_edov optional claim): Entra's email claim is
// otherwise whatever a tenant admin typed.
func New(s *settings.Settings, opts backends.ProviderOptions) (*backends.OIDC, error) {
	r := s.Reader(Name)
	tenant := r.String("TENANT_ID", "common")
	host, ok := backends.HostName(r.String("AUTHORITY_HOST", "login.microsoftonline.com"))
	if !ok {
		r.Invalid("AUTHORITY_HOST", "must be a host name or an absolute https URL")
	}
	endpoint, issuer, ok := backends.TenantEndpoints(host, tenant)
	if !ok {
		r.Invalid("TENANT_ID", "must be a tenant id (GUID), common, organizations or consumers")
	}
	if err := backends.ReaderErr(Name, r); err != nil {
		return nil, err
	}
	multi := issuer != endpoint
	return backends.OIDCProviderFrom(s, backends.OIDCConfig{
		Endpoint: endpoint, IDTokenIssuer: issuer,
		OAuth2: backends.OAuth2Config{
			Name:         Name,
			DefaultScope: []string{"openid", "profile", "email", "offline_access"},
			ExtraData: []backends.ExtraDataField{
				{Name: "id_token"}, {Name: "refresh_token"}, {Name: "expires_in", Alias: "expires"},
				{Name: "given_name", Alias: "first_name"}, {Name: "family_name", Alias: "last_name"},
				{Name: "token_type"},
			},
			Details: func(resp map[string]any) socialauth.Details {
				d := backends.ClaimDetails(resp, backends.DetailKeys{Username: "preferred_username", Email: "email",
					FullName: "name", FirstName: "given_name", LastName: "family_name"})
				if multi && backends.Claim(resp, "xms_edov") != "true" {
					d["email"] = ""
				}
				return d
			},
		},
	}, opts)
}
