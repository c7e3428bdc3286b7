package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strings"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
)

// Environment variables read by the demo itself (the SOCIAL_AUTH_* settings
// are read through package settings).
const (
	// EnvDatabaseURL selects the database: sqlite:<path>, postgres://…, mysql://….
	EnvDatabaseURL = "DATABASE_URL"
	// EnvBaseURL is the public base URL of the service (the -base-url flag wins).
	EnvBaseURL = "BASE_URL"
	// EnvEdxURLRoot, when set, points the demo at a real LMS instead of the
	// embedded fake one.
	EnvEdxURLRoot = "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"
	// EnvOIDCEndpoint, when set, registers the generic oidc backend.
	EnvOIDCEndpoint = "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT"
)

// Defaults of the demo.
const (
	defaultAddr        = "127.0.0.1:8000"
	defaultLMSAddr     = "127.0.0.1:18000"
	defaultDatabaseURL = "sqlite:demo.db"
	// demoClientID is the embedded LMS's client id when
	// SOCIAL_AUTH_EDX_OAUTH2_KEY is not set.
	demoClientID = "demo-client"
	// demoAudience is the aud of the embedded LMS's tokens, checked through
	// JWT_AUDIENCE.
	demoAudience = "lms-key"
	oidcName     = "oidc"
)

// flags are the command-line options.
type flags struct {
	addr, lmsAddr, logLevel, logFormat, baseURL string
}

func parseFlags(args []string, out io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(out)
	fs.Usage = func() {
		fmt.Fprintf(out, "Usage: demo [flags]\n\nA small web service protected by edX SSO (socialauth). Settings come from\nthe environment; see README.md. Flags:\n\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.addr, "addr", defaultAddr, "listen address of the service")
	fs.StringVar(&f.lmsAddr, "lms-addr", defaultLMSAddr, "listen address of the embedded fake LMS (used when "+EnvEdxURLRoot+" is unset)")
	fs.StringVar(&f.logLevel, "log-level", "info", "log level: debug, info, warn or error")
	fs.StringVar(&f.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&f.baseURL, "base-url", "", "public base URL of the service (default $"+EnvBaseURL+", else http://<addr>)")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	return f, nil
}

// settingError is a start-up validation failure. It names the setting and
// the problem, never the value (settings hold secrets).
type settingError struct {
	Setting string
	Problem string
}

func (e *settingError) Error() string { return e.Setting + ": " + e.Problem }

// errInvalidSettings is wrapped by the start-up validation error.
var errInvalidSettings = errors.New("invalid settings")

// validationErrors collects setting errors so that all of them are reported
// at once.
type validationErrors []error

func (v *validationErrors) add(setting, problem string) {
	*v = append(*v, &settingError{Setting: setting, Problem: problem})
}

func (v validationErrors) err() error {
	if len(v) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n  %w", errInvalidSettings, joinLines(v))
}

// joinLines joins errors one per line (indented), keeping them for errors.As.
func joinLines(errs []error) error { return &lineErrors{errs} }

type lineErrors struct{ errs []error }

func (l *lineErrors) Error() string {
	parts := make([]string, len(l.errs))
	for i, e := range l.errs {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n  ")
}

func (l *lineErrors) Unwrap() []error { return l.errs }

// keyOf names the key that answered name for backend, or the most specific
// candidate key when none is set.
func keyOf(s *settings.Settings, backend, name string) string {
	if _, key, ok := s.Lookup(backend, name); ok {
		return key
	}
	return settings.Keys(backend, name)[0]
}

// parseLogLevel reads -log-level.
func parseLogLevel(s string) (slog.Level, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("-log-level: %q is not one of debug, info, warn, error", s)
}

// checkRootURL checks an LMS or provider root: an absolute http(s) URL with a
// host and no userinfo, query or fragment.
func checkRootURL(raw string) string {
	u, err := url.Parse(raw)
	switch {
	case err != nil, strings.ContainsFunc(raw, func(r rune) bool { return r <= 0x20 || r == 0x7f || r == '\\' }):
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http:// or https:// URL"
	case u.Host == "" || u.Hostname() == "":
		return "must have a host"
	case u.User != nil:
		return "must not contain a user name or password"
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a query or fragment"
	}
	if p := u.Port(); p != "" {
		for _, c := range p {
			if c < '0' || c > '9' {
				return "has a malformed port"
			}
		}
	}
	return ""
}

// checkRedirectTarget checks a LOGIN_REDIRECT_URL-like setting: a local path
// or an absolute http(s) URL.
func checkRedirectTarget(raw string) string {
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") && !strings.HasPrefix(raw, "/\\") {
		if strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
			return "contains control characters"
		}
		return ""
	}
	if p := checkRootURL(strings.SplitN(raw, "?", 2)[0]); p != "" {
		return "must be a path starting with / or an absolute http(s) URL"
	}
	return ""
}

// isLoopbackHost reports whether host (no port) is a loopback name or address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// demoSettings is the demo's layered configuration.
type demoSettings struct {
	// s is env over the demo defaults, over the edX strategy defaults.
	s *settings.Settings
	// embedded is true when the demo runs its own fake LMS.
	embedded bool
	// clientID and clientSecret of the edx-oauth2 backend (embedded mode
	// registers them with the fake LMS).
	clientID, clientSecret string
	// redirectIsHTTPS is the effective SOCIAL_AUTH_REDIRECT_IS_HTTPS.
	redirectIsHTTPS bool
	// oidc is true when the generic oidc backend is registered.
	oidc bool
}

// buildSettings layers the environment over the demo's defaults over the
// edX strategy defaults and validates every setting the demo relies on. lms
// is the embedded LMS's base URL (ignored unless embedded); base is the
// service's public base URL.
func buildSettings(lookupEnv func(string) (string, bool), base, lms string) (*demoSettings, error) {
	env := settings.Env{LookupEnv: lookupEnv}
	_, embedded := lookupEnv(EnvEdxURLRoot)
	embedded = !embedded
	probe := strategies.WithEdxDefaults(settings.New(env))

	defaults := settings.Map{
		// Where a sign-in lands when no next was asked for (Django's
		// default, /accounts/profile/, does not exist here).
		"LOGIN_REDIRECT_URL": "/",
	}
	u, err := url.Parse(base)
	if err == nil && isLoopbackHost(u.Hostname()) {
		// The edX strategy forces https redirect URIs; a demo on loopback
		// speaks plain http.
		defaults["SOCIAL_AUTH_REDIRECT_IS_HTTPS"] = false
	}
	if _, ok := lookupEnv(EnvOIDCEndpoint); ok && !probe.IsSet(oidcName, "PIPELINE") {
		// The edX pipeline adopts an existing user by username
		// (get_user_if_exists): right for the LMS, a takeover for any other
		// provider. The generic backend gets social-core's default pipeline.
		defaults["SOCIAL_AUTH_OIDC_PIPELINE"] = socialauth.DefaultAuthPipeline()
	}
	d := &demoSettings{embedded: embedded}
	if embedded {
		defaults["SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"] = lms
		if !probe.IsSet(edx.Name, "KEY") {
			defaults["SOCIAL_AUTH_EDX_OAUTH2_KEY"] = demoClientID
		}
		if !probe.IsSet(edx.Name, "SECRET") {
			defaults["SOCIAL_AUTH_EDX_OAUTH2_SECRET"] = socialauth.RandomString(40)
		}
		if !probe.IsSet(edx.Name, "JWT_AUDIENCE") {
			defaults["SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE"] = demoAudience
		}
		// Signing out at the fake LMS comes back to the demo.
		defaults["LOGOUT_REDIRECT_URL"] = strings.TrimRight(base, "/") + "/"
	}
	s := strategies.WithEdxDefaults(settings.New(defaults, env))
	d.s = s

	var errs validationErrors
	str := func(backend, name string) string {
		v, err := s.String(backend, name, "")
		if err != nil {
			errs.add(keyOf(s, backend, name), "must be a string")
		}
		return v
	}

	// The LMS.
	root := strings.TrimSpace(str(edx.Name, "URL_ROOT"))
	switch {
	case root == "" && !embedded:
		errs.add(keyOf(s, edx.Name, "URL_ROOT"), "is empty: set it to the LMS root URL (such as https://lms.example.com), or unset it to use the embedded fake LMS")
	case root != "":
		if p := checkRootURL(root); p != "" {
			errs.add(keyOf(s, edx.Name, "URL_ROOT"), p)
		}
	}
	if pub := strings.TrimSpace(str(edx.Name, "PUBLIC_URL_ROOT")); pub != "" {
		if p := checkRootURL(pub); p != "" {
			errs.add(keyOf(s, edx.Name, "PUBLIC_URL_ROOT"), p)
		}
	}
	d.clientID = str(edx.Name, "KEY")
	d.clientSecret = str(edx.Name, "SECRET")
	if strings.TrimSpace(d.clientID) == "" {
		errs.add(keyOf(s, edx.Name, "KEY"), "is empty: set it to the OAuth2 client id of this service at the LMS")
	}
	if d.clientSecret == "" {
		errs.add(keyOf(s, edx.Name, "SECRET"), "is empty: set it to the OAuth2 client secret of this service at the LMS")
	}
	_ = str(edx.Name, "JWS_HMAC_SIGNING_KEY")
	_ = str(edx.Name, "ISSUER")
	for _, name := range []string{"PROVIDER_CONFIGURATION_CACHE_TTL", "JWKS_CACHE_TTL"} {
		v, err := s.Duration(edx.Name, name, 0)
		switch {
		case err != nil:
			errs.add(keyOf(s, edx.Name, name), "is not a duration (seconds, such as 3600, or a Go duration, such as 1h)")
		case v < 0:
			errs.add(keyOf(s, edx.Name, name), "must not be negative")
		}
	}
	if _, err := s.StringList(edx.Name, "JWT_AUDIENCE", nil); err != nil {
		errs.add(keyOf(s, edx.Name, "JWT_AUDIENCE"), "is not a list (comma-separated, or a JSON array of strings)")
	}
	if _, err := s.Bool("", edx.SettingInsecureSkipTokenVerification, false); err != nil {
		errs.add(edx.SettingInsecureSkipTokenVerification, "is not a boolean (true or false)")
	}

	// The service.
	https, err := s.Bool("", "REDIRECT_IS_HTTPS", true)
	if err != nil {
		errs.add(keyOf(s, "", "REDIRECT_IS_HTTPS"), "is not a boolean (true or false)")
	}
	d.redirectIsHTTPS = https
	for _, name := range []string{"LOGIN_REDIRECT_URL", "LOGIN_ERROR_URL", "LOGOUT_REDIRECT_URL", "NEW_USER_REDIRECT_URL"} {
		if v := strings.TrimSpace(str(edx.Name, name)); v != "" {
			if p := checkRedirectTarget(v); p != "" {
				errs.add(keyOf(s, edx.Name, name), p)
			}
		}
	}
	if _, err := s.StringList(edx.Name, "ALLOWED_REDIRECT_HOSTS", nil); err != nil {
		errs.add(keyOf(s, edx.Name, "ALLOWED_REDIRECT_HOSTS"), "is not a list (comma-separated, or a JSON array of strings)")
	}
	if _, err := s.StringList(edx.Name, "PIPELINE", nil); err != nil {
		errs.add(keyOf(s, edx.Name, "PIPELINE"), "is not a list of step names (comma-separated, or a JSON array of strings)")
	}
	if _, err := s.StringList(edx.Name, "USER_FIELDS", nil); err != nil {
		errs.add(keyOf(s, edx.Name, "USER_FIELDS"), "is not a list of field names (comma-separated, or a JSON array of strings)")
	}

	// The generic OpenID Connect backend.
	if ep, ok := lookupEnv(EnvOIDCEndpoint); ok {
		d.oidc = true
		if p := checkRootURL(strings.TrimSpace(ep)); p != "" {
			errs.add(EnvOIDCEndpoint, p)
		}
		if strings.TrimSpace(str(oidcName, "KEY")) == "" {
			errs.add(keyOf(s, oidcName, "KEY"), "is empty: set it to the OAuth2 client id of this service at the OpenID provider")
		}
		if str(oidcName, "SECRET") == "" {
			errs.add(keyOf(s, oidcName, "SECRET"), "is empty: set it to the OAuth2 client secret of this service at the OpenID provider")
		}
	}
	return d, errs.err()
}

// databaseURL reads DATABASE_URL (default sqlite:demo.db) and checks it.
func databaseURL(lookupEnv func(string) (string, bool)) (string, error) {
	v, ok := lookupEnv(EnvDatabaseURL)
	if !ok {
		return defaultDatabaseURL, nil
	}
	if strings.TrimSpace(v) == "" {
		return "", &settingError{Setting: EnvDatabaseURL, Problem: "is empty: use sqlite:<path>, postgres://… or mysql://… (or unset it for " + defaultDatabaseURL + ")"}
	}
	if _, err := storage.ParseDatabaseURL(v); err != nil {
		// ParseDatabaseURL never puts the URL (and its password) in errors.
		return "", &settingError{Setting: EnvDatabaseURL, Problem: "is not a database URL (sqlite:<path>, postgres://…, mysql://…): " + err.Error()}
	}
	return v, nil
}

// baseURLFor returns the public base URL: the flag, else BASE_URL, else
// http://<listening address>.
func baseURLFor(flagValue string, lookupEnv func(string) (string, bool), listening net.Addr) (string, error) {
	name, v := "-base-url", flagValue
	if v == "" {
		if ev, ok := lookupEnv(EnvBaseURL); ok {
			name, v = EnvBaseURL, ev
			if strings.TrimSpace(v) == "" {
				return "", &settingError{Setting: EnvBaseURL, Problem: "is empty: set it to the public base URL of the service, or unset it"}
			}
		}
	}
	if v == "" {
		return "http://" + hostPort(listening), nil
	}
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if p := checkRootURL(v); p != "" {
		return "", &settingError{Setting: name, Problem: p}
	}
	if u, _ := url.Parse(v); u.Path != "" {
		return "", &settingError{Setting: name, Problem: "must not have a path (the demo serves from /)"}
	}
	return v, nil
}

// hostPort formats a listening address for a URL (localhost for a wildcard).
func hostPort(a net.Addr) string {
	tcp, ok := a.(*net.TCPAddr)
	if !ok {
		return a.String()
	}
	host := tcp.IP.String()
	if tcp.IP == nil || tcp.IP.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, fmt.Sprint(tcp.Port))
}
