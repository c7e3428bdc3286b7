package storage_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/storagetest"
)

func newFieldKey(t testing.TB) []byte {
	t.Helper()
	k, _, err := storage.NewFieldKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// sameDB opens a second Store on the database of s with other options (its
// own pool): another instance, or the same one restarted with other keys.
func sameDB(t testing.TB, target dbtest.Target, dsn string, opts storage.Options) *storage.Store {
	t.Helper()
	s, err := storage.Open(context.Background(), databaseURL(target, dsn), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func freshDSN(t testing.TB, target dbtest.Target) string {
	t.Helper()
	dsn := dbtest.Fresh(t, target)
	s := sameDB(t, target, dsn, storage.Options{})
	if err := s.AutoMigrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// rawExtra reads the extra_data column as stored.
func rawExtra(t testing.TB, s *storage.Store, id int64) string {
	t.Helper()
	var raw string
	if err := s.DB().Raw("SELECT extra_data FROM "+storage.TableSocialAuth+" WHERE id = ?", id).Row().Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func setRawExtra(t testing.TB, s *storage.Store, id int64, raw string) {
	t.Helper()
	if err := s.DB().Exec("UPDATE "+storage.TableSocialAuth+" SET extra_data = ? WHERE id = ?", raw, id).Error; err != nil {
		t.Fatal(err)
	}
}

// rawMember decodes one member of the stored extra_data.
func rawMember(t testing.TB, s *storage.Store, id int64, name string) any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(rawExtra(t, s, id)), &m); err != nil {
		t.Fatal(err)
	}
	return m[name]
}

// storeSignIn stores a sign-in's extra data for uid (creating the user and the
// association the first time) and returns the association as written.
func storeSignIn(t testing.TB, s *storage.Store, uid string, extra map[string]any) *socialauth.UserSocialAuth {
	t.Helper()
	ctx := context.Background()
	sa, err := s.GetSocialAuth(ctx, "edx-oauth2", uid)
	if errors.Is(err, socialauth.ErrNotFound) {
		u, uerr := s.CreateUser(ctx, map[string]any{"username": uid})
		if uerr != nil {
			t.Fatal(uerr)
		}
		sa, err = s.CreateSocialAuth(ctx, u.ID, "edx-oauth2", uid)
	}
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.UpdateExtraData(ctx, sa.ID, func(old map[string]any) (map[string]any, bool) {
		for k, v := range extra {
			old[k] = v
		}
		return old, true
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func tokens(prefix string) map[string]any {
	return map[string]any{
		"access_token":  prefix + "-access-token-value",
		"refresh_token": prefix + "-refresh-token-value",
		"id_token":      prefix + "-id-token-value",
		"lms_session":   map[string]any{"cookie": prefix + "-lms-cookie-value"},
		"expires_in":    json.Number("3600"),
		"token_type":    "Bearer",
	}
}

// TestConformanceFieldEncryption: the whole Storage contract holds with
// field encryption on.
func TestConformanceFieldEncryption(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) socialauth.Storage {
				return openFresh(t, target, storage.Options{FieldKeys: [][]byte{newFieldKey(t)}})
			})
		})
	}
}

func TestFieldEncryptionAtRest(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDSN(t, target)
			s := sameDB(t, target, dsn, storage.Options{FieldKeys: [][]byte{newFieldKey(t)}, SecretMembers: []string{"lms_session"}})
			want := tokens("alice")
			written := storeSignIn(t, s, "alice", want)
			raw := rawExtra(t, s, written.ID)
			for _, secret := range []string{"alice-access-token-value", "alice-refresh-token-value", "alice-id-token-value", "alice-lms-cookie-value"} {
				if strings.Contains(raw, secret) {
					t.Errorf("the extra_data column holds %q in plaintext: %s", secret, raw)
				}
			}
			for _, name := range []string{"access_token", "refresh_token", "id_token", "lms_session"} {
				if v, _ := rawMember(t, s, written.ID, name).(string); !strings.HasPrefix(v, "enc:v1:") {
					t.Errorf("stored %s = %q; want an enc:v1: value", name, v)
				}
			}
			if got := rawMember(t, s, written.ID, "token_type"); got != "Bearer" {
				t.Errorf("stored token_type = %v; want Bearer in plaintext (not a secret)", got)
			}
			// Every read gives plaintext.
			wantED := map[string]any{
				"access_token": "alice-access-token-value", "refresh_token": "alice-refresh-token-value",
				"id_token": "alice-id-token-value", "lms_session": map[string]any{"cookie": "alice-lms-cookie-value"},
				"expires_in": json.Number("3600"), "token_type": "Bearer",
			}
			byUID, err := s.GetSocialAuth(ctx, "edx-oauth2", "alice")
			if err != nil {
				t.Fatal(err)
			}
			withUser, owner, err := s.GetSocialAuthWithUser(ctx, "edx-oauth2", "alice")
			if err != nil || owner == nil {
				t.Fatalf("GetSocialAuthWithUser: %v, owner %v", err, owner)
			}
			byID, err := s.GetSocialAuthByID(ctx, written.ID)
			if err != nil {
				t.Fatal(err)
			}
			list, err := s.GetSocialAuthsForUser(ctx, written.UserID, "", 0)
			if err != nil || len(list) != 1 {
				t.Fatalf("GetSocialAuthsForUser = %v, %v", list, err)
			}
			for name, sa := range map[string]*socialauth.UserSocialAuth{"UpdateExtraData": written, "GetSocialAuth": byUID, "GetSocialAuthWithUser": withUser, "GetSocialAuthByID": byID, "GetSocialAuthsForUser": list[0]} {
				if diff := cmp.Diff(wantED, sa.ExtraData); diff != "" {
					t.Errorf("%s extra data (-want +got):\n%s", name, diff)
				}
				if tok, err := sa.Token("refresh_token"); err != nil || tok != "alice-refresh-token-value" || sa.Unreadable != nil {
					t.Errorf("%s Token(refresh_token) = %q, %v (unreadable %v)", name, tok, err, sa.Unreadable)
				}
			}
			// A store without keys, on the same database, never takes the
			// ciphertext for a token.
			plain := sameDB(t, target, dsn, storage.Options{SecretMembers: []string{"lms_session"}})
			got, err := plain.GetSocialAuth(ctx, "edx-oauth2", "alice")
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"access_token", "refresh_token", "id_token", "lms_session"} {
				if _, err := got.Token(name); !errors.Is(err, socialauth.CodeFieldEncryption) {
					t.Errorf("keyless store: Token(%s) err = %v; want CodeFieldEncryption", name, err)
				}
				if v, present := got.ExtraData[name]; present {
					t.Errorf("keyless store: extra data %s = %v; want it left out", name, v)
				}
			}
			if got.AccessToken() != "" || got.ExtraData["token_type"] != "Bearer" {
				t.Errorf("keyless store: AccessToken %q, token_type %v", got.AccessToken(), got.ExtraData["token_type"])
			}
		})
	}
}

func TestFieldEncryptionRotation(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDSN(t, target)
			oldKey, newKey := newFieldKey(t), newFieldKey(t)
			before := sameDB(t, target, dsn, storage.Options{FieldKeys: [][]byte{oldKey}})
			var ids []int64
			for _, uid := range []string{"u1", "u2", "u3", "u4", "u5"} {
				ids = append(ids, storeSignIn(t, before, uid, tokens(uid)).ID)
			}
			// A row from before encryption was on: plaintext, read as is
			// and encrypted by Reencrypt.
			legacy := sameDB(t, target, dsn, storage.Options{})
			ids = append(ids, storeSignIn(t, legacy, "u6", tokens("u6")).ID)
			oldSealed := rawMember(t, before, ids[0], "access_token").(string)

			rotated := sameDB(t, target, dsn, storage.Options{FieldKeys: [][]byte{newKey, oldKey}})
			for i, id := range ids {
				sa, err := rotated.GetSocialAuthByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				want := tokens(sa.UID)["access_token"]
				if tok, err := sa.Token("access_token"); err != nil || tok != want {
					t.Errorf("row %d under the old key: Token = %q, %v; want %q", i, tok, err, want)
				}
			}
			// Resumable, in batches of 2, from after the first row.
			var reports []storage.ReencryptResult
			res, err := rotated.Reencrypt(ctx, storage.ReencryptOptions{Batch: 2, After: ids[0], Progress: func(r storage.ReencryptResult) { reports = append(reports, r) }})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rows != 5 || res.Rewritten != 5 || res.LastID != ids[5] || len(res.Unreadable) != 0 || res.Batches != 3 {
				t.Errorf("Reencrypt = %+v; want 5 rows rewritten in 3 batches, last id %d", res, ids[5])
			}
			if len(reports) != 3 || reports[0].Rows != 2 || reports[0].LastID != ids[2] {
				t.Errorf("progress reports = %+v; want 3, the first after 2 rows at id %d", reports, ids[2])
			}
			if got := rawMember(t, rotated, ids[0], "access_token"); got != oldSealed {
				t.Errorf("the row before After was rewritten")
			}
			// The rest of the run: only the first row left to move.
			res, err = rotated.Reencrypt(ctx, storage.ReencryptOptions{})
			if err != nil || res.Rows != 6 || res.Rewritten != 1 {
				t.Errorf("second Reencrypt = %+v, %v; want 6 rows, 1 rewritten", res, err)
			}
			if !strings.Contains(rawExtra(t, rotated, ids[5]), "enc:v1:") || strings.Contains(rawExtra(t, rotated, ids[5]), "u6-access-token-value") {
				t.Errorf("the plaintext row was not encrypted: %s", rawExtra(t, rotated, ids[5]))
			}
			// The old key can go: every row reads with the new key alone.
			after := sameDB(t, target, dsn, storage.Options{FieldKeys: [][]byte{newKey}})
			for _, id := range ids {
				sa, err := after.GetSocialAuthByID(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if tok, err := sa.Token("refresh_token"); err != nil || tok != tokens(sa.UID)["refresh_token"] {
					t.Errorf("row %d with the new key only: %q, %v", id, tok, err)
				}
			}
			// And the old key alone no longer opens anything.
			sa, err := before.GetSocialAuthByID(ctx, ids[1])
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sa.Token("access_token"); !errors.Is(err, socialauth.CodeFieldEncryption) {
				t.Errorf("old key on a re-encrypted row: %v; want CodeFieldEncryption", err)
			}

			// Leaving encryption: Decrypt writes plaintext, a keyless store reads it.
			res, err = after.Reencrypt(ctx, storage.ReencryptOptions{Decrypt: true, Batch: 4})
			if err != nil || res.Rewritten != 6 {
				t.Fatalf("Reencrypt(Decrypt) = %+v, %v; want 6 rewritten", res, err)
			}
			sa, err = legacy.GetSocialAuthByID(ctx, ids[2])
			if err != nil || sa.AccessToken() != "u3-access-token-value" || strings.Contains(rawExtra(t, legacy, ids[2]), "enc:v1:") {
				t.Errorf("after Decrypt: %v, %v, raw %s", sa, err, rawExtra(t, legacy, ids[2]))
			}
			if _, err := legacy.Reencrypt(ctx, storage.ReencryptOptions{}); err == nil {
				t.Error("Reencrypt without keys succeeded")
			}
		})
	}
}

func TestFieldEncryptionTampering(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			ctx := t.Context()
			dsn := freshDSN(t, target)
			key := newFieldKey(t)
			s := sameDB(t, target, dsn, storage.Options{FieldKeys: [][]byte{key}})
			alice := storeSignIn(t, s, "alice", tokens("alice"))
			bob := storeSignIn(t, s, "bob", tokens("bob"))

			// A flipped byte in alice's access token.
			sealed := rawMember(t, s, alice.ID, "access_token").(string)
			i := strings.LastIndexByte(sealed, ':')
			payload, err := base64.RawURLEncoding.DecodeString(sealed[i+1:])
			if err != nil {
				t.Fatal(err)
			}
			payload[len(payload)/2] ^= 0x20
			flipped := sealed[:i+1] + base64.RawURLEncoding.EncodeToString(payload)
			setRawExtra(t, s, alice.ID, strings.Replace(rawExtra(t, s, alice.ID), sealed, flipped, 1))
			sa, err := s.GetSocialAuth(ctx, "edx-oauth2", "alice")
			if err != nil {
				t.Fatalf("a tampered member must not fail the read (a sign-in rewrites it): %v", err)
			}
			if _, err := sa.Token("access_token"); !errors.Is(err, socialauth.CodeFieldEncryption) {
				t.Errorf("flipped byte: Token = %v; want CodeFieldEncryption", err)
			}
			if _, present := sa.ExtraData["access_token"]; present || sa.AccessToken() != "" {
				t.Errorf("flipped byte: access_token %v is in the extra data", sa.ExtraData["access_token"])
			}
			if tok, err := sa.Token("refresh_token"); err != nil || tok != "alice-refresh-token-value" {
				t.Errorf("the untouched refresh token: %q, %v", tok, err)
			}

			// Swapped rows: each association's data in the other's row.
			ra, rb := rawExtra(t, s, alice.ID), rawExtra(t, s, bob.ID)
			setRawExtra(t, s, alice.ID, rb)
			setRawExtra(t, s, bob.ID, ra)
			for _, uid := range []string{"alice", "bob"} {
				sa, err := s.GetSocialAuth(ctx, "edx-oauth2", uid)
				if err != nil {
					t.Fatal(err)
				}
				for _, name := range []string{"access_token", "refresh_token", "id_token"} {
					tok, err := sa.Token(name)
					if !errors.Is(err, socialauth.CodeFieldEncryption) {
						t.Errorf("%s after the swap: Token(%s) = %q, %v; want CodeFieldEncryption", uid, name, tok, err)
					}
					if err != nil && (strings.Contains(err.Error(), "token-value") || strings.Contains(err.Error(), "enc:v1:")) {
						t.Errorf("the error quotes the stored value: %v", err)
					}
				}
			}
			// A member moved to another name in the same row.
			setRawExtra(t, s, bob.ID, rb)
			m := map[string]any{}
			if err := json.Unmarshal([]byte(rb), &m); err != nil {
				t.Fatal(err)
			}
			m["access_token"] = m["refresh_token"]
			b, _ := json.Marshal(m)
			setRawExtra(t, s, bob.ID, string(b))
			sa, err = s.GetSocialAuth(ctx, "edx-oauth2", "bob")
			if err != nil {
				t.Fatal(err)
			}
			if tok, err := sa.Token("access_token"); !errors.Is(err, socialauth.CodeFieldEncryption) {
				t.Errorf("refresh token moved to access_token: %q, %v; want CodeFieldEncryption", tok, err)
			}

			// A fresh sign-in rewrites what it gets and keeps the rest as
			// stored: the unreadable refresh token of a row sealed under a
			// retired key stays (readable again if the key comes back).
			retired := newFieldKey(t)
			old := sameDB(t, target, dsn, storage.Options{FieldKeys: [][]byte{retired}})
			carol := storeSignIn(t, old, "carol", tokens("carol-old"))
			storedRT := rawMember(t, s, carol.ID, "refresh_token")
			fresh := storeSignIn(t, s, "carol", map[string]any{"access_token": "carol-new-access"})
			if tok, err := fresh.Token("access_token"); err != nil || tok != "carol-new-access" {
				t.Errorf("fresh sign-in: access token %q, %v", tok, err)
			}
			if _, err := fresh.Token("refresh_token"); !errors.Is(err, socialauth.CodeFieldEncryption) {
				t.Errorf("fresh sign-in: refresh token err %v; want CodeFieldEncryption", err)
			}
			if got := rawMember(t, s, carol.ID, "refresh_token"); got != storedRT {
				t.Errorf("the unreadable refresh token was not kept as stored")
			}
			back := sameDB(t, target, dsn, storage.Options{FieldKeys: [][]byte{key, retired}})
			sa, err = back.GetSocialAuthByID(ctx, carol.ID)
			if err != nil {
				t.Fatal(err)
			}
			if tok, _ := sa.Token("refresh_token"); tok != "carol-old-refresh-token-value" || sa.AccessToken() != "carol-new-access" {
				t.Errorf("with the retired key back: refresh %q, access %q", tok, sa.AccessToken())
			}
			res, err := s.Reencrypt(ctx, storage.ReencryptOptions{})
			if err != nil || len(res.Unreadable) != 3 {
				t.Errorf("Reencrypt over unreadable rows = %+v, %v; want alice, bob and carol listed", res, err)
			}
		})
	}
}

func TestFieldKeysRejected(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	for name, items := range map[string][]string{
		"short":     {base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 31))},
		"malformed": {"not*base64"},
		"repeated":  {good, good},
		"second":    {good, "!!"},
	} {
		_, err := storage.ParseFieldKeys(items)
		if !errors.Is(err, storage.ErrBadFieldKey) {
			t.Errorf("%s: ParseFieldKeys = %v; want ErrBadFieldKey", name, err)
		}
	}
	if _, err := storage.Open(t.Context(), "sqlite::memory:", storage.Options{FieldKeys: [][]byte{[]byte("short")}}); !errors.Is(err, storage.ErrBadFieldKey) {
		t.Errorf("Open with a short key = %v; want ErrBadFieldKey", err)
	}
}

func TestFieldKeysFrom(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 32))
	k2 := base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xfe}, 40))
	keys, set, err := storage.FieldKeysFrom(settings.New(settings.Map{}))
	if keys != nil || set || err != nil {
		t.Errorf("unset: %v, %v, %v; want nothing", keys, set, err)
	}
	for _, v := range []any{k1 + ", " + k2, `["` + k1 + `","` + k2 + `"]`, []string{k1, k2}} {
		keys, set, err = storage.FieldKeysFrom(settings.New(settings.Map{storage.SettingFieldEncryptionKeys: v}))
		if err != nil || !set || len(keys) != 2 || !bytes.Equal(keys[0], bytes.Repeat([]byte{1}, 32)) || len(keys[1]) != 40 {
			t.Errorf("%v: %d keys, set %v, %v; want the two keys in order", v, len(keys), set, err)
		}
	}
	keys, set, err = storage.FieldKeysFrom(settings.New(settings.Map{"FIELD_ENCRYPTION_KEYS": ""}))
	if len(keys) != 0 || !set || err != nil {
		t.Errorf("set to empty: %v, %v, %v; want set, no key", keys, set, err)
	}
	short := base64.StdEncoding.EncodeToString([]byte("sixteen byte key"))
	for _, v := range []any{short, k1 + ",%%%not-base64%%%", 42} {
		_, _, err := storage.FieldKeysFrom(settings.New(settings.Map{storage.SettingFieldEncryptionKeys: v}))
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), storage.SettingFieldEncryptionKeys) {
			t.Errorf("%v: err = %v; want ImproperlyConfigured naming the setting", v, err)
		}
		if err != nil && (strings.Contains(err.Error(), short) || strings.Contains(err.Error(), k1)) {
			t.Errorf("the error quotes a key: %v", err)
		}
	}
}
