package edx_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// The upstream fixture (auth_backends/tests/test_backends.py).
const (
	clientKey         = "a-key"
	clientSecret      = "a-secret-key"
	expectedUsername  = "jsmith"
	fixtureURLRoot    = "https://example.com"
	publicURLRoot     = "https://public.example.com"
	logoutRedirectURL = "https://example.com/logout_redirect"
	fixtureAudience   = "InkocujLikyucsEdwiWatdebrEackmevLakDuifKooshkakWow"
	fixtureSubject    = "e3bfe0e4e7c6693efba9c3a93ee7f31b"
	appBaseURL        = "http://myapp.com"
)

// Two RSA keys for the whole run (2048-bit generation is slow under -race):
// the LMS's key and an attacker's.
var (
	lmsKey   *rsa.PrivateKey
	otherKey *rsa.PrivateKey
)

func TestMain(m *testing.M) {
	var err error
	if lmsKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if otherKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

// fixtureClaims is upstream's create_jwt_access_token payload.
func fixtureClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss":                fixtureURLRoot,
		"administrator":      false,
		"iat":                now.Unix(),
		"given_name":         "Joe",
		"sub":                fixtureSubject,
		"preferred_username": expectedUsername,
		"aud":                fixtureAudience,
		"scopes":             []string{"read", "write", "profile", "email", "user_id"},
		"email":              "jsmith@example.com",
		"exp":                now.Add(time.Hour).Unix(),
		"name":               "Joe Smith",
		"family_name":        "Smith",
		"user_id":            "1",
	}
}

// signJWT signs claims with key and alg; headers are extra protected
// headers (typ JWT always, as PyJWT writes it).
func signJWT(t testing.TB, alg jwa.SignatureAlgorithm, key any, claims map[string]any, headers map[string]any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	h := jws.NewHeaders()
	if err := h.Set(jws.TypeKey, "JWT"); err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		if err := h.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(h)))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// unsignedJWT builds header.payload.sig with an arbitrary header (alg none).
func unsignedJWT(t testing.TB, header, claims map[string]any, sig string) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "." + sig
}

// exampleLMS serves https://example.com's provider configuration and JWKS
// in process (no network): the fixture's URL_ROOT.
type exampleLMS struct {
	mu        sync.Mutex
	key       *rsa.PrivateKey
	discovery int
	jwks      int
}

func (e *exampleLMS) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case r.URL.Host != "example.com":
		return nil, errors.New("exampleLMS: unexpected host")
	case r.URL.Path == "/.well-known/openid-configuration":
		e.discovery++
		rec.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rec).Encode(map[string]any{
			"issuer":   fixtureURLRoot,
			"jwks_uri": fixtureURLRoot + "/oauth2/jwks.json",
		})
	case r.URL.Path == "/oauth2/jwks.json":
		e.jwks++
		pub, err := jwk.FromRaw(&e.key.PublicKey)
		if err != nil {
			return nil, err
		}
		set := jwk.NewSet()
		_ = set.AddKey(pub)
		rec.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(rec).Encode(set)
	default:
		rec.WriteHeader(http.StatusNotFound)
	}
	return rec.Result(), nil
}

// fixtureSettings are the fixture settings (extra_settings()) plus extra.
func fixtureSettings(extra settings.Map) *settings.Settings {
	m := settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":      clientKey,
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":   clientSecret,
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": fixtureURLRoot,
	}
	for k, v := range extra {
		m[k] = v
	}
	return settings.New(m)
}

// fixtureBackend is the backend built from the fixture settings plus extra,
// talking to e (nil: no LMS at all), with opts (its HTTPClient is e's).
func fixtureBackend(t testing.TB, e *exampleLMS, extra settings.Map, opts edx.Options) *edx.EdXOAuth2 {
	t.Helper()
	cfg, err := edx.ConfigFrom(fixtureSettings(extra))
	if err != nil {
		t.Fatalf("ConfigFrom: %v", err)
	}
	if e != nil {
		opts.HTTPClient = &http.Client{Transport: e}
	}
	b, err := edx.New(cfg, opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return b
}

// newStrategy is one request at http://testserver with a new session.
func newStrategy() *testutil.Strategy { return testutil.NewStrategy(testutil.StrategyOptions{}) }

// logBuffer is the shared log sink, with the record readers below.
type logBuffer struct{ testutil.LogBuffer }

// records returns the log records (JSON handler) as maps.
func (l *logBuffer) records(t testing.TB) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func (l *logBuffer) messages(t testing.TB, level string) []string {
	var out []string
	for _, r := range l.records(t) {
		if r["level"] == level {
			out = append(out, r["msg"].(string))
		}
	}
	return out
}

func newLogger() (*slog.Logger, *logBuffer) {
	lb := &logBuffer{}
	return slog.New(slog.NewJSONHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug})), lb
}

// harness is an app using the edx-oauth2 backend against a fake LMS on
// loopback, with the Service, the in-memory store and test strategies.
type harness struct {
	t       *testing.T
	lms     *fakelms.LMS
	store   *testutil.MemStore
	backend *edx.EdXOAuth2
	svc     *socialauth.Service
	set     *settings.Settings
	logs    *logBuffer
	logger  *slog.Logger

	mu       sync.Mutex
	cleanups []bool
}

type harnessOptions struct {
	settings settings.Map // added to (and overriding) the base settings
	// lmsSettings, when set, adds settings that name the running LMS.
	lmsSettings func(lms *fakelms.LMS) settings.Map
	lms         fakelms.Options
	steps       []socialauth.Step // extra steps to register
	now         func() time.Time
}

// newHarness builds the app as one would at start-up: settings read once
// by edx.ConfigFrom and socialauth.New, the backend registered before the
// Service is built.
func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	lo := o.lms
	if lo.Key == nil {
		lo.Key = lmsKey
	}
	lo.Clients = append(lo.Clients, fakelms.Client{
		ID: clientKey, Secret: clientSecret,
		RedirectURIs: []string{appBaseURL + "/complete/edx-oauth2/", "https://myapp.com/complete/edx-oauth2/"},
	})
	lms := fakelms.NewServer(t, lo)
	lms.AutoApprove(expectedUsername)
	m := settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":      clientKey,
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":   clientSecret,
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": lms.URL(),
		"SOCIAL_AUTH_LOGIN_REDIRECT_URL":  "/done/",
	}
	for k, v := range o.settings {
		m[k] = v
	}
	if o.lmsSettings != nil {
		for k, v := range o.lmsSettings(lms) {
			m[k] = v
		}
	}
	logger, logs := newLogger()
	h := &harness{t: t, lms: lms, store: testutil.NewStore(), set: settings.New(m), logs: logs, logger: logger}
	cfg, err := edx.ConfigFrom(h.set)
	if err != nil {
		t.Fatal(err)
	}
	b, err := edx.New(cfg, edx.Options{
		Logger:     logger,
		HTTPClient: lms.Client(),
		Now:        o.now,
		// The Service is built below, once the backend is registered.
		CurrentUser: func(ctx context.Context, s socialauth.Strategy) (*socialauth.User, error) {
			return h.svc.CurrentUser(ctx, s)
		},
		CleanupRecorder: func(required bool) {
			h.mu.Lock()
			h.cleanups = append(h.cleanups, required)
			h.mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	h.backend = b
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	steps.Register(o.steps...)
	svc, err := socialauth.New(socialauth.Options{Storage: h.store, Backends: []socialauth.Backend{b}, Steps: steps, Settings: h.set,
		Logger: logger, Now: o.now})
	if err != nil {
		t.Fatal(err)
	}
	h.svc = svc
	return h
}

func (h *harness) cleanupCalls() []bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]bool(nil), h.cleanups...)
}

// strategy is one request of the browser owning sess.
func (h *harness) strategy(sess *testutil.Session, data url.Values) *testutil.Strategy {
	st := testutil.NewStrategy(testutil.StrategyOptions{BaseURL: appBaseURL, Session: sess})
	st.SetRequestData(data)
	return st
}

// begin is GET /login/edx-oauth2/?data.
func (h *harness) begin(sess *testutil.Session, data url.Values) *socialauth.Response {
	h.t.Helper()
	resp, err := h.svc.Begin(context.Background(), h.strategy(sess, data), edx.Name)
	if err != nil {
		h.t.Fatalf("Begin: %v", err)
	}
	if resp.Status != http.StatusFound || resp.Location == "" {
		h.t.Fatalf("Begin: got %+v, want a redirect", resp)
	}
	return resp
}

// authorize follows the authorize redirect at the LMS (auto-approved) and
// returns the callback's query.
func (h *harness) authorize(location string) url.Values {
	h.t.Helper()
	c := *h.lms.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Get(location)
	if err != nil {
		h.t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatal(err)
	}
	if u.Path != "/complete/edx-oauth2/" {
		h.t.Fatalf("authorize: callback %q", u.Path)
	}
	return u.Query()
}

// login runs begin, authorize and complete for sess.
func (h *harness) login(sess *testutil.Session, data url.Values) (*socialauth.Response, error) {
	h.t.Helper()
	cb := h.authorize(h.begin(sess, data).Location)
	return h.svc.Complete(context.Background(), h.strategy(sess, cb), edx.Name)
}

// tokenBody is a token response carrying accessToken.
func tokenBody(accessToken string) string {
	b, _ := json.Marshal(map[string]any{
		"access_token": accessToken, "token_type": "JWT", "expires_in": 3600,
		"scope": "read write profile email user_id",
	})
	return string(b)
}

// sessionUser is the id the session is logged in with ("" for none).
func sessionUser(sess *testutil.Session) string {
	v, _ := sess.Get(socialauth.SessionUserID)
	s, _ := v.(string)
	return s
}

// pendingFlow is one pending sign-in as the session keeps it (under
// backends.SessionKey, a map from the SHA-256 of the state to this JSON).
type pendingFlow struct {
	State       string `json:"s"`
	Verifier    string `json:"v"`
	RedirectURI string `json:"r"`
}

// pendingFlows returns the pending edX sign-ins in st's session, by state.
func pendingFlows(t testing.TB, st socialauth.Strategy) map[string]pendingFlow {
	t.Helper()
	out := map[string]pendingFlow{}
	v, ok := st.SessionGet(backends.SessionKey(edx.Name))
	if !ok {
		return out
	}
	m, ok := v.(map[string]string)
	if !ok {
		t.Fatalf("session %s is a %T, want map[string]string", backends.SessionKey(edx.Name), v)
	}
	for id, raw := range m {
		var f pendingFlow
		if err := json.Unmarshal([]byte(raw), &f); err != nil || f.State == "" {
			t.Fatalf("session entry %q is not a flow: %v", id, err)
		}
		out[f.State] = f
	}
	return out
}
