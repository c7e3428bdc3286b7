// Package backends holds the protocol bases that concrete identity-provider
// backends are built on: OAuth2 (RFC 6749 with PKCE, RFC 7636; the security
// advice of RFC 9700; the iss response parameter of RFC 9207) and OpenID
// Connect (discovery, JWKS, ID-token validation, RP-initiated logout), plus a
// ready generic backend named "oidc" configured by settings alone.
//
// A concrete backend is an OAuth2Config (endpoints, scopes, how to fetch and
// map the user data) passed to NewOAuth2, or an OIDCConfig passed to NewOIDC.
// Everything else — state, PKCE, nonces, the token request, error mapping,
// refresh, revocation — lives here. See docs/custom-backend.md.
//
// Everything that can fail on an authentication path returns a
// *socialauth.Error with the social-core code of the failure; error strings
// never contain secrets (codes, tokens, verifiers, client secrets) or text
// chosen by the provider.
package backends
