// Package storagetest is the conformance suite every socialauth.Storage must
// pass: the GORM store on each database and the in-memory store in testutil.
//
// Rules the suite pins, beyond the interface comments:
//   - uids, providers and usernames compare exactly: case, accents, trailing
//     spaces and Unicode normalization forms all make different keys;
//   - GetSocialAuth and CreateSocialAuth with an empty provider or uid fail
//     with an error matching socialauth.CodeAuthMissingParameter (and not
//     socialauth.ErrNotFound), and write nothing;
//   - lookups by an empty or unknown id, username, token or code wrap
//     socialauth.ErrNotFound;
//   - a unique collision wraps socialauth.ErrDuplicate and CreateUser never
//     returns the existing user; a transaction the database aborted to
//     resolve a conflict (a deadlock) wraps socialauth.ErrConflict, and
//     concurrent first logins of one uid, each rerun on ErrDuplicate once
//     and on ErrConflict up to three runs as the Service does, make one user;
//   - users made by CreateUser have no usable password, so a user whose only
//     login is one association may not disconnect it;
//   - Transaction returns fn's error unchanged, rolls everything back on it,
//     and nested calls join the outer transaction;
//   - UpdateUser(u, []string{"last_login"}), which the Service calls at
//     every sign-in, stores u.LastLogin, or does nothing on a user model
//     without that field; a store may say which fields its user model maps
//     with MapsUserField(field) bool (pipeline.UserFieldMapper): CreateUser
//     and UpdateUser skip the others without an error, and an unknown field
//     name is an error;
//   - a store implementing socialauth.NonceStorage records a nonce
//     atomically: of concurrent UseNonce calls with one nonce exactly one is
//     fresh (a sign-in flow is redeemed once, even when its callback reaches
//     several instances at once), and it keeps a redeemed flow's record
//     (server_url "socialauth:state:<backend>", a 43-character salt) whole;
//   - a store implementing socialauth.SocialUserGetter answers exactly what
//     GetSocialAuth followed by GetUser would (the same association, the
//     same active owner, nil for an inactive one, the same errors), and so
//     does the Storage its Transaction passes to fn;
//   - a store implementing socialauth.SocialLocker gives fn a private copy
//     of the whole row, writes what fn returns only when it reports a
//     change, writes nothing and returns fn's error unchanged when fn fails,
//     never runs two fns for one row at once (nor an UpdateExtraData of the
//     row during one), and joins an outer Transaction.
package storagetest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
)

// Run runs the suite. newStore must return an empty, ready store for each
// subtest (it may register cleanups on t).
func Run(t *testing.T, newStore func(t *testing.T) socialauth.Storage) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s socialauth.Storage)
	}{
		{"Users", testUsers},
		{"CreateUserCollisionNeverAdopts", testCreateUserCollision},
		{"UsersByEmail", testUsersByEmail},
		{"UpdateUser", testUpdateUser},
		{"LastLogin", testLastLogin},
		{"UnmappedUserFields", testUnmappedUserFields},
		{"SocialAuthCRUD", testSocialCRUD},
		{"ExactUID", testExactUID},
		{"EmptyKeysRejected", testEmptyKeys},
		{"SocialAuthDuplicate", testSocialDuplicate},
		{"TransactionCommitRollback", testTransaction},
		{"TransactionNested", testTransactionNested},
		{"UpdateExtraData", testUpdateExtraData},
		{"UpdateExtraDataConcurrent", testUpdateExtraDataConcurrent},
		{"SocialLocker", testSocialLocker},
		{"SocialLockerSerialises", testSocialLockerSerialises},
		{"SocialLockerInTransaction", testSocialLockerInTransaction},
		{"Partials", testPartials},
		{"PartialSingleUse", testPartialSingleUse},
		{"Nonces", testNonces},
		{"NonceConcurrent", testNonceConcurrent},
		{"NonceSignInFlowShape", testNonceFlowShape},
		{"Associations", testAssociations},
		{"Codes", testCodes},
		{"AllowedToDisconnect", testAllowedToDisconnect},
		{"ConcurrentFirstLogin", testConcurrentFirstLogin},
		{"SocialUserGetter", testSocialUserGetter},
		{"SocialUserGetterExactUID", testSocialUserGetterExactUID},
		{"SocialUserGetterInTransaction", testSocialUserGetterInTransaction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func mustUser(t *testing.T, s socialauth.Storage, username string, extra ...any) *socialauth.User {
	t.Helper()
	fields := map[string]any{socialauth.FieldUsername: username}
	for i := 0; i+1 < len(extra); i += 2 {
		fields[extra[i].(string)] = extra[i+1]
	}
	u, err := s.CreateUser(ctx(t), fields)
	if err != nil {
		t.Fatalf("CreateUser(%q): %v", username, err)
	}
	if u == nil || u.ID == "" {
		t.Fatalf("CreateUser(%q) = %+v, want a user with an id", username, u)
	}
	return u
}

func mustSocial(t *testing.T, s socialauth.Storage, userID, provider, uid string) *socialauth.UserSocialAuth {
	t.Helper()
	sa, err := s.CreateSocialAuth(ctx(t), userID, provider, uid)
	if err != nil {
		t.Fatalf("CreateSocialAuth(%q, %q): %v", provider, uid, err)
	}
	return sa
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("%s: err = %v, want ErrNotFound", what, err)
	}
}

func wantDuplicate(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, socialauth.ErrDuplicate) {
		t.Errorf("%s: err = %v, want ErrDuplicate", what, err)
	}
}

func userView(u *socialauth.User) map[string]any {
	if u == nil {
		return nil
	}
	return map[string]any{"id": u.ID, "username": u.Username, "email": u.Email, "first_name": u.FirstName,
		"last_name": u.LastName, "is_active": u.IsActive, "is_staff": u.IsStaff, "is_superuser": u.IsSuperuser}
}

func testUsers(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith", "email", "j@example.com", "first_name", "John", "last_name", "Smith", "unknown_field", "ignored")
	want := map[string]any{"id": u.ID, "username": "jsmith", "email": "j@example.com", "first_name": "John",
		"last_name": "Smith", "is_active": true, "is_staff": false, "is_superuser": false}
	if d := cmp.Diff(want, userView(u)); d != "" {
		t.Errorf("CreateUser result (-want +got):\n%s", d)
	}
	got, err := s.GetUser(ctx(t), u.ID)
	if err != nil {
		t.Fatalf("GetUser: %v", err)
	}
	if d := cmp.Diff(want, userView(got)); d != "" {
		t.Errorf("GetUser (-want +got):\n%s", d)
	}
	got, err = s.GetUserByUsername(ctx(t), "jsmith")
	if err != nil || got.ID != u.ID {
		t.Errorf("GetUserByUsername(jsmith) = %v, %v; want user %s", got, err, u.ID)
	}
	for _, name := range []string{"JSmith", "jsmith ", " jsmith", "jsmîth", ""} {
		_, err := s.GetUserByUsername(ctx(t), name)
		wantNotFound(t, fmt.Sprintf("GetUserByUsername(%q)", name), err)
		ok, err := s.UserExists(ctx(t), name)
		if err != nil || ok {
			t.Errorf("UserExists(%q) = %v, %v; want false", name, ok, err)
		}
	}
	if ok, err := s.UserExists(ctx(t), "jsmith"); err != nil || !ok {
		t.Errorf("UserExists(jsmith) = %v, %v; want true", ok, err)
	}
	_, err = s.GetUser(ctx(t), "")
	wantNotFound(t, "GetUser(\"\")", err)
	_, err = s.GetUser(ctx(t), "999999")
	wantNotFound(t, "GetUser(unknown)", err)

	inactive := mustUser(t, s, "gone", "is_active", false)
	if inactive.IsActive {
		t.Errorf("CreateUser(is_active=false).IsActive = true")
	}
	_, err = s.GetUser(ctx(t), inactive.ID)
	wantNotFound(t, "GetUser(inactive)", err)
	if got, err := s.GetUserByUsername(ctx(t), "gone"); err != nil || got.IsActive {
		t.Errorf("GetUserByUsername(inactive) = %+v, %v; want the inactive user", got, err)
	}
	if _, err := s.CreateUser(ctx(t), map[string]any{"email": "nouser@example.com"}); err == nil {
		t.Errorf("CreateUser without username: want an error")
	}
}

func testCreateUserCollision(t *testing.T, s socialauth.Storage) {
	victim := mustUser(t, s, "victim", "email", "victim@example.com")
	u, err := s.CreateUser(ctx(t), map[string]any{"username": "victim", "email": "attacker@example.com"})
	wantDuplicate(t, "CreateUser(existing username)", err)
	if u != nil {
		t.Errorf("CreateUser(existing username) returned user %+v; it must never return a user on collision", u)
	}
	got, err := s.GetUser(ctx(t), victim.ID)
	if err != nil || got.Email != "victim@example.com" {
		t.Errorf("victim after collision = %+v, %v; want unchanged", got, err)
	}
	// The uniqueness is exact: a username differing only in case is another user.
	if _, err := s.CreateUser(ctx(t), map[string]any{"username": "Victim"}); err != nil {
		t.Errorf("CreateUser(Victim): %v; usernames compare exactly", err)
	}
}

func testUsersByEmail(t *testing.T, s socialauth.Storage) {
	a := mustUser(t, s, "a", "email", "Shared@Example.com")
	b := mustUser(t, s, "b", "email", "shared@example.com")
	mustUser(t, s, "c", "email", "shared@example.com", "is_active", false)
	mustUser(t, s, "d", "email", "other@example.com")
	got, err := s.GetUsersByEmail(ctx(t), "SHARED@example.COM")
	if err != nil {
		t.Fatalf("GetUsersByEmail: %v", err)
	}
	var ids []string
	for _, u := range got {
		ids = append(ids, u.ID)
	}
	want := []string{a.ID, b.ID}
	sortStrings(ids)
	sortStrings(want)
	if d := cmp.Diff(want, ids); d != "" {
		t.Errorf("GetUsersByEmail ids (-want +got):\n%s", d)
	}
	if got, err := s.GetUsersByEmail(ctx(t), "nobody@example.com"); err != nil || len(got) != 0 {
		t.Errorf("GetUsersByEmail(nobody) = %v, %v; want none", got, err)
	}
	if got, err := s.GetUsersByEmail(ctx(t), ""); err != nil || len(got) != 0 {
		t.Errorf("GetUsersByEmail(\"\") = %v, %v; want none", got, err)
	}
}

func sortStrings(a []string) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

func testUpdateUser(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith", "email", "old@example.com", "first_name", "Old")
	u.Email, u.FirstName, u.LastName = "new@example.com", "New", "NotSaved"
	if err := s.UpdateUser(ctx(t), u, []string{"email", "first_name"}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	got, err := s.GetUser(ctx(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != "new@example.com" || got.FirstName != "New" || got.LastName != "" {
		t.Errorf("after UpdateUser(email, first_name) = %+v; want email and first_name saved, last_name not", userView(got))
	}
	u.IsActive = false
	if err := s.UpdateUser(ctx(t), u, []string{"is_active"}); err != nil {
		t.Fatalf("UpdateUser(is_active): %v", err)
	}
	_, err = s.GetUser(ctx(t), u.ID)
	wantNotFound(t, "GetUser after deactivation", err)
}

// userFieldMapper is pipeline.UserFieldMapper.
type userFieldMapper interface{ MapsUserField(field string) bool }

// maps reports whether s stores field (every field when s does not say).
func maps(s socialauth.Storage, field string) bool {
	m, ok := s.(userFieldMapper)
	return !ok || m.MapsUserField(field)
}

// testLastLogin: the Service stamps last_login at every sign-in with
// UpdateUser(u, ["last_login"]): only that field is written, and a user
// model without it is left alone without an error.
func testLastLogin(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith", "email", "j@example.com")
	if !u.LastLogin.IsZero() {
		t.Errorf("new user has last_login %v; want none", u.LastLogin)
	}
	mapped := maps(s, "last_login")
	for _, at := range []time.Time{
		time.Date(2025, 3, 4, 5, 6, 7, 123456000, time.UTC),
		time.Date(2025, 3, 5, 1, 2, 3, 0, time.FixedZone("CET", 3600)),
	} {
		u.LastLogin = at
		u.Email = "not-saved@example.com"
		if err := s.UpdateUser(ctx(t), u, []string{"last_login"}); err != nil {
			t.Fatalf("UpdateUser(last_login) (mapped %v): %v", mapped, err)
		}
		got, err := s.GetUser(ctx(t), u.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := at
		if !mapped {
			want = time.Time{}
		}
		if !got.LastLogin.Equal(want) {
			t.Errorf("last_login after UpdateUser = %v; want %v (mapped %v)", got.LastLogin, want, mapped)
		}
		if got.Email != "j@example.com" {
			t.Errorf("UpdateUser(last_login) also wrote email: %q", got.Email)
		}
	}
}

// testUnmappedUserFields: CreateUser and UpdateUser skip the fields the
// store says its user model does not map, and keep the ones it maps; an
// unknown field name is an error.
func testUnmappedUserFields(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith", "email", "old@example.com", "first_name", "First", "last_name", "Last", "is_staff", true)
	got, err := s.GetUser(ctx(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]any{"first_name": "First", "last_name": "Last", "is_staff": true}
	for field, v := range stored {
		if !maps(s, field) {
			var zero any = ""
			if field == "is_staff" {
				zero = false
			}
			v = zero
		}
		if have, _ := got.Get(field); have != v {
			t.Errorf("after CreateUser, %s = %v; want %v (mapped %v)", field, have, v, maps(s, field))
		}
	}
	got.Email, got.FirstName, got.LastName, got.IsStaff = "new@example.com", "F2", "L2", false
	if err := s.UpdateUser(ctx(t), got, []string{"email", "first_name", "last_name", "is_staff"}); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	after, err := s.GetUser(ctx(t), u.ID)
	if err != nil {
		t.Fatal(err)
	}
	if maps(s, "email") && after.Email != "new@example.com" {
		t.Errorf("email = %q; want the new one saved next to unmapped fields", after.Email)
	}
	for field, want := range map[string]any{"first_name": "F2", "last_name": "L2", "is_staff": false} {
		if !maps(s, field) {
			continue
		}
		if have, _ := after.Get(field); have != want {
			t.Errorf("after UpdateUser, %s = %v; want %v", field, have, want)
		}
	}
	if err := s.UpdateUser(ctx(t), after, []string{"no_such_field"}); err == nil {
		t.Error("UpdateUser(no_such_field): want an error")
	}
}

func testSocialCRUD(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith")
	other := mustUser(t, s, "other")
	sa := mustSocial(t, s, u.ID, "edx-oauth2", "jsmith")
	if sa.ID == 0 || sa.UserID != u.ID || sa.Provider != "edx-oauth2" || sa.UID != "jsmith" || sa.ExtraData == nil || len(sa.ExtraData) != 0 {
		t.Errorf("CreateSocialAuth = %+v; want id, user, provider, uid and empty extra data", sa)
	}
	if sa.Created.IsZero() || sa.Modified.IsZero() {
		t.Errorf("CreateSocialAuth times = %v, %v; want set", sa.Created, sa.Modified)
	}
	gh := mustSocial(t, s, u.ID, "github", "1234")
	mustSocial(t, s, other.ID, "github", "999")

	got, err := s.GetSocialAuth(ctx(t), "edx-oauth2", "jsmith")
	if err != nil {
		t.Fatalf("GetSocialAuth: %v", err)
	}
	if got.ID != sa.ID || got.UserID != u.ID || got.UID != "jsmith" || got.Provider != "edx-oauth2" {
		t.Errorf("GetSocialAuth = %+v; want %+v", got, sa)
	}
	if got, err := s.GetSocialAuthByID(ctx(t), gh.ID); err != nil || got.UID != "1234" || got.UserID != u.ID {
		t.Errorf("GetSocialAuthByID = %+v, %v", got, err)
	}
	_, err = s.GetSocialAuthByID(ctx(t), 0)
	wantNotFound(t, "GetSocialAuthByID(0)", err)
	_, err = s.GetSocialAuth(ctx(t), "github", "jsmith")
	wantNotFound(t, "GetSocialAuth(other provider)", err)

	ids := func(list []*socialauth.UserSocialAuth, err error) []int64 {
		t.Helper()
		if err != nil {
			t.Fatalf("GetSocialAuthsForUser: %v", err)
		}
		var out []int64
		for _, x := range list {
			out = append(out, x.ID)
		}
		for i := 1; i < len(out); i++ {
			for j := i; j > 0 && out[j] < out[j-1]; j-- {
				out[j], out[j-1] = out[j-1], out[j]
			}
		}
		return out
	}
	if d := cmp.Diff([]int64{sa.ID, gh.ID}, ids(s.GetSocialAuthsForUser(ctx(t), u.ID, "", 0))); d != "" {
		t.Errorf("GetSocialAuthsForUser(all) (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int64{gh.ID}, ids(s.GetSocialAuthsForUser(ctx(t), u.ID, "github", 0))); d != "" {
		t.Errorf("GetSocialAuthsForUser(github) (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]int64{sa.ID}, ids(s.GetSocialAuthsForUser(ctx(t), u.ID, "", sa.ID))); d != "" {
		t.Errorf("GetSocialAuthsForUser(id) (-want +got):\n%s", d)
	}
	if got := ids(s.GetSocialAuthsForUser(ctx(t), u.ID, "", 999999)); len(got) != 0 {
		t.Errorf("GetSocialAuthsForUser(unknown id) = %v; want none", got)
	}

	if err := s.RemoveSocialAuth(ctx(t), gh.ID); err != nil {
		t.Fatalf("RemoveSocialAuth: %v", err)
	}
	_, err = s.GetSocialAuthByID(ctx(t), gh.ID)
	wantNotFound(t, "GetSocialAuthByID(removed)", err)
	wantNotFound(t, "RemoveSocialAuth(removed)", s.RemoveSocialAuth(ctx(t), gh.ID))
	_, err = s.GetSocialAuth(ctx(t), "github", "1234")
	wantNotFound(t, "GetSocialAuth(removed)", err)
}

func testExactUID(t *testing.T, s socialauth.Storage) {
	const p = "edx-oauth2"
	victim := mustUser(t, s, "victim")
	sa := mustSocial(t, s, victim.ID, p, "jsmith")
	variants := []string{"JSmith", "JSMITH", "jsmith ", " jsmith", "jsmîth", "jsmi\u0302th", "jsmith\t", "jſmith"}
	for _, v := range variants {
		_, err := s.GetSocialAuth(ctx(t), p, v)
		wantNotFound(t, fmt.Sprintf("GetSocialAuth(%q) with only %q stored", v, "jsmith"), err)
	}
	_, err := s.GetSocialAuth(ctx(t), "EDX-OAUTH2", "jsmith")
	wantNotFound(t, "GetSocialAuth(provider in upper case)", err)
	// Every variant is a different account and can be associated.
	attacker := mustUser(t, s, "attacker")
	made := map[string]int64{"jsmith": sa.ID}
	for _, v := range variants {
		x, err := s.CreateSocialAuth(ctx(t), attacker.ID, p, v)
		if err != nil {
			t.Errorf("CreateSocialAuth(%q) next to %q: %v; uids differing in case, accents or spaces are distinct", v, "jsmith", err)
			continue
		}
		made[v] = x.ID
	}
	for uid, id := range made {
		got, err := s.GetSocialAuth(ctx(t), p, uid)
		if err != nil {
			t.Errorf("GetSocialAuth(%q): %v", uid, err)
			continue
		}
		if got.ID != id || got.UID != uid {
			t.Errorf("GetSocialAuth(%q) = row %d uid %q; want row %d with the exact uid", uid, got.ID, got.UID, id)
		}
	}
	if got, err := s.GetSocialAuth(ctx(t), p, "jsmith"); err != nil || got.UserID != victim.ID {
		t.Errorf("GetSocialAuth(jsmith) = %+v, %v; want the victim's association", got, err)
	}
}

func testEmptyKeys(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith")
	check := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, socialauth.CodeAuthMissingParameter) {
			t.Errorf("%s: err = %v, want CodeAuthMissingParameter", what, err)
		}
		if errors.Is(err, socialauth.ErrNotFound) {
			t.Errorf("%s: err = %v must not look like ErrNotFound (a caller would go on to create)", what, err)
		}
	}
	_, err := s.GetSocialAuth(ctx(t), "edx-oauth2", "")
	check("GetSocialAuth(uid \"\")", err)
	_, err = s.GetSocialAuth(ctx(t), "", "jsmith")
	check("GetSocialAuth(provider \"\")", err)
	_, err = s.CreateSocialAuth(ctx(t), u.ID, "edx-oauth2", "")
	check("CreateSocialAuth(uid \"\")", err)
	_, err = s.CreateSocialAuth(ctx(t), u.ID, "", "jsmith")
	check("CreateSocialAuth(provider \"\")", err)
	_, err = s.CreateSocialAuth(ctx(t), "", "edx-oauth2", "jsmith")
	if err == nil {
		t.Errorf("CreateSocialAuth(user \"\"): want an error")
	}
	if list, err := s.GetSocialAuthsForUser(ctx(t), u.ID, "", 0); err != nil || len(list) != 0 {
		t.Errorf("after rejected creates, associations = %v, %v; want none", list, err)
	}
	_, err = s.LoadPartial(ctx(t), "")
	wantNotFound(t, "LoadPartial(\"\")", err)
	_, err = s.GetCode(ctx(t), "")
	wantNotFound(t, "GetCode(\"\")", err)
	_, err = s.GetUserByUsername(ctx(t), "")
	wantNotFound(t, "GetUserByUsername(\"\")", err)
}

func testSocialDuplicate(t *testing.T, s socialauth.Storage) {
	a := mustUser(t, s, "a")
	b := mustUser(t, s, "b")
	mustSocial(t, s, a.ID, "edx-oauth2", "jsmith")
	got, err := s.CreateSocialAuth(ctx(t), b.ID, "edx-oauth2", "jsmith")
	wantDuplicate(t, "CreateSocialAuth(existing)", err)
	if got != nil {
		t.Errorf("CreateSocialAuth(existing) returned %+v; want nil", got)
	}
	if sa, err := s.GetSocialAuth(ctx(t), "edx-oauth2", "jsmith"); err != nil || sa.UserID != a.ID {
		t.Errorf("association after duplicate = %+v, %v; want still user a", sa, err)
	}
	// Same uid at another provider is another account.
	mustSocial(t, s, b.ID, "github", "jsmith")
}

var errBoom = errors.New("storagetest: boom")

func testTransaction(t *testing.T, s socialauth.Storage) {
	var made *socialauth.UserSocialAuth
	err := s.Transaction(ctx(t), func(tx socialauth.Storage) error {
		u, err := tx.CreateUser(ctx(t), map[string]any{"username": "committed"})
		if err != nil {
			return err
		}
		made, err = tx.CreateSocialAuth(ctx(t), u.ID, "edx-oauth2", "committed")
		if err != nil {
			return err
		}
		// Reads inside the transaction see its writes.
		if _, err := tx.GetSocialAuth(ctx(t), "edx-oauth2", "committed"); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Transaction(commit): %v", err)
	}
	if got, err := s.GetSocialAuth(ctx(t), "edx-oauth2", "committed"); err != nil || got.ID != made.ID {
		t.Errorf("after commit GetSocialAuth = %+v, %v", got, err)
	}

	err = s.Transaction(ctx(t), func(tx socialauth.Storage) error {
		u, err := tx.CreateUser(ctx(t), map[string]any{"username": "rolledback"})
		if err != nil {
			return err
		}
		if _, err := tx.CreateSocialAuth(ctx(t), u.ID, "edx-oauth2", "rolledback"); err != nil {
			return err
		}
		return fmt.Errorf("wrapped: %w", errBoom)
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("Transaction(rollback) err = %v; want fn's error", err)
	}
	if ok, err := s.UserExists(ctx(t), "rolledback"); err != nil || ok {
		t.Errorf("after rollback UserExists = %v, %v; want false", ok, err)
	}
	_, err = s.GetSocialAuth(ctx(t), "edx-oauth2", "rolledback")
	wantNotFound(t, "GetSocialAuth after rollback", err)
}

func testTransactionNested(t *testing.T, s socialauth.Storage) {
	err := s.Transaction(ctx(t), func(tx socialauth.Storage) error {
		if _, err := tx.CreateUser(ctx(t), map[string]any{"username": "outer"}); err != nil {
			return err
		}
		return tx.Transaction(ctx(t), func(inner socialauth.Storage) error {
			if ok, err := inner.UserExists(ctx(t), "outer"); err != nil || !ok {
				return fmt.Errorf("inner does not see outer's write: %v %v", ok, err)
			}
			_, err := inner.CreateUser(ctx(t), map[string]any{"username": "inner"})
			return err
		})
	})
	if err != nil {
		t.Fatalf("nested commit: %v", err)
	}
	for _, name := range []string{"outer", "inner"} {
		if ok, err := s.UserExists(ctx(t), name); err != nil || !ok {
			t.Errorf("after nested commit UserExists(%s) = %v, %v", name, ok, err)
		}
	}
	err = s.Transaction(ctx(t), func(tx socialauth.Storage) error {
		if _, err := tx.CreateUser(ctx(t), map[string]any{"username": "outer2"}); err != nil {
			return err
		}
		return tx.Transaction(ctx(t), func(inner socialauth.Storage) error {
			if _, err := inner.CreateUser(ctx(t), map[string]any{"username": "inner2"}); err != nil {
				return err
			}
			return errBoom
		})
	})
	if !errors.Is(err, errBoom) {
		t.Errorf("nested rollback err = %v; want the inner error", err)
	}
	for _, name := range []string{"outer2", "inner2"} {
		if ok, err := s.UserExists(ctx(t), name); err != nil || ok {
			t.Errorf("after nested rollback UserExists(%s) = %v, %v; want false", name, ok, err)
		}
	}
}

// bigNumber is 2^53 + 1, which a float64 rounds to ...992: stored numbers
// must keep every digit.
const bigNumber = "9007199254740993"

// sameNumbers compares JSON numbers by their JSON text, whatever their Go
// type: a store may give back a float64 written as json.Number("3600") or
// the reverse, but never another number (9007199254740993 read as
// 9007199254740992 differs).
var sameNumbers = cmp.FilterValues(func(a, b any) bool {
	_, okA := numberText(a)
	_, okB := numberText(b)
	return okA && okB
}, cmp.Comparer(func(a, b any) bool {
	ta, _ := numberText(a)
	tb, _ := numberText(b)
	return ta == tb
}))

// numberText is the JSON text of a Go number (json.Number, float64, ints).
func numberText(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case int:
		return strconv.Itoa(x), true
	case int64:
		return strconv.FormatInt(x, 10), true
	}
	return "", false
}

func testUpdateExtraData(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith")
	sa := mustSocial(t, s, u.ID, "edx-oauth2", "jsmith")
	got, err := s.UpdateExtraData(ctx(t), sa.ID, func(old map[string]any) (map[string]any, bool) {
		if len(old) != 0 {
			t.Errorf("first update saw %v; want empty", old)
		}
		return map[string]any{"access_token": "at1", "refresh_token": "rt1", "expires_in": float64(3600),
			"user_id": json.Number(bigNumber), "nested": map[string]any{"a": []any{"x", float64(1), true}}}, true
	})
	if err != nil {
		t.Fatalf("UpdateExtraData: %v", err)
	}
	if got.AccessToken() != "at1" || got.RefreshToken() != "rt1" {
		t.Errorf("UpdateExtraData returned %v", got.ExtraData)
	}
	// Merge, as upstream set_extra_data: the caller merges into old.
	_, err = s.UpdateExtraData(ctx(t), sa.ID, func(old map[string]any) (map[string]any, bool) {
		old["access_token"] = "at2"
		return old, true
	})
	if err != nil {
		t.Fatal(err)
	}
	// A copy: changes without reporting one are not stored.
	unchanged, err := s.UpdateExtraData(ctx(t), sa.ID, func(old map[string]any) (map[string]any, bool) {
		old["access_token"] = "not-saved"
		return old, false
	})
	if err != nil {
		t.Fatal(err)
	}
	if unchanged.AccessToken() != "at2" {
		t.Errorf("no-change update returned access_token %q; want the stored at2", unchanged.AccessToken())
	}
	stored, err := s.GetSocialAuth(ctx(t), "edx-oauth2", "jsmith")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"access_token": "at2", "refresh_token": "rt1", "expires_in": float64(3600),
		"user_id": json.Number(bigNumber), "nested": map[string]any{"a": []any{"x", float64(1), true}}}
	if d := cmp.Diff(want, stored.ExtraData, sameNumbers); d != "" {
		t.Errorf("stored extra data (-want +got):\n%s", d)
	}
	// The returned map is the caller's: mutating it changes nothing stored.
	stored.ExtraData["access_token"] = "mutated"
	again, _ := s.GetSocialAuthByID(ctx(t), sa.ID)
	if again.AccessToken() != "at2" {
		t.Errorf("mutating a returned map changed the store: %v", again.ExtraData)
	}
	_, err = s.UpdateExtraData(ctx(t), 999999, func(old map[string]any) (map[string]any, bool) { return old, true })
	wantNotFound(t, "UpdateExtraData(unknown)", err)
}

func toInt(v any) int {
	switch x := v.(type) {
	case json.Number:
		n, _ := x.Int64()
		return int(n)
	case float64:
		return int(x)
	case int:
		return x
	case int64:
		return int(x)
	}
	return 0
}

func testUpdateExtraDataConcurrent(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith")
	sa := mustSocial(t, s, u.ID, "edx-oauth2", "jsmith")
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.UpdateExtraData(context.Background(), sa.ID, func(old map[string]any) (map[string]any, bool) {
				next := toInt(old["generation"]) + 1
				// Each refresh rotates the refresh token: rt-<generation>.
				if prev, _ := old["refresh_token"].(string); prev != fmt.Sprintf("rt-%d", next-1) && next > 1 {
					old["broken_chain"] = true
				}
				old["generation"] = next
				old["refresh_token"] = fmt.Sprintf("rt-%d", next)
				return old, true
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent UpdateExtraData: %v", err)
		}
	}
	got, err := s.GetSocialAuthByID(ctx(t), sa.ID)
	if err != nil {
		t.Fatal(err)
	}
	if toInt(got.ExtraData["generation"]) != n || got.RefreshToken() != fmt.Sprintf("rt-%d", n) || got.ExtraData["broken_chain"] != nil {
		t.Errorf("after %d concurrent rotations extra data = %v; want generation %d, rt-%d and no lost update", n, got.ExtraData, n, n)
	}
}

func locker(t *testing.T, s socialauth.Storage) socialauth.SocialLocker {
	t.Helper()
	l, ok := s.(socialauth.SocialLocker)
	if !ok {
		t.Skip("store does not implement socialauth.SocialLocker")
	}
	return l
}

func testSocialLocker(t *testing.T, s socialauth.Storage) {
	l := locker(t, s)
	u := mustUser(t, s, "jsmith")
	sa := mustSocial(t, s, u.ID, "edx-oauth2", "jsmith")
	if _, err := s.UpdateExtraData(ctx(t), sa.ID, func(map[string]any) (map[string]any, bool) {
		return map[string]any{"access_token": "at1", "refresh_token": "rt1"}, true
	}); err != nil {
		t.Fatal(err)
	}
	got, err := l.UpdateSocialAuthLocked(ctx(t), sa.ID, func(cur *socialauth.UserSocialAuth) (map[string]any, bool, error) {
		if cur.ID != sa.ID || cur.Provider != "edx-oauth2" || cur.UID != "jsmith" || cur.UserID != u.ID ||
			cur.AccessToken() != "at1" || cur.RefreshToken() != "rt1" {
			t.Errorf("fn got %+v; want the stored row", cur)
		}
		cur.ExtraData["access_token"] = "at2"
		cur.ExtraData["refresh_token"] = "rt2"
		return cur.ExtraData, true, nil
	})
	if err != nil {
		t.Fatalf("UpdateSocialAuthLocked: %v", err)
	}
	if got.ID != sa.ID || got.AccessToken() != "at2" || got.RefreshToken() != "rt2" {
		t.Errorf("UpdateSocialAuthLocked returned %+v", got)
	}

	// A failing fn: its error unchanged, nothing written, even what it
	// changed in its copy.
	boom := errors.New("provider down")
	_, err = l.UpdateSocialAuthLocked(ctx(t), sa.ID, func(cur *socialauth.UserSocialAuth) (map[string]any, bool, error) {
		cur.ExtraData["access_token"] = "not-saved"
		return cur.ExtraData, true, boom
	})
	if err != boom { // the very error, not one wrapping it
		t.Errorf("failing fn: error %v; want fn's error unchanged", err)
	}
	// No change reported: the stored row is returned, the copy's edits are not.
	unchanged, err := l.UpdateSocialAuthLocked(ctx(t), sa.ID, func(cur *socialauth.UserSocialAuth) (map[string]any, bool, error) {
		cur.ExtraData["access_token"] = "not-saved"
		return cur.ExtraData, false, nil
	})
	if err != nil || unchanged.AccessToken() != "at2" {
		t.Errorf("no-change fn: %v, %v; want the stored at2", unchanged, err)
	}
	stored, err := s.GetSocialAuthByID(ctx(t), sa.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccessToken() != "at2" || stored.RefreshToken() != "rt2" {
		t.Errorf("stored after a failed and an unchanged fn: %v; want at2, rt2", stored.ExtraData)
	}

	called := false
	_, err = l.UpdateSocialAuthLocked(ctx(t), 999999, func(*socialauth.UserSocialAuth) (map[string]any, bool, error) {
		called = true
		return nil, false, nil
	})
	wantNotFound(t, "UpdateSocialAuthLocked(unknown)", err)
	if called {
		t.Error("fn called for an unknown association")
	}
}

// testSocialLockerSerialises: fns for one row never overlap, and an
// UpdateExtraData of the row waits for the fn running, so no write is lost.
// Each fn lingers to give an overlap every chance to show.
func testSocialLockerSerialises(t *testing.T, s socialauth.Storage) {
	l := locker(t, s)
	u := mustUser(t, s, "jsmith")
	sa := mustSocial(t, s, u.ID, "edx-oauth2", "jsmith")
	const n = 8
	var active, overlaps atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := 0; i < n; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			_, err := l.UpdateSocialAuthLocked(context.Background(), sa.ID, func(cur *socialauth.UserSocialAuth) (map[string]any, bool, error) {
				if active.Add(1) != 1 {
					overlaps.Add(1)
				}
				defer active.Add(-1)
				time.Sleep(5 * time.Millisecond)
				cur.ExtraData["locked"] = toInt(cur.ExtraData["locked"]) + 1
				return cur.ExtraData, true, nil
			})
			errs <- err
		}()
		go func() {
			defer wg.Done()
			_, err := s.UpdateExtraData(context.Background(), sa.ID, func(old map[string]any) (map[string]any, bool) {
				old["plain"] = toInt(old["plain"]) + 1
				return old, true
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("concurrent update: %v", err)
		}
	}
	if overlaps.Load() != 0 {
		t.Errorf("%d fns ran while another held the row", overlaps.Load())
	}
	got, err := s.GetSocialAuthByID(ctx(t), sa.ID)
	if err != nil {
		t.Fatal(err)
	}
	if toInt(got.ExtraData["locked"]) != n || toInt(got.ExtraData["plain"]) != n {
		t.Errorf("after %d locked and %d plain updates: %v; want no lost update", n, n, got.ExtraData)
	}
}

func testSocialLockerInTransaction(t *testing.T, s socialauth.Storage) {
	locker(t, s)
	u := mustUser(t, s, "jsmith")
	sa := mustSocial(t, s, u.ID, "edx-oauth2", "jsmith")
	rollback := errors.New("roll back")
	err := s.Transaction(ctx(t), func(tx socialauth.Storage) error {
		l, ok := tx.(socialauth.SocialLocker)
		if !ok {
			t.Fatal("the Storage Transaction passes to fn is not a SocialLocker")
		}
		got, err := l.UpdateSocialAuthLocked(ctx(t), sa.ID, func(cur *socialauth.UserSocialAuth) (map[string]any, bool, error) {
			cur.ExtraData["access_token"] = "in-tx"
			return cur.ExtraData, true, nil
		})
		if err != nil || got.AccessToken() != "in-tx" {
			t.Errorf("in transaction: %v, %v", got, err)
		}
		if again, err := tx.GetSocialAuthByID(ctx(t), sa.ID); err != nil || again.AccessToken() != "in-tx" {
			t.Errorf("the transaction does not see its own locked write: %v, %v", again, err)
		}
		return rollback
	})
	if !errors.Is(err, rollback) {
		t.Fatalf("Transaction = %v", err)
	}
	got, err := s.GetSocialAuthByID(ctx(t), sa.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken() != "" {
		t.Errorf("a rolled back transaction kept the locked write: %v", got.ExtraData)
	}
}

func testPartials(t *testing.T, s socialauth.Storage) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	p := &socialauth.Partial{Token: strings.Repeat("a", 32), Backend: "edx-oauth2", NextStep: 3, Binding: "sess-hash",
		CreatedAt: created, Data: map[string]any{"uid": "jsmith", "count": float64(2), "big": json.Number(bigNumber), "ok": true,
			"details": map[string]any{"email": "j@example.com"}, "list": []any{"a", "b"}}}
	if err := s.SavePartial(ctx(t), p); err != nil {
		t.Fatalf("SavePartial: %v", err)
	}
	got, err := s.LoadPartial(ctx(t), p.Token)
	if err != nil {
		t.Fatalf("LoadPartial: %v", err)
	}
	if d := cmp.Diff(p, got, sameNumbers); d != "" {
		t.Errorf("LoadPartial (-want +got):\n%s", d)
	}
	for _, tok := range []string{strings.Repeat("A", 32), strings.Repeat("a", 32) + " ", strings.Repeat("a", 31)} {
		_, err := s.LoadPartial(ctx(t), tok)
		wantNotFound(t, fmt.Sprintf("LoadPartial(%q)", tok), err)
	}
	// Saving the same token again replaces it.
	p2 := *p
	p2.NextStep = 4
	p2.Data = map[string]any{"uid": "jsmith"}
	if err := s.SavePartial(ctx(t), &p2); err != nil {
		t.Fatalf("SavePartial(again): %v", err)
	}
	if got, err := s.LoadPartial(ctx(t), p.Token); err != nil || got.NextStep != 4 || len(got.Data) != 1 {
		t.Errorf("LoadPartial after re-save = %+v, %v", got, err)
	}
	if err := s.SavePartial(ctx(t), &socialauth.Partial{Backend: "x"}); err == nil {
		t.Errorf("SavePartial(empty token): want an error")
	}
	deleted, err := s.DeletePartial(ctx(t), p.Token)
	if err != nil || !deleted {
		t.Errorf("DeletePartial = %v, %v; want true", deleted, err)
	}
	deleted, err = s.DeletePartial(ctx(t), p.Token)
	if err != nil || deleted {
		t.Errorf("DeletePartial(again) = %v, %v; want false", deleted, err)
	}
	_, err = s.LoadPartial(ctx(t), p.Token)
	wantNotFound(t, "LoadPartial(deleted)", err)
}

func testPartialSingleUse(t *testing.T, s socialauth.Storage) {
	tok := strings.Repeat("b", 32)
	if err := s.SavePartial(ctx(t), &socialauth.Partial{Token: tok, Backend: "edx-oauth2", Data: map[string]any{}}); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	var mu sync.Mutex
	winners := 0
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.DeletePartial(context.Background(), tok)
			if err != nil {
				t.Errorf("DeletePartial: %v", err)
			}
			if ok {
				mu.Lock()
				winners++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if winners != 1 {
		t.Errorf("%d concurrent DeletePartial reported deleted=true %d times; want exactly 1", n, winners)
	}
}

// nonceStore is a Storage with the optional NonceStorage.
type nonceStore interface {
	socialauth.Storage
	socialauth.NonceStorage
}

func testNonces(t *testing.T, st socialauth.Storage) {
	s, ok := st.(nonceStore)
	if !ok {
		t.Skip("the store does not implement the optional socialauth.NonceStorage")
	}
	n := socialauth.Nonce{ServerURL: "https://op.example.com/", Timestamp: 1700000000, Salt: "abc"}
	for i, want := range []bool{true, false, false} {
		fresh, err := s.UseNonce(ctx(t), n)
		if err != nil || fresh != want {
			t.Errorf("UseNonce #%d = %v, %v; want %v", i+1, fresh, err, want)
		}
	}
	for _, other := range []socialauth.Nonce{
		{ServerURL: n.ServerURL, Timestamp: n.Timestamp, Salt: "ABC"},
		{ServerURL: n.ServerURL, Timestamp: n.Timestamp + 1, Salt: "abc"},
		{ServerURL: "https://op.example.com", Timestamp: n.Timestamp, Salt: "abc"},
	} {
		if fresh, err := s.UseNonce(ctx(t), other); err != nil || !fresh {
			t.Errorf("UseNonce(%+v) = %v, %v; want fresh", other, fresh, err)
		}
	}
	// A replayed nonce inside a transaction does not break the transaction.
	err := s.Transaction(ctx(t), func(tx socialauth.Storage) error {
		ntx, ok := tx.(socialauth.NonceStorage)
		if !ok {
			return fmt.Errorf("the transaction's Storage is not a NonceStorage")
		}
		if fresh, err := ntx.UseNonce(ctx(t), n); err != nil || fresh {
			return fmt.Errorf("replay in tx = %v, %v", fresh, err)
		}
		_, err := tx.CreateUser(ctx(t), map[string]any{"username": "after-replay"})
		return err
	})
	if err != nil {
		t.Errorf("transaction with a replayed nonce: %v", err)
	}
}

// flowNonce is the nonce backends/flow.go records when it redeems a pending
// sign-in (OAuth2Config.UsedStates): server_url "socialauth:state:<backend>",
// the flow's start time, and the flow's id as salt (the SHA-256 of its
// state, base64url without padding: 43 characters).
func flowNonce(backend, state string, created int64) socialauth.Nonce {
	h := sha256.Sum256([]byte(state))
	return socialauth.Nonce{ServerURL: "socialauth:state:" + backend, Timestamp: created,
		Salt: base64.RawURLEncoding.EncodeToString(h[:])}
}

// testNonceConcurrent: UseNonce is atomic. Of 20 concurrent uses of one
// nonce (20 deliveries of one sign-in callback, on one instance or several
// sharing the database) exactly one is fresh, and none fails.
func testNonceConcurrent(t *testing.T, st socialauth.Storage) {
	s, ok := st.(nonceStore)
	if !ok {
		t.Skip("the store does not implement the optional socialauth.NonceStorage")
	}
	const n = 20
	for round, nonce := range []socialauth.Nonce{
		flowNonce("edx-oauth2", "state-one", time.Now().Unix()),
		flowNonce("edx-oauth2", "state-two", time.Now().Unix()),
	} {
		var wg sync.WaitGroup
		var mu sync.Mutex
		fresh := 0
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				ok, err := s.UseNonce(context.Background(), nonce)
				if err != nil {
					t.Errorf("round %d: UseNonce: %v", round, err)
				}
				if ok {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if fresh != 1 {
			t.Errorf("round %d: %d concurrent UseNonce of one nonce reported fresh=true %d times; want exactly 1", round, n, fresh)
		}
		if ok, err := s.UseNonce(ctx(t), nonce); err != nil || ok {
			t.Errorf("round %d: UseNonce after the race = %v, %v; want a replay", round, ok, err)
		}
	}
}

// testNonceFlowShape: the nonce table holds what a redeemed sign-in flow
// records, whole: a salt of 43 base64url characters differing only in its
// last character, or only in case, is another nonce (no truncation, no
// case folding), and so is the same flow id under another backend, a long
// backend name included.
func testNonceFlowShape(t *testing.T, st socialauth.Storage) {
	s, ok := st.(nonceStore)
	if !ok {
		t.Skip("the store does not implement the optional socialauth.NonceStorage")
	}
	const ts = 1767225600
	base := flowNonce("edx-oauth2", "a-state", ts)
	if len(base.Salt) != 43 {
		t.Fatalf("a flow id is %d characters, want 43", len(base.Salt))
	}
	swap := func(c byte) byte {
		if c == 'A' {
			return 'B'
		}
		return 'A'
	}
	lastDiffers := base
	lastDiffers.Salt = base.Salt[:42] + string(swap(base.Salt[42]))
	caseDiffers := base
	caseDiffers.Salt = "a" + strings.Repeat("x", 42)
	caseUpper := caseDiffers
	caseUpper.Salt = "A" + strings.Repeat("x", 42)
	longBackend := strings.Repeat("b", 64)
	otherBackend := flowNonce(longBackend, "a-state", ts)
	otherBackend2 := flowNonce(longBackend+"2", "a-state", ts)
	for _, n := range []socialauth.Nonce{base, lastDiffers, caseDiffers, caseUpper, otherBackend, otherBackend2} {
		if fresh, err := s.UseNonce(ctx(t), n); err != nil || !fresh {
			t.Errorf("UseNonce(%+v) = %v, %v; want fresh", n, fresh, err)
		}
		if fresh, err := s.UseNonce(ctx(t), n); err != nil || fresh {
			t.Errorf("UseNonce(%+v) again = %v, %v; want a replay", n, fresh, err)
		}
	}
}

func testAssociations(t *testing.T, st socialauth.Storage) {
	s, ok := st.(socialauth.AssociationStorage)
	if !ok {
		t.Skip("the store does not implement the optional socialauth.AssociationStorage")
	}
	const srv = "https://op.example.com/"
	a1 := &socialauth.Association{ServerURL: srv, Handle: "h1", Secret: "c2VjcmV0", Issued: 100, Lifetime: 3600, AssocType: "HMAC-SHA256"}
	a2 := &socialauth.Association{ServerURL: srv, Handle: "h2", Secret: "c2VjcmV0Mg==", Issued: 200, Lifetime: 3600, AssocType: "HMAC-SHA1"}
	other := &socialauth.Association{ServerURL: "https://other.example.com/", Handle: "h1", Secret: "eA==", Issued: 300}
	for _, a := range []*socialauth.Association{a1, a2, other} {
		if err := s.StoreAssociation(ctx(t), a); err != nil {
			t.Fatalf("StoreAssociation: %v", err)
		}
	}
	list, err := s.GetAssociations(ctx(t), srv, "")
	if err != nil {
		t.Fatal(err)
	}
	var handles []string
	for _, a := range list {
		handles = append(handles, a.Handle)
	}
	if d := cmp.Diff([]string{"h2", "h1"}, handles); d != "" {
		t.Errorf("GetAssociations newest first (-want +got):\n%s", d)
	}
	// Upsert by (server_url, handle).
	upd := &socialauth.Association{ServerURL: srv, Handle: "h1", Secret: "bmV3", Issued: 500, Lifetime: 60, AssocType: "HMAC-SHA256"}
	if err := s.StoreAssociation(ctx(t), upd); err != nil {
		t.Fatal(err)
	}
	list, err = s.GetAssociations(ctx(t), srv, "h1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Secret != "bmV3" || list[0].Issued != 500 || list[0].Lifetime != 60 {
		t.Fatalf("after upsert GetAssociations(h1) = %+v; want one updated row", list)
	}
	if list, _ := s.GetAssociations(ctx(t), srv, "H1"); len(list) != 0 {
		t.Errorf("GetAssociations(H1) = %+v; handles compare exactly", list)
	}
	if err := s.RemoveAssociations(ctx(t), []int64{list[0].ID}); err != nil {
		t.Fatal(err)
	}
	list, _ = s.GetAssociations(ctx(t), srv, "")
	if len(list) != 1 || list[0].Handle != "h2" {
		t.Errorf("after remove = %+v; want only h2", list)
	}
	if err := s.RemoveAssociations(ctx(t), nil); err != nil {
		t.Errorf("RemoveAssociations(nil): %v", err)
	}
}

func testCodes(t *testing.T, s socialauth.Storage) {
	c, err := s.MakeCode(ctx(t), "j@example.com")
	if err != nil {
		t.Fatalf("MakeCode: %v", err)
	}
	if len(c.Code) != 32 || strings.Trim(c.Code, "0123456789abcdef") != "" || c.Verified || c.Email != "j@example.com" || c.ID == 0 {
		t.Errorf("MakeCode = %+v; want 32 hex characters, unverified", c)
	}
	c2, err := s.MakeCode(ctx(t), "j@example.com")
	if err != nil || c2.Code == c.Code {
		t.Errorf("second MakeCode = %+v, %v; want a different code", c2, err)
	}
	got, err := s.GetCode(ctx(t), c.Code)
	if err != nil || got.ID != c.ID || got.Email != "j@example.com" || got.Verified {
		t.Errorf("GetCode = %+v, %v", got, err)
	}
	_, err = s.GetCode(ctx(t), strings.ToUpper(c.Code))
	wantNotFound(t, "GetCode(upper case)", err)
	if err := s.VerifyCode(ctx(t), c.ID); err != nil {
		t.Fatalf("VerifyCode: %v", err)
	}
	if err := s.VerifyCode(ctx(t), c.ID); err != nil {
		t.Errorf("VerifyCode(again): %v", err)
	}
	if got, err := s.GetCode(ctx(t), c.Code); err != nil || !got.Verified {
		t.Errorf("GetCode after verify = %+v, %v", got, err)
	}
	wantNotFound(t, "VerifyCode(unknown)", s.VerifyCode(ctx(t), 999999))
}

func testAllowedToDisconnect(t *testing.T, s socialauth.Storage) {
	u := mustUser(t, s, "jsmith")
	edx := mustSocial(t, s, u.ID, "edx-oauth2", "jsmith")
	allowed := func(provider string, id int64) bool {
		t.Helper()
		ok, err := s.AllowedToDisconnect(ctx(t), u.ID, provider, id)
		if err != nil {
			t.Fatalf("AllowedToDisconnect: %v", err)
		}
		return ok
	}
	if allowed("edx-oauth2", 0) {
		t.Errorf("only association, no password: allowed; want not allowed")
	}
	if allowed("edx-oauth2", edx.ID) {
		t.Errorf("only association by id: allowed; want not allowed")
	}
	edx2 := mustSocial(t, s, u.ID, "edx-oauth2", "jsmith-2")
	if allowed("edx-oauth2", 0) {
		t.Errorf("removing every edx-oauth2 row leaves nothing: allowed; want not allowed")
	}
	if !allowed("edx-oauth2", edx.ID) {
		t.Errorf("removing one of two associations: not allowed; want allowed")
	}
	_ = edx2
	mustSocial(t, s, u.ID, "github", "42")
	if !allowed("edx-oauth2", 0) {
		t.Errorf("github remains: not allowed; want allowed")
	}
}

func testConcurrentFirstLogin(t *testing.T, s socialauth.Storage) {
	const (
		n        = 50
		provider = "edx-oauth2"
		uid      = "jsmith"
	)
	login := func(c context.Context) (string, error) {
		var userID string
		attempt := func() error {
			return s.Transaction(c, func(tx socialauth.Storage) error {
				sa, err := tx.GetSocialAuth(c, provider, uid)
				if err == nil {
					userID = sa.UserID
					return nil
				}
				if !errors.Is(err, socialauth.ErrNotFound) {
					return err
				}
				u, err := tx.CreateUser(c, map[string]any{"username": "jsmith", "email": "jsmith@example.com"})
				if err != nil {
					return err
				}
				if _, err := tx.CreateSocialAuth(c, u.ID, provider, uid); err != nil {
					return err
				}
				userID = u.ID
				return nil
			})
		}
		// As the engine does: a lost unique-key race runs once more, a
		// transaction aborted by a conflict (ErrConflict) as long as the
		// three runs allow.
		var err error
		dupRetried := false
		for run := 1; run <= 3; run++ {
			err = attempt()
			if errors.Is(err, socialauth.ErrDuplicate) && !dupRetried {
				dupRetried = true
				continue
			}
			if !errors.Is(err, socialauth.ErrConflict) {
				break
			}
		}
		return userID, err
	}
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			ids[i], errs[i] = login(context.Background())
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("login %d: %v", i, err)
		}
	}
	users, err := s.GetUsersByEmail(ctx(t), "jsmith@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1 {
		t.Fatalf("%d concurrent first logins made %d users; want 1", n, len(users))
	}
	for i, id := range ids {
		if errs[i] == nil && id != users[0].ID {
			t.Errorf("login %d got user %q; want %q", i, id, users[0].ID)
		}
	}
	list, err := s.GetSocialAuthsForUser(ctx(t), users[0].ID, "", 0)
	if err != nil || len(list) != 1 {
		t.Errorf("associations = %d, %v; want 1", len(list), err)
	}
}

// getter returns s as a SocialUserGetter, skipping the test when the store
// does not implement the optional interface.
func getter(t *testing.T, s socialauth.Storage) socialauth.SocialUserGetter {
	t.Helper()
	g, ok := s.(socialauth.SocialUserGetter)
	if !ok {
		t.Skipf("%T does not implement socialauth.SocialUserGetter", s)
	}
	return g
}

// checkJoined compares GetSocialAuthWithUser(provider, uid) with
// GetSocialAuth then GetUser on the same store: the same association in
// every field and the same owner (nil when GetUser finds no active user).
func checkJoined(t *testing.T, s socialauth.Storage, provider, uid string) (*socialauth.UserSocialAuth, *socialauth.User) {
	t.Helper()
	g := getter(t, s)
	sa, u, err := g.GetSocialAuthWithUser(ctx(t), provider, uid)
	if err != nil {
		t.Fatalf("GetSocialAuthWithUser(%q, %q): %v", provider, uid, err)
	}
	want, err := s.GetSocialAuth(ctx(t), provider, uid)
	if err != nil {
		t.Fatalf("GetSocialAuth(%q, %q): %v", provider, uid, err)
	}
	if d := cmp.Diff(want, sa); d != "" {
		t.Errorf("GetSocialAuthWithUser(%q, %q) association differs from GetSocialAuth (-want +got):\n%s", provider, uid, d)
	}
	wantUser, err := s.GetUser(ctx(t), want.UserID)
	if errors.Is(err, socialauth.ErrNotFound) {
		wantUser = nil
	} else if err != nil {
		t.Fatalf("GetUser(%q): %v", want.UserID, err)
	}
	if d := cmp.Diff(wantUser, u); d != "" {
		t.Errorf("GetSocialAuthWithUser(%q, %q) owner differs from GetUser (-want +got):\n%s", provider, uid, d)
	}
	return sa, u
}

func testSocialUserGetter(t *testing.T, s socialauth.Storage) {
	g := getter(t, s)
	const p = "edx-oauth2"
	u := mustUser(t, s, "jsmith", "email", "j@example.com", "first_name", "John", "last_name", "Smith")
	sleeper := mustUser(t, s, "sleeper")
	mustUser(t, s, "bystander") // a user with no association, joined by nothing
	sa := mustSocial(t, s, u.ID, p, "jsmith")
	mustSocial(t, s, u.ID, "github", "jsmith") // same uid, other provider
	asleep := mustSocial(t, s, sleeper.ID, p, "sleeper")
	if _, err := s.UpdateExtraData(ctx(t), sa.ID, func(map[string]any) (map[string]any, bool) {
		return map[string]any{"access_token": "at", "expires_in": float64(3600), "nested": map[string]any{"l": []any{"x", true}}}, true
	}); err != nil {
		t.Fatal(err)
	}

	// The active owner, with every field GetUser gives.
	got, owner := checkJoined(t, s, p, "jsmith")
	if got.ID != sa.ID || owner == nil || owner.ID != u.ID || owner.Username != "jsmith" || owner.Email != "j@example.com" || !owner.IsActive {
		t.Errorf("GetSocialAuthWithUser(jsmith) = %+v, %+v; want association %d of active user %s", got, owner, sa.ID, u.ID)
	}
	if d := cmp.Diff(map[string]any{"access_token": "at", "expires_in": float64(3600), "nested": map[string]any{"l": []any{"x", true}}}, got.ExtraData, sameNumbers); d != "" {
		t.Errorf("extra data (-want +got):\n%s", d)
	}

	// Copies: changing what was returned changes nothing stored.
	got.ExtraData["access_token"] = "mutated"
	owner.Username = "mutated"
	again, againOwner, err := g.GetSocialAuthWithUser(ctx(t), p, "jsmith")
	if err != nil || again.AccessToken() != "at" || againOwner == nil || againOwner.Username != "jsmith" {
		t.Errorf("after mutating returned values: %+v, %+v, %v; want the stored ones", again, againOwner, err)
	}

	// An inactive owner: the association, and no user.
	sleeper.IsActive = false
	if err := s.UpdateUser(ctx(t), sleeper, []string{socialauth.FieldIsActive}); err != nil {
		t.Fatalf("UpdateUser(is_active=false): %v", err)
	}
	got, owner = checkJoined(t, s, p, "sleeper")
	if got.ID != asleep.ID || got.UserID != sleeper.ID || owner != nil {
		t.Errorf("inactive owner: %+v, %+v; want association %d and no user", got, owner, asleep.ID)
	}
	// Active again: the owner comes back.
	sleeper.IsActive = true
	if err := s.UpdateUser(ctx(t), sleeper, []string{socialauth.FieldIsActive}); err != nil {
		t.Fatal(err)
	}
	if _, owner = checkJoined(t, s, p, "sleeper"); owner == nil || owner.ID != sleeper.ID {
		t.Errorf("reactivated owner: %+v; want user %s", owner, sleeper.ID)
	}

	// No association: ErrNotFound, nothing returned.
	for _, key := range [][2]string{{p, "nobody"}, {"github", "sleeper"}, {"EDX-OAUTH2", "jsmith"}} {
		sa, u, err := g.GetSocialAuthWithUser(ctx(t), key[0], key[1])
		wantNotFound(t, fmt.Sprintf("GetSocialAuthWithUser(%q, %q)", key[0], key[1]), err)
		if sa != nil || u != nil {
			t.Errorf("GetSocialAuthWithUser(%q, %q) = %+v, %+v; want nil, nil", key[0], key[1], sa, u)
		}
	}
	// Removed: gone for both.
	if err := s.RemoveSocialAuth(ctx(t), asleep.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err = g.GetSocialAuthWithUser(ctx(t), p, "sleeper")
	wantNotFound(t, "GetSocialAuthWithUser(removed)", err)

	// Empty keys: AuthMissingParameter, never ErrNotFound.
	for _, key := range [][2]string{{p, ""}, {"", "jsmith"}, {"", ""}} {
		sa, u, err := g.GetSocialAuthWithUser(ctx(t), key[0], key[1])
		if !errors.Is(err, socialauth.CodeAuthMissingParameter) || errors.Is(err, socialauth.ErrNotFound) {
			t.Errorf("GetSocialAuthWithUser(%q, %q): err = %v, want CodeAuthMissingParameter and not ErrNotFound", key[0], key[1], err)
		}
		if sa != nil || u != nil {
			t.Errorf("GetSocialAuthWithUser(%q, %q) = %+v, %+v; want nil, nil", key[0], key[1], sa, u)
		}
	}
}

func testSocialUserGetterExactUID(t *testing.T, s socialauth.Storage) {
	g := getter(t, s)
	const p = "edx-oauth2"
	victim := mustUser(t, s, "victim")
	mustSocial(t, s, victim.ID, p, "jsmith")
	variants := []string{"JSmith", "JSMITH", "jsmith ", " jsmith", "jsmîth", "jsmi\u0302th", "jsmith\t", "jſmith"}
	for _, v := range variants {
		sa, u, err := g.GetSocialAuthWithUser(ctx(t), p, v)
		wantNotFound(t, fmt.Sprintf("GetSocialAuthWithUser(%q) with only %q stored", v, "jsmith"), err)
		if u != nil || sa != nil {
			t.Errorf("GetSocialAuthWithUser(%q) = %+v, %+v; the victim must not be logged in", v, sa, u)
		}
	}
	// Each variant, once associated, resolves to its own row and owner.
	owners := map[string]string{"jsmith": victim.ID}
	for i, v := range variants {
		a := mustUser(t, s, fmt.Sprintf("attacker%d", i))
		mustSocial(t, s, a.ID, p, v)
		owners[v] = a.ID
	}
	for uid, want := range owners {
		sa, u := checkJoined(t, s, p, uid)
		if sa.UID != uid || u == nil || u.ID != want {
			t.Errorf("GetSocialAuthWithUser(%q) = uid %q, user %+v; want the exact uid and user %s", uid, sa.UID, u, want)
		}
	}
}

func testSocialUserGetterInTransaction(t *testing.T, s socialauth.Storage) {
	getter(t, s)
	const p = "edx-oauth2"
	old := mustUser(t, s, "before")
	mustSocial(t, s, old.ID, p, "before")
	var made *socialauth.User
	err := s.Transaction(ctx(t), func(tx socialauth.Storage) error {
		g, ok := tx.(socialauth.SocialUserGetter)
		if !ok {
			return fmt.Errorf("the transaction's Storage %T does not implement SocialUserGetter like its store", tx)
		}
		// Rows committed before, and the transaction's own writes.
		if _, u, err := g.GetSocialAuthWithUser(ctx(t), p, "before"); err != nil || u == nil || u.ID != old.ID {
			return fmt.Errorf("committed row in tx: %+v, %v", u, err)
		}
		var err error
		if made, err = tx.CreateUser(ctx(t), map[string]any{"username": "during"}); err != nil {
			return err
		}
		if _, err := tx.CreateSocialAuth(ctx(t), made.ID, p, "during"); err != nil {
			return err
		}
		sa, u, err := g.GetSocialAuthWithUser(ctx(t), p, "during")
		if err != nil || sa == nil || sa.UserID != made.ID || u == nil || u.ID != made.ID {
			return fmt.Errorf("own write in tx: %+v, %+v, %v", sa, u, err)
		}
		// Nested transactions hand out a getter too.
		return tx.Transaction(ctx(t), func(inner socialauth.Storage) error {
			if _, ok := inner.(socialauth.SocialUserGetter); !ok {
				return fmt.Errorf("nested transaction's Storage %T is not a SocialUserGetter", inner)
			}
			return nil
		})
	})
	if err != nil {
		t.Fatalf("Transaction: %v", err)
	}
	if _, u := checkJoined(t, s, p, "during"); u == nil || u.ID != made.ID {
		t.Errorf("after commit owner = %+v; want %s", u, made.ID)
	}

	// A rolled-back association is gone for the getter too.
	err = s.Transaction(ctx(t), func(tx socialauth.Storage) error {
		u, err := tx.CreateUser(ctx(t), map[string]any{"username": "rolledback"})
		if err != nil {
			return err
		}
		if _, err := tx.CreateSocialAuth(ctx(t), u.ID, p, "rolledback"); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatalf("Transaction(rollback) err = %v", err)
	}
	_, _, err = getter(t, s).GetSocialAuthWithUser(ctx(t), p, "rolledback")
	wantNotFound(t, "GetSocialAuthWithUser after rollback", err)
}
