// Command fake-lms serves the fake edX LMS OAuth2 provider (package testutil/fakelms) for demos and
// manual testing:
//
//	go run ./cmd/fake-lms -addr 127.0.0.1:18000
//
// It registers one client (demo-client / demo-secret by default) whose redirect URIs come from
// -redirect-uri, logs with slog to stderr, and shuts down cleanly on SIGINT or SIGTERM.
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
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr, nil); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "fake-lms:", err)
		os.Exit(2)
	}
}

// listFlag is a repeatable flag that also splits comma lists.
type listFlag struct {
	vals []string
	set  bool
}

func (l *listFlag) String() string { return strings.Join(l.vals, ",") }

func (l *listFlag) Set(s string) error {
	if !l.set {
		l.vals, l.set = nil, true // the first explicit value replaces the default
	}
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			l.vals = append(l.vals, v)
		}
	}
	return nil
}

type config struct {
	addr, baseURL, publicURL, clientID, clientSecret, issuer, audience, autoApprove, logLevel string
	redirectURIs, logoutHosts, users                                                          listFlag
	strict, issParam, exactRedirect, numericUserID                                            bool
	tokenTTL                                                                                  time.Duration
}

func parseFlags(args []string, out io.Writer) (*config, error) {
	c := &config{redirectURIs: listFlag{vals: []string{"http://127.0.0.1:8000/complete/edx-oauth2/"}}}
	fs := flag.NewFlagSet("fake-lms", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.StringVar(&c.addr, "addr", "127.0.0.1:18000", "listen address")
	fs.StringVar(&c.baseURL, "base-url", "", "base URL the LMS is reached at (default http://<addr>)")
	fs.StringVar(&c.publicURL, "public-url", "", "browser-facing root for authorize/logout in discovery (default base URL)")
	fs.StringVar(&c.clientID, "client-id", "demo-client", "OAuth2 client id")
	fs.StringVar(&c.clientSecret, "client-secret", "demo-secret", "OAuth2 client secret")
	fs.Var(&c.redirectURIs, "redirect-uri", "registered redirect URI (repeatable or comma list)")
	fs.Var(&c.logoutHosts, "logout-redirect-host", "extra host allowed for /logout?redirect_url= (repeatable or comma list)")
	fs.Var(&c.users, "user", "initial username (repeatable or comma list; default jsmith)")
	fs.StringVar(&c.issuer, "issuer", "", "token issuer (default <base-url>/oauth2)")
	fs.StringVar(&c.audience, "audience", "", `JWT access-token audience (default "lms-key")`)
	fs.StringVar(&c.autoApprove, "auto-approve", "", "sign this username in without the sign-in page")
	fs.BoolVar(&c.strict, "strict", false, "refuse unknown usernames instead of creating them")
	fs.BoolVar(&c.issParam, "iss-parameter", false, "send the RFC 9207 iss authorization response parameter")
	fs.BoolVar(&c.exactRedirect, "exact-redirect-uri", false, "require redirect_uri to equal a registered URI exactly")
	fs.BoolVar(&c.numericUserID, "numeric-user-id", false, "send user_id as a number, as the real LMS does")
	fs.DurationVar(&c.tokenTTL, "token-ttl", time.Hour, "access-token lifetime")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return c, nil
}

// run serves until ctx is done. ready, when non-nil, receives the base URL once listening.
func run(ctx context.Context, args []string, stderr io.Writer, ready chan<- string) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	var users []fakelms.User
	for _, u := range c.users.vals {
		users = append(users, fakelms.User{Username: u})
	}
	if len(users) > 0 {
		users = append([]fakelms.User{fakelms.FixtureUser()}, users...)
	}
	lms, err := fakelms.New(fakelms.Options{
		Clients: []fakelms.Client{{
			ID: c.clientID, Secret: c.clientSecret,
			RedirectURIs: c.redirectURIs.vals, LogoutRedirectHosts: c.logoutHosts.vals,
		}},
		Users: users, Issuer: c.issuer, Audience: c.audience, Strict: c.strict, TokenTTL: c.tokenTTL,
		IssParameter: c.issParam, ExactRedirectURI: c.exactRedirect, NumericUserID: c.numericUserID,
		PublicURL: c.publicURL, Logger: log,
	})
	if err != nil {
		return err
	}
	lms.AutoApprove(c.autoApprove)

	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return err
	}
	base := c.baseURL
	if base == "" {
		base = "http://" + hostForURL(ln.Addr().(*net.TCPAddr))
	}
	lms.SetBaseURL(base)

	srv := &http.Server{
		Handler:           lms.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("fake-lms: listening", "base_url", base, "issuer", lms.Issuer(), "client_id", c.clientID,
		"redirect_uris", c.redirectURIs.vals, "discovery", base+"/.well-known/openid-configuration")
	if ready != nil {
		ready <- base
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("fake-lms: shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// hostForURL turns the listening address into a host:port for URLs, using localhost for wildcards.
func hostForURL(a *net.TCPAddr) string {
	host := a.IP.String()
	if a.IP == nil || a.IP.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, fmt.Sprint(a.Port))
}
