package bench

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2"
	"github.com/glebarez/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
	"github.com/socialauth-go/socialauth/views"
)

const (
	clientID     = "bench-client"
	clientSecret = "bench-secret-0123456789abcdef"
	audience     = "lms-key"
	// appBase is the public base URL of the app under test. Requests are
	// served by httptest.NewRecorder, so nothing listens there; it only has
	// to match the registered redirect URI.
	appBase     = "http://127.0.0.1:8000"
	completeURI = appBase + "/complete/" + edx.Name + "/"
	// next is where every benchmarked login asks to land.
	next = "/courses/"
	// returningUser is the LMS account of the returning-user benchmarks.
	returningUser = "jsmith"
)

// signingKey is one 2048-bit RSA key shared by every fake LMS of the run:
// generating one costs tens of milliseconds, and benchmark functions run
// several times. It is computed once and never changed.
var signingKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(fmt.Sprintf("bench: generate RSA key: %v", err))
	}
	return k
})

// rig is the demo's wiring (edx-oauth2 backend, edX pipeline, net/http
// strategy, scs sessions in the GORM store, the views) in front of a fake
// LMS on loopback, with its database.
type rig struct {
	lms      *fakelms.LMS
	store    *storage.Store
	db       *gorm.DB // the store's *gorm.DB, for the floor and the counters
	dialect  string
	sessions *scs.SessionManager
	backend  *edx.EdXOAuth2
	service  *socialauth.Service
	views    *views.Views
	handler  http.Handler
	// lmsClient is the kept-alive client to the LMS used by the backend,
	// the floor and the code minting.
	lmsClient *http.Client
	// lmsTime is the time the LMS spent in its token endpoint (signing the
	// RS512 access token, mostly): the provider's cost inside the timer,
	// which the benchmarks report apart (lms-ns/op).
	lmsTime *atomic.Int64
}

// meterToken counts the time next spends answering token requests into
// spent. The benchmarks run one login at a time, so that time is the LMS's
// CPU for the request, on the benchmark's own cores.
func meterToken(next http.Handler, spent *atomic.Int64) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/oauth2/access_token") {
			next.ServeHTTP(w, r)
			return
		}
		t0 := time.Now()
		next.ServeHTTP(w, r)
		spent.Add(int64(time.Since(t0)))
	})
}

type rigOptions struct {
	// target is the database (nil: SQLite in a temporary file).
	target *dbtest.Target
	// sessionStore replaces the GORM session store.
	sessionStore scs.Store
	// transport wraps the LMS client's transport (tests add tracing).
	transport func(http.RoundTripper) http.RoundTripper
	// prepareStmt opens SQLite through storage.New with GORM's prepared
	// statement cache on (storage.Open leaves it off): the variant that
	// measures that proposed change.
	prepareStmt bool
	// fieldKeys turn field encryption on (storage.Options.FieldKeys).
	fieldKeys [][]byte
	// storedSessions keeps the pre-login session in the session store;
	// by default it is sealed into its cookie, as the demo does
	// (SESSION_COOKIE_KEYS, strategies.SealedStore).
	storedSessions bool
}

func newRig(tb testing.TB, opts rigOptions) *rig {
	tb.Helper()
	ctx := context.Background()
	lms, err := fakelms.New(fakelms.Options{
		Clients: []fakelms.Client{{ID: clientID, Secret: clientSecret, RedirectURIs: []string{completeURI}}},
		Key:     signingKey(),
		// Codes are minted in batches before the timer starts.
		CodeTTL:  time.Hour,
		Audience: audience,
	})
	if err != nil {
		tb.Fatal(err)
	}
	lmsTime := &atomic.Int64{}
	lmsServer := httptest.NewServer(meterToken(lms.Handler(), lmsTime))
	tb.Cleanup(lmsServer.Close)
	lms.SetBaseURL(lmsServer.URL)
	lms.AutoApprove(returningUser)

	dbURL := "sqlite:" + filepath.Join(tb.TempDir(), "bench.db")
	dialect := dbtest.SQLite
	if opts.target != nil && opts.target.Name != dbtest.SQLite {
		dbURL, dialect = dbtest.Fresh(tb, *opts.target), opts.target.Name
	}
	var store *storage.Store
	if opts.prepareStmt && dialect == dbtest.SQLite {
		store, err = openPrepared(strings.TrimPrefix(dbURL, "sqlite:"))
	} else {
		store, err = storage.Open(ctx, dbURL, storage.Options{FieldKeys: opts.fieldKeys})
	}
	if err != nil {
		tb.Fatalf("storage.Open(%s): %v", dialect, err)
	}
	tb.Cleanup(func() { _ = store.Close() })
	if err := store.AutoMigrate(ctx); err != nil {
		tb.Fatalf("AutoMigrate: %v", err)
	}

	// The demo's settings for its embedded LMS, over the edX defaults.
	set := edx.WithDefaults(settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":     lms.URL(),
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":          clientID,
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":       clientSecret,
		"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE": audience,
		"SOCIAL_AUTH_REDIRECT_IS_HTTPS":       false,
		"LOGIN_REDIRECT_URL":                  "/",
	}))

	client := lmsServer.Client()
	if opts.transport != nil {
		c := *client
		c.Transport = opts.transport(client.Transport)
		client = &c
	}

	// The wiring reads every setting here, once.
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	cfg, err := edx.ConfigFrom(set)
	if err != nil {
		tb.Fatal(err)
	}
	backend, err := edx.New(cfg, edx.Options{Users: store, UsedStates: store, HTTPClient: client})
	if err != nil {
		tb.Fatal(err)
	}
	service, err := socialauth.New(socialauth.Options{Storage: store, Backends: []socialauth.Backend{backend}, Steps: steps, Settings: set})
	if err != nil {
		tb.Fatal(err)
	}
	var ss scs.Store = store.SessionStore()
	if opts.sessionStore != nil {
		ss = opts.sessionStore
	}
	sessions := strategies.NewSessionManager(ss, false)
	if !opts.storedSessions {
		key := make([]byte, 32)
		_, _ = rand.Read(key)
		sealed, err := strategies.NewSealedStore(sessions.Store, [][]byte{key})
		if err != nil {
			tb.Fatal(err)
		}
		sessions.Store = sealed
	}
	hc, err := strategies.HTTPConfigFrom(set, strategies.HTTPConfig{Sessions: sessions, BaseURL: appBase})
	if err != nil {
		tb.Fatal(err)
	}
	v, err := views.New("", views.Config{Service: service, HTTP: hc})
	if err != nil {
		tb.Fatal(err)
	}
	mux := http.NewServeMux()
	v.Mount(mux)
	return &rig{
		lms: lms, store: store, db: store.DB(), dialect: dialect, sessions: sessions,
		backend: backend, service: service, views: v, handler: mux, lmsClient: client, lmsTime: lmsTime,
	}
}

// openPrepared opens SQLite as storage.Open does (same DSN, pool and GORM
// settings) but with PrepareStmt on.
func openPrepared(path string) (*storage.Store, error) {
	db, err := gorm.Open(sqlite.Open(storage.SQLiteDSN(path)), &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            true,
	})
	if err != nil {
		return nil, err
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, err
	}
	sqlDB.SetMaxOpenConns(10)
	sqlDB.SetMaxIdleConns(10)
	return storage.New(db, storage.Options{})
}

// noRedirects is lmsClient that returns redirects instead of following them.
func (r *rig) noRedirects() *http.Client {
	c := *r.lmsClient
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &c
}

// begin runs the login view (GET /login/edx-oauth2/?next=/courses/) and
// returns the LMS authorize URL and the session cookie.
func (r *rig) begin(tb testing.TB) (authorize string, cookie *http.Cookie) {
	tb.Helper()
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login/"+edx.Name+"/?next="+url.QueryEscape(next), nil))
	res := rec.Result()
	if res.StatusCode != http.StatusFound {
		tb.Fatalf("begin: %d %s", res.StatusCode, rec.Body.String())
	}
	for _, c := range res.Cookies() {
		if c.Name == strategies.SessionCookieName {
			cookie = c
		}
	}
	if cookie == nil {
		tb.Fatal("begin: no session cookie")
	}
	return res.Header.Get("Location"), cookie
}

// authorize drives the LMS's authorize endpoint (auto-approved for the
// username set with AutoApprove) and returns the callback URL it redirects
// to, code and state included.
func (r *rig) authorize(tb testing.TB, c *http.Client, authorizeURL string) *url.URL {
	tb.Helper()
	res, err := c.Get(authorizeURL)
	if err != nil {
		tb.Fatalf("authorize: %v", err)
	}
	_ = res.Body.Close()
	if res.StatusCode != http.StatusFound {
		tb.Fatalf("authorize: status %d", res.StatusCode)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil || u.Query().Get("code") == "" {
		tb.Fatalf("authorize: no code in the redirect (%v)", err)
	}
	return u
}

// pendingLogin is a login whose callback is ready to be served: the
// provider has issued the code and the browser holds the session cookie.
type pendingLogin struct {
	req *http.Request
}

// mint prepares n logins of username ("" keeps the LMS's current
// auto-approved user): begin, then authorize. first makes every login a
// new LMS account (prefix + index), for first-login benchmarks.
func (r *rig) mint(tb testing.TB, n int, firstPrefix string) []pendingLogin {
	tb.Helper()
	c := r.noRedirects()
	out := make([]pendingLogin, n)
	for i := range out {
		if firstPrefix != "" {
			r.lms.AutoApprove(fmt.Sprintf("%s%d", firstPrefix, i))
		}
		authz, cookie := r.begin(tb)
		cb := r.authorize(tb, c, authz)
		if !strings.HasPrefix(cb.String(), completeURI) {
			tb.Fatalf("callback %q is not the complete view", cb.Path)
		}
		req := httptest.NewRequest(http.MethodGet, cb.RequestURI(), nil)
		req.AddCookie(cookie)
		out[i] = pendingLogin{req: req}
	}
	if firstPrefix != "" {
		r.lms.AutoApprove(returningUser)
	}
	return out
}

// complete serves one callback through the complete view and checks the
// answer: a 302 to next with a new session cookie.
func (r *rig) complete(tb testing.TB, p pendingLogin) {
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, p.req)
	if rec.Code != http.StatusFound || rec.Header().Get("Location") != next {
		tb.Fatalf("complete: %d %q %s", rec.Code, rec.Header().Get("Location"), rec.Body.String())
	}
}

// signIn runs one whole login of the auto-approved user and returns the
// signed-in session's cookie.
func (r *rig) signIn(tb testing.TB) *http.Cookie {
	tb.Helper()
	rec := httptest.NewRecorder()
	r.handler.ServeHTTP(rec, r.mint(tb, 1, "")[0].req)
	if rec.Code != http.StatusFound {
		tb.Fatalf("complete: %d %s", rec.Code, rec.Body.String())
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == strategies.SessionCookieName && c.Value != "" {
			return c
		}
	}
	tb.Fatal("complete: no session cookie")
	return nil
}

// login runs one whole login of the auto-approved user (setup, warm-up).
func (r *rig) login(tb testing.TB) {
	tb.Helper()
	r.complete(tb, r.mint(tb, 1, "")[0])
}

// uniquePrefix makes first-login usernames unique across the runs of one
// benchmark function on the same LMS and database.
func uniquePrefix(tb testing.TB) string {
	tb.Helper()
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("new%x_", b)
}
