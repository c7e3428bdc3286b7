package socialauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// harness is one app instance: a service over an in-memory store with a
// fake backend answering for uid "jsmith", built from the settings cfg and
// the default steps plus any registered before build.
type harness struct {
	svc     *socialauth.Service
	store   *testutil.MemStore
	backend *testutil.FakeBackend
	steps   *socialauth.Steps
	cfg     settings.Map
	clock   *clock
}

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newBackend() *testutil.FakeBackend {
	return &testutil.FakeBackend{
		BackendName: "fake",
		IDKey:       "username",
		Response: map[string]any{
			"username": "jsmith", "email": "jsmith@example.com",
			"first_name": "Joe", "last_name": "Smith", "access_token": "tok-1",
		},
		ExtraDataKeys: []string{"access_token"},
	}
}

// newHarness builds a harness from cfg; steps are registered next to the
// defaults before the service is built.
func newHarness(t *testing.T, cfg settings.Map, steps ...socialauth.Step) *harness {
	t.Helper()
	if cfg == nil {
		cfg = settings.Map{}
	}
	h := &harness{store: testutil.NewStore(), backend: newBackend(), steps: pipeline.NewSteps(), cfg: cfg,
		clock: &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)}}
	h.steps.Register(steps...)
	h.build(t)
	return h
}

// build (re)builds the service from h.cfg and h.steps, over the same store
// and backend: settings are read once, here.
func (h *harness) build(t *testing.T) {
	t.Helper()
	svc, err := socialauth.New(socialauth.Options{Storage: h.store, Backends: []socialauth.Backend{h.backend},
		Steps: h.steps, Settings: settings.New(h.cfg), Now: h.clock.now})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
}

func (h *harness) strategy(session *testutil.Session, data url.Values) *testutil.Strategy {
	st := testutil.NewStrategy(testutil.StrategyOptions{BaseURL: "https://app.example.com", Session: session})
	st.SetRequestData(data)
	return st
}

func TestCompleteLogsInNewUser(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, settings.Map{"LOGIN_REDIRECT_URL": "/home"})
	var got []socialauth.AuthCompleted
	h.svc.AuthComplete().Connect(func(_ context.Context, sender string, p socialauth.AuthCompleted) error {
		got = append(got, p)
		return nil
	})
	sess := testutil.NewSession()
	if _, err := h.svc.Begin(ctx, h.strategy(sess, url.Values{"next": {"/courses?x=1"}}), "fake"); err != nil {
		t.Fatal(err)
	}
	oldID := sess.ID()
	resp, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"code": {"c"}, "state": {"s"}}), "fake")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 302 || resp.Location != "/courses?x=1" {
		t.Fatalf("redirect = %d %q, want 302 /courses?x=1", resp.Status, resp.Location)
	}
	users := h.store.Users()
	if len(users) != 1 || users[0].Username != "jsmith" || users[0].Email != "jsmith@example.com" {
		t.Fatalf("users = %+v", users)
	}
	socials := h.store.SocialAuths()
	if len(socials) != 1 || socials[0].UID != "jsmith" || socials[0].Provider != "fake" || socials[0].AccessToken() != "tok-1" {
		t.Fatalf("social auths = %+v", socials)
	}
	if sess.ID() == oldID {
		t.Error("session id not rotated at login")
	}
	if v, _ := sess.Get(socialauth.SessionUserID); v != users[0].ID {
		t.Errorf("session user = %v, want %v", v, users[0].ID)
	}
	if len(got) != 1 || got[0].User.Username != "jsmith" || !got[0].State.IsNew || got[0].Backend != "fake" {
		t.Errorf("auth_complete payloads = %+v", got)
	}
	first := h.clock.now()
	if !users[0].LastLogin.Equal(first) || !got[0].User.LastLogin.Equal(first) {
		t.Errorf("last_login = %v (signal: %v), want the sign-in time %v", users[0].LastLogin, got[0].User.LastLogin, first)
	}
	// A returning login reuses the user and association, and stamps
	// last_login again, as Django's login() does.
	h.clock.advance(time.Hour)
	sess2 := testutil.NewSession()
	resp, err = h.svc.Complete(ctx, h.strategy(sess2, url.Values{"code": {"c"}, "state": {"s"}}), "fake")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Location != "/home" {
		t.Errorf("returning user redirect = %q, want LOGIN_REDIRECT_URL /home", resp.Location)
	}
	if n, m := len(h.store.Users()), len(h.store.SocialAuths()); n != 1 || m != 1 {
		t.Errorf("after second login: %d users, %d associations; want 1, 1", n, m)
	}
	if got := h.store.Users()[0].LastLogin; !got.Equal(first.Add(time.Hour)) {
		t.Errorf("last_login after the second sign-in = %v, want %v", got, first.Add(time.Hour))
	}
}

func TestCompleteRedirectChoice(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		cfg  settings.Map
		next string
		want string
	}{
		{"new user redirect wins for new users, next kept", settings.Map{"SOCIAL_AUTH_NEW_USER_REDIRECT_URL": "/welcome"}, "/c", "/welcome?next=%2Fc"},
		{"next", nil, "/c", "/c"},
		{"unsafe next dropped at begin", settings.Map{"LOGIN_REDIRECT_URL": "/home"}, "//evil.example", "/home"},
		{"absolute next on own host", nil, "https://app.example.com/x", "https://app.example.com/x"},
		{"absolute next on allowed host", settings.Map{"SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS": []string{"other.example.com"}}, "https://other.example.com/x", "https://other.example.com/x"},
		{"nothing configured", nil, "", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			sess := testutil.NewSession()
			data := url.Values{}
			if tt.next != "" {
				data.Set("next", tt.next)
			}
			if _, err := h.svc.Begin(ctx, h.strategy(sess, data), "fake"); err != nil {
				t.Fatal(err)
			}
			resp, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"s"}}), "fake")
			if err != nil {
				t.Fatal(err)
			}
			if resp.Location != tt.want {
				t.Errorf("Location = %q, want %q", resp.Location, tt.want)
			}
		})
	}
}

func TestCompleteFailureWritesNothing(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	h.backend.CompleteErr = socialauth.NewError(socialauth.CodeAuthStateForbidden, "fake", "", nil)
	sess := testutil.NewSession()
	before := h.store.Snapshot()
	_, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"bad"}}), "fake")
	if !errors.Is(err, socialauth.CodeAuthStateForbidden) || socialauth.HTTPStatus(err) != 403 {
		t.Fatalf("err = %v (status %d), want AuthStateForbidden/403", err, socialauth.HTTPStatus(err))
	}
	if d := before.Diff(h.store.Snapshot()); d != "" {
		t.Errorf("store changed (-before +after):\n%s", d)
	}
	if _, ok := sess.Get(socialauth.SessionUserID); ok {
		t.Error("session authenticated after a failure")
	}
}

func TestPipelineStepErrorRollsBack(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, settings.Map{"SOCIAL_AUTH_PIPELINE": append(socialauth.DefaultAuthPipeline(), "test.fail")},
		socialauth.Step{Name: "test.fail", Func: func(context.Context, *socialauth.State) (*socialauth.Response, error) {
			return nil, socialauth.NewError(socialauth.CodeAuthForbidden, "fake", "no", nil)
		}})
	sess := testutil.NewSession()
	_, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"s"}}), "fake")
	if !errors.Is(err, socialauth.CodeAuthForbidden) {
		t.Fatalf("err = %v, want AuthForbidden", err)
	}
	if n, m := len(h.store.Users()), len(h.store.SocialAuths()); n != 0 || m != 0 {
		t.Errorf("a failed pipeline left %d users and %d associations", n, m)
	}
	if _, ok := sess.Get(socialauth.SessionUserID); ok {
		t.Error("session authenticated after a failure")
	}
}

// TestUnknownStepIsConfigurationError: a pipeline naming a step that is
// not registered fails socialauth.New, naming the step and the backend;
// no login ever reaches the provider with it.
func TestUnknownStepIsConfigurationError(t *testing.T) {
	for _, key := range []string{"SOCIAL_AUTH_PIPELINE", "SOCIAL_AUTH_FAKE_PIPELINE", "SOCIAL_AUTH_DISCONNECT_PIPELINE"} {
		b := newBackend()
		_, err := socialauth.New(socialauth.Options{Storage: testutil.NewStore(), Backends: []socialauth.Backend{b},
			Steps: pipeline.NewSteps(), Settings: settings.New(settings.Map{key: []string{"no.such.step"}})})
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), "no.such.step") ||
			!strings.Contains(err.Error(), key) || !errors.Is(err, settings.ErrInvalid) {
			t.Fatalf("%s: New: %v; want ImproperlyConfigured naming no.such.step and %s", key, err, key)
		}
		var e *socialauth.Error
		if !errors.As(err, &e) || e.Backend != "fake" {
			t.Errorf("%s: error %v does not name the backend", key, err)
		}
		if b.Calls().Complete != 0 {
			t.Error("backend completed although the pipeline is misconfigured")
		}
	}
}

// TestMalformedSettingFailsNew: a malformed setting of the service or of a
// pipeline step stops socialauth.New with an ImproperlyConfigured error
// naming the key (never quoting the value), instead of failing the first
// sign-in.
func TestMalformedSettingFailsNew(t *testing.T) {
	const value = "not-a-valid-value-xyz"
	for _, tc := range []struct {
		key   string
		value any
		want  error
	}{
		{"SOCIAL_AUTH_PIPELINE", 42, settings.ErrWrongType},
		{"SOCIAL_AUTH_FAKE_PIPELINE", map[string]any{"a": value}, settings.ErrWrongType},
		{"SOCIAL_AUTH_DISCONNECT_PIPELINE", true, settings.ErrWrongType},
		{"SOCIAL_AUTH_PARTIAL_PIPELINE_TTL", value, settings.ErrWrongType},
		{"SOCIAL_AUTH_FAKE_PARTIAL_PIPELINE_TTL", "-5m", settings.ErrInvalid},
		{"SOCIAL_AUTH_ALLOW_INACTIVE_USERS_LOGIN", value, settings.ErrWrongType},
		{"ALLOW_INACTIVE_USERS_LOGIN", 7, settings.ErrWrongType},
		{"SOCIAL_AUTH_SANITIZE_REDIRECTS", value, settings.ErrWrongType},
		// Redirect targets: a local path or an absolute http(s) URL.
		{"LOGIN_REDIRECT_URL", value, settings.ErrInvalid},
		{"SOCIAL_AUTH_LOGIN_ERROR_URL", "//evil.example/x", settings.ErrInvalid},
		{"SOCIAL_AUTH_FAKE_NEW_USER_REDIRECT_URL", "javascript:alert(1)", settings.ErrInvalid},
		{"SOCIAL_AUTH_LOGIN_URL", "/%2F%2Fevil.example", settings.ErrInvalid},
		{"SOCIAL_AUTH_INACTIVE_USER_URL", "/inactive/", nil},
		{"SOCIAL_AUTH_DISCONNECT_REDIRECT_URL", "https://lms.example.com/dashboard", nil},
		// Settings of the default steps are read by New too.
		{"SOCIAL_AUTH_WHITELISTED_DOMAINS", 3, settings.ErrWrongType},
		{"SOCIAL_AUTH_FAKE_USER_FIELDS", 3, settings.ErrWrongType},
		{"SOCIAL_AUTH_UUID_LENGTH", 0, settings.ErrInvalid},
		{"SOCIAL_AUTH_PROTECTED_USER_FIELDS", value, nil}, // a string is a one-item list: fine
		{"REVOKE_TOKENS_ON_DISCONNECT", value, settings.ErrWrongType},
	} {
		t.Run(tc.key, func(t *testing.T) {
			_, err := socialauth.New(socialauth.Options{Storage: testutil.NewStore(), Backends: []socialauth.Backend{newBackend()},
				Steps: pipeline.NewSteps(), Settings: settings.New(settings.Map{tc.key: tc.value})})
			if tc.want == nil {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.key) {
				t.Fatalf("New: %v; want ImproperlyConfigured (%v) naming %s", err, tc.want, tc.key)
			}
			if strings.Contains(err.Error(), value) {
				t.Errorf("error %q quotes the value", err)
			}
		})
	}
}

// TestOptionsConfigs: a backend's Config given in code is used as is (its
// settings are not read); steps still read theirs.
func TestOptionsConfigs(t *testing.T) {
	ctx := context.Background()
	cfg := socialauth.DefaultConfig()
	cfg.LoginRedirectURL = "/from-code"
	cfg.Pipeline = append(socialauth.DefaultAuthPipeline(), "test.mark")
	marked := 0
	steps := pipeline.NewSteps()
	steps.Register(socialauth.Step{Name: "test.mark", Func: func(context.Context, *socialauth.State) (*socialauth.Response, error) {
		marked++
		return nil, nil
	}})
	store := testutil.NewStore()
	svc, err := socialauth.New(socialauth.Options{Storage: store, Backends: []socialauth.Backend{newBackend()}, Steps: steps,
		// Malformed service settings are not read for a backend configured in code.
		Settings: settings.New(settings.Map{"LOGIN_REDIRECT_URL": "/from-settings", "SOCIAL_AUTH_PARTIAL_PIPELINE_TTL": "abc"}),
		Configs:  map[string]socialauth.Config{"fake": cfg}})
	if err != nil {
		t.Fatal(err)
	}
	got, ok := svc.Config("fake")
	if !ok || got.LoginRedirectURL != "/from-code" || got.PartialPipelineTTL != socialauth.DefaultPartialTTL {
		t.Errorf("Config(fake) = %+v, %v", got, ok)
	}
	st := testutil.NewStrategy(testutil.StrategyOptions{})
	resp, err := svc.Complete(ctx, st, "fake")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Location != "/from-code" || marked != 1 {
		t.Errorf("redirect %q, custom step ran %d times; want /from-code and 1", resp.Location, marked)
	}
	// The steps still read their settings: a malformed one fails New.
	_, err = socialauth.New(socialauth.Options{Storage: store, Backends: []socialauth.Backend{newBackend()}, Steps: steps,
		Settings: settings.New(settings.Map{"SOCIAL_AUTH_USER_FIELDS": 1}),
		Configs:  map[string]socialauth.Config{"fake": cfg}})
	if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), "SOCIAL_AUTH_USER_FIELDS") {
		t.Errorf("step setting with Configs: %v", err)
	}
	// An unknown step in a Config from code fails New too.
	bad := socialauth.DefaultConfig()
	bad.DisconnectPipeline = []string{"no.such.step"}
	_, err = socialauth.New(socialauth.Options{Storage: store, Backends: []socialauth.Backend{newBackend()}, Steps: steps,
		Configs: map[string]socialauth.Config{"fake": bad}})
	if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !strings.Contains(err.Error(), "no.such.step") {
		t.Errorf("unknown step in Configs: %v", err)
	}
}

// TestMultiTenant: one Service per tenant, built from each tenant's
// settings, over one store, picked per request (by host, as ecommerce picks
// its site): each behaves per its own settings.
func TestMultiTenant(t *testing.T) {
	ctx := context.Background()
	store := testutil.NewStore()
	var audited []string
	steps := pipeline.NewSteps()
	steps.Register(socialauth.Step{Name: "tenant.audit", Func: func(_ context.Context, st *socialauth.State) (*socialauth.Response, error) {
		audited = append(audited, st.User.Username)
		return nil, nil
	}})
	tenants := map[string]settings.Map{
		"a.example.com": {"LOGIN_REDIRECT_URL": "/a-home", "SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL": true},
		"b.example.com": {"LOGIN_REDIRECT_URL": "/b-home", "SOCIAL_AUTH_NEW_USER_REDIRECT_URL": "/b-welcome",
			"SOCIAL_AUTH_PIPELINE": append(socialauth.DefaultAuthPipeline(), "tenant.audit")},
	}
	services := map[string]*socialauth.Service{}
	for host, m := range tenants {
		b := newBackend()
		b.IDKey, b.Response = "id", map[string]any{"id": host, "username": "jsmith", "email": "js@" + host}
		svc, err := socialauth.New(socialauth.Options{Storage: store, Backends: []socialauth.Backend{b}, Steps: steps, Settings: settings.New(m)})
		if err != nil {
			t.Fatalf("tenant %s: %v", host, err)
		}
		services[host] = svc
	}
	// pick is the app's per-request choice.
	pick := func(host string) (*socialauth.Service, *testutil.Strategy) {
		return services[host], testutil.NewStrategy(testutil.StrategyOptions{BaseURL: "https://" + host})
	}
	for _, tc := range []struct {
		host, wantFirst, wantAgain, wantUsername string
		wantAudit                                []string
	}{
		{"a.example.com", "/a-home", "/a-home", "js@a.example.com", nil},
		{"b.example.com", "/b-welcome", "/b-home", "jsmith", []string{"jsmith", "jsmith"}},
	} {
		audited = nil
		for i, want := range []string{tc.wantFirst, tc.wantAgain} {
			svc, st := pick(tc.host)
			resp, err := svc.Complete(ctx, st, "fake")
			if err != nil {
				t.Fatalf("%s login %d: %v", tc.host, i, err)
			}
			if resp.Location != want {
				t.Errorf("%s login %d: redirect %q, want %q", tc.host, i, resp.Location, want)
			}
		}
		if c, _ := services[tc.host].Config("fake"); c.LoginRedirectURL != tc.wantAgain {
			t.Errorf("%s: Config.LoginRedirectURL = %q", tc.host, c.LoginRedirectURL)
		}
		if diff := cmp.Diff(tc.wantAudit, audited); diff != "" {
			t.Errorf("%s: tenant pipeline steps (-want +got):\n%s", tc.host, diff)
		}
		if _, err := store.GetUserByUsername(ctx, tc.wantUsername); err != nil {
			t.Errorf("%s: user %q not created with the tenant's USERNAME_IS_FULL_EMAIL: %v", tc.host, tc.wantUsername, err)
		}
	}
	if n := len(store.Users()); n != 2 {
		t.Errorf("%d users in the shared store, want one per tenant", n)
	}
}

func TestMissingBackend(t *testing.T) {
	h := newHarness(t, nil)
	_, err := h.svc.Complete(context.Background(), h.strategy(testutil.NewSession(), nil), "nope")
	if !errors.Is(err, socialauth.CodeMissingBackend) || !errors.Is(err, socialauth.CodeWrongBackend) || socialauth.HTTPStatus(err) != 404 {
		t.Fatalf("err = %v", err)
	}
}

func TestInactiveUserCannotLogIn(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		cfg      settings.Map
		wantErr  bool
		wantLoc  string
		loggedIn bool
	}{
		{name: "refused", wantErr: true},
		{name: "inactive user url", cfg: settings.Map{"SOCIAL_AUTH_INACTIVE_USER_URL": "/inactive"}, wantLoc: "/inactive"},
		{name: "allowed by setting", cfg: settings.Map{"SOCIAL_AUTH_ALLOW_INACTIVE_USERS_LOGIN": true}, wantLoc: "/", loggedIn: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.cfg)
			u, err := h.store.AddUser(&socialauth.User{Username: "jsmith", IsActive: false})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := h.store.CreateSocialAuth(ctx, u.ID, "fake", "jsmith"); err != nil {
				t.Fatal(err)
			}
			// The inactive user is found through the association: the
			// pipeline must not create a second account.
			h.cfg["SOCIAL_AUTH_PIPELINE"] = []string{
				"social_core.pipeline.social_auth.social_details",
				"social_core.pipeline.social_auth.social_uid",
				"test.inactive_social_user",
			}
			h.steps.Register(socialauth.Step{Name: "test.inactive_social_user", Func: func(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
				soc, err := st.Storage.GetSocialAuth(ctx, "fake", st.UID)
				if err != nil {
					return nil, err
				}
				st.Social = soc
				st.User = u.Clone()
				return nil, nil
			}})
			h.build(t)
			sess := testutil.NewSession()
			resp, err := h.svc.Complete(ctx, h.strategy(sess, nil), "fake")
			if tc.wantErr {
				if !errors.Is(err, socialauth.CodeAuthForbidden) {
					t.Fatalf("err = %v, want AuthForbidden", err)
				}
			} else if err != nil || resp.Location != tc.wantLoc {
				t.Fatalf("resp = %+v, err = %v; want redirect %q", resp, err, tc.wantLoc)
			}
			_, ok := sess.Get(socialauth.SessionUserID)
			if ok != tc.loggedIn {
				t.Errorf("logged in = %v, want %v", ok, tc.loggedIn)
			}
			if got, _ := h.store.GetUserByUsername(ctx, "jsmith"); got.LastLogin.IsZero() == tc.loggedIn {
				t.Errorf("last_login = %v after a sign-in that logged in = %v", got.LastLogin, tc.loggedIn)
			}
		})
	}
}

func TestLoggedInUserCannotSilentlyMerge(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	owner, _ := h.store.AddUser(&socialauth.User{Username: "owner", IsActive: true})
	other, _ := h.store.AddUser(&socialauth.User{Username: "other", IsActive: true})
	if _, err := h.store.CreateSocialAuth(ctx, owner.ID, "fake", "jsmith"); err != nil {
		t.Fatal(err)
	}
	sess := testutil.NewSession()
	sess.Set(socialauth.SessionUserID, other.ID)
	before := h.store.Snapshot()
	_, err := h.svc.Complete(ctx, h.strategy(sess, nil), "fake")
	if !errors.Is(err, socialauth.CodeAuthAlreadyAssociated) || socialauth.HTTPStatus(err) != 409 {
		t.Fatalf("err = %v, want AuthAlreadyAssociated/409", err)
	}
	if d := before.Diff(h.store.Snapshot()); d != "" {
		t.Errorf("store changed:\n%s", d)
	}
	if v, _ := sess.Get(socialauth.SessionUserID); v != other.ID {
		t.Errorf("session user = %v, want still %v", v, other.ID)
	}
}

func TestConcurrentFirstLoginsMakeOneUser(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	ids := make(chan any, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sess := testutil.NewSession()
			if _, err := h.svc.Complete(ctx, h.strategy(sess, nil), "fake"); err != nil {
				errs <- err
				return
			}
			v, _ := sess.Get(socialauth.SessionUserID)
			ids <- v
		}()
	}
	wg.Wait()
	close(errs)
	close(ids)
	for err := range errs {
		t.Errorf("login failed: %v", err)
	}
	if n, m := len(h.store.Users()), len(h.store.SocialAuths()); n != 1 || m != 1 {
		t.Fatalf("%d users and %d associations, want 1 and 1", n, m)
	}
	want := h.store.Users()[0].ID
	for id := range ids {
		if id != want {
			t.Errorf("a session was logged in as %v, want %v", id, want)
		}
	}
}

// askStep is a partial step: it pauses until the request carries `field`,
// then records it in the state.
func askStep(field string) socialauth.Step {
	return socialauth.Step{Name: "test.ask_" + field, Partial: true, Func: func(_ context.Context, st *socialauth.State) (*socialauth.Response, error) {
		if _, done := st.Get(field); done {
			return nil, nil
		}
		if v := st.Request.Get(field); v != "" {
			st.Set(field, v)
			return nil, nil
		}
		return socialauth.Redirect("/ask/" + field + "?partial_token=" + st.PartialToken()), nil
	}}
}

func partialHarness(t *testing.T) *harness {
	t.Helper()
	pipe := append(socialauth.DefaultAuthPipeline(), "test.ask_password", "test.ask_slug", "test.record")
	return newHarness(t, settings.Map{"SOCIAL_AUTH_PIPELINE": pipe}, askStep("password"), askStep("slug"),
		socialauth.Step{Name: "test.record", Func: func(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
			if st.User == nil {
				return nil, socialauth.NewError(socialauth.CodeAuthForbidden, "fake", "no user", nil)
			}
			p, _ := st.Get("password")
			s, _ := st.Get("slug")
			st.User.Extra = map[string]any{"password": p, "slug": s}
			return nil, nil
		}})
}

func tokenOf(t *testing.T, resp *socialauth.Response) string {
	t.Helper()
	u, err := url.Parse(resp.Location)
	if err != nil {
		t.Fatal(err)
	}
	tok := u.Query().Get("partial_token")
	if tok == "" {
		t.Fatalf("no partial token in %q", resp.Location)
	}
	return tok
}

func TestPartialPauseAndResume(t *testing.T) {
	ctx := context.Background()
	h := partialHarness(t)
	var seen []*socialauth.State
	h.svc.AuthComplete().Connect(func(_ context.Context, _ string, p socialauth.AuthCompleted) error {
		seen = append(seen, p.State)
		return nil
	})
	sess := testutil.NewSession()
	resp, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"s"}}), "fake")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Location, "/ask/password") {
		t.Fatalf("first pause = %q", resp.Location)
	}
	tok := tokenOf(t, resp)
	if got := h.store.Partials(); len(got) != 1 || got[0].Token != tok || got[0].Backend != "fake" {
		t.Fatalf("partials = %+v", got)
	}
	if _, ok := sess.Get(socialauth.SessionUserID); ok {
		t.Fatal("logged in while paused")
	}
	// Resume with the password: pauses again at the slug, under a new token.
	resp, err = h.svc.Complete(ctx, h.strategy(sess, url.Values{"partial_token": {tok}, "password": {"pw"}, "uid": {"mallory"}}), "fake")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(resp.Location, "/ask/slug") {
		t.Fatalf("second pause = %q", resp.Location)
	}
	tok2 := tokenOf(t, resp)
	if tok2 == tok {
		t.Error("second pause reused the token")
	}
	resp, err = h.svc.Complete(ctx, h.strategy(sess, url.Values{"partial_token": {tok2}, "slug": {"joe"}}), "fake")
	if err != nil {
		t.Fatal(err)
	}
	if resp.Status != 302 {
		t.Fatalf("final = %+v", resp)
	}
	users := h.store.Users()
	if len(users) != 1 || users[0].Username != "jsmith" {
		t.Fatalf("users = %+v", users)
	}
	if v, _ := sess.Get(socialauth.SessionUserID); v != users[0].ID {
		t.Errorf("session user = %v", v)
	}
	if len(h.store.Partials()) != 0 {
		t.Errorf("partials left: %+v", h.store.Partials())
	}
	if len(seen) != 1 || seen[0].UID != "jsmith" {
		t.Fatalf("final state uid = %+v (request data must not overwrite stored state)", seen)
	}
	if diff := cmp.Diff(map[string]any{"password": "pw", "slug": "joe"}, seen[0].User.Extra); diff != "" {
		t.Errorf("values carried across pauses (-want +got):\n%s", diff)
	}
	// Single use: the consumed token cannot be replayed.
	_, err = h.svc.Complete(ctx, h.strategy(sess, url.Values{"partial_token": {tok2}, "slug": {"x"}}), "fake")
	if !errors.Is(err, socialauth.CodeAuthForbidden) {
		t.Errorf("replayed token: err = %v, want AuthForbidden", err)
	}
}

func TestPartialRefusals(t *testing.T) {
	ctx := context.Background()
	pause := func(t *testing.T, h *harness) (*testutil.Session, string) {
		sess := testutil.NewSession()
		resp, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"s"}}), "fake")
		if err != nil {
			t.Fatal(err)
		}
		return sess, tokenOf(t, resp)
	}
	t.Run("token from another session", func(t *testing.T) {
		h := partialHarness(t)
		_, tok := pause(t, h)
		attacker := testutil.NewSession()
		before := h.store.Snapshot()
		_, err := h.svc.Complete(ctx, h.strategy(attacker, url.Values{"partial_token": {tok}, "password": {"x"}}), "fake")
		if !errors.Is(err, socialauth.CodeAuthForbidden) {
			t.Fatalf("err = %v, want AuthForbidden", err)
		}
		if d := before.Diff(h.store.Snapshot()); d != "" {
			t.Errorf("store changed:\n%s", d)
		}
		if h.backend.Calls().Complete != 1 {
			t.Errorf("backend completions = %d, want 1 (the refusal must not reach the provider)", h.backend.Calls().Complete)
		}
	})
	t.Run("session token copied into another session without its binding", func(t *testing.T) {
		h := partialHarness(t)
		_, tok := pause(t, h)
		attacker := testutil.NewSession()
		attacker.Set(socialauth.SessionPartialToken, tok)
		attacker.Set(socialauth.SessionPartialBinding, "guessed")
		before := h.store.Snapshot()
		_, err := h.svc.Complete(ctx, h.strategy(attacker, url.Values{"partial_token": {tok}, "password": {"x"}}), "fake")
		if !errors.Is(err, socialauth.CodeAuthForbidden) {
			t.Fatalf("err = %v, want AuthForbidden", err)
		}
		if d := before.Diff(h.store.Snapshot()); d != "" {
			t.Errorf("store changed (the owner's partial must survive):\n%s", d)
		}
		if _, ok := attacker.Get(socialauth.SessionUserID); ok {
			t.Error("attacker session authenticated")
		}
	})
	t.Run("expired", func(t *testing.T) {
		h := partialHarness(t)
		h.cfg["SOCIAL_AUTH_PARTIAL_PIPELINE_TTL"] = "1ns"
		h.build(t)
		sess, tok := pause(t, h)
		h.clock.advance(2 * time.Millisecond)
		_, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"partial_token": {tok}, "password": {"x"}}), "fake")
		if !errors.Is(err, socialauth.CodeAuthForbidden) || !strings.Contains(err.Error(), "expired") {
			t.Fatalf("err = %v, want an expired-partial AuthForbidden", err)
		}
		if len(h.store.Partials()) != 0 {
			t.Error("expired partial not removed")
		}
	})
	t.Run("fresh callback does not resume a stale partial", func(t *testing.T) {
		h := partialHarness(t)
		sess, _ := pause(t, h)
		resp, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"s2"}}), "fake")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(resp.Location, "/ask/password") {
			t.Fatalf("got %q, want a new run pausing at the first step", resp.Location)
		}
		if h.backend.Calls().Complete != 2 {
			t.Errorf("backend completions = %d, want 2", h.backend.Calls().Complete)
		}
		if n := len(h.store.Partials()); n != 1 {
			t.Errorf("%d partials, want only the new one", n)
		}
	})
	t.Run("a refused callback keeps the paused partial", func(t *testing.T) {
		h := partialHarness(t)
		sess, tok := pause(t, h)
		h.backend.CompleteErr = &socialauth.Error{Code: socialauth.CodeAuthStateForbidden, Backend: "fake"}
		_, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"forged"}}), "fake")
		h.backend.CompleteErr = nil
		if !errors.Is(err, socialauth.CodeAuthStateForbidden) {
			t.Fatalf("err = %v, want the backend's refusal", err)
		}
		if n := len(h.store.Partials()); n != 1 {
			t.Fatalf("%d partials after a refused callback, want the paused one kept", n)
		}
		if _, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"partial_token": {tok}, "password": {"x"}}), "fake"); err != nil {
			t.Errorf("resuming after a refused callback: %v", err)
		}
	})
	t.Run("concurrent resumes: one wins", func(t *testing.T) {
		h := partialHarness(t)
		sess, tok := pause(t, h)
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// Each goroutine acts with a copy of the session's values.
				s := testutil.NewSession()
				for k, v := range sess.Values() {
					s.Set(k, v)
				}
				_, err := h.svc.Complete(ctx, h.strategy(s, url.Values{"partial_token": {tok}, "password": {"x"}}), "fake")
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d resumes succeeded, want exactly 1", wins)
		}
	})
}

func TestLogoutDropsPartialAndFlushes(t *testing.T) {
	ctx := context.Background()
	h := partialHarness(t)
	sess := testutil.NewSession()
	if _, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"s"}}), "fake"); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Logout(ctx, h.strategy(sess, nil)); err != nil {
		t.Fatal(err)
	}
	if len(h.store.Partials()) != 0 {
		t.Error("partial kept after logout")
	}
	if len(sess.Values()) != 0 || sess.Flushes() != 1 {
		t.Errorf("session not flushed: %v", sess.Values())
	}
}

func TestDisconnect(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	sess := testutil.NewSession()
	if _, err := h.svc.Complete(ctx, h.strategy(sess, nil), "fake"); err != nil {
		t.Fatal(err)
	}
	// The only way to log in: refused.
	_, err := h.svc.Disconnect(ctx, h.strategy(sess, nil), "fake", 0)
	if !errors.Is(err, socialauth.CodeNotAllowedToDisconnect) {
		t.Fatalf("err = %v, want NotAllowedToDisconnect", err)
	}
	// A second association makes it allowed.
	u := h.store.Users()[0]
	if _, err := h.store.CreateSocialAuth(ctx, u.ID, "other", "jsmith"); err != nil {
		t.Fatal(err)
	}
	resp, err := h.svc.Disconnect(ctx, h.strategy(sess, url.Values{"next": {"/settings"}}), "fake", 0)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Location != "/settings" {
		t.Errorf("Location = %q", resp.Location)
	}
	if got := h.store.SocialAuths(); len(got) != 1 || got[0].Provider != "other" {
		t.Errorf("associations = %+v", got)
	}
	// Anonymous: refused.
	_, err = h.svc.Disconnect(ctx, h.strategy(testutil.NewSession(), nil), "fake", 0)
	if !errors.Is(err, socialauth.CodeAuthForbidden) {
		t.Errorf("anonymous disconnect: err = %v", err)
	}
}

func TestReceiverFailureDoesNotBreakLogin(t *testing.T) {
	h := newHarness(t, nil)
	h.svc.AuthComplete().Connect(func(context.Context, string, socialauth.AuthCompleted) error { panic("boom") })
	h.svc.AuthComplete().Connect(func(context.Context, string, socialauth.AuthCompleted) error { return fmt.Errorf("nope") })
	sess := testutil.NewSession()
	if _, err := h.svc.Complete(context.Background(), h.strategy(sess, nil), "fake"); err != nil {
		t.Fatal(err)
	}
	if _, ok := sess.Get(socialauth.SessionUserID); !ok {
		t.Error("login broken by a receiver")
	}
}

// TestBackendsOnePerName: two backends of one name, or none, stop New.
func TestBackendsOnePerName(t *testing.T) {
	for name, list := range map[string][]socialauth.Backend{
		"duplicate": {&testutil.FakeBackend{BackendName: "x"}, &testutil.FakeBackend{BackendName: "x"}},
		"none":      nil,
		"too long":  {&testutil.FakeBackend{BackendName: strings.Repeat("b", socialauth.MaxBackendNameLength+1)}},
		"slash":     {&testutil.FakeBackend{BackendName: "a/b"}},
		"space":     {&testutil.FakeBackend{BackendName: "a b"}},
		"non-ASCII": {&testutil.FakeBackend{BackendName: "gööglé"}},
		"dot-dot":   {&testutil.FakeBackend{BackendName: ".."}},
	} {
		_, err := socialauth.New(socialauth.Options{Storage: testutil.NewStore(), Steps: pipeline.NewSteps(), Backends: list})
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) {
			t.Errorf("%s: New = %v, want ImproperlyConfigured", name, err)
		}
	}
	svc, err := socialauth.New(socialauth.Options{Storage: testutil.NewStore(), Steps: pipeline.NewSteps(),
		Backends: []socialauth.Backend{&testutil.FakeBackend{BackendName: "b"}, &testutil.FakeBackend{BackendName: "a"},
			&testutil.FakeBackend{BackendName: "azuread-tenant-oauth2"}, &testutil.FakeBackend{BackendName: "Custom_v2.1"},
			&testutil.FakeBackend{BackendName: strings.Repeat("b", socialauth.MaxBackendNameLength)}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := svc.BackendNames(); len(got) != 5 || got[0] != "Custom_v2.1" || got[1] != "a" || got[2] != "azuread-tenant-oauth2" {
		t.Errorf("BackendNames = %v", got)
	}
	if _, ok := svc.Backend("c"); ok {
		t.Error("Backend(c) found")
	}
}

// TestSessionReplacerSignsInAfresh: with a backend whose sign-ins replace the
// session's user, a sign-in completed while another user is signed in (a
// second tab) signs its own user in, never connects its identity to the
// signed-in user; without it, the same callback connects (upstream).
func TestSessionReplacerSignsInAfresh(t *testing.T) {
	ctx := context.Background()
	for _, replaces := range []bool{true, false} {
		t.Run(fmt.Sprintf("replaces=%v", replaces), func(t *testing.T) {
			store := testutil.NewStore()
			b := &replacingBackend{FakeBackend: &testutil.FakeBackend{Response: map[string]any{"id": "bob", "username": "bob"}}, replaces: replaces}
			svc, err := socialauth.New(socialauth.Options{Storage: store, Steps: pipeline.NewSteps(), Backends: []socialauth.Backend{b}})
			if err != nil {
				t.Fatal(err)
			}
			alice, err := store.CreateUser(ctx, map[string]any{"username": "alice"})
			if err != nil {
				t.Fatal(err)
			}
			st := testutil.NewStrategy(testutil.StrategyOptions{})
			st.SessionSet(socialauth.SessionUserID, alice.ID)
			st.SetRequestData(url.Values{"state": {"s"}})
			if _, err := svc.Complete(ctx, st, b.Name()); err != nil {
				t.Fatal(err)
			}
			sa, err := store.GetSocialAuth(ctx, b.Name(), "bob")
			if err != nil {
				t.Fatal(err)
			}
			signedIn, _ := st.SessionGet(socialauth.SessionUserID)
			if replaces && (sa.UserID == alice.ID || signedIn == alice.ID) {
				t.Errorf("bob's identity went to %s and the session is %v; want a user of its own, signed in", sa.UserID, signedIn)
			}
			if !replaces && sa.UserID != alice.ID {
				t.Errorf("without SessionReplacer bob's identity went to %s, want alice's %s (upstream's connect)", sa.UserID, alice.ID)
			}
		})
	}
}

type replacingBackend struct {
	*testutil.FakeBackend
	replaces bool
}

func (b *replacingBackend) ReplacesSessionUser() bool { return b.replaces }

// A paused pipeline's state goes through JSON (the partial's data): numbers
// come back as json.Number with every digit, not as float64 (an LMS user_id
// of 2^53+1 would become ...992).
func TestPartialKeepsExactNumbers(t *testing.T) {
	ctx := context.Background()
	h := partialHarness(t)
	const big = "9007199254740993"
	h.backend.Response["user_id"] = json.Number(big)
	var final *socialauth.State
	h.svc.AuthComplete().Connect(func(_ context.Context, _ string, p socialauth.AuthCompleted) error {
		final = p.State
		return nil
	})
	sess := testutil.NewSession()
	resp, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"state": {"s"}}), "fake")
	if err != nil {
		t.Fatal(err)
	}
	resp, err = h.svc.Complete(ctx, h.strategy(sess, url.Values{"partial_token": {tokenOf(t, resp)}, "password": {"pw"}}), "fake")
	if err != nil {
		t.Fatal(err)
	}
	if _, err = h.svc.Complete(ctx, h.strategy(sess, url.Values{"partial_token": {tokenOf(t, resp)}, "slug": {"joe"}}), "fake"); err != nil {
		t.Fatal(err)
	}
	if final == nil {
		t.Fatal("the pipeline did not complete")
	}
	got := final.Response["user_id"]
	if n, ok := got.(json.Number); !ok || n.String() != big {
		t.Errorf("user_id after two pauses = %v (%T), want json.Number %s", got, got, big)
	}
}
