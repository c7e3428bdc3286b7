package backends

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// idp is a minimal OAuth2 provider: a token endpoint and a UserInfo endpoint
// that records the Authorization header it was sent.
type idp struct {
	*httptest.Server
	mu   sync.Mutex
	auth []string // Authorization headers seen by /me
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	p := &idp{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": "at-1", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "rt-1", "scope": "profile",
		})
	})
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.auth = append(p.auth, r.Header.Get("Authorization"))
		p.mu.Unlock()
		if r.Header.Get("Authorization") != "Bearer at-1" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id": 42, "username": "octo", "email": "octo@example.com", "name": "Octo Cat"}`))
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

func (p *idp) config() OAuth2Config {
	return OAuth2Config{
		Name: "acme", Key: "client", Secret: "s3cret",
		Endpoints: Endpoints{
			AuthorizationURL: p.URL + "/authorize",
			AccessTokenURL:   p.URL + "/token",
			UserInfoURL:      p.URL + "/me",
		},
		HTTPClient: p.Client(),
	}
}

// completeAt starts a flow on b and sends the provider's callback with code.
func completeAt(t *testing.T, b socialauth.Backend, st *testutil.Strategy) (map[string]any, error) {
	t.Helper()
	au := start(t, b, st)
	cb := &url.URL{Path: "/complete/" + b.Name() + "/", RawQuery: url.Values{"code": {"c"}, "state": {au.Query().Get("state")}}.Encode()}
	return callback(b, st, cb)
}

// TestUserInfoURLFetchedByBase: a backend with Endpoints.UserInfoURL and no
// UserData hook gets the user data without writing any code: the base GETs
// the URL with the bearer token and merges the answer over the token
// response; the default extra data keeps the token bookkeeping.
func TestUserInfoURLFetchedByBase(t *testing.T) {
	p := newIDP(t)
	b, err := NewOAuth2(p.config())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := completeAt(t, b, newStrategy())
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	auth := p.auth
	p.mu.Unlock()
	if len(auth) != 1 || auth[0] != "Bearer at-1" {
		t.Fatalf("UserInfo Authorization headers = %q, want one bearer", auth)
	}
	if resp["username"] != "octo" || resp["access_token"] != "at-1" || resp["refresh_token"] != "rt-1" {
		t.Errorf("response = %v", resp)
	}
	details := b.UserDetails(resp)
	uid, err := b.UserID(details, resp)
	if err != nil || uid != "42" {
		t.Errorf("UserID = %q, %v", uid, err)
	}
	if details["first_name"] != "Octo" || details["email"] != "octo@example.com" {
		t.Errorf("details = %v", details)
	}
	extra := b.ExtraData(nil, uid, resp, details)
	for _, k := range []string{"access_token", "refresh_token", "expires_in", "token_type", "auth_time"} {
		if _, ok := extra[k]; !ok {
			t.Errorf("extra data lacks %s: %v", k, extra)
		}
	}

	// A UserData hook replaces the fetch.
	cfg := p.config()
	cfg.UserData = func(context.Context, *OAuth2, string, map[string]any) (map[string]any, error) {
		return map[string]any{"id": "from-hook"}, nil
	}
	hooked, err := NewOAuth2(cfg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err = completeAt(t, hooked, newStrategy())
	if err != nil || resp["id"] != "from-hook" {
		t.Fatalf("with hook: %v, %v", resp, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.auth) != 1 {
		t.Errorf("UserInfo fetched although a UserData hook is set")
	}
}

// TestHooksReceiveBackend: every hook is handed the backend it runs for, so
// that it can call b.GetJSON, b.Config() … without a closure over a variable
// assigned after construction.
func TestHooksReceiveBackend(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	var (
		mu   sync.Mutex
		seen = map[string]*OAuth2{}
	)
	saw := func(hook string, b *OAuth2) {
		mu.Lock()
		seen[hook] = b
		mu.Unlock()
	}
	b := lmsOAuth2(t, l, nil, func(c *OAuth2Config) {
		c.AuthParams = func(_ context.Context, b *OAuth2, _ socialauth.Strategy, _ *Flow, params url.Values) error {
			saw("AuthParams", b)
			params.Set("hook", "1")
			return nil
		}
		c.TokenResponse = func(_ context.Context, b *OAuth2, _ *Flow, _ map[string]any) error {
			saw("TokenResponse", b)
			return nil
		}
		c.VerifyToken = func(_ context.Context, b *OAuth2, _ string, _ map[string]any) (map[string]any, error) {
			saw("VerifyToken", b)
			return nil, nil
		}
		c.UserData = func(ctx context.Context, b *OAuth2, token string, _ map[string]any) (map[string]any, error) {
			saw("UserData", b)
			ep, err := b.Endpoints(ctx)
			if err != nil {
				return nil, err
			}
			return b.GetJSON(ctx, ep.UserInfoURL, token)
		}
		c.ValidateRefresh = func(_ context.Context, b *OAuth2, _ *socialauth.UserSocialAuth, _ map[string]any) error {
			saw("ValidateRefresh", b)
			return nil
		}
		c.OnRefresh = func(_ context.Context, b *OAuth2, _ *socialauth.UserSocialAuth) {
			saw("OnRefresh", b)
		}
	})
	st := newStrategy()
	if q := start(t, b, st).Query(); q.Get("hook") != "1" {
		t.Errorf("AuthParams not applied: %v", q)
	}
	store := testutil.NewStore()
	social := associate(t, l, b, store)
	if social.UID != "jsmith" {
		t.Errorf("uid = %q (UserData through b.GetJSON)", social.UID)
	}
	if _, err := b.RefreshSocial(context.Background(), store, social); err != nil {
		t.Fatal(err)
	}
	for _, hook := range []string{"AuthParams", "TokenResponse", "VerifyToken", "UserData", "ValidateRefresh", "OnRefresh"} {
		if seen[hook] != b {
			t.Errorf("%s received %p, want the backend %p", hook, seen[hook], b)
		}
	}
}

// TestRedirectURIFollowsCallbackURL: the redirect_uri sent at Start and at
// the code exchange is the strategy's CallbackURL, so an app that mounts
// the routes under /auth gets …/auth/complete/<name>/.
func TestRedirectURIFollowsCallbackURL(t *testing.T) {
	p := newIDP(t)
	var form url.Values
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		form = r.PostForm
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at-1","token_type":"Bearer"}`))
	})
	tok := httptest.NewServer(mux)
	defer tok.Close()
	cfg := p.config()
	cfg.Endpoints.AccessTokenURL = tok.URL + "/token"
	b, err := NewOAuth2(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st := testutil.NewStrategy(testutil.StrategyOptions{BaseURL: "https://app.example", Prefix: "/auth"})
	const want = "https://app.example/auth/complete/acme/"
	au := start(t, b, st)
	if got := au.Query().Get("redirect_uri"); got != want {
		t.Errorf("authorize redirect_uri = %q, want %q", got, want)
	}
	cb := &url.URL{Path: "/auth/complete/acme/", RawQuery: url.Values{"code": {"c"}, "state": {au.Query().Get("state")}}.Encode()}
	if _, err := callback(b, st, cb); err != nil {
		t.Fatal(err)
	}
	if got := form.Get("redirect_uri"); got != want {
		t.Errorf("token redirect_uri = %q, want %q", got, want)
	}
}
