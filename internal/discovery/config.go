package discovery

// Config is the subset of OpenID Connect Discovery 1.0 provider metadata that
// socialauth uses; Raw holds the whole document.
type Config struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	IDTokenSigningAlgs                         []string `json:"id_token_signing_alg_values_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
	// Raw is every member of the document, as decoded by encoding/json.
	// Treat it as read-only: the same Config is shared by all callers.
	Raw map[string]any `json:"-"`
}
