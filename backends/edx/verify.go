package edx

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth"
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
	// discoveryTimeout bounds configuration and JWKS fetches made with a
	// client that has no timeout of its own.
	discoveryTimeout = 5 * time.Second
	// maxCached bounds the provider and verifier caches; they only grow when
	// the settings change, so reaching it means churn, and starting over is
	// harmless.
	maxCached = 32
)

// WellKnownPath is where the LMS publishes its provider configuration,
// under URL_ROOT.
const WellKnownPath = "/.well-known/openid-configuration"

type providerKey struct {
	root            string
	cfgTTL, jwksTTL time.Duration
}

type providerEntry struct{ p *discovery.Provider }

type verifierKey struct {
	hmac     [sha256.Size]byte // zero in JWKS mode
	provider providerKey       // zero in HMAC mode
	issuer   string
	audience string // the audiences joined by NUL
}

type verifierEntry struct{ v *jwtverify.Verifier }

// insecureSkip reads SettingInsecureSkipTokenVerification.
func insecureSkip(set *settings.Settings) (bool, error) {
	v, err := set.Bool("", SettingInsecureSkipTokenVerification, false)
	if err != nil {
		return false, configErr(SettingInsecureSkipTokenVerification, err)
	}
	return v, nil
}

func (b *EdXOAuth2) warnInsecure(ctx context.Context, l *slog.Logger) {
	b.mu.Lock()
	done := b.warned
	b.warned = true
	b.mu.Unlock()
	if !done {
		l.WarnContext(ctx, "edx-oauth2: "+SettingInsecureSkipTokenVerification+
			" is on: JWT access tokens are NOT verified (signature, exp, iss, aud); never use this in production")
	}
}

// verifyToken is the base's VerifyToken hook: the verified user data.
func (b *EdXOAuth2) verifyToken(ctx context.Context, s socialauth.Strategy, accessToken string, _ map[string]any) (map[string]any, error) {
	return b.UserData(ctx, s, accessToken)
}

// UserData verifies the JWT access token and returns its user data: the
// UserDataClaims present in it (upstream's user_data, which did not verify).
// Verification is HS512 with JWS_HMAC_SIGNING_KEY when that is set, else
// against the LMS's JWKS (found at {URL_ROOT}/.well-known/openid-configuration);
// exp is required, iss must be ISSUER (else the configuration's issuer, else
// {URL_ROOT}/oauth2) and, when JWT_AUDIENCE is set, aud one of its values.
// A rejected token is an AuthTokenError; a failure to fetch the keys is
// AuthUnreachableProvider.
func (b *EdXOAuth2) UserData(ctx context.Context, s socialauth.Strategy, accessToken string) (map[string]any, error) {
	insecure, err := insecureSkip(s.Settings())
	if err != nil {
		return nil, err
	}
	if insecure {
		b.warnInsecure(ctx, b.log(s))
		claims, err := decodeUnverified(accessToken)
		if err != nil {
			return nil, socialauth.NewError(socialauth.CodeAuthTokenError, Name, "malformed access token", err)
		}
		return FilterUserData(claims), nil
	}
	v, err := b.verifier(ctx, s)
	if err != nil {
		return nil, err
	}
	claims, err := v.Verify(ctx, accessToken)
	if err != nil {
		var je *jwtverify.Error
		if errors.As(err, &je) && je.Reason == jwtverify.KeyFetch {
			return nil, fetchErr(err)
		}
		b.log(s).InfoContext(ctx, "edx-oauth2: access token rejected", "reason", reasonOf(err))
		return nil, socialauth.NewError(socialauth.CodeAuthTokenError, Name, "access token rejected", err)
	}
	return FilterUserData(claims), nil
}

func reasonOf(err error) string {
	var je *jwtverify.Error
	if errors.As(err, &je) {
		return string(je.Reason)
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

// verification are the verification settings of one request.
type verification struct {
	root     string
	hmacKey  string
	issuer   string // the ISSUER setting
	audience []string
	cfgTTL   time.Duration
	jwksTTL  time.Duration
}

func readVerification(s socialauth.Strategy) (verification, error) {
	var v verification
	set := s.Settings()
	r, err := root(s, "URL_ROOT")
	if err != nil {
		return v, err
	}
	if r == "" {
		return v, socialauth.NewError(socialauth.CodeImproperlyConfigured, Name, "setting URL_ROOT is not set", nil)
	}
	v.root = r
	if v.hmacKey, err = set.String(Name, "JWS_HMAC_SIGNING_KEY", ""); err != nil {
		return v, configErr("JWS_HMAC_SIGNING_KEY", err)
	}
	if v.issuer, err = set.String(Name, "ISSUER", ""); err != nil {
		return v, configErr("ISSUER", err)
	}
	if v.audience, err = set.StringList(Name, "JWT_AUDIENCE", nil); err != nil {
		return v, configErr("JWT_AUDIENCE", err)
	}
	if v.cfgTTL, err = set.Duration(Name, "PROVIDER_CONFIGURATION_CACHE_TTL", DefaultProviderConfigurationCacheTTL); err != nil {
		return v, configErr("PROVIDER_CONFIGURATION_CACHE_TTL", err)
	}
	if v.jwksTTL, err = set.Duration(Name, "JWKS_CACHE_TTL", DefaultJWKSCacheTTL); err != nil {
		return v, configErr("JWKS_CACHE_TTL", err)
	}
	return v, nil
}

// provider returns the cached discovery provider of URL_ROOT (building it
// on first use: no I/O here).
func (b *EdXOAuth2) provider(s socialauth.Strategy, v verification) (*discovery.Provider, providerKey) {
	k := providerKey{root: v.root, cfgTTL: v.cfgTTL, jwksTTL: v.jwksTTL}
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.providers[k]; ok {
		return e.p, k
	}
	client := b.opts.HTTPClient
	if client == nil {
		var c http.Client
		if base := s.HTTPClient(); base != nil {
			c = *base
		}
		if c.Timeout == 0 {
			c.Timeout = discoveryTimeout
		}
		client = &c
	}
	p := discovery.New(v.root+WellKnownPath, discovery.Options{
		HTTPClient: client,
		ConfigTTL:  v.cfgTTL,
		JWKSTTL:    v.jwksTTL,
		Logger:     b.logger,
		Now:        b.now,
	})
	if len(b.providers) >= maxCached {
		clear(b.providers)
	}
	b.providers[k] = &providerEntry{p: p}
	return p, k
}

// ProviderStats reports the configuration and JWKS fetches made for the
// URL_ROOT (and cache TTLs) of s's settings, zero when none were needed yet.
func (b *EdXOAuth2) ProviderStats(s socialauth.Strategy) discovery.Stats {
	v, err := readVerification(s)
	if err != nil {
		return discovery.Stats{}
	}
	k := providerKey{root: v.root, cfgTTL: v.cfgTTL, jwksTTL: v.jwksTTL}
	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.providers[k]; ok {
		return e.p.Stats()
	}
	return discovery.Stats{}
}

// issuerFor resolves the expected issuer: ISSUER, else (JWKS mode) the
// provider configuration's issuer, else {URL_ROOT}/oauth2.
func (b *EdXOAuth2) issuerFor(ctx context.Context, v verification, p *discovery.Provider) (string, error) {
	if v.issuer != "" {
		return v.issuer, nil
	}
	if p != nil {
		cfg, err := p.Config(ctx)
		if err != nil {
			return "", fetchErr(err)
		}
		if cfg.Issuer != "" {
			return cfg.Issuer, nil
		}
	}
	return v.root + "/oauth2", nil
}

// expectedIssuer is the issuer access tokens are checked against for s.
func (b *EdXOAuth2) expectedIssuer(ctx context.Context, s socialauth.Strategy) (string, error) {
	v, err := readVerification(s)
	if err != nil {
		return "", err
	}
	var p *discovery.Provider
	if v.hmacKey == "" {
		p, _ = b.provider(s, v)
	}
	return b.issuerFor(ctx, v, p)
}

// verifier returns the cached verifier for s's settings.
func (b *EdXOAuth2) verifier(ctx context.Context, s socialauth.Strategy) (*jwtverify.Verifier, error) {
	v, err := readVerification(s)
	if err != nil {
		return nil, err
	}
	var (
		k    verifierKey
		p    *discovery.Provider
		opts jwtverify.Options
	)
	if v.hmacKey != "" {
		k.hmac = sha256.Sum256([]byte(v.hmacKey))
		opts.HMACKey = []byte(v.hmacKey)
	} else {
		p, k.provider = b.provider(s, v)
		opts.Keys = p
	}
	if k.issuer, err = b.issuerFor(ctx, v, p); err != nil {
		return nil, err
	}
	k.audience = strings.Join(v.audience, "\x00")

	b.mu.Lock()
	defer b.mu.Unlock()
	if e, ok := b.verifiers[k]; ok {
		return e.v, nil
	}
	opts.Issuer = k.issuer
	opts.Audience = v.audience
	opts.Now = b.now
	jv, err := jwtverify.New(opts)
	if err != nil {
		return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, Name, "token verification", err)
	}
	if len(b.verifiers) >= maxCached {
		clear(b.verifiers)
	}
	b.verifiers[k] = &verifierEntry{v: jv}
	return jv, nil
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
