package jwtverify

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/socialauth-go/socialauth/internal/discovery"
)

// Defaults for Options.
const (
	DefaultLeeway       = 30 * time.Second
	DefaultMaxTokenSize = 16 << 10
)

// DefaultAlgorithms is the asymmetric allow-list used when
// Options.Algorithms is empty.
func DefaultAlgorithms() []jwa.SignatureAlgorithm {
	return []jwa.SignatureAlgorithm{
		jwa.RS256, jwa.RS384, jwa.RS512,
		jwa.PS256, jwa.PS384, jwa.PS512,
		jwa.ES256, jwa.ES384, jwa.ES512,
		jwa.EdDSA,
	}
}

// KeySource supplies the public keys published under a key id (a provider
// may publish several under one kid; the Verifier tries each that fits the
// token's algorithm). An empty kid asks for the only key of a one-key set. A
// key id that cannot be resolved must be reported with an error wrapping
// discovery.ErrUnknownKey; any other error is treated as a failure to fetch
// keys. *discovery.Provider implements it.
type KeySource interface {
	KeysFor(ctx context.Context, kid string) ([]jwk.Key, error)
}

// Refetcher is a KeySource that can fetch its keys again for a key id whose
// cached keys did not verify a token's signature: the provider may have
// replaced the key behind a kid it reuses. The Verifier calls it once per
// such token and retries with the keys it returns; the source bounds the
// fetches (*discovery.Provider: one per key id per cooldown window, so a flood
// of bad signatures costs at most that). An error leaves the token refused
// for its signature.
type Refetcher interface {
	RefetchKeysFor(ctx context.Context, kid string) ([]jwk.Key, error)
}

// StaticKeys returns a KeySource over a fixed key set (no fetching).
func StaticKeys(set jwk.Set) KeySource { return staticKeys{set} }

type staticKeys struct{ set jwk.Set }

func (s staticKeys) KeysFor(_ context.Context, kid string) ([]jwk.Key, error) {
	return discovery.SelectKeys(s.set, kid)
}

// Options configures a Verifier. Exactly one of HMACKey and Keys must be set.
type Options struct {
	// HMACKey, when set, makes the Verifier accept ONLY HS512 tokens signed
	// with this key (edX's SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY).
	HMACKey []byte
	// Keys supplies public keys when HMACKey is empty.
	Keys KeySource
	// Algorithms is the asymmetric allow-list (default DefaultAlgorithms()).
	// "none" and HS* are refused by New.
	Algorithms []jwa.SignatureAlgorithm
	// AlgorithmsFunc, when set, further restricts Algorithms at each
	// verification: a token's alg must be on both lists. For a list learnt
	// lazily, such as an OpenID provider's id_token_signing_alg_values_supported.
	// Its error is reported as KeyFetch.
	AlgorithmsFunc func(ctx context.Context) ([]jwa.SignatureAlgorithm, error)
	// Issuer, when non-empty, must equal the iss claim exactly.
	Issuer string
	// IssuerFunc, when Issuer is empty, gives the issuer the iss claim must
	// equal, at each verification: for an issuer learnt lazily (from a
	// cached discovery document), so that the Verifier can be built once,
	// before any I/O. Its error is reported as KeyFetch; an empty issuer
	// fails every token (BadIssuer).
	IssuerFunc func(ctx context.Context) (string, error)
	// IssuerAliases are other exact spellings of the issuer that iss may
	// carry (Google documents both https://accounts.google.com and
	// accounts.google.com). They widen nothing else.
	IssuerAliases []string
	// Audience, when non-empty, must share at least one value with aud.
	Audience []string
	// Leeway is the clock skew allowed on exp, nbf and iat. Zero means
	// DefaultLeeway (30 s); a negative value means no leeway.
	Leeway time.Duration
	// InsecureAllowMissingExp accepts tokens without an exp claim. A present
	// exp is still enforced. Off by default: tokens must expire.
	InsecureAllowMissingExp bool
	// MaxTokenSize is the largest token accepted, checked before any parsing
	// (default 16 KiB).
	MaxTokenSize int
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Claims holds every claim of a verified token as decoded by encoding/json
// with exact numbers (string, json.Number, bool, []any, map[string]any, nil):
// an integer claim beyond 2^53, such as an LMS user_id, keeps every digit.
// Read exp, iat, nbf and auth_time with NumericDate.
type Claims map[string]any

// NumericDate reads the claim name as an RFC 7519 NumericDate (seconds since
// the epoch, fractions allowed). ok is false when the claim is absent; err is
// a Malformed *Error when it is present but not a finite number.
func (c Claims) NumericDate(name string) (seconds float64, ok bool, err error) {
	raw, present := c[name]
	if !present {
		return 0, false, nil
	}
	f, isNum := NumericDate(raw)
	if !isNum {
		return 0, false, fail(Malformed, name+" claim is not a number")
	}
	return f, true, nil
}

// NumericDate converts a decoded JSON number (json.Number, float64 or a Go
// integer) to seconds; ok is false for anything else, NaN and infinities.
func NumericDate(v any) (seconds float64, ok bool) {
	var f float64
	switch x := v.(type) {
	case json.Number:
		var err error
		if f, err = x.Float64(); err != nil {
			return 0, false
		}
	case float64:
		f = x
	case int64:
		f = float64(x)
	case int:
		f = float64(x)
	default:
		return 0, false
	}
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Verifier checks JWT access tokens and ID tokens. It is safe for concurrent
// use and does no I/O itself; its KeySource may.
type Verifier struct {
	hmacKey    []byte
	hmac       jws.Verifier
	keys       KeySource
	verifiers  map[jwa.SignatureAlgorithm]jws.Verifier // the allow-list; read-only after New
	algsFunc   func(ctx context.Context) ([]jwa.SignatureAlgorithm, error)
	issuer     string
	issuerFunc func(ctx context.Context) (string, error)
	aliases    []string
	audience   []string
	leeway     float64 // seconds
	allowNoExp bool
	maxSize    int
	now        func() time.Time
}

// New validates opts and returns a Verifier.
func New(opts Options) (*Verifier, error) {
	v := &Verifier{
		issuer:     opts.Issuer,
		issuerFunc: opts.IssuerFunc,
		aliases:    append([]string(nil), opts.IssuerAliases...),
		algsFunc:   opts.AlgorithmsFunc,
		audience:   append([]string(nil), opts.Audience...),
		allowNoExp: opts.InsecureAllowMissingExp,
		maxSize:    opts.MaxTokenSize,
		now:        opts.Now,
	}
	switch {
	case opts.Leeway == 0:
		v.leeway = DefaultLeeway.Seconds()
	case opts.Leeway > 0:
		v.leeway = opts.Leeway.Seconds()
	}
	if v.maxSize <= 0 {
		v.maxSize = DefaultMaxTokenSize
	}
	if v.now == nil {
		v.now = time.Now
	}
	switch {
	case len(opts.HMACKey) > 0 && opts.Keys != nil:
		return nil, errors.New("jwtverify: set HMACKey or Keys, not both")
	case len(opts.HMACKey) > 0:
		if len(opts.Algorithms) > 0 || opts.AlgorithmsFunc != nil {
			return nil, errors.New("jwtverify: Algorithms does not apply to HMACKey (HS512 only)")
		}
		h, err := jws.NewVerifier(jwa.HS512)
		if err != nil {
			return nil, fmt.Errorf("jwtverify: %w", err)
		}
		v.hmacKey = append([]byte(nil), opts.HMACKey...)
		v.hmac = h
		return v, nil
	case opts.Keys == nil:
		return nil, errors.New("jwtverify: one of HMACKey or Keys is required")
	}
	v.keys = opts.Keys
	algs := opts.Algorithms
	if len(algs) == 0 {
		algs = DefaultAlgorithms()
	}
	v.verifiers = make(map[jwa.SignatureAlgorithm]jws.Verifier, len(algs))
	for _, alg := range algs {
		if keyTypeFor(alg) == "" {
			return nil, fmt.Errorf("jwtverify: algorithm %q is not allowed for asymmetric verification", alg)
		}
		jv, err := jws.NewVerifier(alg)
		if err != nil {
			return nil, fmt.Errorf("jwtverify: %w", err)
		}
		v.verifiers[alg] = jv
	}
	return v, nil
}

// keyTypeFor returns the JWK key type an asymmetric algorithm needs, or ""
// for anything else (none, HS*, unknown).
func keyTypeFor(alg jwa.SignatureAlgorithm) jwa.KeyType {
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512, jwa.PS256, jwa.PS384, jwa.PS512:
		return jwa.RSA
	case jwa.ES256, jwa.ES384, jwa.ES512:
		return jwa.EC
	case jwa.EdDSA:
		return jwa.OKP
	}
	return ""
}

var b64 = base64.RawURLEncoding.Strict()

// Verify checks token's signature and claims and returns its claims. Every
// failure is an *Error; its message never contains the token.
//
// The algorithm is never taken from the token alone: the header's alg must be
// on the allow-list (HS512 only in HMAC mode) and must agree with the key's
// type, curve and, when the key declares one, its alg.
func (v *Verifier) Verify(ctx context.Context, token string) (Claims, error) {
	if len(token) > v.maxSize {
		return nil, fail(TooLarge, "token exceeds the size limit")
	}
	dot1 := strings.IndexByte(token, '.')
	dot2 := strings.LastIndexByte(token, '.')
	if dot1 <= 0 || dot2 == dot1 || dot2 == len(token)-1 || strings.IndexByte(token[dot1+1:dot2], '.') >= 0 {
		return nil, fail(Malformed, "not a compact JWS with three non-empty parts")
	}
	alg, kid, err := parseHeader(token[:dot1])
	if err != nil {
		return nil, err
	}
	sig, err := b64.DecodeString(token[dot2+1:])
	if err != nil {
		return nil, fail(Malformed, "signature is not base64url")
	}

	if v.hmac != nil {
		if alg != jwa.HS512 {
			return nil, fail(BadAlgorithm, "only HS512 is accepted")
		}
		if err := v.hmac.Verify([]byte(token[:dot2]), sig, v.hmacKey); err != nil {
			return nil, fail(BadSignature, "signature does not verify")
		}
	} else if err := v.verifyAsymmetric(ctx, token[:dot2], sig, alg, kid); err != nil {
		return nil, err
	}

	payload, err := b64.DecodeString(token[dot1+1 : dot2])
	if err != nil {
		return nil, fail(Malformed, "payload is not base64url")
	}
	claims, err := decodeClaims(payload)
	if err != nil {
		return nil, err
	}
	issuer := v.issuer
	if issuer == "" && v.issuerFunc != nil {
		if issuer, err = v.issuerFunc(ctx); err != nil {
			return nil, &Error{Reason: KeyFetch, Err: err}
		}
		if issuer == "" {
			return nil, fail(BadIssuer, "no issuer known")
		}
	}
	// Only now, the signature verified, may a claim shape the issuer.
	if issuer, err = ResolveIssuer(issuer, claims); err != nil {
		return nil, err
	}
	if err := v.checkClaims(claims, issuer); err != nil {
		return nil, err
	}
	return claims, nil
}

// decodeClaims decodes a payload that must be exactly one JSON object, with
// its numbers as json.Number.
func decodeClaims(payload []byte) (Claims, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	var claims Claims
	if err := dec.Decode(&claims); err != nil || claims == nil {
		return nil, fail(Malformed, "payload is not a JSON object")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fail(Malformed, "payload is not a JSON object")
	}
	return claims, nil
}

// TenantPlaceholder is the tenant slot of a multi-tenant issuer (Microsoft
// Entra ID's "https://login.microsoftonline.com/{tenantid}/v2.0").
const TenantPlaceholder = "{tenantid}"

// ResolveIssuer fills the TenantPlaceholder of issuer with the tid claim of
// c, which must come from a token whose signature is verified; an issuer
// without the placeholder is returned as is. A tid that is missing or not
// GUID-shaped (8-4-4-4-12 hex digits) is a BadIssuer error: nothing but a
// tenant id may enter the issuer, so a crafted tid cannot make it name
// another host or path. The caller still compares the result with iss, so a
// tid of one tenant in a token issued by another is refused.
func ResolveIssuer(issuer string, c Claims) (string, error) {
	if !strings.Contains(issuer, TenantPlaceholder) {
		return issuer, nil
	}
	tid, _ := c["tid"].(string)
	if !IsGUID(tid) {
		return "", fail(BadIssuer, "tid claim is not a tenant id")
	}
	return strings.ReplaceAll(issuer, TenantPlaceholder, strings.ToLower(tid)), nil
}

// IsGUID reports whether s is shaped as a GUID: 8-4-4-4-12 hex digits.
func IsGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// verifyAsymmetric checks sig over signed with the keys published under kid:
// alg must be on the allow-list (and AlgorithmsFunc's), and one of the keys
// that fit alg must verify.
func (v *Verifier) verifyAsymmetric(ctx context.Context, signed string, sig []byte, alg jwa.SignatureAlgorithm, kid string) error {
	jv, ok := v.verifiers[alg]
	if !ok {
		return fail(BadAlgorithm, "algorithm not on the allow-list")
	}
	if v.algsFunc != nil {
		algs, err := v.algsFunc(ctx)
		if err != nil {
			return &Error{Reason: KeyFetch, Err: err}
		}
		if !slices.Contains(algs, alg) {
			return fail(BadAlgorithm, "algorithm not among the provider's")
		}
	}
	keys, err := v.keys.KeysFor(ctx, kid)
	if err != nil {
		if errors.Is(err, discovery.ErrUnknownKey) {
			return &Error{Reason: UnknownKey, Detail: "no key for the token's kid", Err: err}
		}
		return &Error{Reason: KeyFetch, Err: err}
	}
	err = tryKeys(jv, keys, signed, sig, alg)
	if r, ok := v.keys.(Refetcher); ok && reasonOf(err) == BadSignature {
		// The provider may have replaced the key behind this kid: refetch
		// once (the source bounds it per kid) and try the new keys.
		if fresh, ferr := r.RefetchKeysFor(ctx, kid); ferr == nil {
			err = tryKeys(jv, fresh, signed, sig, alg)
		}
	}
	return err
}

// reasonOf is err's Reason ("" for nil or another error).
func reasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// tryKeys returns nil when one of keys that fit alg verifies sig over signed.
func tryKeys(jv jws.Verifier, keys []jwk.Key, signed string, sig []byte, alg jwa.SignatureAlgorithm) error {
	var unfit error
	for _, jk := range keys {
		raw, err := rawKeyFor(jk, alg)
		if err != nil {
			if unfit == nil {
				unfit = err
			}
			continue
		}
		if err := jv.Verify([]byte(signed), sig, raw); err == nil {
			return nil
		}
		unfit = fail(BadSignature, "signature does not verify")
	}
	if unfit == nil {
		unfit = fail(UnknownKey, "no key for the token's kid")
	}
	return unfit
}

// parseHeader decodes the protected header and returns alg and kid. A header
// naming critical extensions or b64 is refused: none are supported.
func parseHeader(seg string) (jwa.SignatureAlgorithm, string, error) {
	raw, err := b64.DecodeString(seg)
	if err != nil {
		return "", "", fail(Malformed, "header is not base64url")
	}
	// A map, not a struct: encoding/json matches struct fields
	// case-insensitively, and "ALG" must not stand in for "alg".
	var hdr map[string]any
	if err := json.Unmarshal(raw, &hdr); err != nil || hdr == nil {
		return "", "", fail(Malformed, "header is not a JSON object")
	}
	if _, ok := hdr["crit"]; ok {
		return "", "", fail(Malformed, "critical header extensions are not supported")
	}
	if _, ok := hdr["b64"]; ok {
		return "", "", fail(Malformed, "unencoded payloads are not supported")
	}
	alg, ok := hdr["alg"].(string)
	if !ok || alg == "" {
		return "", "", fail(Malformed, "header has no alg")
	}
	var kid string
	if k, present := hdr["kid"]; present {
		if kid, ok = k.(string); !ok {
			return "", "", fail(Malformed, "kid is not a string")
		}
	}
	return jwa.SignatureAlgorithm(alg), kid, nil
}

// rawKeyFor checks that key may verify alg and returns its raw public key.
func rawKeyFor(key jwk.Key, alg jwa.SignatureAlgorithm) (any, error) {
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, fail(BadAlgorithm, "key is not a signature key")
	}
	if ka := key.Algorithm().String(); ka != "" && ka != alg.String() {
		return nil, fail(BadAlgorithm, "token alg differs from the key's alg")
	}
	if key.KeyType() != keyTypeFor(alg) {
		return nil, fail(BadAlgorithm, "token alg does not fit the key type")
	}
	switch key.KeyType() {
	case jwa.RSA:
		var pub rsa.PublicKey
		if err := key.Raw(&pub); err != nil {
			return nil, fail(BadAlgorithm, "key is not an RSA public key")
		}
		if pub.N == nil || pub.N.BitLen() < discovery.MinRSABits {
			return nil, fail(BadAlgorithm, "RSA key shorter than 2048 bits")
		}
		return &pub, nil
	case jwa.EC:
		var pub ecdsa.PublicKey
		if err := key.Raw(&pub); err != nil {
			return nil, fail(BadAlgorithm, "key is not an EC public key")
		}
		if pub.Curve == nil || pub.Curve.Params().BitSize != curveBits(alg) {
			return nil, fail(BadAlgorithm, "token alg does not fit the key's curve")
		}
		return &pub, nil
	case jwa.OKP:
		var pub ed25519.PublicKey
		if err := key.Raw(&pub); err != nil {
			return nil, fail(BadAlgorithm, "key is not an Ed25519 public key")
		}
		return pub, nil
	}
	return nil, fail(BadAlgorithm, "unsupported key type")
}

func curveBits(alg jwa.SignatureAlgorithm) int {
	switch alg {
	case jwa.ES256:
		return 256
	case jwa.ES384:
		return 384
	case jwa.ES512:
		return 521
	}
	return 0
}

// checkClaims enforces exp, nbf, iat (with leeway), iss (when issuer is not
// empty) and aud.
func (v *Verifier) checkClaims(c Claims, issuer string) error {
	now := float64(v.now().UnixNano()) / 1e9
	exp, ok, err := c.NumericDate("exp")
	switch {
	case err != nil:
		return err
	case !ok && !v.allowNoExp:
		return fail(Expired, "exp claim missing")
	case ok && now >= exp+v.leeway:
		return fail(Expired, "")
	}
	if nbf, ok, err := c.NumericDate("nbf"); err != nil {
		return err
	} else if ok && now+v.leeway < nbf {
		return fail(NotYetValid, "")
	}
	if iat, ok, err := c.NumericDate("iat"); err != nil {
		return err
	} else if ok && iat > now+v.leeway {
		return fail(IssuedInFuture, "")
	}
	if issuer != "" {
		if iss, _ := c["iss"].(string); iss != issuer && (iss == "" || !slices.Contains(v.aliases, iss)) {
			return fail(BadIssuer, "")
		}
	}
	if len(v.audience) > 0 && !v.audienceOK(c["aud"]) {
		return fail(BadAudience, "")
	}
	return nil
}

func (v *Verifier) audienceOK(aud any) bool {
	switch a := aud.(type) {
	case string:
		return v.wantsAudience(a)
	case []any:
		for _, x := range a {
			if s, ok := x.(string); ok && v.wantsAudience(s) {
				return true
			}
		}
	}
	return false
}

func (v *Verifier) wantsAudience(s string) bool {
	for _, w := range v.audience {
		if s == w {
			return true
		}
	}
	return false
}
