package examples

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

func newLMS(t *testing.T) *fakelms.LMS {
	l := fakelms.NewServer(t, fakelms.Options{Clients: []fakelms.Client{{
		ID: "app", Secret: "s3cret",
		RedirectURIs: []string{testutil.DefaultBaseURL + "/complete/acme/", testutil.DefaultBaseURL + "/complete/company/"},
	}}})
	l.AutoApprove("jsmith")
	return l
}

// login runs Start, the provider's auto-approval and Complete.
func login(t *testing.T, l *fakelms.LMS, b socialauth.Backend, st *testutil.Strategy) map[string]any {
	t.Helper()
	r, err := b.Start(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	c := *l.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(r.Location)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cb := resp.Header.Get("Location")
	out, err := b.Complete(context.Background(), st.WithRequest(httptest.NewRequest(http.MethodGet, cb, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestAcme(t *testing.T) {
	l := newLMS(t)
	set := settings.New(settings.Map{"SOCIAL_AUTH_ACME_KEY": "app", "SOCIAL_AUTH_ACME_SECRET": "s3cret"})
	b := NewAcme(l.URL(), set)
	st := testutil.NewStrategy(testutil.StrategyOptions{Settings: set, HTTPClient: l.Client()})
	resp := login(t, l, b, st)
	details := b.UserDetails(nil, resp)
	uid, err := b.UserID(nil, details, resp)
	if err != nil || uid != fakelms.FixtureUser().Subject {
		t.Errorf("uid = %q, %v", uid, err)
	}
	// The fake LMS reads scopes space-separated, so "profile,email" grants no profile.
	if details["username"] != "jsmith" {
		t.Errorf("details = %v", details)
	}
	if extra := b.ExtraData(nil, nil, uid, resp, details); extra["login"] != "jsmith" || extra["refresh_token"] == nil {
		t.Errorf("extra = %v", extra)
	}
	if err := b.Revoke(context.Background(), st, resp["access_token"].(string), uid); err != nil {
		t.Error(err)
	}
}

func TestCompanyIdP(t *testing.T) {
	l := newLMS(t)
	set := settings.New(settings.Map{"SOCIAL_AUTH_COMPANY_KEY": "app", "SOCIAL_AUTH_COMPANY_SECRET": "s3cret"})
	b := NewCompanyIdP(l.Issuer(), set)
	st := testutil.NewStrategy(testutil.StrategyOptions{Settings: set, HTTPClient: l.Client()})
	resp := login(t, l, b, st)
	details := b.UserDetails(nil, resp)
	uid, err := b.UserID(nil, details, resp)
	if err != nil || uid != fakelms.FixtureUser().Subject || details["username"] != "jsmith" || resp["user_id"] != "1" {
		t.Errorf("uid %q, details %v, user_id %v, err %v", uid, details, resp["user_id"], err)
	}
	logout, err := b.LogoutURL(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(logout)
	if u.Query().Get("id_token_hint") != resp["id_token"] {
		t.Errorf("logout URL %s lacks the id_token_hint", logout)
	}
}

// Example: the authorization request the GitHub-like backend sends.
func Example() {
	lms, err := fakelms.New(fakelms.Options{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(lms.Handler())
	defer srv.Close()

	set := settings.New(settings.Map{"SOCIAL_AUTH_ACME_KEY": "app", "SOCIAL_AUTH_ACME_SECRET": "s3cret"})
	backend := NewAcme(srv.URL, set)
	reg := socialauth.NewRegistry(backend, NewCompanyIdP(srv.URL+"/oauth2", set))
	fmt.Println(reg.Names())

	st := testutil.NewStrategy(testutil.StrategyOptions{Settings: set})
	resp, err := backend.Start(context.Background(), st)
	if err != nil {
		panic(err)
	}
	u, _ := url.Parse(resp.Location)
	q := u.Query()
	fmt.Println(u.Path, q.Get("client_id"), q.Get("scope"), q.Get("code_challenge_method"), q.Get("redirect_uri"))
	fmt.Println("state bytes >= 32:", len(q.Get("state")) >= 43)
	// Output:
	// [acme company]
	// /oauth2/authorize app profile,email S256 http://testserver/complete/acme/
	// state bytes >= 32: true
}
