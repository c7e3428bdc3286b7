package edx

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/internal/discovery"
	"github.com/socialauth-go/socialauth/internal/jwtverify"
	"github.com/socialauth-go/socialauth/settings"
)

// Defaults of the verification settings (the values upstream's README
// documents for the settings of the same names).
const (
	// DefaultProviderConfigurationCacheTTL is PROVIDER_CONFIGURATION_CACHE_TTL
	// (604800 s).
	DefaultProviderConfigurationCacheTTL = discovery.DefaultConfigTTL
	// DefaultJWKSCacheTTL is JWKS_CACHE_TTL (86400 s).
	DefaultJWKSCacheTTL = discovery.DefaultJWKSTTL
	// MaxTokenSize bounds an access token, checked before any parsing.
	MaxTokenSize = jwtverify.DefaultMaxTokenSize
)

// WellKnownPath is where the LMS publishes its provider configuration,
// under URL_ROOT.
const WellKnownPath = "/.well-known/openid-configuration"

// buildVerifier builds the access-token verifier once, at construction:
// none in insecure mode, HS512 with the shared key, else the LMS's JWKS
// through its discovery provider (no I/O here: the documents are fetched
// on first use and cached for the configured TTLs).
func (b *EdXOAuth2) buildVerifier() error {
	c := b.cfg
	if c.InsecureSkipTokenVerification {
		return nil
	}
	opts := jwtverify.Options{Issuer: c.Issuer, Audience: c.JWTAudience, Now: b.now}
	if c.JWSHMACSigningKey != "" {
		opts.HMACKey = []byte(c.JWSHMACSigningKey)
		if opts.Issuer == "" {
			opts.Issuer = c.URLRoot + "/oauth2"
		}
	} else {
		b.provider = discovery.New(c.URLRoot+WellKnownPath, discovery.Options{
			HTTPClient: b.HTTPClient(),
			ConfigTTL:  c.ProviderConfigurationCacheTTL,
			JWKSTTL:    c.JWKSCacheTTL,
			Logger:     b.logger,
			Now:        b.now,
		})
		opts.Keys = b.provider
		opts.IssuerFunc = b.issuer
		opts.Algorithms, _ = signatureAlgorithms(c.JWTAlgorithms) // checked by validate
	}
	v, err := jwtverify.New(opts)
	if err != nil {
		r := (*settings.Settings)(nil).Reader(Name)
		r.Invalid("JWS_HMAC_SIGNING_KEY", "cannot verify tokens with it")
		return configError(r.Err())
	}
	b.verifier = v
	return nil
}

// verifyToken is the base's VerifyToken hook: the verified user data.
func (b *EdXOAuth2) verifyToken(ctx context.Context, _ *backends.OAuth2, accessToken string, _ map[string]any) (map[string]any, error) {
	return b.UserData(ctx, accessToken)
}

// UserData verifies the JWT access token and returns its user data: the
// UserDataClaims present in it (upstream's user_data, which did not verify).
// Verification is HS512 with JWS_HMAC_SIGNING_KEY when that is set, else
// against the LMS's JWKS (found at {URL_ROOT}/.well-known/openid-configuration);
// exp and iat are required (nbf honoured when present), iss must be ISSUER
// (else the configuration's issuer, else {URL_ROOT}/oauth2) and, when
// JWT_AUDIENCE is set, aud one of its values. The edX token policy is then
// applied, as edx-drf-extensions applies it: a version claim above major
// version SupportedTokenVersion, is_restricted true, or (the user_id scope
// requested, as by default) no user_id claim is refused. Claims are decoded
// with exact numbers (json.Number): a user_id keeps every digit.
// A rejected token is an AuthTokenError; a failure to fetch the keys is
// AuthUnreachableProvider. In insecure mode the claims are only decoded.
func (b *EdXOAuth2) UserData(ctx context.Context, accessToken string) (map[string]any, error) {
	if b.verifier == nil {
		claims, err := decodeUnverified(accessToken)
		if err != nil {
			return nil, socialauth.NewError(socialauth.CodeAuthTokenError, Name, "malformed access token", err)
		}
		return FilterUserData(claims), nil
	}
	claims, err := b.verifier.Verify(ctx, accessToken)
	if err != nil {
		var je *jwtverify.Error
		if errors.As(err, &je) && je.Reason == jwtverify.KeyFetch {
			return nil, fetchErr(err)
		}
		return nil, b.rejected(ctx, err)
	}
	// The verifier decodes numbers exactly (json.Number).
	if err := checkPolicy(claims, b.Scope()); err != nil {
		return nil, b.rejected(ctx, err)
	}
	return FilterUserData(claims), nil
}

// rejected logs why a token was refused and returns the AuthTokenError.
func (b *EdXOAuth2) rejected(ctx context.Context, err error) error {
	b.logger.InfoContext(ctx, "edx-oauth2: access token rejected", "reason", reasonOf(err))
	return socialauth.NewError(socialauth.CodeAuthTokenError, Name, "access token rejected", err)
}

func reasonOf(err error) string {
	var je *jwtverify.Error
	if errors.As(err, &je) {
		return string(je.Reason)
	}
	var pe errPolicy
	if errors.As(err, &pe) {
		return string(pe)
	}
	return "unknown"
}

// fetchErr maps a failure to fetch the provider configuration or keys.
func fetchErr(err error) error {
	if errors.Is(err, discovery.ErrUnreachable) || errors.Is(err, context.DeadlineExceeded) {
		return socialauth.NewError(socialauth.CodeAuthUnreachableProvider, Name, "cannot fetch the LMS provider configuration or keys", err)
	}
	return socialauth.NewError(socialauth.CodeAuthUnknownError, Name, "unusable LMS provider configuration or keys", err)
}

// ProviderStats reports the configuration and JWKS fetches the backend has
// made (none in HMAC and insecure modes, nor before the first login).
func (b *EdXOAuth2) ProviderStats() discovery.Stats {
	if b.provider == nil {
		return discovery.Stats{}
	}
	return b.provider.Stats()
}

// issuer is the issuer access tokens are checked against: ISSUER, else (JWKS
// mode) the provider configuration's issuer, else {URL_ROOT}/oauth2. A
// failure to fetch the configuration is returned as is.
func (b *EdXOAuth2) issuer(ctx context.Context) (string, error) {
	if b.cfg.Issuer != "" {
		return b.cfg.Issuer, nil
	}
	if b.provider != nil {
		cfg, err := b.provider.Config(ctx)
		if err != nil {
			return "", err
		}
		if cfg.Issuer != "" {
			return cfg.Issuer, nil
		}
	}
	return b.cfg.URLRoot + "/oauth2", nil
}

// callbackIssuer is the base's IssuerFunc: the LMS does not send RFC 9207's
// iss, but a callback that does carry one must name the issuer access
// tokens are checked against.
func (b *EdXOAuth2) callbackIssuer(ctx context.Context) (string, error) {
	iss, err := b.issuer(ctx)
	if err != nil {
		return "", fetchErr(err)
	}
	return iss, nil
}

var b64 = base64.RawURLEncoding

// decodeUnverified decodes a compact JWS without any verification, as
// upstream does: the header and payload must be base64url JSON objects; the
// signature is not looked at (alg none included).
func decodeUnverified(token string) (map[string]any, error) {
	if len(token) > MaxTokenSize {
		return nil, errors.New("token exceeds the size limit")
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("not enough segments")
	}
	if _, err := decodeSegment(parts[0]); err != nil {
		return nil, errors.New("invalid header")
	}
	claims, err := decodeSegment(parts[1])
	if err != nil {
		return nil, errors.New("invalid payload")
	}
	return claims, nil
}

func decodeSegment(seg string) (map[string]any, error) {
	raw, err := b64.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil || dec.More() {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}
