package fakelms

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// ErrSign is wrapped by signing failures.
var ErrSign = errors.New("fakelms: signing failed")

// signingKey is one RSA key published twice in the JWKS: under kid with alg RS512 (access tokens)
// and under kid+"-rs256" with alg RS256 (ID tokens), so that verifiers that pin the algorithm from
// the JWK work for both.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func generateKey() (*rsa.PrivateKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("fakelms: generate RSA key: %w", err)
	}
	return k, nil
}

func newSigningKey(priv *rsa.PrivateKey) (*signingKey, error) {
	if priv == nil || priv.N == nil || priv.N.BitLen() < 2048 {
		return nil, fmt.Errorf("%w: RSA key must be at least 2048 bits", ErrInvalidOptions)
	}
	pub, err := jwk.FromRaw(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("fakelms: JWK from key: %w", err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("fakelms: JWK thumbprint: %w", err)
	}
	return &signingKey{kid: base64.RawURLEncoding.EncodeToString(tp[:12]), priv: priv}, nil
}

func (k *signingKey) idTokenKID() string { return k.kid + "-rs256" }

func (k *signingKey) publicJWKs() ([]jwk.Key, error) {
	var out []jwk.Key
	for _, e := range []struct {
		kid string
		alg jwa.SignatureAlgorithm
	}{{k.kid, jwa.RS512}, {k.idTokenKID(), jwa.RS256}} {
		j, err := jwk.FromRaw(&k.priv.PublicKey)
		if err != nil {
			return nil, err
		}
		for name, v := range map[string]any{jwk.KeyIDKey: e.kid, jwk.AlgorithmKey: e.alg, jwk.KeyUsageKey: "sig"} {
			if err := j.Set(name, v); err != nil {
				return nil, err
			}
		}
		out = append(out, j)
	}
	return out, nil
}

func (l *LMS) currentKey() *signingKey {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.keys[len(l.keys)-1]
}

// RotateKey makes a freshly generated 2048-bit RSA key the signing key and returns its kid (the RS512
// one; the RS256 entry is kid+"-rs256"). Old keys stay in the JWKS until DropOldKeys. It returns ""
// if key generation fails (it does not, short of a broken crypto/rand).
func (l *LMS) RotateKey() (kid string) {
	priv, err := generateKey()
	if err != nil {
		l.log.Error("fakelms: rotate key", "err", err)
		return ""
	}
	kid, err = l.RotateKeyWith(priv)
	if err != nil {
		l.log.Error("fakelms: rotate key", "err", err)
		return ""
	}
	return kid
}

// RotateKeyWith is RotateKey with a caller-supplied key (at least 2048 bits), to skip generation.
func (l *LMS) RotateKeyWith(priv *rsa.PrivateKey) (kid string, err error) {
	sk, err := newSigningKey(priv)
	if err != nil {
		return "", err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	// Re-adding a key already present moves it to the end instead of duplicating its kid.
	keys := l.keys[:0:0]
	for _, k := range l.keys {
		if k.kid != sk.kid {
			keys = append(keys, k)
		}
	}
	l.keys = append(keys, sk)
	return sk.kid, nil
}

// DropOldKeys removes every key but the current one from the JWKS.
func (l *LMS) DropOldKeys() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.keys = []*signingKey{l.keys[len(l.keys)-1]}
}

// KeyID is the kid of the current RS512 signing key.
func (l *LMS) KeyID() string { return l.currentKey().kid }

// PublicKeyPEM is the current public key as a PKIX "PUBLIC KEY" PEM block, e.g. to forge an HS256
// token keyed with it (the algorithm-confusion attack).
func (l *LMS) PublicKeyPEM() []byte {
	der, err := x509.MarshalPKIXPublicKey(&l.currentKey().priv.PublicKey)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// PublicKey is the current RSA public key.
func (l *LMS) PublicKey() *rsa.PublicKey { return &l.currentKey().priv.PublicKey }

// SignAccessToken signs claims as given with the current key (RS512, kid and typ "JWT" in the
// header), for forging tokens in tests. It returns "" if the claims cannot be encoded as JSON.
func (l *LMS) SignAccessToken(claims map[string]any) string {
	s, err := l.sign(l.currentKey(), jwa.RS512, claims)
	if err != nil {
		l.log.Error("fakelms: SignAccessToken", "err", err)
		return ""
	}
	return s
}

// SignJWT signs claims with the current key using alg (RS256, RS384 or RS512) and extra protected
// headers (which may override kid and typ).
func (l *LMS) SignJWT(alg jwa.SignatureAlgorithm, claims map[string]any, headers map[string]any) (string, error) {
	switch alg {
	case jwa.RS256, jwa.RS384, jwa.RS512:
	default:
		return "", fmt.Errorf("%w: unsupported alg %q", ErrSign, alg)
	}
	return l.signWith(l.currentKey(), alg, l.currentKey().kid, claims, headers)
}

func (l *LMS) sign(k *signingKey, alg jwa.SignatureAlgorithm, claims map[string]any) (string, error) {
	kid := k.kid
	if alg == jwa.RS256 {
		kid = k.idTokenKID()
	}
	return l.signWith(k, alg, kid, claims, nil)
}

// signWith signs claims with k under alg; an empty kid leaves the kid header out.
func (l *LMS) signWith(k *signingKey, alg jwa.SignatureAlgorithm, kid string, claims, headers map[string]any) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("%w: encode claims: %w", ErrSign, err)
	}
	h := jws.NewHeaders()
	if kid != "" {
		if err := h.Set(jws.KeyIDKey, kid); err != nil {
			return "", fmt.Errorf("%w: %w", ErrSign, err)
		}
	}
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		return "", fmt.Errorf("%w: %w", ErrSign, err)
	}
	for name, v := range headers {
		if err := h.Set(name, v); err != nil {
			return "", fmt.Errorf("%w: header %q: %w", ErrSign, name, err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, k.priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrSign, err)
	}
	return string(out), nil
}

// jwks serves GET /oauth2/jwks.json.
func (l *LMS) jwks(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	keys := append([]*signingKey(nil), l.keys...)
	l.mu.Unlock()
	set := jwk.NewSet()
	for _, k := range keys {
		pubs, err := k.publicJWKs()
		if err != nil {
			l.log.Error("fakelms: jwks", "err", err)
			writeOAuthError(w, http.StatusInternalServerError, "server_error", "cannot encode keys")
			return
		}
		if l.opts.OIDC {
			pubs = pubs[1:] // the RS256 entry only: one JWK per key
		}
		for _, p := range pubs {
			if err := set.AddKey(p); err != nil {
				writeOAuthError(w, http.StatusInternalServerError, "server_error", "cannot encode keys")
				return
			}
		}
	}
	writeJSON(w, http.StatusOK, set)
}
