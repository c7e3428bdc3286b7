package pipeline_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

func TestCleanUsername(t *testing.T) {
	for in, want := range map[string]string{
		"alice":            "alice",
		"Álice Smith":      "liceSmith",
		"a.b@c+d_e-f":      "a.b@c+d_e-f",
		"semi;colon/slash": "semicolonslash",
		"日本":               "",
		"tab\tnew\nline":   "tabnewline",
	} {
		if got := pipeline.CleanUsername(in); got != want {
			t.Errorf("CleanUsername(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{
		"Hello World":         "hello-world",
		"  Álice   Smith  ":   "alice-smith",
		"a.b@c":               "abc",
		"x -- y":              "x-y",
		"under_score":         "under_score",
		"ﬁle":                 "file", // NFKD folds the ligature
		"trailing-":           "trailing-",
		"日本":                  "",
		"tab\tand\x1fcontrol": "tab-and-control",
	} {
		if got := pipeline.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}

var hexSuffix = regexp.MustCompile(`^[0-9a-f]+$`)

func TestGetUsername(t *testing.T) {
	ctx := context.Background()
	long := strings.Repeat("x", 200)
	tests := []struct {
		name     string
		settings settings.Map
		details  socialauth.Details
		taken    []string
		user     *socialauth.User
		want     string // exact, or prefix when wantSuffix > 0
		suffix   int    // expected random hex suffix length
		wantLen  int    // expected total length when > 0
	}{
		{name: "username detail", details: socialauth.Details{"username": "alice", "email": "a@example.com"}, want: "alice"},
		{name: "full email", settings: settings.Map{"SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL": true}, details: socialauth.Details{"username": "alice", "email": "a@example.com"}, want: "a@example.com"},
		{name: "full email without email falls back", settings: settings.Map{"SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL": true}, details: socialauth.Details{"username": "alice"}, want: "alice"},
		{name: "no username: uuid hex", details: socialauth.Details{}, want: "", suffix: 32},
		{name: "cleaned", details: socialauth.Details{"username": "Jöhn Smith!"}, want: "JhnSmith"},
		{name: "clean off", settings: settings.Map{"SOCIAL_AUTH_CLEAN_USERNAMES": false}, details: socialauth.Details{"username": "Jöhn Smith!"}, want: "Jöhn Smith!"},
		{name: "slugified", settings: settings.Map{"SOCIAL_AUTH_SLUGIFY_USERNAMES": true}, details: socialauth.Details{"username": "John.Smith"}, want: "johnsmith"},
		{name: "slugify without clean folds accents", settings: settings.Map{"SOCIAL_AUTH_SLUGIFY_USERNAMES": true, "SOCIAL_AUTH_CLEAN_USERNAMES": false}, details: socialauth.Details{"username": "Jöhn Smith"}, want: "john-smith"},
		{name: "taken gets a 16-char suffix", details: socialauth.Details{"username": "alice"}, taken: []string{"alice"}, want: "alice", suffix: 16},
		{name: "UUID_LENGTH", settings: settings.Map{"SOCIAL_AUTH_UUID_LENGTH": 6}, details: socialauth.Details{"username": "alice"}, taken: []string{"alice"}, want: "alice", suffix: 6},
		{name: "per-backend UUID_LENGTH", settings: settings.Map{"SOCIAL_AUTH_FAKE_UUID_LENGTH": 4, "SOCIAL_AUTH_UUID_LENGTH": 6}, details: socialauth.Details{"username": "alice"}, taken: []string{"alice"}, want: "alice", suffix: 4},
		{name: "cleaned to empty gets a suffix", details: socialauth.Details{"username": "日本"}, want: "", suffix: 16},
		{name: "long cut to 150", details: socialauth.Details{"username": long}, want: strings.Repeat("x", 150)},
		{name: "long and taken: cut to fit the suffix", details: socialauth.Details{"username": long}, taken: []string{strings.Repeat("x", 150)}, want: strings.Repeat("x", 134), suffix: 16, wantLen: 150},
		{name: "existing user keeps their username", details: socialauth.Details{"username": "new"}, user: &socialauth.User{ID: "9", Username: "old"}, want: "old"},
		{name: "username not in USER_FIELDS", settings: settings.Map{"SOCIAL_AUTH_USER_FIELDS": []string{"email"}}, details: socialauth.Details{"username": "alice"}, want: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := testutil.NewStore()
			for _, n := range tc.taken {
				if _, err := store.CreateUser(ctx, map[string]any{"username": n}); err != nil {
					t.Fatal(err)
				}
			}
			st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithDetails(tc.details), testutil.WithUser(tc.user))
			if _, err := step(t, pipeline.StepGetUsername, st, tc.settings); err != nil {
				t.Fatal(err)
			}
			got := st.Username
			if tc.suffix == 0 {
				if got != tc.want {
					t.Errorf("username = %q, want %q", got, tc.want)
				}
				return
			}
			rest, ok := strings.CutPrefix(got, tc.want)
			if !ok || len(rest) != tc.suffix || !hexSuffix.MatchString(rest) {
				t.Errorf("username = %q, want %q + %d hex digits", got, tc.want, tc.suffix)
			}
			if tc.wantLen > 0 && len(got) != tc.wantLen {
				t.Errorf("len = %d, want %d", len(got), tc.wantLen)
			}
			if ok, _ := store.UserExists(ctx, got); ok {
				t.Errorf("username %q is taken", got)
			}
		})
	}
}

func TestGetUsernameOptionsAndLimits(t *testing.T) {
	ctx := context.Background()
	store := testutil.NewStore()
	store.SetUsernameMaxLength(8)
	st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithDetails(socialauth.Details{"username": "ABCDEFGHIJK"}))
	_, err := step(t, pipeline.StepGetUsername, st, nil, pipeline.WithCleanUsername(strings.ToLower))
	if err != nil || st.Username != "abcdefgh" {
		t.Errorf("custom clean + storage max length: %q, %v", st.Username, err)
	}
	// A UUID_LENGTH below 1 can never make a taken name free: refused at
	// build, naming the key.
	for _, n := range []int{0, -3} {
		err = buildErr(pipeline.StepGetUsername, settings.Map{"SOCIAL_AUTH_UUID_LENGTH": n})
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !errors.Is(err, settings.ErrInvalid) ||
			!strings.Contains(err.Error(), "SOCIAL_AUTH_UUID_LENGTH") {
			t.Errorf("UUID_LENGTH %d: %v; want an ImproperlyConfigured error naming SOCIAL_AUTH_UUID_LENGTH", n, err)
		}
	}
	// A clean function that makes every name the same taken one: the search
	// is bounded and the error typed.
	_, _ = store.CreateUser(ctx, map[string]any{"username": "taken"})
	st = testutil.NewState(t, testutil.WithStorage(store), testutil.WithDetails(socialauth.Details{"username": "alice"}))
	_, err = step(t, pipeline.StepGetUsername, st, nil, pipeline.WithCleanUsername(func(string) string { return "taken" }))
	if !errors.Is(err, socialauth.CodeAuthException) || errors.Is(err, socialauth.CodeImproperlyConfigured) {
		t.Errorf("no free username: %v; want an AuthException", err)
	}
}

func TestCreateUser(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		settings settings.Map
		username string
		details  socialauth.Details
		values   map[string]any
		want     map[string]string // username, email, first_name
		wantErr  error
	}{
		{name: "username from get_username, email from details", username: "gen", details: socialauth.Details{"username": "raw", "email": "A@Example.com"},
			want: map[string]string{"username": "gen", "email": "A@Example.com"}},
		{name: "FORCE_EMAIL_LOWERCASE", settings: settings.Map{"SOCIAL_AUTH_FORCE_EMAIL_LOWERCASE": true}, username: "gen", details: socialauth.Details{"email": "A@Example.com"},
			want: map[string]string{"username": "gen", "email": "a@example.com"}},
		{name: "USER_FIELDS with first_name, value from a step", settings: settings.Map{"SOCIAL_AUTH_USER_FIELDS": []string{"username", "first_name"}}, username: "gen",
			details: socialauth.Details{"email": "e@x", "first_name": "Detail"}, values: map[string]any{"first_name": "Step"},
			want: map[string]string{"username": "gen", "first_name": "Step"}},
		{name: "taken username never adopts the account", username: "victim", details: socialauth.Details{"email": "attacker@x"}, wantErr: socialauth.ErrDuplicate},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			store := testutil.NewStore()
			victim, _ := store.CreateUser(ctx, map[string]any{"username": "victim", "email": "victim@x"})
			before := store.Snapshot()
			st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithDetails(tc.details),
				testutil.WithState(func(st *socialauth.State) { st.Username = tc.username; st.Values = tc.values }))
			_, err := step(t, pipeline.StepCreateUser, st, tc.settings)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || !errors.Is(err, socialauth.CodeAuthAlreadyAssociated) {
					t.Fatalf("err = %v, want %v and AuthAlreadyAssociated", err, tc.wantErr)
				}
				if st.User != nil {
					t.Errorf("user set after a collision: %+v (victim %s)", st.User, victim.ID)
				}
				if diff := before.Diff(store.Snapshot()); diff != "" {
					t.Errorf("collision wrote:\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !st.IsNew || st.User == nil {
				t.Fatalf("is_new %v user %v", st.IsNew, st.User)
			}
			got := map[string]string{"username": st.User.Username}
			if st.User.Email != "" {
				got["email"] = st.User.Email
			}
			if st.User.FirstName != "" {
				got["first_name"] = st.User.FirstName
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("user (-want +got):\n%s", diff)
			}
		})
	}
	// An existing user: nothing created, is_new cleared.
	store := testutil.NewStore()
	st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithUser(&socialauth.User{ID: "5"}),
		testutil.WithState(func(st *socialauth.State) { st.IsNew = true; st.Username = "x" }))
	if _, err := step(t, pipeline.StepCreateUser, st, nil); err != nil || st.IsNew || len(store.Users()) != 0 {
		t.Errorf("existing user: err %v is_new %v users %d", err, st.IsNew, len(store.Users()))
	}
}

// recordingStore counts UpdateUser calls and their fields.
type recordingStore struct {
	*testutil.MemStore
	updates [][]string
}

func (r *recordingStore) UpdateUser(ctx context.Context, u *socialauth.User, fields []string) error {
	r.updates = append(r.updates, fields)
	return r.MemStore.UpdateUser(ctx, u, fields)
}

func TestUserDetails(t *testing.T) {
	ctx := context.Background()
	base := map[string]any{"username": "alice", "email": "old@example.com", "first_name": "Old", "last_name": ""}
	tests := []struct {
		name        string
		settings    settings.Map
		details     socialauth.Details
		wantFields  []string // saved fields; nil = no UpdateUser call
		wantFirst   string
		wantLast    string
		wantEmail   string
		wantUsersnm string
	}{
		{name: "changed fields saved, protected ignored",
			details:    socialauth.Details{"username": "mallory", "email": "new@example.com", "first_name": "New", "last_name": "Liddell", "fullname": "New Liddell", "is_superuser": true},
			wantFields: []string{"first_name", "last_name"}, wantFirst: "New", wantLast: "Liddell", wantEmail: "old@example.com", wantUsersnm: "alice"},
		{name: "unchanged: no write", details: socialauth.Details{"first_name": "Old", "last_name": nil}, wantFirst: "Old", wantEmail: "old@example.com", wantUsersnm: "alice"},
		{name: "PROTECTED_USER_FIELDS", settings: settings.Map{"SOCIAL_AUTH_PROTECTED_USER_FIELDS": []string{"first_name"}},
			details: socialauth.Details{"first_name": "New", "last_name": "L"}, wantFields: []string{"last_name"}, wantFirst: "Old", wantLast: "L", wantEmail: "old@example.com", wantUsersnm: "alice"},
		{name: "NO_DEFAULT_PROTECTED_USER_FIELDS lets email change", settings: settings.Map{"SOCIAL_AUTH_NO_DEFAULT_PROTECTED_USER_FIELDS": true},
			details: socialauth.Details{"email": "new@example.com"}, wantFields: []string{"email"}, wantFirst: "Old", wantEmail: "new@example.com", wantUsersnm: "alice"},
		{name: "IMMUTABLE_USER_FIELDS: set once", settings: settings.Map{"SOCIAL_AUTH_IMMUTABLE_USER_FIELDS": []string{"first_name", "last_name"}},
			details: socialauth.Details{"first_name": "New", "last_name": "Filled"}, wantFields: []string{"last_name"}, wantFirst: "Old", wantLast: "Filled", wantEmail: "old@example.com", wantUsersnm: "alice"},
		{name: "USER_FIELD_MAPPING", settings: settings.Map{"SOCIAL_AUTH_FAKE_USER_FIELD_MAPPING": map[string]string{"given_name": "first_name", "first_name": "nickname"}},
			details: socialauth.Details{"given_name": "Mapped", "first_name": "ToNowhere"}, wantFields: []string{"first_name"}, wantFirst: "Mapped", wantEmail: "old@example.com", wantUsersnm: "alice"},
		{name: "wrong type skipped", details: socialauth.Details{"first_name": 42.0, "last_name": "L"}, wantFields: []string{"last_name"}, wantFirst: "Old", wantLast: "L", wantEmail: "old@example.com", wantUsersnm: "alice"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := testutil.NewStore()
			u, err := mem.CreateUser(ctx, base)
			if err != nil {
				t.Fatal(err)
			}
			store := &recordingStore{MemStore: mem}
			st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithDetails(tc.details), testutil.WithUser(u))
			if _, err := step(t, pipeline.StepUserDetails, st, tc.settings); err != nil {
				t.Fatal(err)
			}
			var want [][]string
			if tc.wantFields != nil {
				want = [][]string{tc.wantFields}
			}
			if diff := cmp.Diff(want, store.updates); diff != "" {
				t.Errorf("UpdateUser calls (-want +got):\n%s", diff)
			}
			got, _ := mem.GetUser(ctx, u.ID)
			if got.FirstName != tc.wantFirst || got.LastName != tc.wantLast || got.Email != tc.wantEmail || got.Username != tc.wantUsersnm {
				t.Errorf("stored user = %+v", got)
			}
			if st.User.FirstName != got.FirstName {
				t.Errorf("state user not updated: %q", st.User.FirstName)
			}
		})
	}
}

// TestUserDetailsSkipsUnmappedFields: on a custom user table without
// first_name and last_name (the store says so through UserFieldMapper),
// user_details leaves those details alone, as create_user does, instead of
// asking the store to write columns it does not have.
func TestUserDetailsSkipsUnmappedFields(t *testing.T) {
	ctx := context.Background()
	mem := testutil.NewStore()
	mem.OmitUserFields(socialauth.FieldFirstName, socialauth.FieldLastName)
	u, err := mem.CreateUser(ctx, map[string]any{"username": "ana", "email": "ana@example.com", "locale": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	store := &recordingStore{MemStore: mem}
	var _ pipeline.UserFieldMapper = store
	st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithUser(u),
		testutil.WithDetails(socialauth.Details{"first_name": "Ana", "last_name": "Lima", "fullname": "Ana Lima"}))
	if _, err := step(t, pipeline.StepUserDetails, st, nil); err != nil {
		t.Fatalf("user_details on a table without first_name/last_name: %v", err)
	}
	if len(store.updates) != 0 {
		t.Errorf("UpdateUser calls %v; want none", store.updates)
	}
	if st.User.FirstName != "" || st.User.LastName != "" {
		t.Errorf("state user claims unmapped fields: %+v", st.User)
	}
	// A mapped field next to them is still saved, alone.
	st = testutil.NewState(t, testutil.WithStorage(store), testutil.WithUser(u),
		testutil.WithDetails(socialauth.Details{"first_name": "Ana", "locale": "en"}))
	if _, err := step(t, pipeline.StepUserDetails, st, nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]string{{"locale"}}, store.updates); diff != "" {
		t.Errorf("UpdateUser calls (-want +got):\n%s", diff)
	}
}
