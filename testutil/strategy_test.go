package testutil_test

import (
	"context"
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

func TestStrategyAbsoluteURI(t *testing.T) {
	tests := []struct {
		base  string
		https any // REDIRECT_IS_HTTPS; nil = unset
		path  string
		want  string
	}{
		{"", nil, "/complete/fake/", "http://testserver/complete/fake/"},
		{"http://app.test/", nil, "complete/", "http://app.test/complete/"},
		{"", true, "/complete/fake/?next=http://x", "https://testserver/complete/fake/?next=http://x"},
		{"", "1", "/a", "https://testserver/a"},
		{"", false, "/a", "http://testserver/a"},
		{"", nil, "https://other.test/x", "https://other.test/x"},
		{"https://app.test", true, "/a", "https://app.test/a"},
	}
	for _, tc := range tests {
		m := settings.Map{}
		if tc.https != nil {
			m["SOCIAL_AUTH_REDIRECT_IS_HTTPS"] = tc.https
		}
		s := testutil.NewStrategy(testutil.StrategyOptions{BaseURL: tc.base, Settings: settings.New(m)})
		if got := s.AbsoluteURI(tc.path); got != tc.want {
			t.Errorf("AbsoluteURI(%q) base %q https %v = %q, want %q", tc.path, tc.base, tc.https, got, tc.want)
		}
	}
}

func TestStrategyRandomString(t *testing.T) {
	s := testutil.NewStrategy(testutil.StrategyOptions{})
	seen := map[string]bool{}
	for _, n := range []int{0, 1, 12, 32, 100} {
		got := s.RandomString(n)
		if len(got) != n {
			t.Errorf("RandomString(%d) has length %d", n, len(got))
		}
		for _, r := range got {
			if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", r) {
				t.Errorf("RandomString produced %q", r)
			}
		}
		if n >= 12 && seen[got] {
			t.Errorf("RandomString(%d) repeated %q", n, got)
		}
		seen[got] = true
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
	d := b.UserDetails(nil, resp)
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
		if got, _ := b.UserID(nil, tc.details, tc.resp); got != tc.want {
			t.Errorf("UserID(%v, %v) = %q, want %q", tc.details, tc.resp, got, tc.want)
		}
	}
	want := map[string]any{"access_token": "tok", "fixed": "x"}
	if diff := cmp.Diff(want, b.ExtraData(nil, nil, "42", resp, d)); diff != "" {
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
	_ = b.Revoke(ctx, s, "tok", "42")
	c := b.Calls()
	if c.Start != 1 || c.Complete != 2 || len(c.Revoked) != 1 || c.Revoked[0] != (testutil.RevokeCall{Token: "tok", UID: "42"}) {
		t.Errorf("Calls = %+v", c)
	}
}

func TestNewState(t *testing.T) {
	store := testutil.NewStore()
	st := testutil.NewState(t,
		testutil.WithStorage(store),
		testutil.WithSettings(settings.Map{"SOCIAL_AUTH_USER_FIELDS": []string{"email"}}),
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
	if l, _ := st.Strategy.Settings().StringList("fake", "USER_FIELDS", nil); len(l) != 1 || l[0] != "email" {
		t.Errorf("settings not applied: %v", l)
	}
	if st.Logger == nil || st.Response == nil {
		t.Error("Logger or Response nil")
	}
}
