package storage

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"sync"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/fieldcrypt"
	"github.com/socialauth-go/socialauth/settings"
)

// ErrBadFieldKey is wrapped by the error for a field encryption key that
// is malformed or shorter than MinFieldKeyLen bytes (ParseFieldKeys, New,
// Open). The error names the key by position, never its value.
var ErrBadFieldKey = fieldcrypt.ErrBadKey

// MinFieldKeyLen is the shortest field encryption key, in bytes.
const MinFieldKeyLen = fieldcrypt.MinKeyLen

// ParseFieldKeys decodes field encryption keys written as text (the
// SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS setting, one item per key): each the
// standard or URL-safe base64 encoding, padded or not, of at least
// MinFieldKeyLen random bytes (openssl rand -base64 32). It checks them as
// Options.FieldKeys would, so a bad key is caught where it is read. The
// error wraps ErrBadFieldKey and names the key by position only.
func ParseFieldKeys(items []string) ([][]byte, error) {
	keys, err := fieldcrypt.ParseKeys(items)
	if err != nil {
		return nil, err
	}
	if len(keys) > 0 {
		if _, err := fieldcrypt.New(keys); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// ParseFieldKeyFile decodes a key file: one key per line as ParseFieldKeys
// reads them, blank lines and lines starting with # ignored; the first key
// encrypts.
func ParseFieldKeyFile(data []byte) ([][]byte, error) {
	keys, err := fieldcrypt.ParseKeyFile(data)
	if err != nil {
		return nil, err
	}
	if _, err := fieldcrypt.New(keys); err != nil {
		return nil, err
	}
	return keys, nil
}

// NewFieldKey returns a fresh random field encryption key and its text
// form (as ParseFieldKeys reads it).
func NewFieldKey() (raw []byte, text string, err error) {
	raw, err = fieldcrypt.NewKey()
	if err != nil {
		return nil, "", err
	}
	return raw, fieldcrypt.EncodeKey(raw), nil
}

// fieldCrypt is the Store's view of field encryption: which members of
// extra_data are secret and, when keys are configured, the keyring.
type fieldCrypt struct {
	ring    *fieldcrypt.Keyring // nil: secret members are written as given
	secrets []string
	// memo remembers, inside one transaction, the strings decrypted: a
	// sign-in reads the association, then updates it, and the update need
	// not decrypt the same values again. nil outside a transaction.
	memo *openMemo
}

// openMemo maps a sealed value and its associated data to its plaintext
// string, for the life of one transaction.
type openMemo struct {
	mu sync.Mutex
	m  map[string]string
}

func (o *openMemo) key(sealed string, ad []byte) string { return string(ad) + "\x00" + sealed }

// inTx returns the fieldCrypt of a transaction: the same keys and members,
// with a memo of its own.
func (fc *fieldCrypt) inTx() *fieldCrypt {
	if fc.ring == nil {
		return fc
	}
	c := *fc
	c.memo = &openMemo{}
	return &c
}

func newFieldCrypt(keys [][]byte, more []string) (*fieldCrypt, error) {
	fc := &fieldCrypt{secrets: socialauth.DefaultSecretMembers()}
	for _, m := range more {
		if m != "" && !contains(fc.secrets, m) {
			fc.secrets = append(fc.secrets, m)
		}
	}
	if len(keys) > 0 {
		ring, err := fieldcrypt.New(keys)
		if err != nil {
			return nil, fmt.Errorf("storage: FieldKeys: %w", err)
		}
		fc.ring = ring
	}
	return fc, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// errNoFieldKeys is the cause when a value is stored encrypted but the
// Store has no key at all.
var errNoFieldKeys = fmt.Errorf("%w: no field encryption key is configured", fieldcrypt.ErrUnknownKey)

// open decrypts, in place, the secret members of m, the extra data of the
// association (id, provider, uid). A member stored in plaintext (written
// before encryption was turned on) is left as it is. A member that does not
// decrypt is removed from m: its stored value goes to kept (so that a write
// that does not replace it keeps it) and its typed error to bad.
func (fc *fieldCrypt) open(id int64, provider, uid string, m map[string]any) (kept map[string]any, bad map[string]error) {
	for _, name := range fc.secrets {
		s, ok := m[name].(string)
		if !ok || !fieldcrypt.IsSealed(s) {
			continue
		}
		v, err := fc.openValue(provider, uid, name, s)
		if err == nil {
			m[name] = v
			continue
		}
		delete(m, name)
		if kept == nil {
			kept, bad = map[string]any{}, map[string]error{}
		}
		kept[name] = s
		bad[name] = &socialauth.Error{Code: socialauth.CodeFieldEncryption, Backend: provider,
			Msg: fmt.Sprintf("extra_data %s of association %d", name, id), Err: err}
	}
	return kept, bad
}

// openValue decrypts one sealed member back to its JSON value.
func (fc *fieldCrypt) openValue(provider, uid, name, sealed string) (any, error) {
	if fc.ring == nil {
		return nil, errNoFieldKeys
	}
	ad := fieldcrypt.AD(provider, uid, name)
	if fc.memo != nil {
		fc.memo.mu.Lock()
		v, ok := fc.memo.m[fc.memo.key(sealed, ad)]
		fc.memo.mu.Unlock()
		if ok {
			return v, nil
		}
	}
	pt, _, err := fc.ring.Open(sealed, ad)
	if err != nil {
		return nil, err
	}
	if len(pt) > 0 {
		switch pt[0] {
		case plainString:
			v := string(pt[1:])
			if fc.memo != nil {
				fc.memo.mu.Lock()
				if fc.memo.m == nil {
					fc.memo.m = map[string]string{}
				}
				fc.memo.m[fc.memo.key(sealed, ad)] = v
				fc.memo.mu.Unlock()
			}
			return v, nil
		case plainJSON:
			if v, err := decodeValue(pt[1:]); err == nil {
				return v, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: not a stored value", fieldcrypt.ErrMalformed)
}

// The first byte of a sealed plaintext says how the rest encodes the
// member's value: a string as its bytes (the tokens: no JSON to parse on
// each read), anything else as JSON.
const (
	plainString = 's'
	plainJSON   = 'j'
)

// decodeValue decodes one JSON value, numbers as json.Number (as the
// column is read).
func decodeValue(b []byte) (any, error) {
	wrapped := make([]byte, 0, len(b)+6)
	wrapped = append(append(append(wrapped, `{"v":`...), b...), '}')
	m, err := decodeObject(wrapped)
	if err != nil {
		return nil, err
	}
	v, ok := m["v"]
	if !ok || len(m) != 1 {
		return nil, errors.New("storage: not one JSON value")
	}
	return v, nil
}

// reveal decrypts sa's extra data in place and records what does not
// decrypt in sa.Unreadable. It returns sa.
func (fc *fieldCrypt) reveal(sa *socialauth.UserSocialAuth) *socialauth.UserSocialAuth {
	if sa != nil {
		_, sa.Unreadable = fc.open(sa.ID, sa.Provider, sa.UID, sa.ExtraData)
	}
	return sa
}

// marshal encodes extra data for the column: with keys, every secret
// member (other than null and "") sealed under the first key and bound to
// the association; then each member of kept that m does not set, as
// stored. m is not modified. sealed lists the members it sealed.
func (fc *fieldCrypt) marshal(provider, uid string, m, kept map[string]any) (b []byte, sealed []string, err error) {
	if fc.ring == nil && len(kept) == 0 {
		b, err = marshalExtra(m)
		return b, nil, err
	}
	out := maps.Clone(m)
	if out == nil {
		out = map[string]any{}
	}
	if fc.ring != nil {
		for _, name := range fc.secrets {
			v, ok := out[name]
			if !ok || v == nil || v == "" {
				continue
			}
			s, err := fc.sealValue(provider, uid, name, v)
			if err != nil {
				return nil, nil, err
			}
			out[name] = s
			sealed = append(sealed, name)
		}
	}
	for name, v := range kept {
		if _, set := out[name]; !set {
			out[name] = v
		}
	}
	b, err = marshalExtra(out)
	return b, sealed, err
}

// revealWritten is reveal for the row UpdateExtraData has just written
// from the plaintext m, without decrypting again: the members it sealed
// are read back from their plaintext (decoded from m's JSON, as a read
// would give them); the kept ones are unreadable, as before the write.
func (fc *fieldCrypt) revealWritten(sa *socialauth.UserSocialAuth, m map[string]any, sealed []string, bad map[string]error) error {
	for _, name := range sealed {
		v := m[name]
		if _, isString := v.(string); !isString {
			b, err := json.Marshal(v)
			if err != nil {
				return fmt.Errorf("storage: extra data is not JSON-safe: %w", err)
			}
			if v, err = decodeValue(b); err != nil {
				return err
			}
		}
		sa.ExtraData[name] = v
	}
	for name, err := range bad {
		if _, set := m[name]; set {
			continue
		}
		delete(sa.ExtraData, name)
		if sa.Unreadable == nil {
			sa.Unreadable = map[string]error{}
		}
		sa.Unreadable[name] = err
	}
	return nil
}

func (fc *fieldCrypt) sealValue(provider, uid, name string, v any) (string, error) {
	var pt []byte
	if str, ok := v.(string); ok {
		pt = append(append(make([]byte, 0, 1+len(str)), plainString), str...)
	} else {
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("storage: extra data is not JSON-safe: %w", err)
		}
		pt = append([]byte{plainJSON}, b...)
	}
	return fc.ring.Seal(pt, fieldcrypt.AD(provider, uid, name))
}

// SettingFieldEncryptionKeys is the setting that turns field encryption on:
// a list of keys (comma-separated, or a JSON array of strings), each as
// ParseFieldKeys reads it; the first one encrypts.
const SettingFieldEncryptionKeys = "SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS"

// FieldKeysFrom reads SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS (or
// FIELD_ENCRYPTION_KEYS) once, at start-up, for Options.FieldKeys. set
// reports whether the setting is set at all (an empty list is set: to no
// key). A malformed or short key is a *socialauth.Error with
// CodeImproperlyConfigured naming the setting, never the value.
func FieldKeysFrom(s *settings.Settings) (keys [][]byte, set bool, err error) {
	const name = "FIELD_ENCRYPTION_KEYS"
	r := s.Reader("")
	if !r.IsSet(name) {
		return nil, false, nil
	}
	items := r.StringList(name, nil)
	if err := r.Err(); err != nil {
		return nil, true, &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Err: err}
	}
	keys, err = ParseFieldKeys(items)
	if err != nil {
		return nil, true, &socialauth.Error{Code: socialauth.CodeImproperlyConfigured,
			Err: &settings.InvalidError{Key: r.Key(name), Reason: strings.TrimPrefix(err.Error(), "fieldcrypt: ")}}
	}
	return keys, true, nil
}
