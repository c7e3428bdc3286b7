package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/storage"
)

func openKeyed(t *testing.T, url string, keys ...[]byte) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.Context(), url, storage.Options{FieldKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.AutoMigrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReencryptAndDecrypt(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "c.db")
	oldKey, oldText, _ := storage.NewFieldKey()
	newKey, newText, _ := storage.NewFieldKey()
	before := openKeyed(t, url, oldKey)
	var ids []int64
	for _, uid := range []string{"a", "b", "c"} {
		u, err := before.CreateUser(ctx, map[string]any{"username": uid})
		if err != nil {
			t.Fatal(err)
		}
		sa, err := before.CreateSocialAuth(ctx, u.ID, "edx-oauth2", uid)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := before.UpdateExtraData(ctx, sa.ID, func(m map[string]any) (map[string]any, bool) {
			m["access_token"], m["refresh_token"] = uid+"-access", uid+"-refresh"
			return m, true
		}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, sa.ID)
	}
	keyFile := filepath.Join(dir, "keys")
	if err := os.WriteFile(keyFile, []byte("# new key first\n"+newText+"\n"+oldText+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := func(string) string { return "" }
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"-database-url", url, "-reencrypt", "-key-file", keyFile, "-batch", "2"}, env, &out, &errOut)
	if code != 0 {
		t.Fatalf("-reencrypt exit %d: %s", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || !strings.Contains(lines[0], "batch 1: 2 rows, 2 rewritten") || !strings.Contains(lines[1], "batch 2: 3 rows, 3 rewritten") || !strings.Contains(lines[2], "done: 3 rows, 3 rewritten, 0 unreadable") {
		t.Errorf("-reencrypt output:\n%s", out.String())
	}
	if strings.Contains(out.String()+errOut.String(), newText) || strings.Contains(out.String()+errOut.String(), "-access") {
		t.Error("the output quotes a key or a token")
	}
	after := openKeyed(t, url, newKey)
	for _, id := range ids {
		sa, err := after.GetSocialAuthByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if tok, err := sa.Token("access_token"); err != nil || tok != sa.UID+"-access" {
			t.Errorf("row %d with the new key alone: %q, %v", id, tok, err)
		}
	}

	// -decrypt with the keys from the environment, resumed after the first row.
	envKeys := func(k string) string {
		if k == storage.SettingFieldEncryptionKeys {
			return newText
		}
		return ""
	}
	out.Reset()
	code = run(ctx, []string{"-database-url", url, "-decrypt", "-after", "1"}, envKeys, &out, &errOut)
	if code != 0 || !strings.Contains(out.String(), "decrypt: done: 2 rows, 2 rewritten") {
		t.Fatalf("-decrypt exit %d, output %q, %s", code, out.String(), errOut.String())
	}
	var raw string
	if err := after.DB().Raw("SELECT extra_data FROM "+storage.TableSocialAuth+" WHERE id = ?", ids[2]).Row().Scan(&raw); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(raw, "c-access") {
		t.Errorf("after -decrypt the row holds %s; want plaintext", raw)
	}

	// A row no key opens: listed, exit 1.
	stranger, _, _ := storage.NewFieldKey()
	out.Reset()
	errOut.Reset()
	strangerFile := filepath.Join(dir, "stranger")
	_ = os.WriteFile(strangerFile, []byte(base64.StdEncoding.EncodeToString(stranger)+"\n"), 0o600)
	code = run(ctx, []string{"-database-url", url, "-reencrypt", "-key-file", strangerFile}, env, &out, &errOut)
	if code != 1 || !strings.Contains(errOut.String(), "no key decrypts") || !strings.Contains(out.String(), "1 unreadable") {
		t.Errorf("unreadable row: exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}
}

func TestReencryptBadKeys(t *testing.T) {
	dir := t.TempDir()
	url := "sqlite:" + filepath.Join(dir, "c.db")
	short := base64.StdEncoding.EncodeToString([]byte("only sixteen byt"))
	shortFile := filepath.Join(dir, "short")
	_ = os.WriteFile(shortFile, []byte(short+"\n"), 0o600)
	for name, tc := range map[string]struct {
		args []string
		env  string
		want string
	}{
		"no keys":     {[]string{"-reencrypt"}, "", storage.SettingFieldEncryptionKeys},
		"short file":  {[]string{"-reencrypt", "-key-file", shortFile}, "", "key 1"},
		"missing":     {[]string{"-decrypt", "-key-file", filepath.Join(dir, "absent")}, "", "-key-file"},
		"short env":   {[]string{"-decrypt"}, short, storage.SettingFieldEncryptionKeys},
		"both":        {[]string{"-decrypt", "-reencrypt"}, "", "exclude"},
		"zero batch":  {[]string{"-reencrypt", "-batch", "0"}, "", "-batch"},
		"negative id": {[]string{"-reencrypt", "-after", "-3"}, "", "-after"},
	} {
		var out, errOut bytes.Buffer
		env := func(k string) string {
			if k == storage.SettingFieldEncryptionKeys {
				return tc.env
			}
			return ""
		}
		code := run(context.Background(), append([]string{"-database-url", url}, tc.args...), env, &out, &errOut)
		if code != 2 || !strings.Contains(errOut.String(), tc.want) || strings.Contains(errOut.String(), short) {
			t.Errorf("%s: exit %d, stderr %q; want 2 naming %s without the key", name, code, errOut.String(), tc.want)
		}
	}
}
