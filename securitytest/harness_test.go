package securitytest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
	"github.com/socialauth-go/socialauth/views"
)

// Backend names mounted by every environment.
const (
	edxName   = edx.Name // the product's main path
	oidcName  = "oidc"   // the generic OpenID Connect backend
	oauthName = "lms"    // a plain OAuth2 backend on the OAuth2 base
)

const (
	clientID = "security-client"
	audience = "security-audience"
)

// Two RSA keys for the whole run (2048-bit generation is slow under -race):
// the LMS's and an attacker's.
var (
	lmsKeyOnce, attackerKeyOnce sync.Once
	lmsKeyV, attackerKeyV       *rsa.PrivateKey
)

func lmsKey() *rsa.PrivateKey {
	lmsKeyOnce.Do(func() { lmsKeyV = mustKey() })
	return lmsKeyV
}

func attackerKey() *rsa.PrivateKey {
	attackerKeyOnce.Do(func() { attackerKeyV = mustKey() })
	return attackerKeyV
}

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}

// canary returns a recognisable random secret.
func canary(kind string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "CANARY" + kind + hex.EncodeToString(b)
}

// clock is a settable clock shared by the service and the backends.
type clock struct {
	mu sync.Mutex
	d  time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.d)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.d += d
	c.mu.Unlock()
}

// logBuffer is the shared log sink, with the JSON-record reader below.
type logBuffer struct{ testutil.LogBuffer }

// records returns the JSON log records written after offset from.
func (l *logBuffer) records(t testing.TB, from int) []map[string]any {
	t.Helper()
	s := l.String()[from:]
	var out []map[string]any
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

// options tune an environment.
type options struct {
	settings settings.Map    // added over the base settings
	lms      fakelms.Options // Key, Clients and Audience are filled in
	steps    []socialauth.Step
	dsn      string // database URL; "" is a fresh SQLite file
	// inProcessStates gives the backends no UsedStates (each keeps its own
	// in-process record of redeemed flows) instead of the store.
	inProcessStates bool
	// storedSessions keeps every session in the store, as a service
	// without SESSION_COOKIE_KEYS does; by default a session nobody is
	// signed in to is sealed into its cookie (strategies.SealedStore), as
	// the demo does.
	storedSessions bool
}

// env is one service on loopback: views + net/http strategy (scs) + GORM
// store, with the fake LMS as provider, a JSON logger into a buffer and the
// secrets seen so far.
type env struct {
	t        testing.TB
	lms      *fakelms.LMS
	store    *storage.Store
	svc      *socialauth.Service
	views    *views.Views
	sessions *scs.SessionManager
	srv      *httptest.Server
	base     string
	logs     *logBuffer
	logger   *slog.Logger
	clock    *clock
	set      *settings.Settings
	secret   string // the client secret (a canary)
	// cookieKey seals anonymous sessions (shared by the instances; nil
	// with options.storedSessions).
	cookieKey []byte
	dsn       string // the database the store opened
	opts      options

	*leakLog
}

// leakLog holds the secrets seen and every body and Location the service
// answered, shared by the copies withT makes.
type leakLog struct {
	mu      sync.Mutex
	secrets map[string]string // value → kind
	bodies  []string
}

// withT returns the env reporting to t (for fuzz functions, which must not
// use the *testing.F the env was built with).
func (e *env) withT(t testing.TB) *env {
	c := *e
	c.t = t
	return &c
}

func newEnv(t testing.TB, o options) *env {
	t.Helper()
	e, err := buildEnv(t, o)
	if err != nil {
		t.Fatalf("building the service: %v", err)
	}
	return e
}

// buildEnv is newEnv returning the error of the service's construction (a
// malformed setting) with the env built so far, whose logs and answers are
// searched for secrets when the test ends.
func buildEnv(t testing.TB, o options) (*env, error) {
	t.Helper()
	e := &env{t: t, logs: &logBuffer{}, clock: &clock{}, leakLog: &leakLog{secrets: map[string]string{}}, opts: o}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.logger = logger

	mux := http.NewServeMux()
	e.srv = httptest.NewServer(mux)
	t.Cleanup(e.srv.Close)
	e.base = e.srv.URL

	e.secret = canary("secret")
	e.addSecret(e.secret, "client secret")
	if !o.storedSessions {
		e.cookieKey = make([]byte, 32)
		_, _ = rand.Read(e.cookieKey)
	}
	lo := o.lms
	if lo.Key == nil {
		lo.Key = lmsKey()
	}
	if lo.Audience == "" {
		lo.Audience = audience
	}
	lo.Logger = logger.With("component", "fakelms")
	lo.Clients = append(lo.Clients, fakelms.Client{
		ID: clientID, Secret: e.secret,
		RedirectURIs: []string{
			e.base + "/complete/" + edxName + "/", e.base + "/complete/" + oidcName + "/",
			e.base + "/complete/" + oauthName + "/",
		},
		LogoutRedirectHosts: []string{strings.TrimPrefix(e.base, "http://")},
	})
	e.lms = fakelms.NewServer(t, lo)
	e.lms.AutoApprove("jsmith")

	m := settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":          clientID,
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":       e.secret,
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":     e.lms.URL(),
		"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE": []string{audience},
		"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT":      e.lms.Issuer(),
		"SOCIAL_AUTH_OIDC_KEY":                clientID,
		"SOCIAL_AUTH_OIDC_SECRET":             e.secret,
		"SOCIAL_AUTH_LMS_KEY":                 clientID,
		"SOCIAL_AUTH_LMS_SECRET":              e.secret,
		"SOCIAL_AUTH_LOGIN_REDIRECT_URL":      "/done/",
		"SOCIAL_AUTH_REQUESTS_TIMEOUT":        "2s",
	}
	for k, v := range o.settings {
		m[k] = v
	}
	e.set = settings.New(m)
	for _, k := range []string{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY"} {
		if v, ok := m[k].(string); ok && v != "" {
			e.addSecret(v, "HMAC key")
		}
	}

	e.dsn = o.dsn
	if e.dsn == "" {
		e.dsn = "sqlite:" + dbtest.Fresh(t, dbtest.Target{Name: dbtest.SQLite})
	}
	e.store = e.openStore(t)
	t.Cleanup(e.checkNoSecrets)

	if err := e.wire(mux, o.steps); err != nil {
		return e, err
	}
	e.mountTestRoutes(mux)
	return e, nil
}

// openStore opens (and migrates) the env's database, closed when t ends.
func (e *env) openStore(t testing.TB) *storage.Store {
	t.Helper()
	store, err := storage.Open(context.Background(), e.dsn, storage.Options{Logger: e.logger.With("component", "storage")})
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { _ = store.Close() })
	if err := store.AutoMigrate(context.Background()); err != nil {
		t.Fatalf("AutoMigrate: %v", err)
	}
	return store
}

// instance returns a second instance of e's service, as a load balancer
// would have behind the same public URL: its own server, database handle,
// backends, Service, sessions and views, built from the same settings, on
// the same database, with the same LMS. A browser's cookie is good at
// both (cookies do not depend on the port). Its address is srv.URL.
func (e *env) instance(t testing.TB) *env {
	t.Helper()
	c := *e
	c.t = t
	mux := http.NewServeMux()
	c.srv = httptest.NewServer(mux)
	t.Cleanup(c.srv.Close)
	c.store = c.openStore(t)
	if err := c.wire(mux, e.opts.steps); err != nil {
		t.Fatalf("second instance: %v", err)
	}
	c.mountTestRoutes(mux)
	return &c
}

// writeUserID answers {"user_id": u's id, "" for none}, or a 500 on err.
func writeUserID(w http.ResponseWriter, u *socialauth.User, err error) {
	w.Header().Set("Content-Type", "application/json")
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	id := ""
	if u != nil {
		id = u.ID
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"user_id": id})
}

// mountTestRoutes adds the routes the tests read the session through.
func (e *env) mountTestRoutes(mux *http.ServeMux) {
	sessions := e.sessions
	mux.Handle("GET /me", e.views.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, err := e.svc.CurrentUser(r.Context(), e.views.Strategy(r))
		writeUserID(w, u, err)
	})))
	// /me-signed-in answers the same from views.Views.SignedInUser, the
	// session's row read with its user without loading the session: me()
	// asks both and they must agree under every rule.
	mux.HandleFunc("GET /me-signed-in", func(w http.ResponseWriter, r *http.Request) {
		u, _, err := e.views.SignedInUser(r)
		writeUserID(w, u, err)
	})
	// /session dumps the raw session keys (never values) for assertions.
	mux.Handle("GET /session-keys", e.views.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		keys := sessions.Keys(r.Context())
		sort.Strings(keys)
		_ = json.NewEncoder(w).Encode(keys)
	})))

	// /session-next reports the sanitized next the session keeps (not a
	// secret), for the fuzz target of the Begin handler.
	mux.Handle("GET /session-next", e.views.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, sessions.GetString(r.Context(), socialauth.RedirectFieldName))
	})))
}

// wire builds what the service is made of, from e.set, the way an app does
// at start-up: the three backends (each reading its settings once), the
// Service (pipelines built, steps resolved), the net/http strategy and the
// views, mounted on mux. Every malformed setting fails here, naming its key.
func (e *env) wire(mux *http.ServeMux, extra []socialauth.Step) error {
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	steps.Register(extra...)
	reg := []socialauth.Backend{}

	// The edX backend logs a signed-in user out when a new login starts: it
	// asks the Service (built below, once every backend is registered).
	var svc *socialauth.Service
	currentUser := func(ctx context.Context, st socialauth.Strategy) (*socialauth.User, error) {
		return svc.CurrentUser(ctx, st)
	}
	// The redeemed flows are recorded in the database's nonce table, shared
	// by the instances, as views/edxsso wires it.
	var used socialauth.NonceStorage = e.store
	if e.opts.inProcessStates {
		used = nil
	}
	ecfg, err := edx.ConfigFrom(e.set)
	if err != nil {
		return err
	}
	eb, err := edx.New(ecfg, edx.Options{Logger: e.logger, CurrentUser: currentUser, Now: e.clock.Now, UsedStates: used})
	if err != nil {
		return err
	}
	reg = append(reg, eb)

	ocfg, err := backends.OIDCConfigFrom(e.set, backends.OIDCConfig{
		OAuth2: backends.OAuth2Config{Logger: e.logger, Now: e.clock.Now, UsedStates: used},
	})
	if err != nil {
		return err
	}
	ob, err := backends.NewOIDC(ocfg)
	if err != nil {
		return err
	}
	reg = append(reg, ob)

	// A plain OAuth2 backend: the base fetches UserInfoURL itself.
	lmsURL := e.lms.URL()
	pcfg, err := backends.OAuth2ConfigFrom(e.set, backends.OAuth2Config{
		Name: oauthName,
		Endpoints: backends.Endpoints{
			AuthorizationURL: lmsURL + "/oauth2/authorize",
			AccessTokenURL:   lmsURL + "/oauth2/access_token",
			RevokeURL:        lmsURL + "/oauth2/revoke_token",
			UserInfoURL:      lmsURL + "/oauth2/user_info",
		},
		DefaultScope: []string{"profile", "email"},
		IDKey:        "preferred_username",
		Logger:       e.logger,
		Now:          e.clock.Now,
		UsedStates:   used,
	})
	if err != nil {
		return err
	}
	pb, err := backends.NewOAuth2(pcfg)
	if err != nil {
		return err
	}
	reg = append(reg, pb)

	svc, err = socialauth.New(socialauth.Options{
		Storage: e.store, Backends: reg, Steps: steps, Settings: e.set, Logger: e.logger, Now: e.clock.Now,
	})
	if err != nil {
		return err
	}
	e.svc = svc

	e.sessions = strategies.NewSessionManager(e.store.SessionStore(), false)
	if e.cookieKey != nil {
		sealed, err := strategies.NewSealedStore(e.sessions.Store, [][]byte{e.cookieKey})
		if err != nil {
			return err
		}
		e.sessions.Store = sealed
	}
	hc, err := strategies.HTTPConfigFrom(e.set, strategies.HTTPConfig{Sessions: e.sessions, BaseURL: e.base, Logger: e.logger})
	if err != nil {
		return err
	}
	v, err := views.New("", views.Config{Service: svc, HTTP: hc, Logger: e.logger, DefaultBackend: edxName})
	if err != nil {
		return err
	}
	e.views = v
	v.Mount(mux)
	return nil
}

// envs returns one environment per database under test: SQLite always,
// PostgreSQL when SOCIALAUTH_TEST_POSTGRES_DSN is set, MariaDB/MySQL when
// SOCIALAUTH_TEST_MYSQL_DSN is set; and, unless o asks for stored sessions
// anyway, SQLite again with every session in the store (no
// SESSION_COOKIE_KEYS), so each rule is checked both ways.
func envs(t *testing.T, o options, fn func(t *testing.T, e *env)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, newEnv(t, o)) })
	if !o.storedSessions {
		t.Run("sqlite-stored-sessions", func(t *testing.T) {
			oo := o
			oo.storedSessions = true
			fn(t, newEnv(t, oo))
		})
	}
	for _, db := range []struct{ name, target, env string }{
		{"postgres", dbtest.Postgres, dbtest.EnvPostgres},
		{"mysql", dbtest.MySQL, dbtest.EnvMySQL},
	} {
		if os.Getenv(db.env) == "" {
			continue
		}
		t.Run(db.name, func(t *testing.T) {
			oo := o
			oo.dsn = dbtest.Fresh(t, dbtest.Target{Name: db.target, DSN: os.Getenv(db.env)})
			fn(t, newEnv(t, oo))
		})
	}
}

func (e *env) addSecret(v, kind string) {
	if len(v) < 8 {
		return // too short to search for meaningfully
	}
	e.mu.Lock()
	if _, seen := e.secrets[v]; !seen {
		e.secrets[v] = kind
	}
	// A JWT is also searched for by its signature, so a truncated log of
	// the token is caught too.
	if parts := strings.Split(v, "."); len(parts) == 3 && len(parts[2]) >= 16 {
		e.secrets[parts[2]] = kind + " (signature)"
	}
	e.mu.Unlock()
}

func (e *env) record(s string) {
	e.mu.Lock()
	e.bodies = append(e.bodies, s)
	e.mu.Unlock()
}

// checkNoSecrets fails the test if a secret seen during it appears in a log
// line, a response body or a Location header of the service.
func (e *env) checkNoSecrets() {
	for _, l := range e.leaks() {
		e.t.Error(l)
	}
}

// leaks lists every secret found in the logs or the service's answers.
func (e *env) leaks() []string {
	e.harvestStoredSecrets()
	logs := e.logs.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for v, kind := range e.secrets {
		if i := strings.Index(logs, v); i >= 0 {
			lo, hi := max(0, i-200), min(len(logs), i+len(v)+50)
			out = append(out, fmt.Sprintf("the %s appears in the logs: …%s…", kind, logs[lo:hi]))
		}
		for _, b := range e.bodies {
			if strings.Contains(b, v) {
				out = append(out, fmt.Sprintf("the %s appears in a response of the service: %.300q", kind, b))
			}
		}
	}
	sort.Strings(out)
	return out
}

// harvestStoredSecrets adds the tokens stored in extra_data to the canaries.
func (e *env) harvestStoredSecrets() {
	var rows []map[string]any
	if err := e.store.DB().Table(storage.TableSocialAuth).Find(&rows).Error; err != nil {
		return
	}
	for _, r := range rows {
		raw := fmt.Sprint(r["extra_data"])
		if b, ok := r["extra_data"].([]byte); ok {
			raw = string(b)
		}
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) != nil {
			continue
		}
		for _, k := range []string{"access_token", "refresh_token", "id_token"} {
			if s, ok := m[k].(string); ok {
				e.addSecret(s, k)
			}
		}
	}
}

// storedAccessToken returns an access token kept in extra_data.
func (e *env) storedAccessToken(t *testing.T) string {
	t.Helper()
	var rows []map[string]any
	if err := e.store.DB().Table(storage.TableSocialAuth).Find(&rows).Error; err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		raw, _ := r["extra_data"].(string)
		if b, ok := r["extra_data"].([]byte); ok {
			raw = string(b)
		}
		var m map[string]any
		if json.Unmarshal([]byte(raw), &m) == nil {
			if s, _ := m["access_token"].(string); s != "" {
				return s
			}
		}
	}
	t.Fatal("no stored access token")
	return ""
}

// snapshot returns every row of every table but the sessions table, in a
// stable order.
func (e *env) snapshot() map[string][]string {
	e.t.Helper()
	tables, err := e.store.DB().Migrator().GetTables()
	if err != nil {
		e.t.Fatalf("listing tables: %v", err)
	}
	out := map[string][]string{}
	for _, tb := range tables {
		if tb == storage.TableSessions || strings.HasPrefix(tb, "sqlite_") {
			continue
		}
		var rows []map[string]any
		if err := e.store.DB().Table(tb).Find(&rows).Error; err != nil {
			e.t.Fatalf("reading %s: %v", tb, err)
		}
		lines := []string{}
		for _, r := range rows {
			for k, v := range r {
				if b, ok := v.([]byte); ok {
					r[k] = string(b)
				}
			}
			b, _ := json.Marshal(r)
			lines = append(lines, string(b))
		}
		sort.Strings(lines)
		out[tb] = lines
	}
	return out
}

func (e *env) count(table string) int {
	e.t.Helper()
	var n int64
	if err := e.store.DB().Table(table).Count(&n).Error; err != nil {
		e.t.Fatalf("count %s: %v", table, err)
	}
	return int(n)
}

// page is one answer of the service (or the LMS).
type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

// browser is a cookie-jar client that never follows redirects.
type browser struct {
	e   *env
	c   *http.Client
	jar http.CookieJar
}

func (e *env) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return &browser{e: e, jar: jar, c: &http.Client{
		Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (b *browser) abs(u string) string {
	if strings.HasPrefix(u, "/") {
		return b.e.base + u
	}
	return u
}

func (b *browser) do(req *http.Request) page {
	b.e.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.e.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.e.t.Fatalf("reading body: %v", err)
	}
	if strings.HasPrefix(req.URL.String(), b.e.base) {
		b.e.record(string(body))
		b.e.record(resp.Header.Get("Location"))
	}
	b.harvestCookies()
	return page{status: resp.StatusCode, header: resp.Header, body: string(body)}
}

func (b *browser) get(u string) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.abs(u), nil)
	if err != nil {
		b.e.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values, header http.Header) page {
	b.e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.abs(u), strings.NewReader(form.Encode()))
	if err != nil {
		b.e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range header {
		req.Header[k] = vs
	}
	return b.do(req)
}

// sessionID is the session cookie's value ("" when none).
func (b *browser) sessionID() string {
	u, _ := url.Parse(b.e.base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == strategies.SessionCookieName {
			return c.Value
		}
	}
	return ""
}

func (b *browser) harvestCookies() {
	if id := b.sessionID(); id != "" {
		b.e.addSecret(id, "session id")
	}
}

// me returns the id of the user the session is logged in as ("" for none),
// as the loaded session says (/me); SignedInUser (/me-signed-in) must say
// the same.
func (b *browser) me() string {
	b.e.t.Helper()
	read := func(path string) string {
		p := b.get(path)
		if p.status != http.StatusOK {
			b.e.t.Fatalf("%s: %d", path, p.status)
		}
		var v map[string]string
		if err := json.Unmarshal([]byte(p.body), &v); err != nil {
			b.e.t.Fatalf("%s: %v", path, err)
		}
		return v["user_id"]
	}
	loaded, signedIn := read("/me"), read("/me-signed-in")
	if loaded != signedIn {
		b.e.t.Errorf("SignedInUser says user %q, the loaded session %q", signedIn, loaded)
	}
	return loaded
}

// sessionKeys lists the keys of the browser's session.
func (b *browser) sessionKeys() []string {
	b.e.t.Helper()
	p := b.get("/session-keys")
	var keys []string
	if err := json.Unmarshal([]byte(p.body), &keys); err != nil {
		b.e.t.Fatalf("/session-keys: %v", err)
	}
	return keys
}

// begin GETs /login/<backend>/?query and returns the authorization URL.
func (b *browser) begin(backend string, query url.Values) *url.URL {
	b.e.t.Helper()
	u := "/login/" + backend + "/"
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	p := b.get(u)
	if p.status != http.StatusFound {
		b.e.t.Fatalf("begin %s: %d %s", backend, p.status, p.body)
	}
	au, err := url.Parse(p.location())
	if err != nil || !strings.HasPrefix(p.location(), b.e.lms.URL()) {
		b.e.t.Fatalf("begin %s: Location %q is not the LMS", backend, p.location())
	}
	return au
}

// authorize follows an authorization URL at the LMS (auto-approved) and
// returns the callback URL it sends the browser back to. The code is
// recorded as a secret.
func (e *env) authorize(au *url.URL) *url.URL {
	e.t.Helper()
	c := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(au.String())
	if err != nil {
		e.t.Fatalf("authorize: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		e.t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	cb, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		e.t.Fatal(err)
	}
	if code := cb.Query().Get("code"); code != "" {
		e.addSecret(code, "authorization code")
	}
	return cb
}

// callbackURL returns the callback of a fresh flow of backend for b.
func (b *browser) callbackURL(backend string, query url.Values) *url.URL {
	b.e.t.Helper()
	return b.e.authorize(b.begin(backend, query))
}

// complete GETs a callback URL (its path and query only: the service is
// wherever the env is).
func (b *browser) complete(cb *url.URL) page {
	b.e.t.Helper()
	p := b.get(cb.RequestURI())
	b.e.recordTokenSecrets()
	return p
}

// login runs a whole successful flow and returns the final redirect.
func (b *browser) login(backend string) page {
	b.e.t.Helper()
	p := b.complete(b.callbackURL(backend, nil))
	if p.status != http.StatusFound || b.me() == "" {
		b.e.t.Fatalf("login with %s failed: %d %q %s\nlogs:\n%s", backend, p.status, p.location(), p.body, b.e.logs.String())
	}
	return p
}

// recordTokenSecrets adds the PKCE verifiers and codes the LMS received.
func (e *env) recordTokenSecrets() {
	for _, tr := range e.lms.TokenRequests() {
		for _, k := range []string{"code", "code_verifier", "refresh_token"} {
			if v := tr.Form.Get(k); v != "" {
				e.addSecret(v, "token request "+k)
			}
		}
	}
}

// rejection is what a refused request must produce.
type rejection struct {
	status int
	code   socialauth.Code
	// tokenCalls is the number of token-endpoint calls the request may make
	// (0 for a failure detectable locally).
	tokenCalls int
	// user is who the session must be logged in as afterwards ("" anonymous).
	user string
	// spent: the refusal comes after the flow was redeemed (it is about
	// what the provider answered), so exactly one flow must be spent.
	spent bool
}

// reject runs do and asserts the whole contract of SECURITY.md.
func (e *env) reject(t *testing.T, b *browser, w rejection, do func() page) page {
	t.Helper()
	before := e.snapshot()
	calls := e.lms.Calls()
	mark := e.logs.Len()
	p := do()
	e.assertRejected(t, p, w, mark)
	if got := e.lms.Calls().Token - calls.Token; got != w.tokenCalls {
		t.Errorf("token endpoint calls = %d, want %d", got, w.tokenCalls)
	}
	after := e.snapshot()
	redeemed := len(redemptions(after)) - len(redemptions(before))
	if d := cmp.Diff(withoutRedemptions(before), withoutRedemptions(after)); d != "" {
		t.Errorf("the database changed on a rejected request (-before +after):\n%s", d)
	}
	// The one write a refused callback may make is the redemption of the
	// flow it matched (its record in UsedStates, the nonce table): that
	// flow is spent. A callback refused for its state or its parameters
	// matched no flow and redeems none.
	switch {
	case w.spent && redeemed != 1:
		t.Errorf("%d flows redeemed, want the callback's one", redeemed)
	case w.spent:
	case redeemed > 1 || redeemed < 0:
		t.Errorf("%d flows redeemed by one rejected request, want at most 1", redeemed)
	case redeemed == 1 && stateFamily(w.code):
		t.Errorf("a callback refused with %s redeemed a flow", w.code)
	}
	if got := b.me(); got != w.user {
		t.Errorf("session user after the rejection = %q, want %q", got, w.user)
	}
	return p
}

// usedStatePrefix starts the server_url of a redeemed flow's record in the
// nonce table (backends' UsedStates).
const usedStatePrefix = "socialauth:state:"

// redemptions returns the snapshot's records of redeemed flows.
func redemptions(snap map[string][]string) []string {
	var out []string
	for _, row := range snap[storage.TableNonce] {
		var m map[string]any
		if json.Unmarshal([]byte(row), &m) == nil && strings.HasPrefix(fmt.Sprint(m["server_url"]), usedStatePrefix) {
			out = append(out, row)
		}
	}
	return out
}

// withoutRedemptions returns snap without the records of redeemed flows.
func withoutRedemptions(snap map[string][]string) map[string][]string {
	out := make(map[string][]string, len(snap))
	for k, v := range snap {
		out[k] = v
	}
	red := redemptions(snap)
	if len(red) > 0 {
		rest := []string{}
		for _, row := range snap[storage.TableNonce] {
			if !slices.Contains(red, row) {
				rest = append(rest, row)
			}
		}
		out[storage.TableNonce] = rest
	}
	return out
}

// stateFamily reports whether code refuses a callback that names no pending
// flow, or is malformed: such a callback consumes nothing. (A missing
// parameter may be found after the flow was redeemed, as iss is.)
func stateFamily(code socialauth.Code) bool {
	switch code {
	case socialauth.CodeAuthInvalidParameter, socialauth.CodeAuthStateMissing, socialauth.CodeAuthStateForbidden:
		return true
	}
	return false
}

// assertRejected checks the answer and the log line of a refused request.
func (e *env) assertRejected(t *testing.T, p page, w rejection, mark int) {
	t.Helper()
	if p.status != w.status {
		t.Errorf("status = %d, want %d (body %q, Location %q)", p.status, w.status, p.body, p.location())
	}
	if w.status >= 400 {
		if want := http.StatusText(w.status) + "\n"; p.body != want {
			t.Errorf("body = %q, want the fixed %q (nothing reflected)", p.body, want)
		}
	}
	if cc := p.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	var found bool
	for _, r := range e.logs.records(t, mark) {
		if r["msg"] != "socialauth: request failed" {
			continue
		}
		found = true
		if r["code"] != string(w.code) {
			t.Errorf("logged code = %v, want %s (error %v)", r["code"], w.code, r["error"])
		}
		if int(r["status"].(float64)) != w.status && w.status != http.StatusFound {
			t.Errorf("logged status = %v, want %d", r["status"], w.status)
		}
	}
	if !found {
		t.Errorf("no 'request failed' log line for the rejection; logs:\n%s", e.logs.String()[mark:])
	}
}

// withQuery returns u with its query changed by f (raw, to keep duplicates).
func withQuery(u *url.URL, f func(q url.Values)) *url.URL {
	c := *u
	q := c.Query()
	f(q)
	c.RawQuery = q.Encode()
	return &c
}

func withRawQuery(u *url.URL, raw string) *url.URL {
	c := *u
	c.RawQuery = raw
	return &c
}
