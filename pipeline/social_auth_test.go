package pipeline_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

func TestRegistry(t *testing.T) {
	r := pipeline.NewSteps()
	if _, err := r.Resolve(socialauth.DefaultAuthPipeline()); err != nil {
		t.Errorf("default auth pipeline: %v", err)
	}
	if _, err := r.Resolve(socialauth.DefaultDisconnectPipeline()); err != nil {
		t.Errorf("default disconnect pipeline: %v", err)
	}
	for _, n := range []string{pipeline.StepMailValidation, pipeline.StepAssociateByEmail} {
		if _, ok := r.Lookup(n); !ok {
			t.Errorf("%s not registered", n)
		}
	}
	if s, _ := r.Lookup(pipeline.StepMailValidation); !s.Partial {
		t.Error("mail_validation must be a partial step")
	}
	if s, _ := r.Lookup(pipeline.StepCreateUser); s.Partial {
		t.Error("create_user must not be partial")
	}
}

func TestSocialDetails(t *testing.T) {
	st := testutil.NewState(t,
		testutil.WithResponse(map[string]any{"username": "alice", "email": "a@example.com"}),
		testutil.WithDetails(socialauth.Details{"email": "kept@example.com"}))
	if _, err := step(t, pipeline.StepSocialDetails, st, nil); err != nil {
		t.Fatal(err)
	}
	want := socialauth.Details{"username": "alice", "email": "kept@example.com"}
	if diff := cmp.Diff(want, st.Details); diff != "" {
		t.Errorf("details (-want +got):\n%s", diff)
	}
}

func TestSocialUID(t *testing.T) {
	tests := []struct {
		name    string
		resp    map[string]any
		want    string
		wantErr error
	}{
		{"string", map[string]any{"id": "Alice "}, "Alice ", nil},
		{"number", map[string]any{"id": 42.0}, "42", nil},
		{"missing", map[string]any{}, "", socialauth.CodeAuthMissingParameter},
		{"null", map[string]any{"id": nil}, "", socialauth.CodeAuthMissingParameter},
		{"empty", map[string]any{"id": ""}, "", socialauth.CodeAuthMissingParameter},
		{"None text", map[string]any{"id": "None"}, "", socialauth.CodeAuthMissingParameter},
		{"255 bytes", map[string]any{"id": strings.Repeat("é", 127) + "a"}, strings.Repeat("é", 127) + "a", nil},
		{"non-ASCII", map[string]any{"id": "José 山田"}, "José 山田", nil},
		{"whitespace only", map[string]any{"id": " \t "}, "", socialauth.CodeAuthInvalidParameter},
		{"Unicode whitespace only", map[string]any{"id": "\u00a0\u2003"}, "", socialauth.CodeAuthInvalidParameter},
		{"256 bytes", map[string]any{"id": strings.Repeat("a", 256)}, "", socialauth.CodeAuthInvalidParameter},
		{"256 bytes of multi-byte runes", map[string]any{"id": strings.Repeat("é", 128)}, "", socialauth.CodeAuthInvalidParameter},
		{"NUL", map[string]any{"id": "alice\x00admin"}, "", socialauth.CodeAuthInvalidParameter},
		{"newline", map[string]any{"id": "alice\n"}, "", socialauth.CodeAuthInvalidParameter},
		{"DEL", map[string]any{"id": "alice\x7f"}, "", socialauth.CodeAuthInvalidParameter},
		{"C1 control", map[string]any{"id": "alice\u0085"}, "", socialauth.CodeAuthInvalidParameter},
		{"invalid UTF-8", map[string]any{"id": "alice\xff"}, "", socialauth.CodeAuthInvalidParameter},
		{"truncated UTF-8", map[string]any{"id": "alice\xc3"}, "", socialauth.CodeAuthInvalidParameter},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := testutil.NewState(t, testutil.WithResponse(tc.resp))
			_, err := step(t, pipeline.StepSocialUID, st, nil)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if st.UID != tc.want {
				t.Errorf("uid = %q, want %q", st.UID, tc.want)
			}
			if err != nil && socialauth.HTTPStatus(err) != 400 {
				t.Errorf("HTTPStatus = %d, want 400", socialauth.HTTPStatus(err))
			}
		})
	}
	backendErr := socialauth.NewError(socialauth.CodeAuthTokenError, "fake", "", nil)
	st := testutil.NewState(t, testutil.WithBackend(&uidErrBackend{err: backendErr}))
	if _, err := step(t, pipeline.StepSocialUID, st, nil); !errors.Is(err, socialauth.CodeAuthTokenError) {
		t.Errorf("backend error not passed on: %v", err)
	}
}

// A uid the provider sent that cannot identify an account stops the auth
// pipeline at social_uid: typed 400, nothing written to the store, the
// uid not in the error.
func TestSocialUIDRefusedThroughThePipeline(t *testing.T) {
	for _, uid := range []string{"", "   ", strings.Repeat("u", 256), "bob\x00", "bob\r\nX-Injected: 1", "bob\xfe"} {
		t.Run(fmt.Sprintf("%q", uid), func(t *testing.T) {
			store := testutil.NewStore()
			before := store.Snapshot()
			st := testutil.NewState(t, testutil.WithStorage(store),
				testutil.WithResponse(map[string]any{"id": uid, "username": "bob", "email": "bob@example.com"}))
			resp, err := run(t, st, socialauth.DefaultAuthPipeline(), nil)
			if resp != nil {
				t.Errorf("response %+v, want none", resp)
			}
			if !errors.Is(err, socialauth.CodeAuthMissingParameter) {
				t.Fatalf("err = %v, want an AuthMissingParameter or AuthInvalidParameter", err)
			}
			if socialauth.HTTPStatus(err) != 400 {
				t.Errorf("HTTPStatus = %d, want 400", socialauth.HTTPStatus(err))
			}
			if len(uid) > 3 && strings.Contains(err.Error(), uid) {
				t.Errorf("the uid reached the error: %v", err)
			}
			if st.UID != "" || st.User != nil || st.Social != nil {
				t.Errorf("state changed: uid %q, user %v, social %v", st.UID, st.User, st.Social)
			}
			if diff := before.Diff(store.Snapshot()); diff != "" {
				t.Errorf("storage changed (-before +after):\n%s", diff)
			}
		})
	}
	// The control: a good uid goes through and is stored as sent.
	store := testutil.NewStore()
	st := testutil.NewState(t, testutil.WithStorage(store),
		testutil.WithResponse(map[string]any{"id": " Bob é ", "username": "bob", "email": "bob@example.com"}))
	if _, err := run(t, st, socialauth.DefaultAuthPipeline(), nil); err != nil {
		t.Fatal(err)
	}
	if sas := store.SocialAuths(); len(sas) != 1 || sas[0].UID != " Bob é " {
		t.Errorf("stored associations %+v, want one with uid %q", sas, " Bob é ")
	}
}

type uidErrBackend struct {
	testutil.FakeBackend
	err error
}

func (b *uidErrBackend) UserID(socialauth.Details, map[string]any) (string, error) {
	return "", b.err
}

func TestAuthAllowed(t *testing.T) {
	tests := []struct {
		name     string
		settings settings.Map
		email    any
		deny     bool // the backend's AuthAllower says no
		allowed  bool
	}{
		{"no lists", nil, "a@example.com", false, true},
		{"listed email, case-insensitive", settings.Map{"SOCIAL_AUTH_WHITELISTED_EMAILS": []string{"A@Example.com"}}, "a@EXAMPLE.com", false, true},
		{"unlisted email", settings.Map{"SOCIAL_AUTH_WHITELISTED_EMAILS": []string{"b@example.com"}}, "a@example.com", false, false},
		{"listed domain", settings.Map{"SOCIAL_AUTH_WHITELISTED_DOMAINS": []string{"Example.com"}}, "a@example.COM", false, true},
		{"unlisted domain", settings.Map{"SOCIAL_AUTH_WHITELISTED_DOMAINS": []string{"example.org"}}, "a@example.com", false, false},
		{"subdomain is another domain", settings.Map{"SOCIAL_AUTH_WHITELISTED_DOMAINS": []string{"example.com"}}, "a@evil.example.com", false, false},
		{"malformed email denied", settings.Map{"SOCIAL_AUTH_WHITELISTED_DOMAINS": []string{"example.com"}}, "example.com", false, false},
		{"no email allowed", settings.Map{"SOCIAL_AUTH_WHITELISTED_DOMAINS": []string{"example.com"}}, nil, false, true},
		{"per-backend list", settings.Map{"SOCIAL_AUTH_FAKE_WHITELISTED_DOMAINS": []string{"example.org"}, "SOCIAL_AUTH_WHITELISTED_DOMAINS": []string{"example.com"}}, "a@example.com", false, false},
		{"backend denies", nil, "a@example.com", true, false},
		{"list allows, backend denies", settings.Map{"SOCIAL_AUTH_WHITELISTED_EMAILS": []string{"a@example.com"}}, "a@example.com", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := &testutil.FakeBackend{}
			if tc.deny {
				b.Allow = func(map[string]any, socialauth.Details) bool { return false }
			}
			d := socialauth.Details{}
			if tc.email != nil {
				d["email"] = tc.email
			}
			st := testutil.NewState(t, testutil.WithBackend(b), testutil.WithDetails(d))
			_, err := step(t, pipeline.StepAuthAllowed, st, tc.settings)
			if tc.allowed && err != nil {
				t.Errorf("err = %v, want allowed", err)
			}
			if !tc.allowed && !errors.Is(err, socialauth.CodeAuthForbidden) {
				t.Errorf("err = %v, want AuthForbidden", err)
			}
		})
	}
}

// plainStore hides MemStore's SocialUserGetter: the two-call path.
type plainStore struct{ socialauth.Storage }

// countingStore counts the calls social_user makes on a SocialUserGetter.
type countingStore struct {
	*testutil.MemStore
	getUser, getSocial, joined int
	joinedErr                  error
}

func (c *countingStore) GetUser(ctx context.Context, id string) (*socialauth.User, error) {
	c.getUser++
	return c.MemStore.GetUser(ctx, id)
}

func (c *countingStore) GetSocialAuth(ctx context.Context, provider, uid string) (*socialauth.UserSocialAuth, error) {
	c.getSocial++
	return c.MemStore.GetSocialAuth(ctx, provider, uid)
}

func (c *countingStore) GetSocialAuthWithUser(ctx context.Context, provider, uid string) (*socialauth.UserSocialAuth, *socialauth.User, error) {
	c.joined++
	if c.joinedErr != nil {
		return nil, nil, c.joinedErr
	}
	return c.MemStore.GetSocialAuthWithUser(ctx, provider, uid)
}

func TestSocialUser(t *testing.T) {
	ctx := context.Background()
	store := testutil.NewStore()
	owner, _ := store.CreateUser(ctx, map[string]any{"username": "owner"})
	other, _ := store.CreateUser(ctx, map[string]any{"username": "other"})
	sleeper, _ := store.AddUser(&socialauth.User{Username: "sleeper"})
	sa, _ := store.CreateSocialAuth(ctx, owner.ID, "fake", "U1")
	if _, err := store.CreateSocialAuth(ctx, sleeper.ID, "fake", "S1"); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		uid       string
		loggedIn  *socialauth.User
		wantUser  string // id, "" for none
		wantNew   bool
		wantAssoc bool
		wantErr   []error
	}{
		{"known uid logs in its owner", "U1", nil, owner.ID, false, false, nil},
		{"uid compared exactly", "u1", nil, "", true, true, nil},
		{"unknown uid, no user", "U2", nil, "", true, true, nil},
		{"unknown uid, logged-in user keeps it", "U2", other, other.ID, false, true, nil},
		{"owner logged in", "U1", owner, owner.ID, false, false, nil},
		{"someone else logged in", "U1", other, "", false, false, []error{socialauth.CodeAuthAlreadyAssociated}},
		{"someone else logged in, inactive owner", "S1", other, "", false, false, []error{socialauth.CodeAuthAlreadyAssociated}},
		{"inactive owner", "S1", nil, "", false, false, []error{socialauth.CodeAuthForbidden, pipeline.ErrInactiveUser}},
		{"empty uid", "", nil, "", false, false, []error{socialauth.CodeAuthMissingParameter}},
	}
	for _, storage := range []struct {
		name string
		s    socialauth.Storage
	}{
		{"joined", store},
		{"two calls", plainStore{store}},
	} {
		if _, ok := storage.s.(socialauth.SocialUserGetter); ok != (storage.name == "joined") {
			t.Fatalf("%s: implements SocialUserGetter = %v", storage.name, ok)
		}
		for _, tc := range tests {
			t.Run(storage.name+"/"+tc.name, func(t *testing.T) {
				st := testutil.NewState(t, testutil.WithStorage(storage.s), testutil.WithUID(tc.uid), testutil.WithUser(tc.loggedIn))
				_, err := step(t, pipeline.StepSocialUser, st, nil)
				if tc.wantErr != nil {
					for _, want := range tc.wantErr {
						if !errors.Is(err, want) {
							t.Errorf("err = %v, want %v", err, want)
						}
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				gotUser := ""
				if st.User != nil {
					gotUser = st.User.ID
				}
				if gotUser != tc.wantUser || st.IsNew != tc.wantNew || st.NewAssociation != tc.wantAssoc {
					t.Errorf("user %q is_new %v new_association %v; want %q %v %v", gotUser, st.IsNew, st.NewAssociation, tc.wantUser, tc.wantNew, tc.wantAssoc)
				}
				if (st.Social != nil) == tc.wantAssoc || (st.Social != nil && st.Social.ID != sa.ID) {
					t.Errorf("social = %+v", st.Social)
				}
			})
		}
	}
}

// TestSocialUserOneCall: with a SocialUserGetter, social_user reads the
// association and its owner in one call and never falls back to
// GetSocialAuth or GetUser; the getter's errors come through unchanged.
func TestSocialUserOneCall(t *testing.T) {
	ctx := context.Background()
	mem := testutil.NewStore()
	owner, _ := mem.CreateUser(ctx, map[string]any{"username": "owner"})
	if _, err := mem.CreateSocialAuth(ctx, owner.ID, "fake", "U1"); err != nil {
		t.Fatal(err)
	}
	c := &countingStore{MemStore: mem}
	st := testutil.NewState(t, testutil.WithStorage(c), testutil.WithUID("U1"))
	if _, err := step(t, pipeline.StepSocialUser, st, nil); err != nil {
		t.Fatal(err)
	}
	if st.User == nil || st.User.ID != owner.ID {
		t.Errorf("user = %+v, want the owner", st.User)
	}
	if c.joined != 1 || c.getUser != 0 || c.getSocial != 0 {
		t.Errorf("calls: joined %d, GetUser %d, GetSocialAuth %d; want 1, 0, 0", c.joined, c.getUser, c.getSocial)
	}

	boom := errors.New("database down")
	c = &countingStore{MemStore: mem, joinedErr: boom}
	st = testutil.NewState(t, testutil.WithStorage(c), testutil.WithUID("U1"))
	if _, err := step(t, pipeline.StepSocialUser, st, nil); !errors.Is(err, boom) {
		t.Errorf("getter error: %v, want %v", err, boom)
	}
	if st.User != nil || st.Social != nil {
		t.Errorf("after an error the state has user %+v, social %+v", st.User, st.Social)
	}
}

func TestAssociateByEmail(t *testing.T) {
	ctx := context.Background()
	store := testutil.NewStore()
	one, _ := store.CreateUser(ctx, map[string]any{"username": "one", "email": "One@Example.com"})
	_, _ = store.CreateUser(ctx, map[string]any{"username": "twin1", "email": "twin@example.com"})
	_, _ = store.CreateUser(ctx, map[string]any{"username": "twin2", "email": "TWIN@example.com"})
	_, _ = store.AddUser(&socialauth.User{Username: "off", Email: "off@example.com"})
	tests := []struct {
		email    string
		loggedIn *socialauth.User
		want     string
		wantErr  error
	}{
		{"one@example.COM", nil, one.ID, nil},
		{"nobody@example.com", nil, "", nil},
		{"", nil, "", nil},
		{"off@example.com", nil, "", nil},
		{"twin@example.com", nil, "", socialauth.CodeAuthException},
		{"one@example.com", &socialauth.User{ID: "77"}, "77", nil},
	}
	for _, tc := range tests {
		st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithDetails(socialauth.Details{"email": tc.email}),
			testutil.WithUser(tc.loggedIn), testutil.WithState(func(st *socialauth.State) { st.IsNew = true }))
		_, err := step(t, pipeline.StepAssociateByEmail, st, nil)
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil && err != nil) {
			t.Errorf("%q: err = %v, want %v", tc.email, err, tc.wantErr)
			continue
		}
		got := ""
		if st.User != nil {
			got = st.User.ID
		}
		if got != tc.want {
			t.Errorf("%q: user %q, want %q", tc.email, got, tc.want)
		}
		if tc.want == one.ID && st.IsNew {
			t.Errorf("%q: is_new still true", tc.email)
		}
	}
}

func TestAssociateUser(t *testing.T) {
	ctx := context.Background()
	store := testutil.NewStore()
	u, _ := store.CreateUser(ctx, map[string]any{"username": "u"})
	v, _ := store.CreateUser(ctx, map[string]any{"username": "v"})

	st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithUID("X"), testutil.WithUser(u))
	if _, err := step(t, pipeline.StepAssociateUser, st, nil); err != nil {
		t.Fatal(err)
	}
	if st.Social == nil || st.Social.UserID != u.ID || st.Social.UID != "X" || st.Social.Provider != "fake" || !st.NewAssociation {
		t.Errorf("social = %+v, new_association %v", st.Social, st.NewAssociation)
	}

	// A race lost: the error is typed and still says ErrDuplicate, and v
	// does not get the association.
	before := store.Snapshot()
	st = testutil.NewState(t, testutil.WithStorage(store), testutil.WithUID("X"), testutil.WithUser(v))
	_, err := step(t, pipeline.StepAssociateUser, st, nil)
	if !errors.Is(err, socialauth.ErrDuplicate) || !errors.Is(err, socialauth.CodeAuthAlreadyAssociated) {
		t.Errorf("collision: %v, want ErrDuplicate and AuthAlreadyAssociated", err)
	}
	if diff := before.Diff(store.Snapshot()); diff != "" {
		t.Errorf("collision wrote:\n%s", diff)
	}

	// Nothing to do without a user or with an association.
	for _, st := range []*socialauth.State{
		testutil.NewState(t, testutil.WithStorage(store), testutil.WithUID("Y")),
		testutil.NewState(t, testutil.WithStorage(store), testutil.WithUID("Y"), testutil.WithUser(u), testutil.WithSocial(&socialauth.UserSocialAuth{ID: 1})),
	} {
		if _, err := step(t, pipeline.StepAssociateUser, st, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !before.Equal(store.Snapshot()) {
		t.Error("associate_user wrote with nothing to do")
	}
}

func TestMergeExtraData(t *testing.T) {
	tests := []struct {
		name        string
		old, next   map[string]any
		want        map[string]any
		wantChanged bool
	}{
		{"empty next keeps old", map[string]any{"a": 1.0}, nil, map[string]any{"a": 1.0}, false},
		{"empty old is replaced", map[string]any{}, map[string]any{"a": "x"}, map[string]any{"a": "x"}, true},
		{"nil old is replaced", nil, map[string]any{"a": "x"}, map[string]any{"a": "x"}, true},
		{"merge keeps other keys", map[string]any{"a": "1", "b": "2"}, map[string]any{"b": "3"}, map[string]any{"a": "1", "b": "3"}, true},
		{"subset with same values is no change", map[string]any{"a": "1", "b": "2"}, map[string]any{"b": "2"}, map[string]any{"a": "1", "b": "2"}, false},
		{"int vs float is no change", map[string]any{"expires_in": 3600.0}, map[string]any{"expires_in": 3600}, map[string]any{"expires_in": 3600}, false},
		{"nested change", map[string]any{"n": map[string]any{"x": 1.0}}, map[string]any{"n": map[string]any{"x": 2.0}}, map[string]any{"n": map[string]any{"x": 2.0}}, true},
		{"nested equal is no change", map[string]any{"n": map[string]any{"x": 1.0}, "k": "v"}, map[string]any{"n": map[string]any{"x": 1}}, nil, false},
		{"string change", map[string]any{"access_token": "a0", "k": "v"}, map[string]any{"access_token": "a1"}, map[string]any{"access_token": "a1", "k": "v"}, true},
		{"new key", map[string]any{"a": "1"}, map[string]any{"b": "1"}, map[string]any{"a": "1", "b": "1"}, true},
		{"new key with null", map[string]any{"a": "1"}, map[string]any{"b": nil}, map[string]any{"a": "1", "b": nil}, true},
		{"null to null is no change", map[string]any{"a": nil}, map[string]any{"a": nil}, nil, false},
		{"bool change", map[string]any{"ok": true}, map[string]any{"ok": false}, map[string]any{"ok": false}, true},
		{"string vs number", map[string]any{"n": "1"}, map[string]any{"n": 1.0}, map[string]any{"n": 1.0}, true},
		{"zero vs negative zero", map[string]any{"n": 0.0}, map[string]any{"n": math.Copysign(0, -1)}, map[string]any{"n": math.Copysign(0, -1)}, true},
		{"invalid UTF-8 vs U+FFFD (their JSON differs)", map[string]any{"s": "a\ufffd"}, map[string]any{"s": "a\xff"}, map[string]any{"s": "a\xff"}, true},
		{"same invalid UTF-8 is no change", map[string]any{"s": "a\xff"}, map[string]any{"s": "a\xff"}, nil, false},
		{"same list is no change", map[string]any{"l": []any{"x", 1.0}}, map[string]any{"l": []any{"x", 1}}, nil, false},
		// Stored numbers read back as json.Number, every digit kept.
		{"same json.Number is no change", map[string]any{"user_id": json.Number("9007199254740993")}, map[string]any{"user_id": json.Number("9007199254740993")}, nil, false},
		{"json.Number vs int is no change", map[string]any{"expires_in": json.Number("3600")}, map[string]any{"expires_in": 3600}, nil, false},
		{"json.Number one digit off", map[string]any{"user_id": json.Number("9007199254740993")}, map[string]any{"user_id": json.Number("9007199254740992")},
			map[string]any{"user_id": json.Number("9007199254740992")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			oldCopy := cmp.Diff(nil, tc.old)
			got, changed := pipeline.MergeExtraData(tc.old, tc.next)
			if changed != tc.wantChanged {
				t.Errorf("changed = %v, want %v", changed, tc.wantChanged)
			}
			if tc.wantChanged {
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("merged (-want +got):\n%s", diff)
				}
			}
			if cmp.Diff(nil, tc.old) != oldCopy {
				t.Error("old was modified")
			}
		})
	}
}

func TestLoadExtraData(t *testing.T) {
	ctx := context.Background()
	store := testutil.NewStore()
	u, _ := store.CreateUser(ctx, map[string]any{"username": "u"})
	sa, _ := store.CreateSocialAuth(ctx, u.ID, "fake", "X")
	_, _ = store.UpdateExtraData(ctx, sa.ID, func(map[string]any) (map[string]any, bool) {
		return map[string]any{"refresh_token": "r0", "access_token": "a0"}, true
	})
	b := &testutil.FakeBackend{ExtraDataKeys: []string{"access_token"}}
	// social found by lookup when the state has none
	st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithBackend(b), testutil.WithUID("X"), testutil.WithUser(u),
		testutil.WithResponse(map[string]any{"access_token": "a1"}))
	if _, err := step(t, pipeline.StepLoadExtraData, st, nil); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"refresh_token": "r0", "access_token": "a1"}
	if diff := cmp.Diff(want, store.SocialAuths()[0].ExtraData); diff != "" {
		t.Errorf("stored extra data (-want +got):\n%s", diff)
	}
	if st.Social == nil || st.Social.AccessToken() != "a1" {
		t.Errorf("state social = %+v", st.Social)
	}
	// Same data again: nothing written (Modified unchanged).
	before := store.Snapshot()
	if _, err := step(t, pipeline.StepLoadExtraData, st, nil); err != nil {
		t.Fatal(err)
	}
	if diff := before.Diff(store.Snapshot()); diff != "" {
		t.Errorf("unchanged extra data rewritten:\n%s", diff)
	}
	// No association: nothing to do.
	st = testutil.NewState(t, testutil.WithStorage(store), testutil.WithBackend(b), testutil.WithUID("nope"))
	if _, err := step(t, pipeline.StepLoadExtraData, st, nil); err != nil || st.Social != nil {
		t.Errorf("no association: %v %+v", err, st.Social)
	}
}
