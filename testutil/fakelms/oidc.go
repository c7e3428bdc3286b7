package fakelms

import (
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// OIDCFaults are misbehaviours of the OpenID side of the LMS, to test a relying party the way the
// OpenID Foundation's RP certification does (each field is one of its negative tests). Install them
// with SetOIDCFaults; they apply to every ID token, UserInfo answer or discovery document served
// while installed, code and refresh grants alike, until SetOIDCFaults(OIDCFaults{}).
type OIDCFaults struct {
	// Issuer, when set, replaces the ID token's iss (oidcc-client-test-invalid-iss, and on a refresh
	// grant oidcc-refresh-token-invalid-issuer).
	Issuer string
	// Subject, when set, replaces the ID token's sub (oidcc-refresh-token-invalid-sub on refresh).
	Subject string
	// OmitSub leaves sub out of the ID token (oidcc-client-test-missing-sub).
	OmitSub bool
	// Audience, when set, replaces the ID token's aud (oidcc-client-test-invalid-aud).
	Audience string
	// OmitAud leaves aud out of the ID token (the comprehensive plan's missing-aud).
	OmitAud bool
	// OmitIat leaves iat out of the ID token (oidcc-client-test-missing-iat).
	OmitIat bool
	// Nonce, when set, replaces the ID token's nonce (oidcc-client-test-nonce-invalid).
	Nonce string
	// InvalidAtHash puts an at_hash of another access token in the ID token (invalid-athash).
	InvalidAtHash bool
	// OmitKid signs the ID token without a kid header (oidcc-client-test-kid-absent-*).
	OmitKid bool
	// AlgNone sends the ID token unsigned, alg "none" (oidcc-client-test-idtoken-sig-none).
	AlgNone bool
	// InvalidSignature corrupts the ID token's signature (oidcc-client-test-invalid-sig-rs256).
	InvalidSignature bool
	// UserInfoSub, when set, replaces the sub of UserInfo answers (oidcc-client-test-userinfo-invalid-sub).
	UserInfoSub string
	// DiscoveryIssuer, when set, replaces the issuer of the discovery document
	// (oidcc-client-test-discovery-issuer-mismatch).
	DiscoveryIssuer string
}

// SetOIDCFaults installs f, replacing the faults installed before; the zero value removes them all.
func (l *LMS) SetOIDCFaults(f OIDCFaults) {
	l.mu.Lock()
	l.oidcFaults = f
	l.mu.Unlock()
}

func (l *LMS) currentOIDCFaults() OIDCFaults {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.oidcFaults
}

// ReplaceKey puts priv (at least 2048 bits) behind the current signing key's kid: the provider
// rotates its key but reuses the kid, so that a relying party's cached key of that kid no longer
// verifies what is signed from now on. The JWKS serves the new key under the old kid.
func (l *LMS) ReplaceKey(priv *rsa.PrivateKey) error {
	sk, err := newSigningKey(priv)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.keys[len(l.keys)-1]
	sk.kid = cur.kid
	l.keys[len(l.keys)-1] = sk
	return nil
}

// applyIDTokenFaults changes the claims of an ID token per f.
func applyIDTokenFaults(f OIDCFaults, c map[string]any) {
	if f.Issuer != "" {
		c["iss"] = f.Issuer
	}
	if f.Subject != "" {
		c["sub"] = f.Subject
	}
	if f.OmitSub {
		delete(c, "sub")
	}
	if f.Audience != "" {
		c["aud"] = f.Audience
	}
	if f.OmitAud {
		delete(c, "aud")
	}
	if f.OmitIat {
		delete(c, "iat")
	}
	if f.Nonce != "" {
		c["nonce"] = f.Nonce
	}
	if f.InvalidAtHash {
		c["at_hash"] = atHash("not-the-access-token")
	}
}

// signIDToken signs an ID token (RS256) with the current key, honouring f's signature faults.
func (l *LMS) signIDToken(f OIDCFaults, claims map[string]any) (string, error) {
	key := l.currentKey()
	switch {
	case f.AlgNone:
		enc := func(v any) (string, error) {
			b, err := json.Marshal(v)
			if err != nil {
				return "", fmt.Errorf("%w: %w", ErrSign, err)
			}
			return base64.RawURLEncoding.EncodeToString(b), nil
		}
		h, err := enc(map[string]any{"alg": "none", "typ": "JWT"})
		if err != nil {
			return "", err
		}
		p, err := enc(claims)
		if err != nil {
			return "", err
		}
		return h + "." + p + ".", nil
	case f.OmitKid:
		return l.signWith(key, jwa.RS256, "", claims, nil)
	}
	s, err := l.sign(key, jwa.RS256, claims)
	if err != nil {
		return "", err
	}
	if f.InvalidSignature {
		s = corruptSignature(s)
	}
	return s, nil
}

// corruptSignature flips bits of the first signature byte of a compact JWS.
func corruptSignature(token string) string {
	i := len(token) - 1
	for i >= 0 && token[i] != '.' {
		i--
	}
	sig, err := base64.RawURLEncoding.DecodeString(token[i+1:])
	if err != nil || len(sig) == 0 {
		return token + "x"
	}
	sig[0] ^= 0xff
	return token[:i+1] + base64.RawURLEncoding.EncodeToString(sig)
}
