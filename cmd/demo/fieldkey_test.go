package main

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil"
)

// TestDemoEncryptsTokens: with no setting, the demo creates its key file
// (mode 0600, logged without the key) and its database, on every kind,
// never holds a provider token in plaintext; a restart uses the same key.
func TestDemoEncryptsTokens(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			dbURL := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
			if target.Name != dbtest.SQLite {
				dbURL = dbtest.Fresh(t, target)
			}
			keyFile := filepath.Join(t.TempDir(), "demo-field-encryption.key")
			env := map[string]string{EnvDatabaseURL: dbURL, EnvFieldKeyFile: keyFile}
			d := startDemo(t, env)
			info, err := os.Stat(keyFile)
			if err != nil {
				t.Fatalf("key file: %v", err)
			}
			if info.Mode().Perm() != 0o600 {
				t.Errorf("key file mode %v; want 0600", info.Mode().Perm())
			}
			b := newBrowser(t)
			b.signIn(d.BaseURL, "alice")
			if status, _ := b.me(d.BaseURL); status != 200 {
				t.Fatalf("sign-in failed: /me = %d", status)
			}
			store := openDemoStore(t, dbURL, keyFile)
			socials, err := store.GetSocialAuthsForUser(t.Context(), "1", "", 0)
			if err != nil || len(socials) != 1 {
				t.Fatalf("associations: %v, %v", socials, err)
			}
			var raw string
			if err := store.DB().Raw("SELECT extra_data FROM "+storage.TableSocialAuth+" WHERE id = ?", socials[0].ID).Row().Scan(&raw); err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"access_token", "refresh_token"} {
				tok, err := socials[0].Token(name)
				if err != nil || len(tok) < 16 {
					t.Fatalf("%s = %q, %v", name, tok, err)
				}
				if strings.Contains(raw, tok) {
					t.Errorf("the demo's database holds the %s in plaintext", name)
				}
			}
			logs := d.logs.String()
			if strings.Count(logs, "created the field encryption key file") != 1 || !strings.Contains(logs, keyFile) {
				t.Errorf("the key file's creation is not logged once with its path:\n%s", logs)
			}
			data, _ := os.ReadFile(keyFile)
			for _, line := range strings.Split(string(data), "\n") {
				if line != "" && !strings.HasPrefix(line, "#") && strings.Contains(logs+d.stdout.String(), line) {
					t.Error("the key reached the logs")
				}
			}

			// A second instance (or a restart) uses the same key file: it
			// reads what the first one wrote.
			d2 := startDemo(t, map[string]string{EnvDatabaseURL: dbURL, EnvFieldKeyFile: keyFile})
			if strings.Contains(d2.logs.String(), "created the field encryption key file") {
				t.Error("the second instance made a new key file")
			}
			b2 := newBrowser(t)
			b2.signIn(d2.BaseURL, "alice")
			sa, err := store.GetSocialAuthByID(t.Context(), socials[0].ID)
			if err != nil || sa.Unreadable != nil || sa.AccessToken() == socials[0].AccessToken() {
				t.Errorf("after a sign-in at the second instance: %v, unreadable %v", err, sa.Unreadable)
			}
		})
	}
}

// TestFieldKeyFileRace: instances starting at once agree on one key.
func TestFieldKeyFileRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.key")
	env := envMap(map[string]string{EnvFieldKeyFile: path})
	logs := &testutil.LogBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, nil))
	const n = 8
	got := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = fieldKeySetting(env, logger)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || got[i] == "" || got[i] != got[0] {
			t.Fatalf("instance %d: %q, %v; want the same key as instance 0", i, got[i], errs[i])
		}
	}
	if c := strings.Count(logs.String(), "created the field encryption key file"); c != 1 {
		t.Errorf("%d instances say they created the key file; want 1", c)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("the key directory holds %d files; want only the key file (no temporary left)", len(entries))
	}
}

// TestFieldKeySettings: the setting wins over the key file; set to nothing
// it stops the demo; a bad key file stops it naming the variable.
func TestFieldKeySettings(t *testing.T) {
	dir := t.TempDir()
	logger := slog.New(slog.DiscardHandler)
	_, key, _ := storage.NewFieldKey()
	v, err := fieldKeySetting(envMap(map[string]string{storage.SettingFieldEncryptionKeys: key, EnvFieldKeyFile: filepath.Join(dir, "unused")}), logger)
	if v != "" || err != nil {
		t.Errorf("with the setting: %q, %v; want the library to read it", v, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused")); err == nil {
		t.Error("a key file was made although the setting is set")
	}
	for _, empty := range []string{"", " ", "[]"} {
		if _, err := fieldKeySetting(envMap(map[string]string{storage.SettingFieldEncryptionKeys: empty}), logger); err == nil || !strings.Contains(err.Error(), storage.SettingFieldEncryptionKeys) {
			t.Errorf("setting %q: %v; want an error naming it", empty, err)
		}
	}
	bad := filepath.Join(dir, "bad.key")
	_ = os.WriteFile(bad, []byte("c2hvcnQ=\n"), 0o600)
	var buf bytes.Buffer
	if _, err := fieldKeySetting(envMap(map[string]string{EnvFieldKeyFile: bad}), slog.New(slog.NewTextHandler(&buf, nil))); err == nil || !strings.Contains(err.Error(), EnvFieldKeyFile) || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Errorf("short key file: %v; want an error naming %s without the key", err, EnvFieldKeyFile)
	}
	// Through the demo: a short key in the setting stops the start-up.
	d := map[string]string{storage.SettingFieldEncryptionKeys: "c2hvcnQ=", EnvDatabaseURL: "sqlite:" + filepath.Join(dir, "d.db")}
	err = run(t.Context(), []string{"-addr", "127.0.0.1:0", "-lms-addr", "127.0.0.1:0"}, envMap(d), &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), storage.SettingFieldEncryptionKeys) || strings.Contains(err.Error(), "c2hvcnQ") {
		t.Errorf("short key setting: %v; want a start-up error naming it", err)
	}
}
