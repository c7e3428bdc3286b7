package main

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/socialauth-go/socialauth/storage"
)

// EnvFieldKeyFile overrides where the demo keeps its field encryption key
// when SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS is not set.
const EnvFieldKeyFile = "FIELD_ENCRYPTION_KEY_FILE"

// defaultFieldKeyFile is the demo's key file, in its working directory.
const defaultFieldKeyFile = "demo-field-encryption.key"

// fieldKeySetting decides how the demo encrypts the provider tokens it
// stores: with SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS (or FIELD_ENCRYPTION_KEYS)
// set, the library reads it and the demo adds nothing (""); set to nothing,
// it is an error, since the demo never stores a token in plaintext; unset,
// the demo uses its key file (EnvFieldKeyFile, default
// demo-field-encryption.key), creating it on first run, and returns the
// key file's keys as the setting's value.
func fieldKeySetting(lookupEnv func(string) (string, bool), logger *slog.Logger) (string, error) {
	for _, k := range []string{storage.SettingFieldEncryptionKeys, "FIELD_ENCRYPTION_KEYS"} {
		if v, ok := lookupEnv(k); ok {
			if strings.TrimSpace(v) == "" || strings.TrimSpace(v) == "[]" {
				return "", fmt.Errorf("%s: is empty: the demo stores provider tokens encrypted (unset it to use the key file %s)", k, defaultFieldKeyFile)
			}
			return "", nil
		}
	}
	path := defaultFieldKeyFile
	if v, ok := lookupEnv(EnvFieldKeyFile); ok {
		if strings.TrimSpace(v) == "" {
			return "", fmt.Errorf("%s: is empty", EnvFieldKeyFile)
		}
		path = v
	}
	created, err := ensureKeyFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvFieldKeyFile, err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvFieldKeyFile, err)
	}
	keys, err := storage.ParseFieldKeyFile(data)
	if err != nil {
		return "", fmt.Errorf("%s: %s: %w", EnvFieldKeyFile, path, err)
	}
	if info, err := os.Stat(path); err == nil && info.Mode().Perm()&0o077 != 0 {
		logger.Warn("demo: the field encryption key file is readable by others; chmod 600 it", "path", path, "mode", info.Mode().Perm().String())
	}
	msg := "demo: provider tokens are stored encrypted with the key file"
	if created {
		msg = "demo: created the field encryption key file; provider tokens are stored encrypted with it"
	}
	logger.Info(msg, "path", path, "keys", len(keys))
	items := make([]string, 0, len(keys))
	for line := range strings.SplitSeq(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			items = append(items, line)
		}
	}
	return strings.Join(items, ","), nil
}

// ensureKeyFile creates the key file at path with a fresh key, mode 0600,
// unless it exists. The key is written to a temporary file that is then
// linked to path, so the file appears whole or not at all and, of two
// instances starting at once, one creates it and both use that one.
func ensureKeyFile(path string) (created bool, err error) {
	if _, err := os.Stat(path); err == nil {
		return false, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return false, err
	}
	_, text, err := storage.NewFieldKey()
	if err != nil {
		return false, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".field-key-*")
	if err != nil {
		return false, err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return false, err
	}
	content := "# socialauth demo: field encryption key (SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS). Losing it loses the stored provider tokens.\n" + text + "\n"
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return false, err
	}
	if err := tmp.Close(); err != nil {
		return false, err
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return false, nil // another instance made it first
		}
		return false, err
	}
	return true, nil
}
