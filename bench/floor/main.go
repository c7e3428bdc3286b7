// Command floor is the process-level floor of docs/performance.md: the
// smallest hand-written service that does the demo's edX sign-in correctly
// and nothing more. It is a yardstick for bench/process.sh, not part of the
// library's API, and uses none of the library's sign-in code.
//
//	go run ./bench/floor -addr 127.0.0.1:8001 -lms-url http://127.0.0.1:18000 \
//	    -database-url postgres://…
//
// It serves the routes of the demo's contract that cmd/loadtest drives:
//
//   - GET /login/edx-oauth2/?next=/me: a random state and a PKCE verifier
//     go into an HMAC-signed, HttpOnly cookie (ten minutes), and the browser
//     to the LMS's /oauth2/authorize (S256 challenge).
//   - GET /complete/edx-oauth2/?code=…&state=…: the state must equal the
//     cookie's (constant-time), the cookie is cleared; the code is exchanged
//     with golang.org/x/oauth2 (PKCE verifier, token_type=jwt) over a
//     kept-alive client; the access token is verified with jwx: RS512 only,
//     the key by kid from the LMS's JWKS (fetched at start-up and cached),
//     exp required, iss and aud checked; then ONE statement writes the user
//     (INSERT … ON CONFLICT … DO UPDATE … RETURNING id on PostgreSQL and
//     SQLite; INSERT … ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id) on
//     MariaDB), and the session is an HMAC-signed cookie (id, username,
//     expiry) — then 302 to next.
//   - GET /me: the session cookie's user as JSON (no SQL), 401 without one.
//   - GET or POST /logout/: clears the session cookie, 302 to /.
//   - GET /healthz: 200.
//
// What it deliberately lacks (and the library has): server-side sessions
// that sign-out everywhere can end, single-use state across instances
// (here the LMS's single-use code does that job), partial pipelines,
// associations to several providers, settings, signals. The HMAC key is
// random per process unless FLOOR_SECRET_KEY is set.
package main

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	_ "github.com/glebarez/go-sqlite"
	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"golang.org/x/oauth2"

	"github.com/socialauth-go/socialauth/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(2)
	}
}

// EnvSecretKey holds the HMAC key of the cookies (any string of at least
// 32 bytes); unset, a random key per process.
const EnvSecretKey = "FLOOR_SECRET_KEY"

const (
	backendName = "edx-oauth2"
	flowCookie  = "floor_flow"
	sessCookie  = "floor_session"
	flowTTL     = 10 * time.Minute
	sessionTTL  = 14 * 24 * time.Hour
	maxCookie   = 4096
)

// Errors of the sign-in, all answered 400 with nothing written.
var (
	errBadCookie   = errors.New("floor: missing, forged or expired cookie")
	errStateDiffer = errors.New("floor: state does not match the sign-in's")
	errNoUsername  = errors.New("floor: the access token has no preferred_username")
)

type config struct {
	addr, lmsURL, baseURL, clientID, clientSecret, audience, issuer, databaseURL, logLevel string
}

func parseFlags(args []string, out io.Writer) (*config, error) {
	c := &config{}
	fs := flag.NewFlagSet("floor", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:8001", "listen address")
	fs.StringVar(&c.baseURL, "base-url", "", "public base URL (default http://<addr>)")
	fs.StringVar(&c.lmsURL, "lms-url", "http://127.0.0.1:18000", "the LMS's URL root")
	fs.StringVar(&c.clientID, "client-id", "demo-client", "OAuth2 client id at the LMS")
	fs.StringVar(&c.clientSecret, "client-secret", "demo-secret", "OAuth2 client secret at the LMS")
	fs.StringVar(&c.audience, "audience", "lms-key", "required aud of the access token")
	fs.StringVar(&c.issuer, "issuer", "", "required iss of the access token (default <lms-url>/oauth2)")
	fs.StringVar(&c.databaseURL, "database-url", "sqlite:floor.db", "sqlite:<path>, postgres://… or mysql://…")
	fs.StringVar(&c.logLevel, "log-level", "warn", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	c.lmsURL = strings.TrimRight(c.lmsURL, "/")
	if u, err := url.Parse(c.lmsURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("-lms-url must be an http(s) URL")
	}
	if c.issuer == "" {
		c.issuer = c.lmsURL + "/oauth2"
	}
	return c, nil
}

// floor is the service.
type floor struct {
	oauth    oauth2.Config
	lms      *http.Client // kept-alive connections to the LMS
	keys     jwk.Set      // the LMS's JWKS, from the cache
	issuer   string
	audience string
	db       *sql.DB
	upsert   func(ctx context.Context, uid, extra string, now time.Time) (int64, error)
	key      []byte // HMAC key of both cookies
	secure   bool
	log      *slog.Logger
}

// run serves until ctx is done; ready, when non-nil, gets the base URL.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stderr io.Writer, ready func(string)) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	key := make([]byte, 32)
	if v, ok := lookupEnv(EnvSecretKey); ok {
		if len(v) < 32 {
			return fmt.Errorf("%s: must be at least 32 bytes", EnvSecretKey)
		}
		key = []byte(v)
	} else {
		_, _ = rand.Read(key) // never fails (crypto/rand)
	}

	db, upsert, err := openDB(ctx, c.databaseURL)
	if err != nil {
		return fmt.Errorf("-database-url: %w", err)
	}
	defer db.Close()

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	defer ln.Close()
	base := strings.TrimRight(c.baseURL, "/")
	if base == "" {
		base = "http://" + ln.Addr().String()
	}

	lms := &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy: http.ProxyFromEnvironment, MaxIdleConns: 64, MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute,
		},
	}
	cacheCtx, stopCache := context.WithCancel(ctx)
	defer stopCache()
	jwksURL := c.lmsURL + "/oauth2/jwks.json"
	cache := jwk.NewCache(cacheCtx)
	if err := cache.Register(jwksURL, jwk.WithHTTPClient(lms), jwk.WithMinRefreshInterval(15*time.Minute)); err != nil {
		return fmt.Errorf("jwks: %w", err)
	}
	if _, err := cache.Refresh(ctx, jwksURL); err != nil {
		return fmt.Errorf("jwks: %w", err)
	}

	f := &floor{
		oauth: oauth2.Config{
			ClientID: c.clientID, ClientSecret: c.clientSecret,
			RedirectURL: base + "/complete/" + backendName + "/",
			Scopes:      []string{"user_id", "profile", "email"},
			Endpoint: oauth2.Endpoint{
				AuthURL:   c.lmsURL + "/oauth2/authorize",
				TokenURL:  c.lmsURL + "/oauth2/access_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		lms: lms, keys: jwk.NewCachedSet(cache, jwksURL), issuer: c.issuer, audience: c.audience,
		db: db, upsert: upsert, key: key, secure: strings.HasPrefix(base, "https://"), log: log,
	}
	srv := &http.Server{
		Handler:           f.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("floor: listening", "url", base, "lms", c.lmsURL)
	if ready != nil {
		ready(base)
	}
	select {
	case err = <-errc:
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if serr := srv.Shutdown(shutCtx); serr != nil && err == nil {
		err = serr
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// openDB opens the database, creates the one table and returns the upsert
// of the dialect: one statement per sign-in.
func openDB(ctx context.Context, databaseURL string) (*sql.DB, func(context.Context, string, string, time.Time) (int64, error), error) {
	cfg, err := storage.ParseDatabaseURL(databaseURL)
	if err != nil {
		return nil, nil, err
	}
	var driver, create, insert string
	switch cfg.Dialect {
	case storage.Postgres:
		driver = "pgx"
		create = `CREATE TABLE IF NOT EXISTS floor_users (id BIGSERIAL PRIMARY KEY, provider VARCHAR(32) NOT NULL,
			uid VARCHAR(255) NOT NULL, extra_data TEXT NOT NULL, created TIMESTAMPTZ NOT NULL, last_login TIMESTAMPTZ NOT NULL,
			UNIQUE (provider, uid))`
		insert = `INSERT INTO floor_users (provider, uid, extra_data, created, last_login) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (provider, uid) DO UPDATE SET extra_data = excluded.extra_data, last_login = excluded.last_login RETURNING id`
	case storage.SQLite:
		driver = "sqlite"
		create = `CREATE TABLE IF NOT EXISTS floor_users (id INTEGER PRIMARY KEY AUTOINCREMENT, provider TEXT NOT NULL,
			uid TEXT NOT NULL, extra_data TEXT NOT NULL, created DATETIME NOT NULL, last_login DATETIME NOT NULL,
			UNIQUE (provider, uid))`
		insert = `INSERT INTO floor_users (provider, uid, extra_data, created, last_login) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (provider, uid) DO UPDATE SET extra_data = excluded.extra_data, last_login = excluded.last_login RETURNING id`
	case storage.MySQL:
		driver = "mysql"
		create = `CREATE TABLE IF NOT EXISTS floor_users (id BIGINT AUTO_INCREMENT PRIMARY KEY, provider VARCHAR(32) NOT NULL,
			uid VARCHAR(191) NOT NULL, extra_data TEXT NOT NULL, created DATETIME(6) NOT NULL, last_login DATETIME(6) NOT NULL,
			UNIQUE KEY floor_users_provider_uid (provider, uid)) CHARACTER SET utf8mb4`
		insert = `INSERT INTO floor_users (provider, uid, extra_data, created, last_login) VALUES (?, ?, ?, ?, ?)
			ON DUPLICATE KEY UPDATE id = LAST_INSERT_ID(id), extra_data = VALUES(extra_data), last_login = VALUES(last_login)`
	default:
		return nil, nil, fmt.Errorf("unsupported database %q", cfg.Dialect)
	}
	db, err := sql.Open(driver, cfg.DSN)
	if err != nil {
		return nil, nil, err
	}
	db.SetMaxIdleConns(16)
	if _, err := db.ExecContext(ctx, create); err != nil {
		db.Close()
		return nil, nil, err
	}
	upsert := func(ctx context.Context, uid, extra string, now time.Time) (int64, error) {
		var id int64
		err := db.QueryRowContext(ctx, insert, backendName, uid, extra, now, now).Scan(&id)
		return id, err
	}
	if cfg.Dialect == storage.MySQL {
		upsert = func(ctx context.Context, uid, extra string, now time.Time) (int64, error) {
			res, err := db.ExecContext(ctx, insert, backendName, uid, extra, now, now)
			if err != nil {
				return 0, err
			}
			return res.LastInsertId()
		}
	}
	return db, upsert, nil
}

func (f *floor) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/"+backendName+"/", f.login)
	mux.HandleFunc("GET /complete/"+backendName+"/", f.complete)
	mux.HandleFunc("GET /me", f.me)
	mux.HandleFunc("/logout/", f.logout)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusOK) })
	return mux
}

// flowState is the signed content of the flow cookie.
type flowState struct {
	State    string `json:"s"`
	Verifier string `json:"v"`
	Next     string `json:"n"`
	Expires  int64  `json:"e"`
}

// session is the signed content of the session cookie.
type session struct {
	ID       int64  `json:"id"`
	Username string `json:"u"`
	Expires  int64  `json:"e"`
}

func (f *floor) login(w http.ResponseWriter, r *http.Request) {
	st := flowState{
		State: oauth2.GenerateVerifier()[:32], Verifier: oauth2.GenerateVerifier(),
		Next: safeNext(r.URL.Query().Get("next")), Expires: time.Now().Add(flowTTL).Unix(),
	}
	f.setCookie(w, flowCookie, f.seal(flowCookie, st), int(flowTTL/time.Second))
	http.Redirect(w, r, f.oauth.AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

func (f *floor) complete(w http.ResponseWriter, r *http.Request) {
	var st flowState
	err := f.open(r, flowCookie, &st)
	f.setCookie(w, flowCookie, "", -1) // single use
	q := r.URL.Query()
	if err == nil && subtle.ConstantTimeCompare([]byte(q.Get("state")), []byte(st.State)) != 1 {
		err = errStateDiffer
	}
	if err != nil {
		f.log.WarnContext(r.Context(), "floor: sign-in refused", "error", err)
		http.Error(w, "sign-in refused", http.StatusBadRequest)
		return
	}
	ctx := context.WithValue(r.Context(), oauth2.HTTPClient, f.lms) // x/oauth2's way to pass the client
	tok, err := f.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(st.Verifier), oauth2.SetAuthURLParam("token_type", "jwt"))
	if err != nil {
		f.log.WarnContext(r.Context(), "floor: token request failed", "error", err)
		http.Error(w, "sign-in failed", http.StatusBadRequest)
		return
	}
	claims, err := jwt.Parse([]byte(tok.AccessToken), jwt.WithKeyProvider(jws.KeyProviderFunc(f.rs512Key)),
		jwt.WithIssuer(f.issuer), jwt.WithAudience(f.audience), jwt.WithRequiredClaim("exp"))
	if err != nil {
		f.log.WarnContext(r.Context(), "floor: access token refused", "error", err)
		http.Error(w, "sign-in failed", http.StatusBadRequest)
		return
	}
	v, _ := claims.Get("preferred_username")
	username, _ := v.(string)
	if username == "" {
		f.log.WarnContext(r.Context(), "floor: access token refused", "error", errNoUsername)
		http.Error(w, "sign-in failed", http.StatusBadRequest)
		return
	}
	extra, _ := json.Marshal(map[string]any{ // plain values: never fails
		"access_token": tok.AccessToken, "token_type": tok.TokenType, "refresh_token": tok.RefreshToken,
		"expires_in": tok.Extra("expires_in"), "auth_time": time.Now().Unix(),
	})
	now := time.Now().UTC()
	id, err := f.upsert(r.Context(), username, string(extra), now)
	if err != nil {
		f.log.ErrorContext(r.Context(), "floor: database", "error", err)
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	f.setCookie(w, sessCookie, f.seal(sessCookie, session{ID: id, Username: username, Expires: now.Add(sessionTTL).Unix()}), int(sessionTTL/time.Second))
	http.Redirect(w, r, st.Next, http.StatusFound)
}

// rs512Key gives jwx the JWKS key named by the token's kid, for RS512 only.
func (f *floor) rs512Key(_ context.Context, sink jws.KeySink, sig *jws.Signature, _ *jws.Message) error {
	if sig.ProtectedHeaders().Algorithm() != jwa.RS512 {
		return nil // no key: refused
	}
	if k, ok := f.keys.LookupKeyID(sig.ProtectedHeaders().KeyID()); ok {
		sink.Key(jwa.RS512, k)
	}
	return nil
}

func (f *floor) me(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	var s session
	if err := f.open(r, sessCookie, &s); err != nil {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"not_authenticated","login_url":"/login/"}`+"\n")
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"id": s.ID, "username": s.Username})
}

func (f *floor) logout(w http.ResponseWriter, r *http.Request) {
	f.setCookie(w, sessCookie, "", -1)
	http.Redirect(w, r, "/", http.StatusFound)
}

// safeNext keeps a local path and nothing else.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n\t") {
		return "/"
	}
	return next
}

func (f *floor) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode,
	})
}

// seal is the value of cookie name: base64url(JSON) "." base64url(HMAC-SHA256
// of the name and that payload), so that one cookie's value is never
// accepted as the other's.
func (f *floor) seal(name string, v any) string {
	payload, _ := json.Marshal(v) // plain structs: never fails
	p := base64.RawURLEncoding.EncodeToString(payload)
	return p + "." + base64.RawURLEncoding.EncodeToString(f.mac(name, p))
}

func (f *floor) mac(name, p string) []byte {
	m := hmac.New(sha256.New, f.key)
	m.Write([]byte(name + "\x00" + p))
	return m.Sum(nil)
}

// open checks the cookie's signature and expiry and decodes it into v
// (a *flowState or *session).
func (f *floor) open(r *http.Request, name string, v any) error {
	c, err := r.Cookie(name)
	if err != nil || len(c.Value) > maxCookie {
		return errBadCookie
	}
	p, sig, ok := strings.Cut(c.Value, ".")
	if !ok {
		return errBadCookie
	}
	got, err := base64.RawURLEncoding.DecodeString(sig)
	if err != nil || !hmac.Equal(got, f.mac(name, p)) {
		return errBadCookie
	}
	payload, err := base64.RawURLEncoding.DecodeString(p)
	if err != nil {
		return errBadCookie
	}
	var exp struct {
		Expires int64 `json:"e"`
	}
	if json.Unmarshal(payload, &exp) != nil || time.Now().Unix() >= exp.Expires || json.Unmarshal(payload, v) != nil {
		return errBadCookie
	}
	return nil
}
