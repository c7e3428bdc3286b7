package pipeline_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

type sent struct {
	email, code, token string
}

func TestMailValidation(t *testing.T) {
	ctx := context.Background()
	on := settings.Map{"SOCIAL_AUTH_FORCE_EMAIL_VALIDATION": true, "SOCIAL_AUTH_EMAIL_VALIDATION_URL": "/validate/"}
	var outbox []sent
	send := pipeline.WithEmailSender(func(_ context.Context, _ *socialauth.State, c *socialauth.EmailCode, token string) error {
		outbox = append(outbox, sent{c.Email, c.Code, token})
		return nil
	})

	// Inactive unless required, with an email, for a new user (or PASSWORDLESS).
	for _, tc := range []struct {
		name     string
		settings settings.Map
		email    string
		isNew    bool
	}{
		{"not required", settings.Map{"SOCIAL_AUTH_EMAIL_VALIDATION_URL": "/v/"}, "a@x", true},
		{"no email", on, "", true},
		{"existing user", on, "a@x", false},
	} {
		st := testutil.NewState(t, testutil.WithDetails(socialauth.Details{"email": tc.email}),
			testutil.WithState(func(st *socialauth.State) { st.IsNew = tc.isNew }))
		if resp, err := step(t, pipeline.StepMailValidation, st, tc.settings, send); resp != nil || err != nil {
			t.Errorf("%s: resp %v err %v, want pass-through", tc.name, resp, err)
		}
	}
	if len(outbox) != 0 {
		t.Fatalf("sent %v while inactive", outbox)
	}

	// First pass: a code is made and sent, the pipeline pauses on a redirect.
	store := testutil.NewStore()
	strat := testutil.NewStrategy(testutil.StrategyOptions{})
	st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithStrategy(strat),
		testutil.WithDetails(socialauth.Details{"email": "a@example.com"}), testutil.WithState(func(st *socialauth.State) { st.IsNew = true }))
	resp, err := step(t, pipeline.StepMailValidation, st, on, send)
	if err != nil || resp == nil || resp.Location != "/validate/" {
		t.Fatalf("first pass: %+v, %v", resp, err)
	}
	if len(outbox) != 1 || outbox[0].email != "a@example.com" || outbox[0].token != st.PartialToken() || len(outbox[0].token) < 32 {
		t.Fatalf("outbox = %+v (partial token %q)", outbox, st.PartialToken())
	}
	if v, _ := strat.SessionGet(pipeline.SessionEmailValidationAddress); v != "a@example.com" {
		t.Errorf("session address = %v", v)
	}
	code := outbox[0].code

	resume := func(code string, email string) error {
		st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithStrategy(strat),
			testutil.WithDetails(socialauth.Details{"email": email}), testutil.WithState(func(st *socialauth.State) {
				st.IsNew = true
				st.Request = url.Values{"verification_code": {code}}
			}))
		resp, err := step(t, pipeline.StepMailValidation, st, on, send)
		if resp != nil {
			t.Errorf("resume answered %+v", resp)
		}
		return err
	}
	if err := resume("wrong", "a@example.com"); !errors.Is(err, socialauth.CodeInvalidEmail) {
		t.Errorf("wrong code: %v", err)
	}
	if _, ok := strat.SessionGet(pipeline.SessionEmailValidationAddress); ok {
		t.Error("session address not popped on a verification attempt")
	}
	if err := resume(code, "other@example.com"); !errors.Is(err, socialauth.CodeInvalidEmail) {
		t.Errorf("code for another email: %v", err)
	}
	if err := resume(code, "a@example.com"); err != nil {
		t.Errorf("right code: %v", err)
	}
	if c := store.Codes(); len(c) != 1 || !c[0].Verified {
		t.Errorf("codes = %+v", c)
	}
	if err := resume(code, "a@example.com"); !errors.Is(err, socialauth.CodeInvalidEmail) {
		t.Errorf("code reused: %v", err)
	}

	// PASSWORDLESS applies to existing users too.
	pl := settings.Map{"SOCIAL_AUTH_FORCE_EMAIL_VALIDATION": true, "SOCIAL_AUTH_PASSWORDLESS": true, "SOCIAL_AUTH_EMAIL_VALIDATION_URL": "/pl/"}
	st = testutil.NewState(t, testutil.WithDetails(socialauth.Details{"email": "a@x"}))
	if resp, err := step(t, pipeline.StepMailValidation, st, pl, send); err != nil || resp == nil || resp.Location != "/pl/" {
		t.Errorf("PASSWORDLESS, existing user: %+v %v; want the validation redirect", resp, err)
	}
	// A missing URL or sender fails when the pipeline is built, not at the
	// first login that has to send.
	noURL := settings.Map{"SOCIAL_AUTH_FORCE_EMAIL_VALIDATION": true}
	if err := buildErr(pipeline.StepMailValidation, noURL, send); !errors.Is(err, socialauth.CodeImproperlyConfigured) ||
		!errors.Is(err, settings.ErrMissing) || !strings.Contains(err.Error(), "EMAIL_VALIDATION_URL") {
		t.Errorf("no EMAIL_VALIDATION_URL: %v; want ImproperlyConfigured naming it", err)
	}
	if err := buildErr(pipeline.StepMailValidation, on); !errors.Is(err, socialauth.CodeImproperlyConfigured) || !errors.Is(err, pipeline.ErrNoEmailSender) {
		t.Errorf("no sender: %v; want ImproperlyConfigured wrapping ErrNoEmailSender", err)
	}

	// A backend that requires validation needs no setting.
	st = testutil.NewState(t, testutil.WithBackend(&requiresEmail{}),
		testutil.WithDetails(socialauth.Details{"email": "b@x"}), testutil.WithState(func(st *socialauth.State) { st.IsNew = true }))
	if resp, err := step(t, pipeline.StepMailValidation, st, settings.Map{"EMAIL_VALIDATION_URL": "/v/"}, send); err != nil || resp == nil || resp.Location != "/v/" {
		t.Errorf("backend requiring validation: %+v %v", resp, err)
	}
	_ = ctx
}

type requiresEmail struct{ testutil.FakeBackend }

func (*requiresEmail) RequiresEmailValidation() bool { return true }

func TestDisconnectPipeline(t *testing.T) {
	ctx := context.Background()
	type setup struct {
		store *testutil.MemStore
		user  *socialauth.User
		ids   []int64
	}
	arrange := func(t *testing.T, password bool) setup {
		store := testutil.NewStore()
		u, _ := store.CreateUser(ctx, map[string]any{"username": "u"})
		_ = store.SetUsablePassword(u.ID, password)
		var ids []int64
		for _, a := range [][2]string{{"fake", "1"}, {"fake", "2"}, {"github", "3"}} {
			sa, _ := store.CreateSocialAuth(ctx, u.ID, a[0], a[1])
			_, _ = store.UpdateExtraData(ctx, sa.ID, func(map[string]any) (map[string]any, bool) {
				return map[string]any{"access_token": "tok-" + a[1]}, true
			})
			ids = append(ids, sa.ID)
		}
		return setup{store, u, ids}
	}
	tests := []struct {
		name        string
		revoke      any
		byIndex     int // association index + 1; 0 = whole backend
		wantErr     error
		wantLeft    int
		wantRevoked []testutil.RevokeCall
	}{
		{name: "all of the backend", wantLeft: 1},
		{name: "one association", byIndex: 2, wantLeft: 2},
		{name: "revoke on", revoke: true, wantLeft: 1, wantRevoked: []testutil.RevokeCall{{Token: "tok-1", UID: "1"}, {Token: "tok-2", UID: "2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := arrange(t, false)
			b := &testutil.FakeBackend{}
			m := settings.Map{}
			if tc.revoke != nil {
				m["SOCIAL_AUTH_REVOKE_TOKENS_ON_DISCONNECT"] = tc.revoke
			}
			st := testutil.NewState(t, testutil.WithStorage(s.store), testutil.WithBackend(b), testutil.WithUser(s.user),
				testutil.WithState(func(st *socialauth.State) {
					if tc.byIndex > 0 {
						st.AssociationID = s.ids[tc.byIndex-1]
					}
				}))
			if _, err := run(t, st, socialauth.DefaultDisconnectPipeline(), m); err != nil {
				t.Fatal(err)
			}
			if n := len(s.store.SocialAuths()); n != tc.wantLeft {
				t.Errorf("%d associations left, want %d", n, tc.wantLeft)
			}
			if got := b.Calls().Revoked; len(got) != len(tc.wantRevoked) || (len(got) > 0 && got[0] != tc.wantRevoked[0]) {
				t.Errorf("revoked %v, want %v", got, tc.wantRevoked)
			}
		})
	}

	// The last way to log in cannot go; nothing is removed.
	store := testutil.NewStore()
	u, _ := store.CreateUser(ctx, map[string]any{"username": "u"})
	_, _ = store.CreateSocialAuth(ctx, u.ID, "fake", "1")
	before := store.Snapshot()
	st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithUser(u))
	if _, err := run(t, st, socialauth.DefaultDisconnectPipeline(), nil); !errors.Is(err, socialauth.CodeNotAllowedToDisconnect) {
		t.Errorf("last association: %v", err)
	}
	if !before.Equal(store.Snapshot()) {
		t.Error("refused disconnect wrote")
	}
	// Revocation failure aborts before anything is removed.
	s := arrange(t, true)
	b := &testutil.FakeBackend{RevokeErr: socialauth.NewError(socialauth.CodeAuthUnreachableProvider, "fake", "", nil)}
	before = s.store.Snapshot()
	st = testutil.NewState(t, testutil.WithStorage(s.store), testutil.WithBackend(b), testutil.WithUser(s.user))
	if _, err := run(t, st, socialauth.DefaultDisconnectPipeline(), settings.Map{"REVOKE_TOKENS_ON_DISCONNECT": true}); !errors.Is(err, socialauth.CodeAuthUnreachableProvider) {
		t.Errorf("revoke failure: %v", err)
	}
	if !before.Equal(s.store.Snapshot()) {
		t.Error("failed revoke removed associations")
	}
	// REVOKE_TOKENS_ON_DISCONNECT is global only: a per-backend value is ignored.
	s = arrange(t, true)
	b = &testutil.FakeBackend{}
	st = testutil.NewState(t, testutil.WithStorage(s.store), testutil.WithBackend(b), testutil.WithUser(s.user))
	if _, err := run(t, st, socialauth.DefaultDisconnectPipeline(), settings.Map{"SOCIAL_AUTH_FAKE_REVOKE_TOKENS_ON_DISCONNECT": true}); err != nil || len(b.Calls().Revoked) != 0 {
		t.Errorf("per-backend revoke setting honoured: %v %v", err, b.Calls().Revoked)
	}
	// No user.
	st = testutil.NewState(t)
	if _, err := step(t, pipeline.StepAllowedToDisconnect, st, nil); !errors.Is(err, socialauth.CodeNotAllowedToDisconnect) {
		t.Errorf("no user: %v", err)
	}
}

func TestDefaultAuthPipeline(t *testing.T) {
	ctx := context.Background()
	store := testutil.NewStore()
	b := &testutil.FakeBackend{
		Response:      map[string]any{"id": "Jsmith", "username": "jsmith", "email": "j@example.com", "first_name": "John", "access_token": "t1"},
		ExtraDataKeys: []string{"access_token"},
	}
	login := func() *socialauth.State {
		t.Helper()
		resp, _ := b.Complete(ctx, nil)
		st := testutil.NewState(t, testutil.WithStorage(store), testutil.WithBackend(b), testutil.WithResponse(resp))
		err := store.Transaction(ctx, func(tx socialauth.Storage) error {
			st.Storage = tx
			_, err := run(t, st, socialauth.DefaultAuthPipeline(), nil)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	first := login()
	if !first.IsNew || !first.NewAssociation || first.User.Username != "jsmith" || first.User.FirstName != "John" || first.UID != "Jsmith" {
		t.Errorf("first login: %+v", first)
	}
	if sa := store.SocialAuths(); len(sa) != 1 || sa[0].AccessToken() != "t1" {
		t.Errorf("associations: %+v", sa)
	}
	b.Response["access_token"] = "t2"
	b.Response["first_name"] = "Johnny"
	second := login()
	if second.IsNew || second.NewAssociation || second.User.ID != first.User.ID || second.User.FirstName != "Johnny" {
		t.Errorf("second login: %+v", second)
	}
	if sa := store.SocialAuths(); len(sa) != 1 || sa[0].AccessToken() != "t2" || len(store.Users()) != 1 {
		t.Errorf("after second login: %d users, %+v", len(store.Users()), sa)
	}
	// A uid differing only in case is another account with a fresh username.
	b.Response["id"] = "jsmith"
	third := login()
	if !third.IsNew || third.User.ID == first.User.ID || third.User.Username == "jsmith" {
		t.Errorf("case-variant uid: %+v", third.User)
	}
}
