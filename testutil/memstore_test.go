package testutil_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil"
)

var errBoom = errors.New("boom")

func mustUser(t *testing.T, s *testutil.MemStore, fields map[string]any) *socialauth.User {
	t.Helper()
	u, err := s.CreateUser(context.Background(), fields)
	if err != nil {
		t.Fatalf("CreateUser(%v): %v", fields, err)
	}
	return u
}

func TestMemStoreUsers(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStore()
	alice := mustUser(t, s, map[string]any{"username": "alice", "email": "Alice@Example.com", "first_name": "Alice"})
	if alice.ID != "1" || !alice.IsActive || alice.FirstName != "Alice" {
		t.Fatalf("created user = %+v", alice)
	}
	if _, err := s.CreateUser(ctx, map[string]any{"username": "alice"}); !errors.Is(err, socialauth.ErrDuplicate) {
		t.Errorf("duplicate username: err = %v, want ErrDuplicate", err)
	}
	if _, err := s.CreateUser(ctx, map[string]any{"email": "x@example.com"}); !errors.Is(err, testutil.ErrInvalidInput) {
		t.Errorf("no username: err = %v, want ErrInvalidInput", err)
	}
	if _, err := s.CreateUser(ctx, map[string]any{"username": string(make([]byte, 151))}); !errors.Is(err, testutil.ErrInvalidInput) {
		t.Errorf("overlong username: err = %v", err)
	}
	if _, err := s.CreateUser(ctx, map[string]any{"is_staff": "yes"}); !errors.Is(err, testutil.ErrInvalidInput) {
		t.Errorf("wrong field type: err = %v", err)
	}

	inactive, err := s.AddUser(&socialauth.User{Username: "bob", Email: "alice@example.COM", IsActive: false})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetUser(ctx, inactive.ID); !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("GetUser(inactive): err = %v, want ErrNotFound", err)
	}
	if got, err := s.GetUserByUsername(ctx, "bob"); err != nil || got.ID != inactive.ID {
		t.Errorf("GetUserByUsername(bob) = %v, %v", got, err)
	}
	for _, tc := range []struct {
		name string
		want bool
	}{{"alice", true}, {"Alice", false}, {"alice ", false}, {"bob", true}, {"", false}} {
		if got, err := s.UserExists(ctx, tc.name); err != nil || got != tc.want {
			t.Errorf("UserExists(%q) = %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	got, err := s.GetUsersByEmail(ctx, "ALICE@example.com")
	if err != nil || len(got) != 1 || got[0].ID != alice.ID {
		t.Errorf("GetUsersByEmail = %v, %v; want only the active alice", got, err)
	}
	if got, _ := s.GetUsersByEmail(ctx, ""); len(got) != 0 {
		t.Errorf("GetUsersByEmail(\"\") = %v, want none", got)
	}

	// Returned users are copies.
	alice.FirstName = "Mallory"
	if u, _ := s.GetUser(ctx, alice.ID); u.FirstName != "Alice" {
		t.Errorf("store changed through a returned value: %q", u.FirstName)
	}
	// UpdateUser saves only the named fields.
	alice.LastName = "Liddell"
	if err := s.UpdateUser(ctx, alice, []string{"last_name"}); err != nil {
		t.Fatal(err)
	}
	u, _ := s.GetUser(ctx, alice.ID)
	if u.FirstName != "Alice" || u.LastName != "Liddell" {
		t.Errorf("after UpdateUser(last_name): %q %q", u.FirstName, u.LastName)
	}
	u.Username = "bob"
	if err := s.UpdateUser(ctx, u, []string{"username"}); !errors.Is(err, socialauth.ErrDuplicate) {
		t.Errorf("UpdateUser to a taken username: %v", err)
	}
	if err := s.UpdateUser(ctx, &socialauth.User{ID: "99"}, nil); !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("UpdateUser unknown: %v", err)
	}
}

func TestMemStoreSocialAuth(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStore()
	u := mustUser(t, s, map[string]any{"username": "alice"})
	sa, err := s.CreateSocialAuth(ctx, u.ID, "edx-oauth2", "Alice")
	if err != nil {
		t.Fatal(err)
	}
	if sa.ExtraData == nil || len(sa.ExtraData) != 0 {
		t.Errorf("new ExtraData = %#v, want empty map", sa.ExtraData)
	}
	tests := []struct {
		provider, uid string
		wantErr       error
	}{
		{"edx-oauth2", "Alice", nil},
		{"edx-oauth2", "alice", socialauth.ErrNotFound},
		{"edx-oauth2", "ALICE", socialauth.ErrNotFound},
		{"edx-oauth2", "Alice ", socialauth.ErrNotFound},
		{"edx-oauth2", "Alicé", socialauth.ErrNotFound},
		{"other", "Alice", socialauth.ErrNotFound},
		{"edx-oauth2", "", socialauth.CodeAuthMissingParameter},
		{"", "Alice", socialauth.CodeAuthMissingParameter},
	}
	for _, tc := range tests {
		got, err := s.GetSocialAuth(ctx, tc.provider, tc.uid)
		if tc.wantErr == nil {
			if err != nil || got.ID != sa.ID {
				t.Errorf("GetSocialAuth(%q, %q) = %v, %v", tc.provider, tc.uid, got, err)
			}
			continue
		}
		if !errors.Is(err, tc.wantErr) {
			t.Errorf("GetSocialAuth(%q, %q): err = %v, want %v", tc.provider, tc.uid, err, tc.wantErr)
		}
	}
	for _, tc := range []struct {
		user, provider, uid string
		want                error
	}{
		{u.ID, "edx-oauth2", "Alice", socialauth.ErrDuplicate},
		{u.ID, "edx-oauth2", "", socialauth.CodeAuthMissingParameter},
		{u.ID, "", "x", socialauth.CodeAuthMissingParameter},
		{"42", "edx-oauth2", "x", socialauth.ErrNotFound},
	} {
		if _, err := s.CreateSocialAuth(ctx, tc.user, tc.provider, tc.uid); !errors.Is(err, tc.want) {
			t.Errorf("CreateSocialAuth(%q, %q, %q): %v, want %v", tc.user, tc.provider, tc.uid, err, tc.want)
		}
	}
	// Case variants are distinct accounts.
	if _, err := s.CreateSocialAuth(ctx, u.ID, "edx-oauth2", "alice"); err != nil {
		t.Errorf("CreateSocialAuth(alice) after Alice: %v", err)
	}
	other, _ := s.CreateSocialAuth(ctx, u.ID, "github", "7")
	list, _ := s.GetSocialAuthsForUser(ctx, u.ID, "edx-oauth2", 0)
	if len(list) != 2 {
		t.Errorf("GetSocialAuthsForUser(edx-oauth2) = %d rows, want 2", len(list))
	}
	list, _ = s.GetSocialAuthsForUser(ctx, u.ID, "", other.ID)
	if len(list) != 1 || list[0].Provider != "github" {
		t.Errorf("GetSocialAuthsForUser(id) = %v", list)
	}
	if err := s.RemoveSocialAuth(ctx, other.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveSocialAuth(ctx, other.ID); !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("second RemoveSocialAuth: %v", err)
	}
	if _, err := s.GetSocialAuthByID(ctx, other.ID); !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("GetSocialAuthByID(removed): %v", err)
	}
}

func TestMemStoreUpdateExtraData(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStore()
	u := mustUser(t, s, map[string]any{"username": "alice"})
	sa, _ := s.CreateSocialAuth(ctx, u.ID, "p", "1")
	got, err := s.UpdateExtraData(ctx, sa.ID, func(old map[string]any) (map[string]any, bool) {
		old["leak"] = true // changing the copy must not change the store
		return map[string]any{"access_token": "t1", "nested": map[string]any{"a": 1.0}}, true
	})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"access_token": "t1", "nested": map[string]any{"a": 1.0}}
	if diff := cmp.Diff(want, got.ExtraData); diff != "" {
		t.Errorf("ExtraData (-want +got):\n%s", diff)
	}
	before := s.Snapshot()
	if _, err := s.UpdateExtraData(ctx, sa.ID, func(old map[string]any) (map[string]any, bool) {
		return map[string]any{"ignored": true}, false
	}); err != nil {
		t.Fatal(err)
	}
	if diff := before.Diff(s.Snapshot()); diff != "" {
		t.Errorf("unchanged update wrote (-before +after):\n%s", diff)
	}
	if _, err := s.UpdateExtraData(ctx, 99, nil); !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("UpdateExtraData(unknown): %v", err)
	}
}

func TestMemStoreAllowedToDisconnect(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		password bool
		assocs   [][2]string // provider, uid
		provider string
		byID     int // index into assocs + 1; 0 = by provider
		want     bool
	}{
		{"only association, no password", false, [][2]string{{"p", "1"}}, "p", 0, false},
		{"only association, by id", false, [][2]string{{"p", "1"}}, "p", 1, false},
		{"usable password", true, [][2]string{{"p", "1"}}, "p", 0, true},
		{"another provider remains", false, [][2]string{{"p", "1"}, {"q", "1"}}, "p", 0, true},
		{"two of one provider, by provider", false, [][2]string{{"p", "1"}, {"p", "2"}}, "p", 0, false},
		{"two of one provider, by id", false, [][2]string{{"p", "1"}, {"p", "2"}}, "p", 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := testutil.NewStore()
			u := mustUser(t, s, map[string]any{"username": "u"})
			// Another user's association never counts.
			v := mustUser(t, s, map[string]any{"username": "v"})
			if _, err := s.CreateSocialAuth(ctx, v.ID, "z", "z"); err != nil {
				t.Fatal(err)
			}
			if err := s.SetUsablePassword(u.ID, tc.password); err != nil {
				t.Fatal(err)
			}
			var ids []int64
			for _, a := range tc.assocs {
				sa, err := s.CreateSocialAuth(ctx, u.ID, a[0], a[1])
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, sa.ID)
			}
			var id int64
			if tc.byID > 0 {
				id = ids[tc.byID-1]
			}
			got, err := s.AllowedToDisconnect(ctx, u.ID, tc.provider, id)
			if err != nil || got != tc.want {
				t.Errorf("AllowedToDisconnect = %v, %v; want %v", got, err, tc.want)
			}
		})
	}
	s := testutil.NewStore()
	u := mustUser(t, s, map[string]any{"username": "u", "password": "secret"})
	if ok, _ := s.AllowedToDisconnect(ctx, u.ID, "p", 0); !ok {
		t.Error("a user created with a password should be allowed to disconnect")
	}
}

func TestMemStoreTransaction(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStore()
	mustUser(t, s, map[string]any{"username": "existing"})
	before := s.Snapshot()

	err := s.Transaction(ctx, func(tx socialauth.Storage) error {
		u, err := tx.CreateUser(ctx, map[string]any{"username": "new"})
		if err != nil {
			return err
		}
		if _, err := tx.CreateSocialAuth(ctx, u.ID, "p", "1"); err != nil {
			return err
		}
		// A nested call joins; its writes are undone with the outer ones.
		if err := tx.Transaction(ctx, func(tx2 socialauth.Storage) error {
			return tx2.SavePartial(ctx, &socialauth.Partial{Token: "tok"})
		}); err != nil {
			return err
		}
		if ok, err := tx.UserExists(ctx, "new"); !ok || err != nil {
			t.Errorf("write not visible inside the transaction: %v %v", ok, err)
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Transaction err = %v", err)
	}
	if diff := before.Diff(s.Snapshot()); diff != "" {
		t.Errorf("rolled-back transaction wrote (-before +after):\n%s", diff)
	}

	// A panic rolls back too.
	func() {
		defer func() { _ = recover() }()
		_ = s.Transaction(ctx, func(tx socialauth.Storage) error {
			_, _ = tx.CreateUser(ctx, map[string]any{"username": "panicky"})
			panic("step bug")
		})
	}()
	if !before.Equal(s.Snapshot()) {
		t.Error("a panicking transaction left writes behind")
	}

	var leaked socialauth.Storage
	if err := s.Transaction(ctx, func(tx socialauth.Storage) error {
		leaked = tx
		_, err := tx.CreateUser(ctx, map[string]any{"username": "kept"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if ok, _ := s.UserExists(ctx, "kept"); !ok {
		t.Error("committed write missing")
	}
	if _, err := leaked.UserExists(ctx, "kept"); !errors.Is(err, testutil.ErrTransactionDone) {
		t.Errorf("using a finished transaction: %v", err)
	}
}

func TestMemStoreConcurrentFirstLogins(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStore()
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Transaction(ctx, func(tx socialauth.Storage) error {
				if _, err := tx.GetSocialAuth(ctx, "p", "same"); err == nil {
					return nil
				}
				u, err := tx.CreateUser(ctx, map[string]any{"username": fmt.Sprintf("u%d", i)})
				if err != nil {
					return err
				}
				_, err = tx.CreateSocialAuth(ctx, u.ID, "p", "same")
				return err
			})
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Errorf("transaction: %v", err)
		}
	}
	if n, m := len(s.Users()), len(s.SocialAuths()); n != 1 || m != 1 {
		t.Errorf("%d users and %d associations, want 1 and 1", n, m)
	}
}

func TestMemStorePartialsNoncesAssociationsCodes(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStore()
	p := &socialauth.Partial{Token: "tok", Backend: "p", NextStep: 3, Data: map[string]any{"uid": "1"}}
	if err := s.SavePartial(ctx, p); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePartial(ctx, &socialauth.Partial{}); !errors.Is(err, testutil.ErrInvalidInput) {
		t.Errorf("SavePartial without token: %v", err)
	}
	got, err := s.LoadPartial(ctx, "tok")
	if err != nil || got.NextStep != 3 || got.CreatedAt.IsZero() || got.Data["uid"] != "1" {
		t.Errorf("LoadPartial = %+v, %v", got, err)
	}
	if _, err := s.LoadPartial(ctx, "TOK"); !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("LoadPartial(other case): %v", err)
	}
	if del, err := s.DeletePartial(ctx, "tok"); !del || err != nil {
		t.Errorf("DeletePartial = %v, %v", del, err)
	}
	if del, _ := s.DeletePartial(ctx, "tok"); del {
		t.Error("second DeletePartial reported a delete")
	}

	n := socialauth.Nonce{ServerURL: "https://op", Timestamp: 1, Salt: "s"}
	if fresh, _ := s.UseNonce(ctx, n); !fresh {
		t.Error("first UseNonce not fresh")
	}
	if fresh, _ := s.UseNonce(ctx, n); fresh {
		t.Error("replayed nonce reported fresh")
	}

	a1 := &socialauth.Association{ServerURL: "https://op", Handle: "h1", Issued: 10}
	a2 := &socialauth.Association{ServerURL: "https://op", Handle: "h2", Issued: 20}
	for _, a := range []*socialauth.Association{a1, a2} {
		if err := s.StoreAssociation(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	upd := &socialauth.Association{ServerURL: "https://op", Handle: "h1", Issued: 30, Secret: "x"}
	_ = s.StoreAssociation(ctx, upd)
	if upd.ID != a1.ID {
		t.Errorf("upsert got id %d, want %d", upd.ID, a1.ID)
	}
	list, _ := s.GetAssociations(ctx, "https://op", "")
	if len(list) != 2 || list[0].Handle != "h1" || list[0].Secret != "x" {
		t.Errorf("GetAssociations = %+v, want h1 (newest) first", list)
	}
	_ = s.RemoveAssociations(ctx, []int64{a1.ID})
	if list, _ := s.GetAssociations(ctx, "https://op", "h1"); len(list) != 0 {
		t.Errorf("removed association still there: %v", list)
	}

	c, err := s.MakeCode(ctx, "a@example.com")
	if err != nil || len(c.Code) != 32 || c.Verified {
		t.Fatalf("MakeCode = %+v, %v", c, err)
	}
	if err := s.VerifyCode(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetCode(ctx, c.Code); !got.Verified || got.Email != "a@example.com" {
		t.Errorf("GetCode = %+v", got)
	}
	if _, err := s.GetCode(ctx, ""); !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("GetCode(\"\"): %v", err)
	}
}

func TestMemStoreCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := testutil.NewStore()
	if _, err := s.CreateUser(ctx, map[string]any{"username": "x"}); !errors.Is(err, context.Canceled) {
		t.Errorf("CreateUser on a canceled context: %v", err)
	}
	if len(s.Users()) != 0 {
		t.Error("write happened on a canceled context")
	}
}

// TestMemStoreOmitUserFields: a MemStore can stand for a custom user table
// without some columns: it says so (MapsUserField), and CreateUser and
// UpdateUser skip them as the GORM store does.
func TestMemStoreOmitUserFields(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStore()
	for _, f := range []string{"first_name", "last_login", "locale"} {
		if !s.MapsUserField(f) {
			t.Errorf("MapsUserField(%q) = false before OmitUserFields", f)
		}
	}
	s.OmitUserFields("first_name", "last_login")
	if s.MapsUserField("first_name") || s.MapsUserField("last_login") || !s.MapsUserField("last_name") {
		t.Errorf("MapsUserField after OmitUserFields(first_name, last_login) is wrong")
	}
	u := mustUser(t, s, map[string]any{"username": "ana", "first_name": "Ana", "last_name": "Lima"})
	if u.FirstName != "" || u.LastName != "Lima" {
		t.Errorf("CreateUser kept an omitted field: %+v", u)
	}
	u.FirstName, u.LastName, u.LastLogin = "X", "Y", time.Now()
	if err := s.UpdateUser(ctx, u, []string{"first_name", "last_name", "last_login"}); err != nil {
		t.Fatalf("UpdateUser with omitted fields: %v", err)
	}
	got, _ := s.GetUser(ctx, u.ID)
	if got.FirstName != "" || got.LastName != "Y" || !got.LastLogin.IsZero() {
		t.Errorf("after UpdateUser: %+v; want last_name saved, the omitted fields not", got)
	}
}

// TestMemStoreLastLogin: last_login and date_joined are time fields, not
// Extra.
func TestMemStoreLastLogin(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStore()
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	u := mustUser(t, s, map[string]any{"username": "ana", "last_login": at})
	if !u.LastLogin.Equal(at) || u.Extra["last_login"] != nil {
		t.Errorf("CreateUser(last_login) = %+v", u)
	}
	u.LastLogin = at.Add(time.Hour)
	if err := s.UpdateUser(ctx, u, []string{"last_login"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, u.ID); !got.LastLogin.Equal(at.Add(time.Hour)) || got.Extra["last_login"] != nil {
		t.Errorf("after UpdateUser(last_login): %+v", got)
	}
	if _, err := s.CreateUser(ctx, map[string]any{"username": "bo", "last_login": "yesterday"}); !errors.Is(err, testutil.ErrInvalidInput) {
		t.Errorf("CreateUser(last_login: string) = %v; want ErrInvalidInput", err)
	}
}
