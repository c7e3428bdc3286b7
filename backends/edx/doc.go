// Package edx is the Go counterpart of the Python package edx-auth-backends
// (import name auth_backends): the "edx-oauth2" backend that signs a
// service's users in against an Open edX LMS, and the two edX pipeline steps
// (auth_backends.pipeline.get_user_if_exists and
// auth_backends.pipeline.update_email).
//
// The backend keeps upstream's observable behaviour (name, scopes, uid,
// URLs, token request with token_type=jwt, claims, details, extra data, the
// session cleanup at start) and adds what upstream's README promises but its
// code stopped doing in 2018: the JWT access token is verified before any
// claim is used — HS512 with SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY, or
// the LMS's asymmetric keys found through
// {URL_ROOT}/.well-known/openid-configuration, with exp, iss and (when
// configured) aud checked.
//
// Where this port departs from upstream, on purpose:
//
//   - the access token is verified (see above); only
//     SOCIAL_AUTH_EDX_OAUTH2_INSECURE_SKIP_TOKEN_VERIFICATION=true restores
//     upstream's unverified decoding, and logs a warning;
//   - logout_url keeps upstream's unencoded URL for ordinary values but
//     percent-encodes the characters that would let a value leave its query
//     parameter (& # ; + % space, controls, non-ASCII, …);
//   - PKCE (S256) is sent, which the LMS (django-oauth-toolkit) accepts;
//     USE_PKCE=false turns it off;
//   - start() keeps the sanitized `next` of the current request across the
//     session cleanup, so that a user who was logged in still lands where
//     they asked to go (upstream loses it);
//   - the settings are read once, at start-up (ConfigFrom, then New): a
//     missing URL_ROOT, KEY or SECRET, or any malformed setting, is an
//     ImproperlyConfigured error naming it then, rather than
//     "None/oauth2/…" at the first login; a trailing slash on
//     URL_ROOT/PUBLIC_URL_ROOT is ignored;
//   - expires_in is kept in the extra data so that the base's
//     AccessToken/refresh logic knows when the token expires.
//
// Wiring: ConfigFrom(WithDefaults(settings)) reads the configuration
// (or fill a Config from DefaultConfig in code), New builds the backend with
// its token verifier once, RegisterSteps adds the edX steps next to
// pipeline.NewSteps' defaults, and the backend is registered before
// socialauth.New builds the Service from the same settings.
//
// The auth_complete signal of upstream's EdXOAuth2.auth_complete_signal is
// the Service's AuthComplete signal (socialauth.Service.AuthComplete), which
// fires after every successful completion with the backend name as sender:
// there is one signal, not one per backend.
package edx
