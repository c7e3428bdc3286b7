package fieldcrypt_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/internal/fieldcrypt"
)

func mustKey(t testing.TB) []byte {
	t.Helper()
	k, err := fieldcrypt.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func mustRing(t testing.TB, keys ...[]byte) *fieldcrypt.Keyring {
	t.Helper()
	r, err := fieldcrypt.New(keys)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestSealOpenRoundTrip(t *testing.T) {
	r := mustRing(t, mustKey(t))
	ad := fieldcrypt.AD("edx-oauth2", "jsmith", "access_token")
	sealed, err := r.Seal([]byte(`"at-secret"`), ad)
	if err != nil {
		t.Fatal(err)
	}
	if !fieldcrypt.IsSealed(sealed) || strings.Contains(sealed, "at-secret") {
		t.Fatalf("sealed = %q; want the prefix and no plaintext", sealed)
	}
	if !strings.HasPrefix(sealed, fieldcrypt.Prefix+r.PrimaryID()+":") {
		t.Errorf("sealed %q does not name the primary key %q", sealed, r.PrimaryID())
	}
	again, _ := r.Seal([]byte(`"at-secret"`), ad)
	if again == sealed {
		t.Error("two seals of one value are equal; want a fresh nonce each time")
	}
	got, primary, err := r.Open(sealed, ad)
	if err != nil || string(got) != `"at-secret"` || !primary {
		t.Errorf("Open = %q, %v, %v; want the plaintext under the primary key", got, primary, err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newKey := mustKey(t), mustKey(t)
	old := mustRing(t, oldKey)
	rotated := mustRing(t, newKey, oldKey)
	ad := fieldcrypt.AD("p", "u", "refresh_token")
	sealedOld, _ := old.Seal([]byte("rt"), ad)
	got, primary, err := rotated.Open(sealedOld, ad)
	if err != nil || string(got) != "rt" || primary {
		t.Errorf("rotated ring opens the old value: %q, primary %v, %v; want rt, not primary", got, primary, err)
	}
	sealedNew, _ := rotated.Seal([]byte("rt"), ad)
	if _, _, err := old.Open(sealedNew, ad); !errors.Is(err, fieldcrypt.ErrUnknownKey) {
		t.Errorf("old ring on a value under the new key: %v; want ErrUnknownKey", err)
	}
	if rotated.PrimaryID() == old.PrimaryID() {
		t.Error("two keys share a key id")
	}
}

func TestTamperingRefused(t *testing.T) {
	r := mustRing(t, mustKey(t))
	ad := fieldcrypt.AD("edx-oauth2", "alice", "access_token")
	sealed, _ := r.Seal([]byte("token"), ad)
	kid, payload, err := fieldcrypt.Parse(sealed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range payload {
		p := bytes.Clone(payload)
		p[i] ^= 0x01
		flipped := fieldcrypt.Prefix + kid + ":" + base64.RawURLEncoding.EncodeToString(p)
		if _, _, err := r.Open(flipped, ad); !errors.Is(err, fieldcrypt.ErrAuth) {
			t.Fatalf("byte %d flipped: %v; want ErrAuth", i, err)
		}
	}
	for name, other := range map[string][]byte{
		"other uid":      fieldcrypt.AD("edx-oauth2", "bob", "access_token"),
		"other provider": fieldcrypt.AD("github", "alice", "access_token"),
		"other member":   fieldcrypt.AD("edx-oauth2", "alice", "refresh_token"),
		"shifted":        fieldcrypt.AD("edx-oauth2a", "lice", "access_token"),
	} {
		if _, _, err := r.Open(sealed, other); !errors.Is(err, fieldcrypt.ErrAuth) {
			t.Errorf("%s: %v; want ErrAuth", name, err)
		}
	}
	for _, bad := range []string{"", "enc:v1:", "enc:v1:abc:AAAA", fieldcrypt.Prefix + kid, fieldcrypt.Prefix + kid + ":", fieldcrypt.Prefix + kid + ":!!!", fieldcrypt.Prefix + kid + ":AAAA", "plain"} {
		if _, _, err := r.Open(bad, ad); !errors.Is(err, fieldcrypt.ErrMalformed) {
			t.Errorf("Open(%q) = %v; want ErrMalformed", bad, err)
		}
	}
}

func TestParseKeys(t *testing.T) {
	raw := bytes.Repeat([]byte{0xfb, 0xff, 0x01}, 11) // 33 bytes with + / - _ in base64
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		got, err := fieldcrypt.ParseKeys([]string{" " + enc.EncodeToString(raw) + "\n"})
		if err != nil || len(got) != 1 || !bytes.Equal(got[0], raw) {
			t.Errorf("ParseKeys(%q) = %x, %v; want %x", enc.EncodeToString(raw), got, err, raw)
		}
	}
	short := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 31))
	good := fieldcrypt.EncodeKey(mustKey(t))
	for name, items := range map[string][]string{
		"short":     {good, short},
		"not b64":   {"this is not base64 at all, not at all!!"},
		"empty":     {""},
		"bad pad":   {good + "=="},
		"spaces":    {good[:20] + " " + good[20:]},
		"truncated": {good[:40]},
	} {
		_, err := fieldcrypt.ParseKeys(items)
		if !errors.Is(err, fieldcrypt.ErrBadKey) {
			t.Errorf("%s: %v; want ErrBadKey", name, err)
			continue
		}
		for _, it := range items {
			if len(it) > 8 && strings.Contains(err.Error(), it) {
				t.Errorf("%s: error %q quotes the key", name, err)
			}
		}
	}
	if _, err := fieldcrypt.New([][]byte{bytes.Repeat([]byte{1}, 31)}); !errors.Is(err, fieldcrypt.ErrBadKey) {
		t.Errorf("New(31 bytes) = %v; want ErrBadKey", err)
	}
	k := mustKey(t)
	if _, err := fieldcrypt.New([][]byte{k, k}); !errors.Is(err, fieldcrypt.ErrBadKey) {
		t.Errorf("New(repeated key) = %v; want ErrBadKey", err)
	}
	if _, err := fieldcrypt.New(nil); !errors.Is(err, fieldcrypt.ErrBadKey) {
		t.Errorf("New(nil) = %v; want ErrBadKey", err)
	}
	file := "# socialauth keys\n" + fieldcrypt.EncodeKey(k) + "\n\n" + good + "\n"
	keys, err := fieldcrypt.ParseKeyFile([]byte(file))
	if err != nil || len(keys) != 2 || !bytes.Equal(keys[0], k) {
		t.Errorf("ParseKeyFile = %d keys, %v; want 2, the first one first", len(keys), err)
	}
	if _, err := fieldcrypt.ParseKeyFile([]byte("# nothing\n")); !errors.Is(err, fieldcrypt.ErrBadKey) {
		t.Errorf("ParseKeyFile(no key) = %v; want ErrBadKey", err)
	}
}

// FuzzOpen feeds arbitrary stored text to the decoder: it never panics, it
// opens only what it sealed, and errors are one of the package's kinds.
func FuzzOpen(f *testing.F) {
	k := bytes.Repeat([]byte{42}, 32)
	r, err := fieldcrypt.New([][]byte{k})
	if err != nil {
		f.Fatal(err)
	}
	ad := fieldcrypt.AD("p", "u", "access_token")
	sealed, _ := r.Seal([]byte("tok"), ad)
	for _, s := range []string{sealed, "enc:v1:", "enc:v1:AAAAAAAAAAA:AAAA", "enc:v1:" + r.PrimaryID() + ":" + strings.Repeat("A", 40), "plain", sealed[:len(sealed)-1]} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		pt, _, err := r.Open(s, ad)
		if err != nil {
			if !errors.Is(err, fieldcrypt.ErrMalformed) && !errors.Is(err, fieldcrypt.ErrUnknownKey) && !errors.Is(err, fieldcrypt.ErrAuth) {
				t.Fatalf("Open(%q): unexpected error kind %v", s, err)
			}
			return
		}
		if s != sealed && string(pt) != "tok" {
			t.Fatalf("Open(%q) = %q: forged a value", s, pt)
		}
	})
}

func BenchmarkSealOpen(b *testing.B) {
	r := mustRing(b, mustKey(b))
	ad := fieldcrypt.AD("edx-oauth2", "jsmith", "access_token")
	tok := []byte(`"` + strings.Repeat("x", 600) + `"`)
	b.ReportAllocs()
	for b.Loop() {
		s, err := r.Seal(tok, ad)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := r.Open(s, ad); err != nil {
			b.Fatal(err)
		}
	}
}
