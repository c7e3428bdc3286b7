package backends_test

import (
	"testing"

	"github.com/socialauth-go/socialauth/backends"
)

func TestHostName(t *testing.T) {
	for in, want := range map[string]string{
		"example.eu.auth0.com":          "https://example.eu.auth0.com",
		"https://login.example.com/":    "https://login.example.com",
		"http://127.0.0.1:8080":         "http://127.0.0.1:8080",
		"":                              "",
		"ftp://example.com":             "",
		"https://u:p@example.com":       "",
		"https://example.com/?tenant=x": "",
		"exa mple.com":                  "",
	} {
		got, ok := backends.HostName(in)
		if got != want || ok != (want != "") {
			t.Errorf("HostName(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
}

func TestClaimDetailsEmailVerified(t *testing.T) {
	keys := backends.DetailKeys{Username: "u", Email: "email", EmailVerified: "email_verified", FullName: "name"}
	for _, tc := range []struct {
		verified any
		want     string
	}{{true, "a@b.c"}, {"true", "a@b.c"}, {false, ""}, {"false", ""}, {nil, ""}} {
		resp := map[string]any{"email": "a@b.c", "name": "Ada Lovelace",
			backends.IDTokenClaimsKey: map[string]any{"email_verified": tc.verified, "u": "ada"}}
		d := backends.ClaimDetails(resp, keys)
		if d["email"] != tc.want || d["username"] != "ada" || d["first_name"] != "Ada" || d["last_name"] != "Lovelace" {
			t.Errorf("email_verified %v: %v", tc.verified, d)
		}
	}
}

func TestTenantEndpoints(t *testing.T) {
	for _, tc := range []struct{ tenant, endpoint, issuer string }{
		{"common", "https://h/common/v2.0", "https://h/{tenantid}/v2.0"},
		{"Organizations", "https://h/organizations/v2.0", "https://h/{tenantid}/v2.0"},
		{"72f988bf-86f1-41af-91ab-2d7cd011db47", "https://h/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", "https://h/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"},
		{"contoso.onmicrosoft.com", "", ""},
		{"../common", "", ""},
	} {
		e, i, ok := backends.TenantEndpoints("https://h/", tc.tenant)
		if e != tc.endpoint || i != tc.issuer || ok != (tc.endpoint != "") {
			t.Errorf("%q: %q %q %v", tc.tenant, e, i, ok)
		}
	}
}
