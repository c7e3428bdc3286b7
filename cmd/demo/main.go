// Command demo is a small web service protected by edX single sign-on,
// built on socialauth: the edx-oauth2 backend, the net/http strategy, the
// GORM store and the views.
//
//	make demo            # or: go run ./cmd/demo
//
// serves the service on 127.0.0.1:8000 (-addr) and, unless
// SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT is set, an embedded fake LMS on
// 127.0.0.1:18000 (-lms-addr) that the service signs users in at. Every
// setting comes from the environment under the names of README.md
// (SOCIAL_AUTH_EDX_OAUTH2_KEY, _SECRET, _URL_ROOT, …, DATABASE_URL, BASE_URL);
// a missing or malformed one stops the demo at start-up with a message
// naming it.
//
// Routes: / (an HTML page), /me (the signed-in user as JSON, 401 when
// anonymous), /healthz, and the socialauth views /login/, /logout/,
// /login/{backend}/, /complete/{backend}/, /disconnect/{backend}/.
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
	"strings"
	"syscall"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
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

	// Validate everything before touching the network or the database, with
	// provisional URLs (the real ones need the listening ports).
	provisional, err := baseURLFor(f.baseURL, lookupEnv, provisionalAddr(f.addr))
	if err != nil {
		return fmt.Errorf("%w:\n  %w", errInvalidSettings, err)
	}
	dbURL, dbErr := databaseURL(lookupEnv)
	if _, err := buildSettings(lookupEnv, provisional, "http://"+hostPort(provisionalAddr(f.lmsAddr))); err != nil || dbErr != nil {
		if err == nil {
			return fmt.Errorf("%w:\n  %w", errInvalidSettings, dbErr)
		}
		if dbErr != nil {
			return fmt.Errorf("%w\n  %w", err, dbErr)
		}
		return err
	}

	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return fmt.Errorf("-addr: %w", err)
	}
	defer ln.Close()
	base, err := baseURLFor(f.baseURL, lookupEnv, ln.Addr())
	if err != nil {
		return err
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
	cfg, err := buildSettings(lookupEnv, base, lmsURL)
	if err != nil {
		return err
	}

	store, err := storage.Open(ctx, dbURL, storage.Options{Logger: logger.With("component", "storage")})
	if err != nil {
		return fmt.Errorf("%s: %w", EnvDatabaseURL, err)
	}
	defer store.Close()
	if err := store.AutoMigrate(ctx); err != nil {
		return fmt.Errorf("%s: migrating the schema: %w", EnvDatabaseURL, err)
	}

	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	edxBackend, err := edx.New(edx.Options{Logger: logger.With("component", "edx-oauth2"), Users: store, Settings: cfg.s})
	if err != nil {
		return err
	}
	registry := socialauth.NewRegistry(edxBackend)
	if cfg.oidc {
		registry.Register(backends.NewOIDC(backends.OIDCConfig{Settings: cfg.s}))
	}
	// Every pipeline the settings name must resolve now, not at the first
	// sign-in.
	for _, name := range registry.Names() {
		names, _ := cfg.s.StringList(name, "PIPELINE", socialauth.DefaultAuthPipeline())
		if _, err := steps.Resolve(names); err != nil {
			return fmt.Errorf("%w:\n  %s: %w", errInvalidSettings, keyOf(cfg.s, name, "PIPELINE"), err)
		}
	}
	service, err := socialauth.New(socialauth.Options{Storage: store, Backends: registry, Steps: steps, Logger: logger})
	if err != nil {
		return err
	}
	service.AuthComplete().Connect(func(ctx context.Context, backend string, p socialauth.AuthCompleted) error {
		logger.InfoContext(ctx, "demo: signed in", "backend", backend, "user_id", p.User.ID, "username", p.User.Username)
		return nil
	})

	sessions := strategies.NewSessionManager(store.SessionStore(), cfg.redirectIsHTTPS)
	strategy, err := strategies.NewHTTP(strategies.HTTPConfig{
		Sessions: sessions, Settings: cfg.s, BaseURL: base, Logger: logger.With("component", "socialauth"),
	})
	if err != nil {
		return err
	}
	a := &app{
		service: service, strategies: strategy, sessions: sessions, logger: logger,
		lmsURL: lmsURL, ping: pinger(store), page: homePage(),
	}
	mux := http.NewServeMux()
	if err := a.routes(mux); err != nil {
		return err
	}

	servers := []*http.Server{newServer(accessLog(logger.With("component", "http"), mux), logger)}
	listeners := []net.Listener{ln}
	if embedded {
		lms, err := newEmbeddedLMS(cfg, base, logger.With("component", "fake-lms"))
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
	go cleanupLoop(cleanupCtx, store, logger)

	attrs := []any{"url", base, "listen", hostPort(ln.Addr()), "database", dialectOf(dbURL), "backends", registry.Names(),
		"redirect_is_https", cfg.redirectIsHTTPS}
	if embedded {
		attrs = append(attrs, "fake_lms", lmsURL, "client_id", cfg.clientID)
		logger.Info("demo: listening", attrs...)
		fmt.Fprintf(stdout, "socialauth demo: open %s/ (embedded fake LMS at %s: sign in with any username)\n", base, lmsURL)
	} else {
		root, _ := cfg.s.String(edx.Name, "URL_ROOT", "")
		attrs = append(attrs, "lms", root, "client_id", cfg.clientID)
		logger.Info("demo: listening", attrs...)
		fmt.Fprintf(stdout, "socialauth demo: open %s/\n", base)
	}
	if ready != nil {
		ready(started{BaseURL: base, ListenURL: "http://" + hostPort(ln.Addr()), LMSURL: lmsURL})
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

// provisionalAddr is the listen address as a net.Addr for the provisional
// base URL (port 0 stays 0; only validation uses it).
func provisionalAddr(addr string) net.Addr {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)}
	}
	a := &net.TCPAddr{IP: net.ParseIP(host)}
	if host == "localhost" {
		a.IP = net.IPv4(127, 0, 0, 1)
	}
	fmt.Sscan(port, &a.Port)
	return a
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

// newEmbeddedLMS builds the fake LMS with one client: this service, allowed
// to come back to /complete/edx-oauth2/ and to be sent back after logout.
func newEmbeddedLMS(cfg *demoSettings, base string, logger *slog.Logger) (*fakelms.LMS, error) {
	complete := strings.TrimRight(base, "/") + "/complete/" + edx.Name + "/"
	uris := []string{complete}
	if strings.HasPrefix(complete, "http://") {
		uris = append(uris, "https://"+strings.TrimPrefix(complete, "http://"))
	}
	host := ""
	if u, err := url.Parse(base); err == nil {
		host = u.Host
	}
	return fakelms.New(fakelms.Options{
		Clients: []fakelms.Client{{
			ID: cfg.clientID, Secret: cfg.clientSecret, RedirectURIs: uris, LogoutRedirectHosts: []string{host},
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
