package edx

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/internal/jwtverify"
	"github.com/socialauth-go/socialauth/settings"
)

// Config is the edx-oauth2 backend's configuration, read once: New
// validates it and the backend never reads a setting afterwards. Start from
// DefaultConfig and fill it in code, or read it with ConfigFrom from the
// Django-style settings (SOCIAL_AUTH_EDX_OAUTH2_<NAME>, then
// SOCIAL_AUTH_<NAME>, then <NAME>).
type Config struct {
	// OAuth2 is the protocol configuration of the OAuth2 base: the client
	// credentials (KEY, required, and SECRET), SCOPE, IGNORE_DEFAULT_SCOPE,
	// EXTRA_DATA, ID_KEY, AUTH_EXTRA_ARGUMENTS, USE_PKCE, STATE_TTL,
	// REQUESTS_TIMEOUT, USER_AGENT and the rest of
	// backends.OAuth2ConfigFrom's settings, with edX's defaults (see
	// DefaultConfig). Its Name is always Name. Its Endpoints, EndpointsFunc,
	// IssuerFunc, VerifyToken, Details and MoreExtraData are the backend's own
	// and are not used: the LMS URLs come from URLRoot and PublicURLRoot.
	OAuth2 backends.OAuth2Config

	// URLRoot is the LMS root reachable from this server (URL_ROOT,
	// required): an absolute http(s) URL without userinfo, query or
	// fragment; trailing slashes are dropped. The token URL, the provider
	// configuration and, without PublicURLRoot, the browser URLs are under it.
	URLRoot string
	// PublicURLRoot is the LMS root reachable from the browser
	// (PUBLIC_URL_ROOT; empty: URLRoot), for the authorize and logout URLs.
	PublicURLRoot string
	// LogoutRedirectURL, when set, is sent to the LMS logout as redirect_url
	// with client_id (LOGOUT_REDIRECT_URL).
	LogoutRedirectURL string

	// JWSHMACSigningKey, when set, makes access tokens verifiable only as
	// HS512 signed with it, and the LMS's keys are never fetched
	// (JWS_HMAC_SIGNING_KEY). It must be at least MinHMACKeyBytes (64)
	// bytes long.
	JWSHMACSigningKey string
	// Issuer is the iss access tokens must carry (ISSUER); empty: the
	// provider configuration's issuer (JWKS mode), else {URLRoot}/oauth2.
	Issuer string
	// JWTAlgorithms are the algorithms a JWKS-verified access token may be
	// signed with (JWT_ALGORITHMS; default RS512, what the LMS signs): a
	// token in any other algorithm is refused even if its key is published.
	// Asymmetric algorithms only; HMAC mode is HS512 alone.
	JWTAlgorithms []string
	// JWTAudience, when not empty, is the set of which aud must name one
	// (JWT_AUDIENCE).
	JWTAudience []string
	// ProviderConfigurationCacheTTL and JWKSCacheTTL are how long the
	// provider configuration and key set are cached
	// (PROVIDER_CONFIGURATION_CACHE_TTL, JWKS_CACHE_TTL; zero: the
	// defaults).
	ProviderConfigurationCacheTTL time.Duration
	JWKSCacheTTL                  time.Duration

	// InsecureSkipTokenVerification decodes access tokens without verifying
	// them, as upstream does (SettingInsecureSkipTokenVerification, read
	// under that exact key only). New logs a warning when it is on.
	InsecureSkipTokenVerification bool
}

// DefaultConfig returns the configuration with edX's code defaults and no
// LMS: upstream's scope, uid key and extra data, the token request with
// token_type=jwt and form client authentication, redirect_state, and the
// default cache TTLs. URLRoot and OAuth2.Key must still be set.
func DefaultConfig() Config {
	return Config{
		OAuth2: backends.OAuth2Config{
			Name:              Name,
			DefaultScope:      DefaultScope(),
			IDKey:             IDKey,
			ExtraData:         ExtraDataFields(),
			AccessTokenMethod: http.MethodPost,
			ClientAuth:        backends.ClientAuthForm,
			ExtraTokenParams:  url.Values{"token_type": {"jwt"}},
			// Upstream's REDIRECT_STATE=True is off here: the state stays out
			// of the redirect_uri (REDIRECT_STATE=true brings it back).
		},
		JWTAlgorithms:                 []string{"RS512"},
		ProviderConfigurationCacheTTL: DefaultProviderConfigurationCacheTTL,
		JWKSCacheTTL:                  DefaultJWKSCacheTTL,
	}
}

// ConfigFrom reads the backend's configuration from s, over DefaultConfig:
// URL_ROOT, PUBLIC_URL_ROOT, LOGOUT_REDIRECT_URL, JWS_HMAC_SIGNING_KEY,
// ISSUER, JWT_AUDIENCE, PROVIDER_CONFIGURATION_CACHE_TTL, JWKS_CACHE_TTL,
// SettingInsecureSkipTokenVerification, and the OAuth2 base's settings
// (backends.OAuth2ConfigFrom). Every missing or malformed setting (no
// URL_ROOT, KEY or SECRET, a URL_ROOT that is not an absolute http(s) URL, a
// malformed TTL or STATE_TTL, USE_PKCE=maybe, …) is reported, each naming
// its key, in one *socialauth.Error with CodeImproperlyConfigured. A nil s
// reads as empty (and fails: URL_ROOT and KEY are required).
func ConfigFrom(s *settings.Settings) (Config, error) {
	c := DefaultConfig()
	r := s.Reader(Name)
	c.URLRoot = trimRoot(r.String("URL_ROOT", ""))
	c.PublicURLRoot = trimRoot(r.String("PUBLIC_URL_ROOT", ""))
	c.LogoutRedirectURL = r.String("LOGOUT_REDIRECT_URL", "")
	c.JWSHMACSigningKey = r.String("JWS_HMAC_SIGNING_KEY", "")
	c.Issuer = r.String("ISSUER", "")
	c.JWTAudience = r.StringList("JWT_AUDIENCE", nil)
	c.JWTAlgorithms = r.StringList("JWT_ALGORITHMS", c.JWTAlgorithms)
	c.ProviderConfigurationCacheTTL = r.Duration("PROVIDER_CONFIGURATION_CACHE_TTL", c.ProviderConfigurationCacheTTL)
	c.JWKSCacheTTL = r.Duration("JWKS_CACHE_TTL", c.JWKSCacheTTL)
	// Never through the SOCIAL_AUTH_<NAME> / <NAME> fallbacks: the full key
	// is the only name that answers.
	global := s.Reader("")
	c.InsecureSkipTokenVerification = global.Bool(SettingInsecureSkipTokenVerification, false)

	base := c.OAuth2
	// The LMS URLs are not settings of this backend (they derive from
	// URL_ROOT), so the base is read as one whose endpoints are computed:
	// it must not ask for AUTHORIZATION_URL or ACCESS_TOKEN_URL.
	base.EndpointsFunc = func(context.Context) (backends.Endpoints, error) { return backends.Endpoints{}, nil }
	base, baseErr := backends.OAuth2ConfigFrom(s, base)
	// validate's SECRET check, whether or not the base read succeeded (a
	// wrong type is the base's to report).
	c.OAuth2.Secret, _ = s.String(Name, "SECRET", "")
	c.validate(r)
	if err := errors.Join(r.Err(), global.Err(), settingsErrors(baseErr)); err != nil {
		return Config{}, configError(err)
	}
	base.EndpointsFunc = nil
	base.Endpoints = backends.Endpoints{}
	c.OAuth2 = base
	return c, nil
}

// validate records what is wrong with the edX part of c under the setting
// that would set it, so that a Config written in code fails as a bad
// setting does.
func (c *Config) validate(r *settings.Reader) {
	switch {
	case strings.TrimSpace(c.URLRoot) == "":
		// A value of the wrong type has been reported already.
		if v, _, _ := r.Settings().Lookup(r.Backend(), "URL_ROOT"); v == nil || isString(v) {
			r.Missing("URL_ROOT")
		}
	default:
		if reason := checkRoot(c.URLRoot); reason != "" {
			r.Invalid("URL_ROOT", reason)
		}
	}
	if c.OAuth2.Secret == "" {
		// The LMS's applications are confidential clients: the token
		// request would be refused at the first sign-in.
		if v, _, _ := r.Settings().Lookup(r.Backend(), "SECRET"); v == nil || isString(v) {
			r.Missing("SECRET")
		}
	}
	if c.JWSHMACSigningKey != "" && len(c.JWSHMACSigningKey) < MinHMACKeyBytes {
		// RFC 7518 §3.2: an HS512 key is at least as long as the hash.
		r.Invalid("JWS_HMAC_SIGNING_KEY", "must be at least 64 bytes for HS512 (RFC 7518 §3.2)")
	}
	if _, err := signatureAlgorithms(c.JWTAlgorithms); err != "" {
		r.Invalid("JWT_ALGORITHMS", err)
	}
	if c.PublicURLRoot != "" {
		if reason := checkRoot(c.PublicURLRoot); reason != "" {
			r.Invalid("PUBLIC_URL_ROOT", reason)
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"PROVIDER_CONFIGURATION_CACHE_TTL", c.ProviderConfigurationCacheTTL},
		{"JWKS_CACHE_TTL", c.JWKSCacheTTL},
	} {
		if d.v < 0 {
			r.Invalid(d.name, "must not be negative")
		}
	}
}

func isString(v any) bool { _, ok := v.(string); return ok }

// trimRoot drops the spaces around a URL root and its trailing slashes.
func trimRoot(v string) string { return strings.TrimRight(strings.TrimSpace(v), "/") }

// checkRoot returns why v cannot be an LMS root ("" when it can): it must be
// an absolute http(s) URL with a host and no userinfo, query or fragment.
func checkRoot(v string) string {
	if reason := settings.CheckAbsoluteURL(v); reason != "" {
		return reason
	}
	if u, err := url.Parse(v); err != nil || u.RawQuery != "" || u.ForceQuery {
		return "must not have a query"
	}
	return ""
}

// settingsErrors returns the settings errors inside a base configuration
// error (so that they are reported once, with the edX ones).
func settingsErrors(err error) error {
	var se *socialauth.Error
	if errors.As(err, &se) && se.Err != nil {
		return se.Err
	}
	return err
}

// configError wraps the settings errors of the backend (each names its key).
func configError(err error) error {
	return &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: Name, Err: err}
}

// signatureAlgorithms parses JWTAlgorithms: asymmetric algorithms only, at
// least one ("" when fine, else why not, naming no secret).
func signatureAlgorithms(names []string) ([]jwa.SignatureAlgorithm, string) {
	if len(names) == 0 {
		return nil, "must name at least one algorithm (the LMS signs RS512)"
	}
	out := make([]jwa.SignatureAlgorithm, 0, len(names))
	for _, n := range names {
		alg := jwa.SignatureAlgorithm(strings.ToUpper(strings.TrimSpace(n)))
		if !slices.Contains(jwtverify.DefaultAlgorithms(), alg) {
			return nil, "names an algorithm that is not an asymmetric JWS algorithm (RS256…RS512, PS…, ES…, EdDSA)"
		}
		out = append(out, alg)
	}
	return out, ""
}
