package edx_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/testutil"
)

// GetUserIfExistsPipelineTests.
func TestGetUserIfExists(t *testing.T) {
	ctx := context.Background()
	t.Run("no user exists", func(t *testing.T) {
		st := testutil.NewState(t, testutil.WithDetails(socialauth.Details{"username": "edx"}),
			testutil.WithState(func(s *socialauth.State) { s.IsNew = true }))
		if resp, err := edx.GetUserIfExists(ctx, st); resp != nil || err != nil {
			t.Fatalf("= %v, %v", resp, err)
		}
		if st.User != nil || !st.IsNew {
			t.Errorf("state changed: user %v, is_new %v", st.User, st.IsNew)
		}
	})
	t.Run("existing user", func(t *testing.T) {
		store := testutil.NewStore()
		u, _ := store.AddUser(&socialauth.User{Username: "edx", IsActive: true})
		_, _ = store.AddUser(&socialauth.User{Username: "EDX", IsActive: true})
		st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithDetails(socialauth.Details{"username": "edx"}),
			testutil.WithState(func(s *socialauth.State) { s.IsNew = true }))
		if _, err := edx.GetUserIfExists(ctx, st); err != nil {
			t.Fatal(err)
		}
		if st.User == nil || st.User.ID != u.ID || st.IsNew {
			t.Errorf("user %+v, is_new %v; want %q, false", st.User, st.IsNew, u.ID)
		}
	})
	t.Run("user passed", func(t *testing.T) {
		store := testutil.NewStore()
		_, _ = store.AddUser(&socialauth.User{Username: "edx", IsActive: true})
		passed := &socialauth.User{ID: "77", Username: "someone"}
		st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithUser(passed),
			testutil.WithDetails(socialauth.Details{"username": "edx"}),
			testutil.WithState(func(s *socialauth.State) { s.IsNew = true }))
		if _, err := edx.GetUserIfExists(ctx, st); err != nil {
			t.Fatal(err)
		}
		if st.User.ID != "77" || st.IsNew {
			t.Errorf("user %+v, is_new %v", st.User, st.IsNew)
		}
	})
	t.Run("no username looks nothing up", func(t *testing.T) {
		store := testutil.NewStore()
		_, _ = store.AddUser(&socialauth.User{Username: "", IsActive: true})
		for _, d := range []socialauth.Details{{}, {"username": nil}, {"username": ""}} {
			st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithDetails(d))
			if _, err := edx.GetUserIfExists(ctx, st); err != nil || st.User != nil {
				t.Errorf("details %v: user %v, err %v", d, st.User, err)
			}
		}
	})
}

// UpdateEmailPipelineTests.
func TestUpdateEmail(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T, details socialauth.Details) (*testutil.MemStore, *socialauth.State, *logBuffer) {
		store := testutil.NewStore()
		u, err := store.AddUser(&socialauth.User{Username: "test_user", Email: "", IsActive: true})
		if err != nil {
			t.Fatal(err)
		}
		logger, logs := newLogger()
		st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithUser(u), testutil.WithDetails(details),
			testutil.WithState(func(s *socialauth.State) { s.Logger = logger }))
		return store, st, logs
	}
	email := func(t *testing.T, store *testutil.MemStore) string {
		u, err := store.GetUserByUsername(ctx, "test_user")
		if err != nil {
			t.Fatal(err)
		}
		return u.Email
	}

	t.Run("update email", func(t *testing.T) {
		var hooked []string
		steps := socialauth.NewSteps()
		edx.RegisterSteps(steps, edx.OnEmailUpdated(func(_ context.Context, u *socialauth.User) { hooked = append(hooked, u.Email) }))
		step, _ := steps.Lookup(edx.StepUpdateEmail)
		store, st, _ := setup(t, socialauth.Details{"email": "updated@example.com", "username": "test_user"})
		if resp, err := step.Func(ctx, st); resp != nil || err != nil {
			t.Fatalf("= %v, %v", resp, err)
		}
		if got := email(t, store); got != "updated@example.com" {
			t.Errorf("email = %q", got)
		}
		if st.Values[edx.EmailUpdatedKey] != true {
			t.Error("update_email.email_updated not recorded")
		}
		if !cmp.Equal(hooked, []string{"updated@example.com"}) {
			t.Errorf("hook calls = %v", hooked)
		}
	})
	t.Run("update email with none", func(t *testing.T) {
		store, st, _ := setup(t, socialauth.Details{"email": nil, "username": "test_user"})
		if _, err := edx.UpdateEmail(ctx, st); err != nil {
			t.Fatal(err)
		}
		if got := email(t, store); got != "" {
			t.Errorf("email = %q, want unchanged", got)
		}
		if _, ok := st.Values[edx.EmailUpdatedKey]; ok {
			t.Error("update_email.email_updated recorded")
		}
	})
	t.Run("username mismatch no update", func(t *testing.T) {
		store, st, logs := setup(t, socialauth.Details{"email": "updated@example.com", "username": "different_user"})
		if _, err := edx.UpdateEmail(ctx, st); err != nil {
			t.Fatal(err)
		}
		if got := email(t, store); got != "" {
			t.Errorf("email = %q, want unchanged", got)
		}
		want := []string{"Unexpected username mismatch during email update. Skipping email update for user test_user. " +
			"User username: test_user, Details username: different_user"}
		if diff := cmp.Diff(want, logs.messages(t, "WARN")); diff != "" {
			t.Errorf("warnings (-want +got):\n%s", diff)
		}
		if _, ok := st.Values[edx.EmailUpdatedKey]; ok {
			t.Error("update_email.email_updated recorded")
		}
	})
	t.Run("missing username is a mismatch", func(t *testing.T) {
		store, st, logs := setup(t, socialauth.Details{"email": "updated@example.com"})
		if _, err := edx.UpdateEmail(ctx, st); err != nil {
			t.Fatal(err)
		}
		if got := email(t, store); got != "" {
			t.Errorf("email = %q, want unchanged", got)
		}
		if w := logs.messages(t, "WARN"); len(w) != 1 || w[0] != "Unexpected username mismatch during email update. Skipping email update for user test_user. User username: test_user, Details username: None" {
			t.Errorf("warnings = %q", w)
		}
	})
	t.Run("same email", func(t *testing.T) {
		store, st, _ := setup(t, socialauth.Details{"email": "", "username": "test_user"})
		if _, err := edx.UpdateEmail(ctx, st); err != nil {
			t.Fatal(err)
		}
		if got := email(t, store); got != "" {
			t.Errorf("email = %q", got)
		}
		if _, ok := st.Values[edx.EmailUpdatedKey]; ok {
			t.Error("recorded without a change")
		}
	})
	t.Run("no user", func(t *testing.T) {
		store, st, logs := setup(t, socialauth.Details{"email": "updated@example.com", "username": "test_user"})
		st.User = nil
		if resp, err := edx.UpdateEmail(ctx, st); resp != nil || err != nil {
			t.Fatalf("= %v, %v", resp, err)
		}
		if got := email(t, store); got != "" || len(logs.messages(t, "WARN")) != 0 {
			t.Errorf("email %q, warnings %q", got, logs.messages(t, "WARN"))
		}
	})
}

// The edX pipeline resolves against the default steps plus RegisterSteps,
// in upstream's order, without get_username.
func TestPipeline(t *testing.T) {
	want := []string{
		"social_core.pipeline.social_auth.social_details",
		"social_core.pipeline.social_auth.social_uid",
		"social_core.pipeline.social_auth.auth_allowed",
		"social_core.pipeline.social_auth.social_user",
		"auth_backends.pipeline.get_user_if_exists",
		"social_core.pipeline.user.create_user",
		"social_core.pipeline.social_auth.associate_user",
		"social_core.pipeline.social_auth.load_extra_data",
		"social_core.pipeline.user.user_details",
		"auth_backends.pipeline.update_email",
	}
	if diff := cmp.Diff(want, edx.Pipeline()); diff != "" {
		t.Errorf("Pipeline (-want +got):\n%s", diff)
	}
	if slices.Contains(edx.Pipeline(), pipeline.StepGetUsername) {
		t.Error("get_username in the edX pipeline")
	}
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	if _, err := steps.Resolve(edx.Pipeline()); err != nil {
		t.Errorf("Resolve: %v", err)
	}
}
