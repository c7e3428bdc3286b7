package backends

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"sync"
	"time"
)

// JWTClientSecret describes a client secret that is a JWT the client signs
// with ES256 (Apple's "client_secret": RFC 7523 client assertion shape).
type JWTClientSecret struct {
	// KeyID is the header kid (Apple: the key id).
	KeyID string
	// Issuer is iss (Apple: the team id).
	Issuer string
	// Subject is sub (the client id).
	Subject string
	// Audience is aud (Apple: https://appleid.apple.com).
	Audience string
	// PrivateKeyPEM is the P-256 private key, PKCS#8 PEM (Apple's .p8 file);
	// literal "\n" sequences are read as newlines, as settings often hold
	// them.
	PrivateKeyPEM string
	// TTL is each secret's lifetime (default one hour; at most 180 days).
	// A secret is reused until a tenth of its lifetime is left.
	TTL time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// ErrClientSecretKey is returned by NewJWTClientSecret for a private key
// that is not a PKCS#8 P-256 key (the key itself is never in the error).
var ErrClientSecretKey = errors.New("private key is not a PKCS#8 PEM P-256 (ES256) key")

// NewJWTClientSecret parses the key once and returns a
// ClientSecretFunc-shaped function that signs a secret and caches it until
// near its expiry. It is safe for concurrent use.
func NewJWTClientSecret(c JWTClientSecret) (func(ctx context.Context) (string, error), error) {
	raw := strings.ReplaceAll(c.PrivateKeyPEM, `\n`, "\n")
	block, _ := pem.Decode([]byte(strings.TrimSpace(raw)))
	if block == nil {
		return nil, ErrClientSecretKey
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	key, ok := parsed.(*ecdsa.PrivateKey)
	if err != nil || !ok || key.Curve != elliptic.P256() {
		return nil, ErrClientSecretKey
	}
	if c.TTL <= 0 {
		c.TTL = time.Hour
	}
	c.TTL = min(c.TTL, 180*24*time.Hour)
	if c.Now == nil {
		c.Now = time.Now
	}
	var (
		mu      sync.Mutex
		secret  string
		renewAt time.Time
	)
	return func(context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		now := c.Now()
		if secret != "" && now.Before(renewAt) {
			return secret, nil
		}
		s, err := signES256(key, c, now)
		if err != nil {
			return "", err
		}
		secret, renewAt = s, now.Add(c.TTL-c.TTL/10)
		return secret, nil
	}, nil
}

func signES256(key *ecdsa.PrivateKey, c JWTClientSecret, now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "ES256", "kid": c.KeyID, "typ": "JWT"})
	p, _ := json.Marshal(map[string]any{
		"iss": c.Issuer, "sub": c.Subject, "aud": c.Audience,
		"iat": now.Unix(), "exp": now.Add(c.TTL).Unix(),
	})
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
	sum := sha256.Sum256([]byte(signed))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		return "", err
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signed + "." + enc.EncodeToString(sig), nil
}
