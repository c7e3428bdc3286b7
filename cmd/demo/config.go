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
)

// Environment variables read by the demo itself. The SOCIAL_AUTH_* settings
// are read by the library (views/edxsso, backends), once, at start-up.
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

// errInvalidSettings is matched (errors.Is) by every start-up failure that a
// setting causes.
var errInvalidSettings = errors.New("invalid settings")

// invalidSettings is a start-up failure caused by settings. Its text is
// "invalid settings:" and one line per problem, each naming its key (never
// its value: settings hold secrets). It unwraps to errInvalidSettings and to
// the cause, so errors.As finds the *settings.InvalidError, MissingError or
// TypeError of each problem, and errors.Is the library's sentinels.
type invalidSettings struct {
	cause error
}

func (e *invalidSettings) Error() string {
	return errInvalidSettings.Error() + ":\n  " + strings.Join(problems(e.cause), "\n  ")
}

func (e *invalidSettings) Unwrap() []error { return []error{errInvalidSettings, e.cause} }

// asStartupError gives a construction error its start-up form: an
// invalidSettings when settings caused it (a settings error in its tree, or
// an ImproperlyConfigured one), else err as is (the database does not
// answer, …).
func asStartupError(err error) error {
	if err == nil {
		return nil
	}
	if hasSettingsError(err) || errors.Is(err, socialauth.CodeImproperlyConfigured) {
		return &invalidSettings{cause: err}
	}
	return err
}

// isSettingsError reports whether err itself is one of the settings
// package's errors, each of which names its key.
func isSettingsError(err error) bool {
	switch err.(type) {
	case *settings.InvalidError, *settings.MissingError, *settings.TypeError:
		return true
	}
	return false
}

// hasSettingsError reports whether err's tree holds a settings error.
func hasSettingsError(err error) bool {
	var (
		invalid *settings.InvalidError
		missing *settings.MissingError
		typ     *settings.TypeError
	)
	return errors.As(err, &invalid) || errors.As(err, &missing) || errors.As(err, &typ)
}

// problems lists the problems of err's tree, one line each: every settings
// error ("KEY: reason", the "settings: " prefix dropped), and every other
// leaf with its context. The library wraps settings errors in
// *socialauth.Error and joins them (errors.Join, Unwrap() []error); a
// setting named by two backends appears once.
func problems(err error) []string {
	var lines []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			lines = append(lines, s)
		}
	}
	var walk func(error)
	walk = func(err error) {
		if err == nil {
			return
		}
		if !isSettingsError(err) {
			switch x := err.(type) {
			case interface{ Unwrap() []error }:
				for _, e := range x.Unwrap() {
					walk(e)
				}
				return
			case interface{ Unwrap() error }:
				// Descend to the settings errors; a chain without any is
				// one problem, printed whole with its context.
				if inner := x.Unwrap(); hasSettingsError(inner) {
					walk(inner)
					return
				}
			}
		}
		add(strings.TrimPrefix(err.Error(), "settings: "))
	}
	walk(err)
	return lines
}

// layeredSettings is the demo's configuration: the environment over the
// demo's defaults. views/edxsso puts upstream's EdxDjangoStrategy defaults
// below both. lmsURL is the embedded fake LMS's URL ("" with a real LMS);
// base is the service's public base URL.
func layeredSettings(lookupEnv func(string) (string, bool), base, lmsURL, fieldKeys string) *settings.Settings {
	env := settings.Env{LookupEnv: lookupEnv}
	fromEnv := settings.New(env)
	defaults := settings.Map{
		// Where a sign-in lands when no next was asked for (Django's
		// default, /accounts/profile/, does not exist here).
		"LOGIN_REDIRECT_URL": "/",
	}
	if fieldKeys != "" {
		// The key file's keys, when the setting itself is unset.
		defaults[storage.SettingFieldEncryptionKeys] = fieldKeys
	}
	if !fromEnv.IsSet("", "SESSION_COOKIE_KEYS") {
		// A pending sign-in is kept in its session cookie, sealed with
		// the field encryption keys (through a derivation of its own), so
		// it costs the database nothing until the user is signed in.
		var keys any = fieldKeys
		if fieldKeys == "" {
			keys, _, _ = fromEnv.Lookup("", "FIELD_ENCRYPTION_KEYS")
		}
		if keys != nil && keys != "" {
			defaults["SOCIAL_AUTH_SESSION_COOKIE_KEYS"] = keys
		}
	}
	if _, ok := lookupEnv(EnvOIDCEndpoint); ok && !fromEnv.IsSet(oidcName, "PIPELINE") {
		// The edX pipeline adopts an existing user by username
		// (get_user_if_exists): right for the LMS, a takeover for any other
		// provider. The generic backend gets social-core's default pipeline.
		defaults["SOCIAL_AUTH_OIDC_PIPELINE"] = socialauth.DefaultAuthPipeline()
	}
	for _, p := range enabledProviders(lookupEnv) {
		// The catalogue providers get social-core's default pipeline too.
		if !fromEnv.IsSet(p.name, "PIPELINE") {
			defaults[settings.Keys(p.name, "PIPELINE")[0]] = socialauth.DefaultAuthPipeline()
		}
	}
	if lmsURL != "" {
		// The embedded LMS: the demo is its only client. A default goes
		// under the backend's own key only when no candidate key is set in
		// the environment (SOCIAL_AUTH_KEY must still win).
		defaults["SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"] = lmsURL
		if !fromEnv.IsSet(edx.Name, "KEY") {
			defaults["SOCIAL_AUTH_EDX_OAUTH2_KEY"] = demoClientID
		}
		if !fromEnv.IsSet(edx.Name, "SECRET") {
			defaults["SOCIAL_AUTH_EDX_OAUTH2_SECRET"] = socialauth.RandomString(40)
		}
		if !fromEnv.IsSet(edx.Name, "JWT_AUDIENCE") {
			defaults["SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE"] = demoAudience
		}
		// Signing out at the fake LMS comes back to the demo.
		defaults["LOGOUT_REDIRECT_URL"] = base + "/"
	}
	return settings.New(defaults, env)
}

// databaseURL reads DATABASE_URL (default sqlite:demo.db) and checks it.
func databaseURL(lookupEnv func(string) (string, bool)) (string, error) {
	v, ok := lookupEnv(EnvDatabaseURL)
	if !ok {
		return defaultDatabaseURL, nil
	}
	if strings.TrimSpace(v) == "" {
		return "", &settings.InvalidError{Key: EnvDatabaseURL, Reason: "is empty: use sqlite:<path>, postgres://… or mysql://… (or unset it for " + defaultDatabaseURL + ")"}
	}
	if _, err := storage.ParseDatabaseURL(v); err != nil {
		// ParseDatabaseURL never puts the URL (and its password) in errors.
		return "", &settings.InvalidError{Key: EnvDatabaseURL, Reason: "is not a database URL (sqlite:<path>, postgres://…, mysql://…): " + err.Error()}
	}
	return v, nil
}

// configuredBaseURL returns the public base URL given by the -base-url flag,
// else BASE_URL, else "" (http://<listening address> then). The demo serves
// its pages and the sign-in routes from /, so the base URL has no path.
func configuredBaseURL(flagValue string, lookupEnv func(string) (string, bool)) (string, error) {
	name, v := "-base-url", flagValue
	if v == "" {
		ev, ok := lookupEnv(EnvBaseURL)
		if !ok {
			return "", nil
		}
		name, v = EnvBaseURL, ev
		if strings.TrimSpace(v) == "" {
			return "", &settings.InvalidError{Key: EnvBaseURL, Reason: "is empty: set it to the public base URL of the service, or unset it"}
		}
	}
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if reason := settings.CheckAbsoluteURL(v); reason != "" {
		return "", &settings.InvalidError{Key: name, Reason: reason}
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		return "", &settings.InvalidError{Key: name, Reason: "is not a URL"}
	case u.RawQuery != "" || u.ForceQuery:
		return "", &settings.InvalidError{Key: name, Reason: "must not have a query"}
	case u.Path != "":
		return "", &settings.InvalidError{Key: name, Reason: "must not have a path (the demo serves from /)"}
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
