// Package backends holds the protocol bases that concrete identity-provider
// backends are built on: OAuth2 (RFC 6749 with PKCE, RFC 7636; the security
// advice of RFC 9700; the iss response parameter of RFC 9207) and OpenID
// Connect (discovery, JWKS, ID-token validation, RP-initiated logout), plus a
// ready generic backend named "oidc" configured by settings alone.
//
// A concrete backend is an OAuth2Config (endpoints, scopes, how to map the
// user data) passed to NewOAuth2, or an OIDCConfig passed to NewOIDC. The
// configuration is read once: fill it in code, or lay the Django-style
// settings over code defaults with OAuth2ConfigFrom / OIDCConfigFrom. A
// missing or malformed setting fails there (or in NewOAuth2 / NewOIDC) with
// an error naming its key; the backend reads no setting afterwards. Its HTTP
// client and logger are part of the config. Everything else — state, PKCE,
// nonces, the token request, the UserInfo request, error mapping, refresh,
// revocation — lives here. See docs/custom-backend.md.
//
//	cfg, err := backends.OAuth2ConfigFrom(set, backends.OAuth2Config{
//		Name: "acme",
//		Endpoints: backends.Endpoints{
//			AuthorizationURL: "https://acme.example/oauth2/authorize",
//			AccessTokenURL:   "https://acme.example/oauth2/token",
//			UserInfoURL:      "https://acme.example/api/me", // fetched by the base
//		},
//	}) // KEY and SECRET from SOCIAL_AUTH_ACME_KEY / _SECRET
//	if err != nil { … }
//	acme, err := backends.NewOAuth2(cfg)
//
// The redirect_uri is the strategy's CallbackURL for the backend: wherever
// the app mounted its complete route.
//
// Everything that can fail on an authentication path returns a
// *socialauth.Error with the social-core code of the failure; error strings
// never contain secrets (codes, tokens, verifiers, client secrets) or text
// chosen by the provider. No authentication path returns
// ImproperlyConfigured: that is a construction error.
package backends
