// Package fieldcrypt seals single values (the provider tokens kept in an
// association's extra_data) with AES-256-GCM under a list of keys: the first
// key seals, every key opens, so keys can be rotated.
//
// A sealed value is text:
//
//	enc:v1:<kid>:<base64url(nonce | ciphertext+tag)>
//
// where kid is derived from the key (HKDF-SHA256), so keys need no names and
// a value names the key that opens it without revealing anything about it.
// The AES key is another HKDF derivation of the configured key. Associated
// data binds a value to where it is stored (see AD): a ciphertext copied to
// another row or member does not open.
package fieldcrypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Prefix starts every sealed value.
const Prefix = "enc:v1:"

// MinKeyLen is the shortest key accepted, in bytes.
const MinKeyLen = 32

// maxKeyLen bounds a key, so a pasted file is not taken for one.
const maxKeyLen = 1024

// kidLen is the length of a key id in bytes (base64url: 11 characters).
const kidLen = 8

// HKDF info strings: one derivation per purpose.
const (
	infoKID = "socialauth fieldcrypt v1 key id"
	infoAES = "socialauth fieldcrypt v1 aes-256-gcm"
)

// Errors of Open, to match with errors.Is. None of them carries the value
// or a key.
var (
	// ErrMalformed: the value starts with Prefix but is not a well-formed
	// sealed value.
	ErrMalformed = errors.New("fieldcrypt: malformed sealed value")
	// ErrUnknownKey: no configured key has the value's key id.
	ErrUnknownKey = errors.New("fieldcrypt: sealed with an unknown key")
	// ErrAuth: the key is known but the value does not open: tampered, or
	// copied from another row or member.
	ErrAuth = errors.New("fieldcrypt: sealed value failed authentication")
	// ErrBadKey: a configured key is malformed or too short.
	ErrBadKey = errors.New("fieldcrypt: bad key")
)

type key struct {
	id   string
	aead cipher.AEAD
}

// Keyring seals under its first key and opens with any of them. It is safe
// for concurrent use.
type Keyring struct {
	keys []key
}

// New builds a Keyring from raw keys (each at least MinKeyLen bytes; the
// first one seals). An empty list is an error: no keys means no Keyring.
func New(raw [][]byte) (*Keyring, error) {
	if len(raw) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrBadKey)
	}
	k := &Keyring{keys: make([]key, 0, len(raw))}
	for i, secret := range raw {
		if len(secret) < MinKeyLen {
			return nil, fmt.Errorf("%w: key %d has %d bytes, want at least %d", ErrBadKey, i+1, len(secret), MinKeyLen)
		}
		if len(secret) > maxKeyLen {
			return nil, fmt.Errorf("%w: key %d has more than %d bytes", ErrBadKey, i+1, maxKeyLen)
		}
		id, err := hkdf.Key(sha256.New, secret, nil, infoKID, kidLen)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrBadKey, i+1, err)
		}
		aesKey, err := hkdf.Key(sha256.New, secret, nil, infoAES, 32)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrBadKey, i+1, err)
		}
		block, err := aes.NewCipher(aesKey)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrBadKey, i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d: %v", ErrBadKey, i+1, err)
		}
		kid := base64.RawURLEncoding.EncodeToString(id)
		for j, prev := range k.keys {
			if prev.id == kid {
				return nil, fmt.Errorf("%w: key %d repeats key %d", ErrBadKey, i+1, j+1)
			}
		}
		k.keys = append(k.keys, key{id: kid, aead: aead})
	}
	return k, nil
}

// PrimaryID is the key id of the sealing key (safe to log).
func (k *Keyring) PrimaryID() string { return k.keys[0].id }

// Seal encrypts plaintext under the first key, bound to ad.
func (k *Keyring) Seal(plaintext, ad []byte) (string, error) {
	p := k.keys[0]
	nonceSize := p.aead.NonceSize()
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+p.aead.Overhead())
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	buf = p.aead.Seal(buf, buf[:nonceSize], plaintext, ad)
	head := len(Prefix) + len(p.id) + 1
	out := make([]byte, head+base64.RawURLEncoding.EncodedLen(len(buf)))
	copy(out[copy(out, Prefix):], p.id)
	out[head-1] = ':'
	base64.RawURLEncoding.Encode(out[head:], buf)
	return string(out), nil
}

// Open decrypts a sealed value with the key it names, checking ad.
// primary reports whether that key is the first one (a value sealed under
// an older key is worth re-sealing).
func (k *Keyring) Open(sealed string, ad []byte) (plaintext []byte, primary bool, err error) {
	kid, payload, err := Parse(sealed)
	if err != nil {
		return nil, false, err
	}
	for i := range k.keys {
		if k.keys[i].id != kid {
			continue
		}
		a := k.keys[i].aead
		if len(payload) < a.NonceSize()+a.Overhead() {
			return nil, false, ErrMalformed
		}
		n := a.NonceSize()
		// payload is this call's own copy: decrypt in place.
		out, err := a.Open(payload[n:n], payload[:n], payload[n:], ad)
		if err != nil {
			return nil, false, ErrAuth
		}
		return out, i == 0, nil
	}
	return nil, false, ErrUnknownKey
}

// IsSealed reports whether s has the form of a sealed value (its prefix).
func IsSealed(s string) bool { return strings.HasPrefix(s, Prefix) }

// Parse splits a sealed value into its key id and its decoded payload
// (nonce, ciphertext and tag), without any key. Anything not of the form
// Prefix + kid + ":" + base64url is ErrMalformed.
func Parse(sealed string) (kid string, payload []byte, err error) {
	rest, ok := strings.CutPrefix(sealed, Prefix)
	if !ok {
		return "", nil, ErrMalformed
	}
	kid, enc, ok := strings.Cut(rest, ":")
	if !ok || len(kid) != base64.RawURLEncoding.EncodedLen(kidLen) {
		return "", nil, ErrMalformed
	}
	if _, err := base64.RawURLEncoding.Strict().DecodeString(kid); err != nil {
		return "", nil, ErrMalformed
	}
	payload, err = base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(payload) == 0 {
		return "", nil, ErrMalformed
	}
	return kid, payload, nil
}

// AD is the associated data of one stored member: the association's
// provider and uid and the member's name, each length-prefixed so that no
// two different triples give the same bytes.
func AD(provider, uid, member string) []byte {
	b := make([]byte, 0, 3*binary.MaxVarintLen64+len(provider)+len(uid)+len(member))
	for _, s := range [...]string{provider, uid, member} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return b
}

// ParseKeys decodes keys given as text, one per item: standard or URL-safe
// base64, padded or not, of at least MinKeyLen bytes. Surrounding blanks are
// ignored; empty items are errors. An error names the item by position,
// never its value.
func ParseKeys(items []string) ([][]byte, error) {
	out := make([][]byte, 0, len(items))
	for i, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("%w: key %d is empty", ErrBadKey, i+1)
		}
		b, err := decodeKey(item)
		if err != nil {
			return nil, fmt.Errorf("%w: key %d is not base64 or base64url", ErrBadKey, i+1)
		}
		if len(b) < MinKeyLen {
			return nil, fmt.Errorf("%w: key %d decodes to %d bytes, want at least %d (e.g. openssl rand -base64 32)", ErrBadKey, i+1, len(b), MinKeyLen)
		}
		out = append(out, b)
	}
	return out, nil
}

// ParseKeyFile decodes the keys of a key file: one key per line (see
// ParseKeys), blank lines and lines starting with # ignored.
func ParseKeyFile(data []byte) ([][]byte, error) {
	var items []string
	for line := range strings.SplitSeq(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		items = append(items, line)
	}
	if len(items) == 0 {
		return nil, fmt.Errorf("%w: the key file holds no key", ErrBadKey)
	}
	return ParseKeys(items)
}

func decodeKey(s string) ([]byte, error) {
	var firstErr error
	for _, enc := range [...]*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		b, err := enc.Strict().DecodeString(s)
		if err == nil {
			return b, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return nil, firstErr
}

// EncodeKey is the text form of a raw key (base64url, unpadded), as
// ParseKeys reads it.
func EncodeKey(raw []byte) string { return base64.RawURLEncoding.EncodeToString(raw) }

// NewKey returns a fresh random key of MinKeyLen bytes.
func NewKey() ([]byte, error) {
	b := make([]byte, MinKeyLen)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	return b, nil
}
