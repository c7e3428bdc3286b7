package examples

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/pipeline"
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
	b, err := NewAcme(set, l.URL(), l.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	st := testutil.NewStrategy(testutil.StrategyOptions{})
	resp := login(t, l, b, st)
	// No UserData hook: the base fetched Endpoints.UserInfoURL itself.
	if n := l.Calls().UserInfo; n != 1 {
		t.Errorf("user_info calls = %d, want 1", n)
	}
	details := b.UserDetails(resp)
	uid, err := b.UserID(details, resp)
	if err != nil || uid != fakelms.FixtureUser().Subject {
		t.Errorf("uid = %q, %v", uid, err)
	}
	// The fake LMS reads scopes space-separated, so "profile,email" grants no profile.
	if details["username"] != "jsmith" {
		t.Errorf("details = %v", details)
	}
	extra := b.ExtraData(nil, uid, resp, details)
	if extra["login"] != "jsmith" || extra["refresh_token"] == nil {
		t.Errorf("extra = %v", extra)
	}
	// Kept by default, without an ExtraData entry.
	for _, k := range []string{"access_token", "refresh_token", "expires_in", "token_type"} {
		if extra[k] == nil {
			t.Errorf("extra data lacks %s: %v", k, extra)
		}
	}
	if err := b.Revoke(context.Background(), resp["access_token"].(string), uid); err != nil {
		t.Error(err)
	}
}

func TestCompanyIdP(t *testing.T) {
	l := newLMS(t)
	set := settings.New(settings.Map{"SOCIAL_AUTH_COMPANY_KEY": "app", "SOCIAL_AUTH_COMPANY_SECRET": "s3cret"})
	b, err := NewCompanyIdP(set, l.Issuer(), l.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Calls(); c.Discovery != 0 || c.JWKS != 0 {
		t.Errorf("construction called the provider: %+v", c)
	}
	st := testutil.NewStrategy(testutil.StrategyOptions{})
	resp := login(t, l, b, st)
	details := b.UserDetails(resp)
	uid, err := b.UserID(details, resp)
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

// A UserData hook receives the backend: it calls the provider with the
// backend's own client, limits and error mapping, with no closure over a
// variable assigned later.
func TestUserDataHook(t *testing.T) {
	l := newLMS(t)
	if err := l.AddUser(fakelms.User{Username: "ghost", Email: "ghost@example.com", Inactive: true}); err != nil {
		t.Fatal(err)
	}
	cfg, err := backends.OAuth2ConfigFrom(settings.New(settings.Map{"SOCIAL_AUTH_ACME_KEY": "app", "SOCIAL_AUTH_ACME_SECRET": "s3cret"}),
		backends.OAuth2Config{
			Name: "acme",
			Endpoints: backends.Endpoints{
				AuthorizationURL: l.URL() + "/oauth2/authorize",
				AccessTokenURL:   l.URL() + "/oauth2/access_token",
				UserInfoURL:      l.URL() + "/oauth2/user_info",
			},
			DefaultScope: []string{"profile", "email"},
			IDKey:        "sub",
			Details:      acmeDetails,
			HTTPClient:   l.Client(),
			// Only a verified address becomes the user's email.
			UserData: func(ctx context.Context, b *backends.OAuth2, token string, _ map[string]any) (map[string]any, error) {
				user, err := b.GetJSON(ctx, b.Config().Endpoints.UserInfoURL, token)
				if err != nil {
					return nil, err
				}
				if user["email_verified"] != true {
					delete(user, "email")
				}
				return user, nil
			},
		})
	if err != nil {
		t.Fatal(err)
	}
	b, err := backends.NewOAuth2(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for user, want := range map[string]string{"jsmith": "jsmith@example.com", "ghost": ""} {
		l.AutoApprove(user)
		resp := login(t, l, b, testutil.NewStrategy(testutil.StrategyOptions{}))
		if d := b.UserDetails(resp); d["username"] != user || d["email"] != want {
			t.Errorf("%s: details %v, want email %q", user, d, want)
		}
	}
	if n := l.Calls().UserInfo; n != 2 {
		t.Errorf("user_info calls = %d, want 2 (the hook's, not the base's too)", n)
	}
}

// The generic "oidc" backend needs no code: OIDC_ENDPOINT, KEY and SECRET.
func TestGenericOIDC(t *testing.T) {
	l := newLMS(t)
	if err := l.AddClient(fakelms.Client{ID: "generic", Secret: "g3neric",
		RedirectURIs: []string{testutil.DefaultBaseURL + "/complete/oidc/"}}); err != nil {
		t.Fatal(err)
	}
	set := settings.New(settings.Map{
		"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": l.Issuer(),
		"SOCIAL_AUTH_OIDC_KEY":           "generic",
		"SOCIAL_AUTH_OIDC_SECRET":        "g3neric",
	})
	cfg, err := backends.OIDCConfigFrom(set, backends.OIDCConfig{}) // the backend named "oidc"
	if err != nil {
		t.Fatal(err)
	}
	cfg.OAuth2.HTTPClient = l.Client()
	b, err := backends.NewOIDC(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp := login(t, l, b, testutil.NewStrategy(testutil.StrategyOptions{}))
	uid, err := b.UserID(b.UserDetails(resp), resp)
	if b.Name() != "oidc" || err != nil || uid != fakelms.FixtureUser().Subject {
		t.Errorf("backend %q: uid %q, %v", b.Name(), uid, err)
	}
}

// Settings are read once, by the constructor: a missing KEY or a malformed
// setting fails there, naming the key, and never shows a secret.
func TestConstructionErrors(t *testing.T) {
	const root = "https://acme.example"
	tests := []struct {
		name    string
		set     settings.Map
		build   func(*settings.Settings) error
		key     string
		errKind error
	}{
		{
			name:    "acme without KEY",
			set:     settings.Map{"SOCIAL_AUTH_ACME_SECRET": "s3cret"},
			build:   func(s *settings.Settings) error { _, err := NewAcme(s, root, nil, nil); return err },
			key:     "SOCIAL_AUTH_ACME_KEY",
			errKind: settings.ErrMissing,
		},
		{
			name:    "company without KEY",
			set:     settings.Map{"SOCIAL_AUTH_COMPANY_SECRET": "s3cret"},
			build:   func(s *settings.Settings) error { _, err := NewCompanyIdP(s, root, nil, nil); return err },
			key:     "SOCIAL_AUTH_COMPANY_KEY",
			errKind: settings.ErrMissing,
		},
		{
			name: "acme with a malformed STATE_TTL",
			set: settings.Map{"SOCIAL_AUTH_ACME_KEY": "app", "SOCIAL_AUTH_ACME_SECRET": "s3cret",
				"SOCIAL_AUTH_ACME_STATE_TTL": "abc"},
			build: func(s *settings.Settings) error { _, err := NewAcme(s, root, nil, nil); return err },
			key:   "SOCIAL_AUTH_ACME_STATE_TTL",
		},
		{
			name: "company with a relative OIDC_ENDPOINT",
			set: settings.Map{"SOCIAL_AUTH_COMPANY_KEY": "app", "SOCIAL_AUTH_COMPANY_SECRET": "s3cret",
				"SOCIAL_AUTH_COMPANY_OIDC_ENDPOINT": "not a url"},
			build:   func(s *settings.Settings) error { _, err := NewCompanyIdP(s, root, nil, nil); return err },
			key:     "SOCIAL_AUTH_COMPANY_OIDC_ENDPOINT",
			errKind: settings.ErrInvalid,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.build(settings.New(tt.set))
			if err == nil {
				t.Fatal("constructed, want an error")
			}
			t.Log(err)
			if !strings.Contains(err.Error(), tt.key) {
				t.Errorf("error %q does not name %s", err, tt.key)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error %q shows the secret", err)
			}
			var se *socialauth.Error
			if !errors.As(err, &se) || se.Code != socialauth.CodeImproperlyConfigured {
				t.Errorf("error %#v is not an ImproperlyConfigured *socialauth.Error", err)
			}
			if tt.errKind != nil && !errors.Is(err, tt.errKind) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.errKind)
			}
		})
	}
}

// The authorization request the GitHub-like backend sends, and both example
// backends in one registry.
func Example_authorizationRequest() {
	lms, err := fakelms.New(fakelms.Options{})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(lms.Handler())
	defer srv.Close()

	set := settings.New(settings.Map{
		"SOCIAL_AUTH_ACME_KEY": "app", "SOCIAL_AUTH_ACME_SECRET": "s3cret",
		"SOCIAL_AUTH_COMPANY_KEY": "app", "SOCIAL_AUTH_COMPANY_SECRET": "s3cret",
	})
	acme, err := NewAcme(set, srv.URL, srv.Client(), nil)
	if err != nil {
		panic(err)
	}
	company, err := NewCompanyIdP(set, srv.URL+"/oauth2", srv.Client(), nil)
	if err != nil {
		panic(err)
	}
	svc, err := socialauth.New(socialauth.Options{Storage: testutil.NewStore(), Steps: pipeline.NewSteps(),
		Backends: []socialauth.Backend{acme, company}, Settings: set})
	if err != nil {
		panic(err)
	}
	fmt.Println(svc.BackendNames())

	st := testutil.NewStrategy(testutil.StrategyOptions{})
	resp, err := acme.Start(context.Background(), st)
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
