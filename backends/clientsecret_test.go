package backends_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/backends"
)

func p8(t *testing.T, key any) string {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
}

// A secret is reused until a tenth of its lifetime is left, then renewed.
func TestJWTClientSecretRenewal(t *testing.T) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	now := time.Unix(1_700_000_000, 0)
	secret, err := backends.NewJWTClientSecret(backends.JWTClientSecret{KeyID: "k", Issuer: "team", Subject: "client",
		Audience: "https://appleid.apple.com", PrivateKeyPEM: p8(t, k), TTL: time.Hour, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := secret(t.Context())
	now = now.Add(53 * time.Minute)
	if again, _ := secret(t.Context()); again != first {
		t.Error("renewed too early")
	}
	now = now.Add(2 * time.Minute)
	if later, _ := secret(t.Context()); later == first {
		t.Error("not renewed near expiry")
	}
}

func TestJWTClientSecretRefusesOtherKeys(t *testing.T) {
	rk, _ := rsa.GenerateKey(rand.Reader, 1024)
	pk, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for name, pemText := range map[string]string{"garbage": "x", "rsa": p8(t, rk), "p384": p8(t, pk)} {
		if _, err := backends.NewJWTClientSecret(backends.JWTClientSecret{PrivateKeyPEM: pemText}); !errors.Is(err, backends.ErrClientSecretKey) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}
