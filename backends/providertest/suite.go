package providertest

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
)

// Suite is a provider's end-to-end test: a sign-in through the views
// against the replayed documented answers, the documented error answers,
// and a refresh.
type Suite struct {
	// Dir holds the testdata (default "testdata").
	Dir string
	// Routes are the happy path's answers ("METHOD /path" → file).
	Routes map[string]string
	// Claims are the ID token's (OpenID providers).
	Claims map[string]any
	// New builds the backend against the provider.
	New func(t *testing.T, p *Provider) socialauth.Backend
	// Scope is the scope the authorization request must carry.
	Scope string
	// UID, Username and Email are what the sign-in must store.
	UID, Username, Email string
	// Extra are extra-data keys the association must hold.
	Extra []string
	// Errors are the documented error answers; each must fail the sign-in
	// with Status (default 403) and store nothing.
	Errors []ErrorCase
	// SendIss makes the callbacks carry iss (the provider's issuer).
	SendIss bool
	// Refresh, when set, is the refresh answer's route and file; the
	// refreshed access token must be RefreshedToken.
	Refresh        [2]string
	RefreshedToken string
}

// ErrorCase replaces one route's answer (none for a callback error) and
// sends Params in the callback.
type ErrorCase struct {
	Name, Route, File string
	Params            url.Values
	Status            int
}

// Setup starts the provider with the happy path and the app.
func (s Suite) Setup(t *testing.T) (*Provider, socialauth.Backend, *App) {
	dir := s.Dir
	if dir == "" {
		dir = "testdata"
	}
	p := NewProvider(t, dir)
	for route, file := range s.Routes {
		p.Replay(route, file)
	}
	for k, v := range s.Claims {
		p.Claims[k] = v
	}
	b := s.New(t, p)
	app := NewApp(t, b, nil)
	if s.SendIss {
		app.Iss = p.Issuer
	}
	return p, b, app
}

// Run runs the suite.
func (s Suite) Run(t *testing.T) {
	t.Run("sign-in", func(t *testing.T) {
		p, _, app := s.Setup(t)
		q := app.Begin(p)
		if s.Scope != "" && q.Get("scope") != s.Scope {
			t.Errorf("scope %q, want %q", q.Get("scope"), s.Scope)
		}
		resp, body := app.Callback(http.MethodGet, url.Values{"code": {"documented-code"}, "state": {q.Get("state")}})
		if resp.StatusCode != http.StatusFound {
			t.Fatalf("complete %d %s\nlogs:\n%s", resp.StatusCode, body, app.Logs.String())
		}
		social := app.Association()
		if social.UID != s.UID {
			t.Errorf("uid %q, want %q", social.UID, s.UID)
		}
		for _, k := range s.Extra {
			if _, ok := social.ExtraData[k]; !ok {
				t.Errorf("extra data has no %q: %v", k, social.ExtraData)
			}
		}
		if u := app.User(); u.Username != s.Username || u.Email != s.Email {
			t.Errorf("user %q <%s>, want %q <%s>", u.Username, u.Email, s.Username, s.Email)
		}
	})
	for _, e := range s.Errors {
		t.Run(e.Name, func(t *testing.T) {
			p, _, app := s.Setup(t)
			if e.Route != "" {
				p.Replay(e.Route, e.File)
			}
			params := url.Values{"code": {"documented-code"}}
			if e.Params != nil {
				params = url.Values{}
				for k, v := range e.Params {
					params[k] = v
				}
			}
			status := e.Status
			if status == 0 {
				status = http.StatusForbidden
			}
			app.ExpectError(p, params, status)
		})
	}
	if s.Refresh[0] != "" {
		t.Run("refresh", func(t *testing.T) {
			p, b, app := s.Setup(t)
			social := app.SignIn(p)
			p.Replay(s.Refresh[0], s.Refresh[1])
			r, ok := b.(interface {
				RefreshSocial(context.Context, socialauth.SocialStorage, *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, error)
			})
			if !ok {
				t.Fatal("backend cannot refresh")
			}
			updated, err := r.RefreshSocial(t.Context(), app.Store, social)
			if err != nil {
				t.Fatal(err)
			}
			if updated.AccessToken() != s.RefreshedToken {
				t.Errorf("refreshed access token %q, want %q", updated.AccessToken(), s.RefreshedToken)
			}
		})
	}
}
