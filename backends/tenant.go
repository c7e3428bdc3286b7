package backends

import (
	"strings"

	"github.com/socialauth-go/socialauth/internal/jwtverify"
)

// MicrosoftLoginURL is Microsoft Entra ID's login host.
const MicrosoftLoginURL = "https://login.microsoftonline.com"

// MultiTenants are the Entra ID tenant names that admit users of many
// tenants: their ID tokens are issued by each user's own tenant.
var multiTenants = []string{"common", "organizations", "consumers"}

// TenantEndpoints returns the OpenID discovery endpoint and the ID-token
// issuer of an Entra ID (v2.0) tenant under base (MicrosoftLoginURL, or a
// test server). A tenant GUID gives its own issuer; common, organizations
// and consumers give the issuer template with jwtverify.TenantPlaceholder,
// which the verifier fills from the verified token's GUID-shaped tid
// (jwtverify.ResolveIssuer). Any other tenant (a domain name, whose issuer
// is its GUID) is refused: ok is false.
func TenantEndpoints(base, tenant string) (endpoint, issuer string, ok bool) {
	base = strings.TrimRight(base, "/")
	t := strings.ToLower(strings.TrimSpace(tenant))
	for _, m := range multiTenants {
		if t == m {
			return base + "/" + t + "/v2.0", base + "/" + jwtverify.TenantPlaceholder + "/v2.0", true
		}
	}
	if !jwtverify.IsGUID(t) {
		return "", "", false
	}
	return base + "/" + t + "/v2.0", base + "/" + t + "/v2.0", true
}
