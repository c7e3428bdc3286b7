package testutil_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

func TestStrategyRequestData(t *testing.T) {
	s := testutil.NewStrategy(testutil.StrategyOptions{})
	if got := s.RequestData(); len(got) != 0 || s.Request() != nil {
		t.Errorf("no request: RequestData = %v", got)
	}
	r := httptest.NewRequest("POST", "/complete/fake/?code=q&state=s1&only=query", strings.NewReader("code=f&state=s2"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	s2 := s.WithRequest(r)
	want := url.Values{"code": {"f", "q"}, "state": {"s2", "s1"}, "only": {"query"}}
	got := s2.RequestData()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("RequestData (-want +got):\n%s", diff)
	}
	if got.Get("code") != "f" {
		t.Errorf("form value should come first, got %q", got.Get("code"))
	}
	got["code"] = []string{"changed"}
	if s2.RequestData().Get("code") != "f" {
		t.Error("RequestData returned shared state")
	}
	s2.SetRequestData(url.Values{"x": {"1"}})
	if diff := cmp.Diff(url.Values{"x": {"1"}}, s2.RequestData()); diff != "" {
		t.Errorf("after SetRequestData (-want +got):\n%s", diff)
	}
	if s2.Session() != s.Session() {
		t.Error("WithRequest did not keep the session")
	}
}

// TestStrategyAbsoluteURI: URLs are made against the configured base URL
// (its scheme included: there is no REDIRECT_IS_HTTPS switch in the
// strategy), and the callback URL carries the mount prefix.
func TestStrategyAbsoluteURI(t *testing.T) {
	tests := []struct {
		base, prefix string
		path         string
		want         string
		wantCallback string // CallbackURL("fake")
	}{
		{"", "", "/complete/fake/", "http://testserver/complete/fake/", "http://testserver/complete/fake/"},
		{"http://app.test/", "", "complete/", "http://app.test/complete/", "http://app.test/complete/fake/"},
		{"https://app.test", "", "/a?next=http://x", "https://app.test/a?next=http://x", "https://app.test/complete/fake/"},
		{"", "", "https://other.test/x", "https://other.test/x", "http://testserver/complete/fake/"},
		{"https://app.test/base", "/auth/", "/a", "https://app.test/base/a", "https://app.test/base/auth/complete/fake/"},
		{"", "/auth", "/a", "http://testserver/a", "http://testserver/auth/complete/fake/"},
	}
	for _, tc := range tests {
		s := testutil.NewStrategy(testutil.StrategyOptions{BaseURL: tc.base, Prefix: tc.prefix})
		if got := s.AbsoluteURI(tc.path); got != tc.want {
			t.Errorf("AbsoluteURI(%q) base %q = %q, want %q", tc.path, tc.base, got, tc.want)
		}
		if got := s.CallbackURL("fake"); got != tc.wantCallback {
			t.Errorf("CallbackURL(fake) base %q prefix %q = %q, want %q", tc.base, tc.prefix, got, tc.wantCallback)
		}
		r := httptest.NewRequest("GET", "/x", nil)
		if got := s.WithRequest(r).CallbackURL("fake"); got != tc.wantCallback {
			t.Errorf("WithRequest lost the base URL or prefix: %q", got)
		}
	}
}

func TestSession(t *testing.T) {
	ctx := context.Background()
	s := testutil.NewStrategy(testutil.StrategyOptions{})
	sess := s.Session()
	id := sess.ID()
	list := []string{"a"}
	s.SessionSet("list", list)
	list[0] = "changed"
	if v, _ := s.SessionGet("list"); v.([]string)[0] != "a" {
		t.Error("session kept a reference to the caller's slice")
	}
	s.SessionSet("next", "/courses")
	if err := s.SessionRotate(ctx); err != nil {
		t.Fatal(err)
	}
	if sess.ID() == id || sess.Rotations() != 1 {
		t.Error("Rotate kept the id")
	}
	if v, ok := s.SessionGet("next"); !ok || v != "/courses" {
		t.Errorf("Rotate lost data: %v %v", v, ok)
	}
	if v, ok := s.SessionPop("next"); !ok || v != "/courses" {
		t.Errorf("SessionPop = %v %v", v, ok)
	}
	if _, ok := s.SessionGet("next"); ok {
		t.Error("popped value still there")
	}
	id = sess.ID()
	if err := s.SessionFlush(ctx); err != nil {
		t.Fatal(err)
	}
	if sess.ID() == id || len(sess.Values()) != 0 || sess.Flushes() != 1 {
		t.Errorf("Flush: id kept %v, values %v", sess.ID() == id, sess.Values())
	}
}

func TestFakeBackend(t *testing.T) {
	ctx := context.Background()
	b := &testutil.FakeBackend{
		Response:      map[string]any{"id": 42.0, "username": "alice", "email": "a@example.com", "access_token": "tok", "n": 1.0},
		ExtraDataKeys: []string{"access_token", "missing"},
		Extra:         map[string]any{"fixed": "x"},
	}
	if b.Name() != "fake" {
		t.Errorf("Name = %q", b.Name())
	}
	resp, err := b.Complete(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp["id"] = "mutated"
	resp, _ = b.Complete(ctx, nil)
	d := b.UserDetails(resp)
	if diff := cmp.Diff(socialauth.Details{"username": "alice", "email": "a@example.com"}, d); diff != "" {
		t.Errorf("UserDetails (-want +got):\n%s", diff)
	}
	for _, tc := range []struct {
		details socialauth.Details
		resp    map[string]any
		want    string
	}{
		{nil, map[string]any{"id": 42.0}, "42"},
		{nil, map[string]any{"id": 1.5}, "1.5"},
		{nil, map[string]any{"id": "Abc "}, "Abc "},
		{nil, map[string]any{"id": nil}, ""},
		{nil, map[string]any{}, ""},
		{nil, map[string]any{"id": true}, "True"},
		{socialauth.Details{"id": "d"}, map[string]any{"id": "r"}, "d"},
		{socialauth.Details{"id": ""}, map[string]any{"id": "r"}, "r"},
	} {
		if got, _ := b.UserID(tc.details, tc.resp); got != tc.want {
			t.Errorf("UserID(%v, %v) = %q, want %q", tc.details, tc.resp, got, tc.want)
		}
	}
	want := map[string]any{"access_token": "tok", "fixed": "x"}
	if diff := cmp.Diff(want, b.ExtraData(nil, "42", resp, d)); diff != "" {
		t.Errorf("ExtraData (-want +got):\n%s", diff)
	}
	s := testutil.NewStrategy(testutil.StrategyOptions{})
	r, err := b.Start(ctx, s)
	if err != nil || !strings.HasPrefix(r.Location, testutil.DefaultFakeAuthorizeURL+"?state=") {
		t.Errorf("Start = %+v, %v", r, err)
	}
	if v, ok := s.SessionGet("fake_state"); !ok || !strings.HasSuffix(r.Location, v.(string)) {
		t.Errorf("state in session %v does not match %q", v, r.Location)
	}
	_ = b.Revoke(ctx, "tok", "42")
	c := b.Calls()
	if c.Start != 1 || c.Complete != 2 || len(c.Revoked) != 1 || c.Revoked[0] != (testutil.RevokeCall{Token: "tok", UID: "42"}) {
		t.Errorf("Calls = %+v", c)
	}
}

func TestNewState(t *testing.T) {
	store := testutil.NewStore()
	logs := &testutil.LogBuffer{}
	st := testutil.NewState(t,
		testutil.WithStorage(store),
		testutil.WithLogger(slog.New(slog.NewTextHandler(logs, nil))),
		testutil.WithRequestData(url.Values{"a": {"1"}}),
		testutil.WithUID("u1"),
		testutil.WithDetails(socialauth.Details{"email": "e"}),
	)
	if st.Storage != store || st.Backend.Name() != "fake" || st.UID != "u1" || st.Details.String("email") != "e" {
		t.Errorf("state = %+v", st)
	}
	if st.Request.Get("a") != "1" || st.Strategy.RequestData().Get("a") != "1" {
		t.Errorf("request data not set: %v", st.Request)
	}
	st.Log().Info("hello from a step")
	if !strings.Contains(logs.String(), "hello from a step") {
		t.Errorf("WithLogger not applied: %q", logs.String())
	}
	if st := testutil.NewState(t); st.Log() == nil || st.Response == nil || st.Details == nil {
		t.Error("Log, Response or Details nil")
	}
}

// TestBuildStep: BuildStep builds a step from settings as the Service does,
// and returns a step without New as it is.
func TestBuildStep(t *testing.T) {
	var seen []string
	step := socialauth.Step{Name: "app.step", New: func(backend string, s *settings.Settings) (socialauth.StepFunc, error) {
		r := s.Reader(backend)
		fields := r.StringList("USER_FIELDS", nil)
		if err := r.Err(); err != nil {
			return nil, err
		}
		return func(context.Context, *socialauth.State) (*socialauth.Response, error) {
			seen = append(seen, fields...)
			return nil, nil
		}, nil
	}}
	f := testutil.BuildStep(t, step, "fake", settings.Map{"SOCIAL_AUTH_FAKE_USER_FIELDS": []string{"email"}})
	if _, err := f(context.Background(), testutil.NewState(t)); err != nil || len(seen) != 1 || seen[0] != "email" {
		t.Errorf("built step saw %v, %v; want the backend's USER_FIELDS", seen, err)
	}
	plain := socialauth.Step{Name: "app.plain", Func: func(context.Context, *socialauth.State) (*socialauth.Response, error) { return nil, nil }}
	if testutil.BuildStep(t, plain, "fake", nil) == nil {
		t.Error("BuildStep dropped the Func of a step without New")
	}
}
