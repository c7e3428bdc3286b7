package backends

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

const (
	testClientID = "test-client"
	testSecret   = "test-secret-do-not-log"
)

// testKey is one RSA key shared by every fake LMS of the test binary
// (generating one per test is slow under -race).
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

func newLMS(t testing.TB, opts fakelms.Options) *fakelms.LMS {
	t.Helper()
	if opts.Key == nil {
		opts.Key = testKey()
	}
	if opts.Clients == nil {
		opts.Clients = []fakelms.Client{{
			ID: testClientID, Secret: testSecret,
			RedirectURIs: []string{testutil.DefaultBaseURL + "/complete/lms/", testutil.DefaultBaseURL + "/complete/oidc/",
				testutil.DefaultBaseURL + "/complete/other/"},
		}}
	}
	l := fakelms.NewServer(t, opts)
	l.AutoApprove("jsmith")
	return l
}

// lmsConfig is the code configuration of a plain OAuth2 backend for the
// fake LMS (no OpenID). Its UserInfoURL is fetched by the base.
func lmsConfig(l *fakelms.LMS) OAuth2Config {
	return lmsConfigAt(l.URL(), l.Client())
}

// lmsConfigAt is lmsConfig for the fake LMS served at base, reached with
// client (nil: a default client), as another process sees it.
func lmsConfigAt(base string, client *http.Client) OAuth2Config {
	return OAuth2Config{
		Name: "lms",
		Endpoints: Endpoints{
			AuthorizationURL: base + "/oauth2/authorize",
			AccessTokenURL:   base + "/oauth2/access_token",
			RevokeURL:        base + "/oauth2/revoke_token",
			UserInfoURL:      base + "/oauth2/user_info",
		},
		DefaultScope: []string{"profile", "email"},
		IDKey:        "preferred_username",
		ExtraData:    []ExtraDataField{{Name: "refresh_token"}, {Name: "expires_in"}},
		HTTPClient:   client,
	}
}

// lmsOAuth2 builds lmsConfig changed by mod, with the test settings and set
// laid over it, as an application would at start-up.
func lmsOAuth2(t testing.TB, l *fakelms.LMS, set settings.Map, mod func(*OAuth2Config)) *OAuth2 {
	t.Helper()
	cfg := lmsConfig(l)
	if mod != nil {
		mod(&cfg)
	}
	cfg, err := OAuth2ConfigFrom(testSettings(set), cfg)
	if err != nil {
		t.Fatalf("OAuth2ConfigFrom: %v", err)
	}
	b, err := NewOAuth2(cfg)
	if err != nil {
		t.Fatalf("NewOAuth2: %v", err)
	}
	return b
}

func testSettings(m settings.Map) *settings.Settings {
	base := settings.Map{
		"SOCIAL_AUTH_LMS_KEY":      testClientID,
		"SOCIAL_AUTH_LMS_SECRET":   testSecret,
		"SOCIAL_AUTH_OTHER_KEY":    testClientID,
		"SOCIAL_AUTH_OTHER_SECRET": testSecret,
		"SOCIAL_AUTH_OIDC_KEY":     testClientID,
		"SOCIAL_AUTH_OIDC_SECRET":  testSecret,
	}
	return settings.New(base, m)
}

// newStrategy is a request-only strategy on the default base URL.
func newStrategy() *testutil.Strategy {
	return testutil.NewStrategy(testutil.StrategyOptions{})
}

// wantConfigErr fails unless err is an ImproperlyConfigured *socialauth.Error
// naming key.
func wantConfigErr(t testing.TB, err error, key string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want ImproperlyConfigured naming %s", key)
	}
	wantCode(t, err, socialauth.CodeImproperlyConfigured)
	if !strings.Contains(err.Error(), key) {
		t.Fatalf("error %q does not name %s", err, key)
	}
}

// authorize follows the authorization URL at the fake LMS (auto-approve) and
// returns the callback URL it redirects to.
func authorize(t testing.TB, l *fakelms.LMS, authURL string) *url.URL {
	t.Helper()
	c := *l.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// start runs Start and returns the authorization URL.
func start(t testing.TB, b socialauth.Backend, st *testutil.Strategy) *url.URL {
	t.Helper()
	r, err := b.Start(context.Background(), st)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	if r.Status != http.StatusFound {
		t.Fatalf("Start: status %d", r.Status)
	}
	u, err := url.Parse(r.Location)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// callback runs Complete for a GET to cb on the strategy's session.
func callback(b socialauth.Backend, st *testutil.Strategy, cb *url.URL) (map[string]any, error) {
	return b.Complete(context.Background(), st.WithRequest(httptest.NewRequest(http.MethodGet, cb.String(), nil)))
}

// login does a whole flow: Start, authorize at the LMS, Complete.
func login(t testing.TB, l *fakelms.LMS, b socialauth.Backend, st *testutil.Strategy) (map[string]any, error) {
	t.Helper()
	return callback(b, st, authorize(t, l, start(t, b, st).String()))
}

// withQuery returns u with its query changed by f.
func withQuery(u *url.URL, f func(url.Values)) *url.URL {
	c := *u
	q := c.Query()
	f(q)
	c.RawQuery = q.Encode()
	return &c
}

// wantCode fails unless err is a *socialauth.Error with code and no secret.
func wantCode(t testing.TB, err error, code socialauth.Code) {
	t.Helper()
	var e *socialauth.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *socialauth.Error %s", err, err, code)
	}
	if e.Code != code {
		t.Fatalf("code = %s (%v), want %s", e.Code, err, code)
	}
	noSecrets(t, err.Error())
}

func noSecrets(t testing.TB, s string) {
	t.Helper()
	for _, secret := range []string{testSecret, "error_description", "<html", "The resource owner"} {
		if strings.Contains(s, secret) {
			t.Fatalf("error text %q contains %q", s, secret)
		}
	}
}

// fixedClock is a settable clock for state/nonce lifetimes.
type fixedClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fixedClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fixedClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sessionFlow is one pending flow as the session keeps it, read here
// independently of flow.go: under SessionKey(name), a map from the flow id
// (base64url SHA-256 of the state) to the flow's JSON.
type sessionFlow struct {
	State       string `json:"s"`
	Verifier    string `json:"v"`
	Nonce       string `json:"n"`
	RedirectURI string `json:"r"`
	Created     int64  `json:"c"`
}

// pendingIn returns the pending flows of backend name in st's session, by
// state. Every entry must be a flow kept under the hash of its state.
func pendingIn(t testing.TB, st socialauth.Strategy, name string) map[string]sessionFlow {
	t.Helper()
	out := map[string]sessionFlow{}
	v, ok := st.SessionGet(SessionKey(name))
	if !ok {
		return out
	}
	raw := map[string]string{}
	switch m := v.(type) {
	case map[string]string:
		raw = m
	case map[string]any:
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				t.Fatalf("session %s[%q] is a %T, want a string", SessionKey(name), k, x)
			}
			raw[k] = s
		}
	default:
		t.Fatalf("session %s is a %T, want a map of flows", SessionKey(name), v)
	}
	for id, js := range raw {
		var f sessionFlow
		if err := json.Unmarshal([]byte(js), &f); err != nil || f.State == "" {
			t.Fatalf("session %s[%q] is not a flow: %v", SessionKey(name), id, err)
		}
		sum := sha256.Sum256([]byte(f.State))
		if id != base64.RawURLEncoding.EncodeToString(sum[:]) {
			t.Fatalf("flow kept under %q, not the hash of its state", id)
		}
		out[f.State] = f
	}
	return out
}

// onlyFlow returns the one pending flow of backend name in st's session.
func onlyFlow(t testing.TB, st socialauth.Strategy, name string) sessionFlow {
	t.Helper()
	flows := pendingIn(t, st, name)
	if len(flows) != 1 {
		t.Fatalf("%d pending flows of %s, want 1", len(flows), name)
	}
	for _, f := range flows {
		return f
	}
	panic("unreachable")
}
