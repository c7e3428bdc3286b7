// Command demo is a small web service protected by edX single sign-on,
// built on socialauth's five-minute integration, views/edxsso (the
// edx-oauth2 backend, the GORM store, the sessions and the views in one
// constructor), with the generic OpenID Connect backend next to it when
// configured, and every catalogue provider (github, google-oauth2, …, see
// docs/providers.md) whose SOCIAL_AUTH_<NAME>_KEY is set; / lists them.
//
//	make demo            # or: go run ./cmd/demo
//
// serves the service on 127.0.0.1:8000 (-addr) and, unless
// SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT is set, an embedded fake LMS on
// 127.0.0.1:18000 (-lms-addr) that the service signs users in at. Every
// setting comes from the environment under the names of README.md
// (SOCIAL_AUTH_EDX_OAUTH2_KEY, _SECRET, _URL_ROOT, …, DATABASE_URL, BASE_URL);
// the library reads them once, at start-up, and a missing or malformed one
// stops the demo with a message naming it. The redirect_uri and the session
// cookie's Secure flag follow the base URL's scheme.
//
// Routes: / (an HTML page), /me (the signed-in user as JSON, 401 when
// anonymous), /healthz, and the socialauth views /login/, /logout/,
// /login/{backend}/, /complete/{backend}/, /disconnect/{backend}/.
//
// The provider tokens the demo stores are encrypted, on every database:
// with SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS unset, it keeps a key in
// demo-field-encryption.key in its working directory (FIELD_ENCRYPTION_KEY_FILE
// to move it), created on first run with mode 0600. With
// SOCIAL_AUTH_SESSION_COOKIE_KEYS unset, the same keys seal a sign-in in
// progress into its session cookie (strategies.SealedStore), so that it
// costs the database nothing until the user is known; instances of one
// service must share them.
//
// Flags: -addr, -lms-addr, -base-url, -log-level debug|info|warn|error,
// -log-format text|json. SIGINT or SIGTERM shuts it down cleanly.
package main

import (
	"context"
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
	"syscall"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
	"github.com/socialauth-go/socialauth/views/edxsso"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.LookupEnv, os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(2)
	}
}

// shutdownTimeout bounds the graceful shutdown.
const shutdownTimeout = 10 * time.Second

// started tells a test where the demo listens.
type started struct {
	BaseURL   string // the service's public base URL
	ListenURL string // http://<the address the service listens on>
	LMSURL    string // the embedded fake LMS, "" when a real LMS is used
	// Store is the demo's database, for tests that look at what it runs.
	Store *storage.Store
}

// run runs the demo until ctx is done. lookupEnv reads the environment
// (os.LookupEnv); the start-up banner goes to stdout and the logs to stderr.
func run(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer) error {
	return serve(ctx, args, lookupEnv, stdout, stderr, nil)
}

// serve is run with a hook called once both servers listen.
func serve(ctx context.Context, args []string, lookupEnv func(string) (string, bool), stdout, stderr io.Writer, ready func(started)) error {
	f, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	level, err := parseLogLevel(f.logLevel)
	if err != nil {
		return err
	}
	logger, err := newLogger(stderr, level, f.logFormat)
	if err != nil {
		return err
	}
	_, realLMS := lookupEnv(EnvEdxURLRoot)
	embedded := !realLMS

	// The demo's own settings. The SOCIAL_AUTH_* ones are the library's:
	// edxsso.New and the backends' constructors read and check them, once.
	dbURL, dbErr := databaseURL(lookupEnv)
	configuredBase, baseErr := configuredBaseURL(f.baseURL, lookupEnv)
	if err := errors.Join(baseErr, dbErr); err != nil {
		return &invalidSettings{cause: err}
	}
	fieldKeys, err := fieldKeySetting(lookupEnv, logger)
	if err != nil {
		return &invalidSettings{cause: err}
	}

	// The URLs need the listening ports (-addr 127.0.0.1:0 in tests).
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	defer ln.Close()
	base := configuredBase
	if base == "" {
		base = "http://" + hostPort(ln.Addr())
	}
	var lmsLn net.Listener
	lmsURL := ""
	if embedded {
		lmsLn, err = net.Listen("tcp", f.lmsAddr)
		if err != nil {
			return fmt.Errorf("-lms-addr: %w (set %s to use a real LMS instead)", err, EnvEdxURLRoot)
		}
		defer lmsLn.Close()
		lmsURL = "http://" + hostPort(lmsLn.Addr())
	}
	set := layeredSettings(lookupEnv, base, lmsURL, fieldKeys)

	var more []edxsso.BackendFunc
	if _, ok := lookupEnv(EnvOIDCEndpoint); ok {
		more = append(more, func(s *settings.Settings, used socialauth.NonceStorage) (socialauth.Backend, error) {
			b, err := newOIDC(s, used, logger.With("component", oidcName))
			if err != nil {
				return nil, err // not a typed nil in the interface
			}
			return b, nil
		})
	}
	more = append(more, providerFuncs(enabledProviders(lookupEnv), logger)...)
	sso, err := edxsso.New(ctx, edxsso.Options{
		BaseURL:     base,
		DatabaseURL: dbURL,
		Settings:    set,
		Backends:    more,
		Logger:      logger.With("component", "socialauth"),
	})
	if err != nil {
		return asStartupError(err)
	}
	defer sso.Close()
	sso.Service.AuthComplete().Connect(func(ctx context.Context, backend string, p socialauth.AuthCompleted) error {
		logger.InfoContext(ctx, "demo: signed in", "backend", backend, "user_id", p.User.ID, "username", p.User.Username)
		return nil
	})

	a := &app{sso: sso, logger: logger, lmsURL: lmsURL, ping: pinger(sso.Store), page: homePage()}
	mux := http.NewServeMux()
	a.routes(mux)

	servers := []*http.Server{newServer(accessLog(logger.With("component", "http"), mux), logger)}
	listeners := []net.Listener{ln}
	client := sso.Backend.Config().OAuth2
	if embedded {
		lms, err := newEmbeddedLMS(client.Key, client.Secret, sso.CallbackURL(edx.Name), base, logger.With("component", "fake-lms"))
		if err != nil {
			return err
		}
		lms.SetBaseURL(lmsURL)
		servers = append(servers, newServer(lms.Handler(), logger))
		listeners = append(listeners, lmsLn)
	}

	errc := make(chan error, len(servers))
	for i, srv := range servers {
		go func() { errc <- srv.Serve(listeners[i]) }()
	}
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	defer stopCleanup()
	go cleanupLoop(cleanupCtx, sso.Store, logger)

	attrs := []any{"url", base, "listen", hostPort(ln.Addr()), "database", dialectOf(dbURL),
		"backends", sso.Service.BackendNames(), "client_id", client.Key}
	if embedded {
		attrs = append(attrs, "fake_lms", lmsURL)
		logger.Info("demo: listening", attrs...)
		fmt.Fprintf(stdout, "socialauth demo: open %s/ (embedded fake LMS at %s: sign in with any username)\n", base, lmsURL)
	} else {
		attrs = append(attrs, "lms", sso.Backend.URLRoot())
		logger.Info("demo: listening", attrs...)
		fmt.Fprintf(stdout, "socialauth demo: open %s/\n", base)
	}
	if ready != nil {
		ready(started{BaseURL: base, ListenURL: "http://" + hostPort(ln.Addr()), LMSURL: lmsURL, Store: sso.Store})
	}

	var serveErr error
	select {
	case serveErr = <-errc:
	case <-ctx.Done():
	}
	logger.Info("demo: shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutCtx); err != nil && serveErr == nil {
			serveErr = fmt.Errorf("shutdown: %w", err)
		}
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	logger.Info("demo: stopped")
	return nil
}

// newOIDC builds the generic OpenID Connect backend from the
// SOCIAL_AUTH_OIDC_* settings (OIDC_ENDPOINT, KEY, SECRET, …).
func newOIDC(set *settings.Settings, used socialauth.NonceStorage, logger *slog.Logger) (*backends.OIDC, error) {
	cfg, err := backends.OIDCConfigFrom(set, backends.OIDCConfig{OAuth2: backends.OAuth2Config{Logger: logger, UsedStates: used}})
	if err != nil {
		return nil, err
	}
	return backends.NewOIDC(cfg)
}

func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// newEmbeddedLMS builds the fake LMS with one client: this service (the
// edx-oauth2 backend's client id and secret), allowed to come back to
// callback (the edx-oauth2 redirect_uri) and to be sent back after logout.
func newEmbeddedLMS(clientID, clientSecret, callback, base string, logger *slog.Logger) (*fakelms.LMS, error) {
	host := ""
	if u, err := url.Parse(base); err == nil {
		host = u.Host
	}
	return fakelms.New(fakelms.Options{
		Clients: []fakelms.Client{{
			ID: clientID, Secret: clientSecret,
			RedirectURIs:        []string{callback},
			LogoutRedirectHosts: []string{host},
		}},
		Audience: demoAudience,
		Logger:   logger,
	})
}

// pinger checks the database behind store.
func pinger(store *storage.Store) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		db, err := store.DB().DB()
		if err != nil {
			return err
		}
		return db.PingContext(ctx)
	}
}

// cleanupLoop deletes expired sessions, partials and codes hourly.
func cleanupLoop(ctx context.Context, store *storage.Store, logger *slog.Logger) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			res, err := store.Cleanup(ctx, storage.CleanupOptions{})
			if err != nil {
				logger.WarnContext(ctx, "demo: cleanup failed", "error", err)
				continue
			}
			logger.DebugContext(ctx, "demo: cleanup", "sessions", res.Sessions, "partials", res.Partials, "codes", res.Codes)
		}
	}
}

// dialectOf names the database kind for the start-up log (never the URL,
// which may hold a password).
func dialectOf(dbURL string) string {
	c, err := storage.ParseDatabaseURL(dbURL)
	if err != nil {
		return "unknown"
	}
	return string(c.Dialect)
}
