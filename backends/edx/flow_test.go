package edx_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// completions records the auth_complete signal.
type completions struct {
	mu   sync.Mutex
	sent []socialauth.AuthCompleted
	from []string
}

func listen(h *harness) *completions {
	c := &completions{}
	h.svc.AuthComplete().Connect(func(_ context.Context, sender string, p socialauth.AuthCompleted) error {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.sent = append(c.sent, p)
		c.from = append(c.from, sender)
		return nil
	})
	return c
}

func (c *completions) all() ([]socialauth.AuthCompleted, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.sent), slices.Clone(c.from)
}

// test_login: the full flow through social-core's default pipeline; the
// token request carries token_type=jwt; jsmith is logged in.
func TestLoginDefaultPipeline(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	signal := listen(h)
	sess := testutil.NewSession()
	resp, err := h.login(sess, url.Values{"next": {"/courses/"}})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if resp.Status != http.StatusFound || resp.Location != "/courses/" {
		t.Errorf("Complete = %d %q, want 302 /courses/", resp.Status, resp.Location)
	}
	users := h.store.Users()
	if len(users) != 1 || users[0].Username != expectedUsername {
		t.Fatalf("users = %+v, want jsmith", users)
	}
	jsmith := users[0]
	if got := sessionUser(sess); got != jsmith.ID {
		t.Errorf("session user = %q, want %q", got, jsmith.ID)
	}
	if sess.Rotations() == 0 {
		t.Error("the session id was not rotated at login")
	}
	if u, err := h.svc.CurrentUser(context.Background(), h.strategy(sess, nil)); err != nil || u == nil || u.Username != expectedUsername {
		t.Errorf("CurrentUser = %+v, %v", u, err)
	}

	trs := h.lms.TokenRequests()
	if len(trs) != 1 {
		t.Fatalf("token requests = %d, want 1", len(trs))
	}
	tr := trs[0]
	if tr.Form.Get("token_type") != "jwt" || tr.Form.Get("grant_type") != "authorization_code" ||
		tr.Form.Get("client_id") != clientKey || tr.Form.Get("client_secret") != clientSecret || tr.BasicAuth {
		t.Errorf("token request form = %v (basic %v)", tr.Form, tr.BasicAuth)
	}
	if !strings.HasPrefix(tr.ContentType, "application/x-www-form-urlencoded") || tr.Accept != "application/json" {
		t.Errorf("token request headers: Content-Type %q, Accept %q", tr.ContentType, tr.Accept)
	}

	socials := h.store.SocialAuths()
	if len(socials) != 1 || socials[0].Provider != "edx-oauth2" || socials[0].UID != expectedUsername || socials[0].UserID != jsmith.ID {
		t.Fatalf("associations = %+v", socials)
	}
	extra := socials[0].ExtraData
	for _, k := range []string{"access_token", "refresh_token", "auth_time"} {
		if v, ok := extra[k]; !ok || fmt.Sprint(v) == "" {
			t.Errorf("extra_data[%s] missing: %v", k, extra)
		}
	}
	for k, want := range map[string]string{"user_id": "1", "token_type": "JWT", "expires_in": "3600"} {
		if got := fmt.Sprint(extra[k]); got != want {
			t.Errorf("extra_data[%s] = %q, want %q", k, got, want)
		}
	}
	for _, k := range []string{"iss", "sub", "aud", "exp", "scopes", "preferred_username", "email"} {
		if _, ok := extra[k]; ok {
			t.Errorf("extra_data holds %s: %v", k, extra)
		}
	}

	sent, from := signal.all()
	if len(sent) != 1 || sent[0].User == nil || sent[0].User.Username != expectedUsername || from[0] != "edx-oauth2" {
		t.Errorf("auth_complete sent %d times (%v)", len(sent), from)
	}
	if got := h.cleanupCalls(); !cmp.Equal(got, []bool{false}) {
		t.Errorf("cleanup recorded %v, want [false]", got)
	}
}

// The same login through the edX pipeline: an existing local user named
// like the LMS account is reused (get_user_if_exists) and gets the LMS
// email (update_email); a second login changes nothing more.
func TestLoginEdxPipeline(t *testing.T) {
	h := newHarness(t, harnessOptions{settings: settings.Map{"SOCIAL_AUTH_PIPELINE": edx.Pipeline()}})
	signal := listen(h)
	local, err := h.store.AddUser(&socialauth.User{Username: expectedUsername, Email: "old@example.com", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	sess := testutil.NewSession()
	if _, err := h.login(sess, nil); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	users := h.store.Users()
	if len(users) != 1 || users[0].ID != local.ID || users[0].Email != "jsmith@example.com" {
		t.Fatalf("users = %+v, want the local jsmith with the LMS email", users)
	}
	if sessionUser(sess) != local.ID {
		t.Errorf("session user = %q, want %q", sessionUser(sess), local.ID)
	}
	if s := h.store.SocialAuths(); len(s) != 1 || s[0].UserID != local.ID {
		t.Errorf("associations = %+v", s)
	}
	sent, _ := signal.all()
	if len(sent) != 1 || sent[0].State == nil || sent[0].State.Values[edx.EmailUpdatedKey] != true || sent[0].State.IsNew {
		t.Fatalf("auth_complete state = %+v", sent)
	}

	// Second login: same user, email already right.
	if _, err := h.login(testutil.NewSession(), nil); err != nil {
		t.Fatalf("second Complete: %v", err)
	}
	sent, _ = signal.all()
	if len(sent) != 2 || sent[1].State.Values[edx.EmailUpdatedKey] != nil {
		t.Errorf("second login state values = %v", sent[1].State.Values)
	}
	if n := len(h.store.Users()); n != 1 {
		t.Errorf("users = %d, want 1", n)
	}
}

// A first login through the edX pipeline creates jsmith from USER_FIELDS.
func TestLoginEdxPipelineNewUser(t *testing.T) {
	h := newHarness(t, harnessOptions{settings: settings.Map{
		"SOCIAL_AUTH_PIPELINE":    edx.Pipeline(),
		"SOCIAL_AUTH_USER_FIELDS": []string{"username", "email", "first_name", "last_name"},
	}})
	sess := testutil.NewSession()
	if _, err := h.login(sess, nil); err != nil {
		t.Fatalf("Complete: %v", err)
	}
	users := h.store.Users()
	if len(users) != 1 {
		t.Fatalf("users = %+v", users)
	}
	u := users[0]
	got := []string{u.Username, u.Email, u.FirstName, u.LastName}
	if diff := cmp.Diff([]string{"jsmith", "jsmith@example.com", "Joe", "Smith"}, got); diff != "" {
		t.Errorf("user (-want +got):\n%s", diff)
	}
}

// test_start_with_session_cleanup (True): the logged-in user is logged out
// before the redirect: the INFO line, the session flushed, the flag recorded
// once; the login then completes as the LMS user.
func TestStartWithLoggedInUser(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	existing, err := h.store.AddUser(&socialauth.User{Username: "existing_user", Email: "existing@example.com", IsActive: true})
	if err != nil {
		t.Fatal(err)
	}
	sess := testutil.NewSession()
	sess.Set(socialauth.SessionUserID, existing.ID)
	sess.Set("leftover", "from the previous login")
	initialID := sess.ID()

	resp := h.begin(sess, url.Values{"next": {"/test/"}})

	if got := h.cleanupCalls(); !cmp.Equal(got, []bool{true}) {
		t.Errorf("cleanup recorded %v, want [true]", got)
	}
	infos := h.logs.messages(t, "INFO")
	want := "OAuth start: Performing session cleanup for user 'existing_user'"
	if !slices.Contains(infos, want) {
		t.Errorf("INFO lines = %q, want %q", infos, want)
	}
	if sess.Flushes() != 1 || sess.ID() == initialID {
		t.Errorf("session flushes = %d, id changed = %v", sess.Flushes(), sess.ID() != initialID)
	}
	if sessionUser(sess) != "" {
		t.Error("the session is still logged in")
	}
	if _, ok := sess.Get("leftover"); ok {
		t.Error("the previous session's data survived")
	}
	if v, _ := sess.Get("next"); v != "/test/" {
		t.Errorf("next = %v, want /test/ kept", v)
	}
	if !strings.HasPrefix(resp.Location, h.lms.URL()+"/oauth2/authorize?") {
		t.Errorf("redirect = %q", resp.Location)
	}

	cb := h.authorize(resp.Location)
	done, err := h.svc.Complete(context.Background(), h.strategy(sess, cb), edx.Name)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if done.Location != "/test/" {
		t.Errorf("final redirect = %q, want /test/", done.Location)
	}
	jsmith, err := h.store.GetUserByUsername(context.Background(), expectedUsername)
	if err != nil {
		t.Fatal(err)
	}
	if sessionUser(sess) != jsmith.ID {
		t.Errorf("session user = %q, want jsmith (%q)", sessionUser(sess), jsmith.ID)
	}
	if s := h.store.SocialAuths(); len(s) != 1 || s[0].UserID != jsmith.ID {
		t.Errorf("the LMS account was linked to %+v, want jsmith only", s)
	}
}

// test_start_with_session_cleanup (False): no log line, no flush, the flag
// recorded once as false.
func TestStartWithoutLoggedInUser(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	sess := testutil.NewSession()
	sess.Set("kept", "yes")
	h.begin(sess, nil)
	if got := h.cleanupCalls(); !cmp.Equal(got, []bool{false}) {
		t.Errorf("cleanup recorded %v, want [false]", got)
	}
	for _, m := range h.logs.messages(t, "INFO") {
		if strings.HasPrefix(m, "OAuth start") {
			t.Errorf("unexpected INFO %q", m)
		}
	}
	if sess.Flushes() != 0 {
		t.Error("the session was flushed")
	}
	if v, _ := sess.Get("kept"); v != "yes" {
		t.Error("session data lost")
	}
}

// Without a CurrentUser hook the backend reads the session's user id through
// Options.Users; with neither, a session holding a user id is cleaned up for
// user 'unknown'. An inactive or vanished user is not logged in.
func TestStartCurrentUserFallbacks(t *testing.T) {
	store := testutil.NewStore()
	active, _ := store.AddUser(&socialauth.User{Username: "alice", IsActive: true})
	inactive, _ := store.AddUser(&socialauth.User{Username: "bob", IsActive: false})
	// What a CurrentUser hook says wins over the store.
	hook := func(ctx context.Context, s socialauth.Strategy) (*socialauth.User, error) {
		if v, _ := s.SessionGet(socialauth.SessionUserID); v == inactive.ID {
			return inactive, nil
		}
		return nil, nil
	}
	tests := []struct {
		name    string
		users   socialauth.UserStorage
		hook    func(context.Context, socialauth.Strategy) (*socialauth.User, error)
		id      string
		want    bool
		logUser string
	}{
		{"storage, active user", store, nil, active.ID, true, "alice"},
		{"storage, inactive user", store, nil, inactive.ID, false, ""},
		{"storage, vanished user", store, nil, "999", false, ""},
		{"no storage", nil, nil, "42", true, "unknown"},
		{"no user id", store, nil, "", false, ""},
		{"hook says logged in", store, hook, inactive.ID, true, "bob"},
		{"hook says nobody", store, hook, active.ID, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logger, logs := newLogger()
			var got []bool
			b := fixtureBackend(t, nil, nil, edx.Options{Logger: logger, Users: tc.users, CurrentUser: tc.hook,
				CleanupRecorder: func(r bool) { got = append(got, r) }})
			s := newStrategy()
			if tc.id != "" {
				s.SessionSet(socialauth.SessionUserID, tc.id)
			}
			if _, err := b.Start(context.Background(), s); err != nil {
				t.Fatal(err)
			}
			if !cmp.Equal(got, []bool{tc.want}) {
				t.Errorf("recorded %v, want [%v]", got, tc.want)
			}
			if flushed := s.Session().Flushes() == 1; flushed != tc.want {
				t.Errorf("flushed = %v, want %v", flushed, tc.want)
			}
			infos := logs.messages(t, "INFO")
			if tc.want {
				want := fmt.Sprintf(edx.SessionCleanupMessage, tc.logUser)
				if !cmp.Equal(infos, []string{want}) {
					t.Errorf("INFO = %q, want %q", infos, want)
				}
			} else if len(infos) != 0 {
				t.Errorf("INFO = %q, want none", infos)
			}
		})
	}
}

// test_partial_pipeline: two partial steps (password, then slug) pause the
// pipeline; each resumes with the backend's response intact, and the login
// ends as jsmith with both values.
func TestPartialPipeline(t *testing.T) {
	ask := func(name string) socialauth.Step {
		return socialauth.Step{Name: "social_core.tests.pipeline.ask_for_" + name, Partial: true,
			Func: func(_ context.Context, st *socialauth.State) (*socialauth.Response, error) {
				if v, ok := st.Strategy.SessionGet(name); ok && v != "" {
					st.Set(name, v)
					return nil, nil
				}
				return socialauth.Redirect(st.Strategy.AbsoluteURI("/" + name)), nil
			}}
	}
	set := func(name string) socialauth.Step {
		return socialauth.Step{Name: "social_core.tests.pipeline.set_" + name,
			Func: func(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
				if err := st.User.Set(name, st.Values[name]); err != nil {
					return nil, err
				}
				return nil, st.Storage.UpdateUser(ctx, st.User, []string{name})
			}}
	}
	steps := []socialauth.Step{ask("password"), ask("slug"), set("password"), set("slug")}
	names := []string{
		"social_core.pipeline.social_auth.social_details",
		"social_core.pipeline.social_auth.social_uid",
		"social_core.pipeline.social_auth.auth_allowed",
		"social_core.pipeline.social_auth.social_user",
		"social_core.pipeline.user.get_username",
		steps[0].Name, steps[1].Name,
		"social_core.pipeline.user.create_user",
		"social_core.pipeline.social_auth.associate_user",
		"social_core.pipeline.social_auth.load_extra_data",
		steps[2].Name, steps[3].Name,
		"social_core.pipeline.user.user_details",
	}
	h := newHarness(t, harnessOptions{steps: steps, settings: settings.Map{"SOCIAL_AUTH_PIPELINE": names}})
	ctx := context.Background()
	sess := testutil.NewSession()

	resp, err := h.login(sess, nil)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Location != "http://myapp.com/password" {
		t.Fatalf("first pause = %q, want http://myapp.com/password", resp.Location)
	}
	tok, _ := sess.Get(socialauth.SessionPartialToken)
	partial, err := h.store.LoadPartial(ctx, tok.(string))
	if err != nil || partial.Backend != "edx-oauth2" {
		t.Fatalf("partial = %+v, %v", partial, err)
	}
	sess.Set("password", "foobar")

	resp, err = h.svc.Complete(ctx, h.strategy(sess, url.Values{socialauth.PartialTokenParam: {tok.(string)}}), edx.Name)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Location != "http://myapp.com/slug" {
		t.Fatalf("second pause = %q, want http://myapp.com/slug", resp.Location)
	}
	tok, _ = sess.Get(socialauth.SessionPartialToken)
	sess.Set("slug", "foo-bar")

	resp, err = h.svc.Complete(ctx, h.strategy(sess, url.Values{socialauth.PartialTokenParam: {tok.(string)}}), edx.Name)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Location != "/done/" {
		t.Errorf("final redirect = %q, want /done/", resp.Location)
	}
	u, err := h.store.GetUserByUsername(ctx, expectedUsername)
	if err != nil {
		t.Fatal(err)
	}
	if u.Extra["password"] != "foobar" || u.Extra["slug"] != "foo-bar" {
		t.Errorf("user extra = %v", u.Extra)
	}
	if sessionUser(sess) != u.ID {
		t.Errorf("session user = %q, want %q", sessionUser(sess), u.ID)
	}
	if n := len(h.lms.TokenRequests()); n != 1 {
		t.Errorf("token requests = %d, want 1 (resumes do not call the LMS)", n)
	}
}

// Refresh goes to {URL_ROOT}/oauth2/access_token with the refresh token.
func TestRefresh(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if _, err := h.login(testutil.NewSession(), nil); err != nil {
		t.Fatal(err)
	}
	social := h.store.SocialAuths()[0]
	resp, err := h.backend.Refresh(context.Background(), social.RefreshToken())
	if err != nil {
		t.Fatal(err)
	}
	if at, _ := resp["access_token"].(string); at == "" || at == social.AccessToken() {
		t.Errorf("refreshed access token = %q", at)
	}
	trs := h.lms.TokenRequests()
	if last := trs[len(trs)-1]; last.Form.Get("grant_type") != "refresh_token" || last.Form.Get("refresh_token") != social.RefreshToken() {
		t.Errorf("refresh request = %v", last.Form)
	}
}
