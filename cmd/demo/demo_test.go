package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

func TestLoginMeLogout(t *testing.T) {
	d := startDemo(t, nil)
	b := newBrowser(t)

	// Anonymous.
	home := b.get(d.BaseURL + "/")
	if home.status != http.StatusOK || !strings.Contains(home.body, "You are not signed in.") ||
		!strings.Contains(home.body, `href="/login/?next=/"`) || !strings.Contains(home.body, `href="/login/edx-oauth2/?next=/"`) {
		t.Fatalf("anonymous home page: %d\n%s", home.status, home.body)
	}
	status, body := b.me(d.BaseURL)
	if status != http.StatusUnauthorized || body["error"] != "not_authenticated" {
		t.Fatalf("anonymous /me = %d %v, want 401 not_authenticated", status, body)
	}

	// Sign in at the fake LMS as the upstream fixture user.
	landed := b.signIn(d.BaseURL, "jsmith")
	if landed.url.String() != d.BaseURL+"/" {
		t.Fatalf("after sign-in landed on %s, want %s/", landed.url, d.BaseURL)
	}
	for _, want := range []string{`Signed in as <strong id="username">jsmith</strong>`, "(Joe Smith)", "jsmith@example.com", `id="signout" href="/logout/"`} {
		if !strings.Contains(landed.body, want) {
			t.Errorf("signed-in home page lacks %q:\n%s", want, landed.body)
		}
	}
	sawComplete := false
	for _, u := range b.visited() {
		if u.Path == "/complete/edx-oauth2/" {
			sawComplete = true
			if u.Scheme != "http" || u.Host != strings.TrimPrefix(d.BaseURL, "http://") {
				t.Errorf("callback went to %s://%s, want the demo's base URL %s", u.Scheme, u.Host, d.BaseURL)
			}
		}
	}
	if !sawComplete {
		t.Errorf("the sign-in never went through /complete/edx-oauth2/: %v", b.visited())
	}

	status, body = b.me(d.BaseURL)
	want := map[string]any{
		"id": float64(1), "username": "jsmith", "email": "jsmith@example.com",
		"first_name": "Joe", "last_name": "Smith", "is_staff": false, "is_superuser": false,
		"social": []any{map[string]any{"provider": "edx-oauth2", "uid": "jsmith", "user_id": float64(1)}},
	}
	if status != http.StatusOK {
		t.Fatalf("/me = %d %v, want 200", status, body)
	}
	if diff := cmp.Diff(want, body); diff != "" {
		t.Errorf("/me mismatch (-want +got):\n%s", diff)
	}

	// Sign out: the LMS logout sends the browser back to the demo.
	out := b.get(d.BaseURL + "/logout/")
	if out.status != http.StatusOK || out.url.String() != d.BaseURL+"/" || !strings.Contains(out.body, "You are not signed in.") {
		t.Fatalf("after sign-out: %d at %s\n%s", out.status, out.url, out.body)
	}
	sawLMSLogout := false
	for _, u := range b.visited() {
		if u.Path == "/logout" && "http://"+u.Host == d.LMSURL {
			sawLMSLogout = true
		}
	}
	if !sawLMSLogout {
		t.Errorf("sign-out did not go through the LMS's /logout: %v", b.visited())
	}
	if status, _ := b.me(d.BaseURL); status != http.StatusUnauthorized {
		t.Errorf("/me after sign-out = %d, want 401", status)
	}

	// A second sign-in of the same LMS user is the same local user.
	b.signIn(d.BaseURL, "jsmith")
	if _, body := b.me(d.BaseURL); body["id"] != float64(1) {
		t.Errorf("second sign-in: /me id = %v, want 1", body["id"])
	}
	if !strings.Contains(d.stdout.String(), d.BaseURL+"/") {
		t.Errorf("the start-up banner does not show the URL to open: %q", d.stdout.String())
	}
}

func TestSessionIDRotatesAtLogin(t *testing.T) {
	d := startDemo(t, nil)
	b := newBrowser(t)
	// The sign-in page stores the state in a session: remember its id.
	signInForm(t, b.get(d.BaseURL+"/login/?next=/"))
	before := b.cookie(d.BaseURL, "sessionid")
	if before == "" {
		t.Fatal("no session cookie after starting a sign-in")
	}
	b.signIn(d.BaseURL, "alice")
	after := b.cookie(d.BaseURL, "sessionid")
	if after == "" || after == before {
		t.Errorf("session id did not change at login (got a cookie after login: %v)", after != "")
	}
	if status, body := b.me(d.BaseURL); status != http.StatusOK || body["username"] != "alice" {
		t.Errorf("/me = %d %v, want alice", status, body)
	}
}

func TestHealthz(t *testing.T) {
	d := startDemo(t, nil)
	p := newBrowser(t).get(d.BaseURL + "/healthz")
	if p.status != http.StatusOK || strings.TrimSpace(p.body) != `{"status":"ok"}` {
		t.Errorf("/healthz = %d %q", p.status, p.body)
	}
}

func TestCompleteErrors(t *testing.T) {
	tests := []struct {
		name     string
		env      map[string]string
		query    string
		status   int
		location string
	}{
		{name: "no state", query: "code=abc", status: http.StatusBadRequest},
		{name: "provider error", query: "error=access_denied&state=x", status: http.StatusForbidden},
		{name: "to LOGIN_ERROR_URL", env: map[string]string{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/?from=demo"},
			query: "code=abc", status: http.StatusFound, location: "/?from=demo&error=auth_missing_parameter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := startDemo(t, tt.env)
			b := newBrowser(t)
			p := b.getNoFollow(d.BaseURL + "/complete/edx-oauth2/?" + tt.query)
			if p.status != tt.status || p.header.Get("Location") != tt.location {
				t.Fatalf("status %d Location %q, want %d %q\n%s", p.status, p.header.Get("Location"), tt.status, tt.location, p.body)
			}
			if strings.Contains(p.body, "access_denied") || strings.Contains(p.body, "abc") {
				t.Errorf("the answer reflects request text: %q", p.body)
			}
			if status, _ := b.me(d.BaseURL); status != http.StatusUnauthorized {
				t.Errorf("/me after a failed completion = %d, want 401", status)
			}
		})
	}
}

func TestHomeShowsOnlyKnownErrorCodes(t *testing.T) {
	d := startDemo(t, nil)
	b := newBrowser(t)
	if p := b.get(d.BaseURL + "/?error=auth_canceled"); !strings.Contains(p.body, `Sign-in failed: <code>auth_canceled</code>`) {
		t.Errorf("known code not shown:\n%s", p.body)
	}
	p := b.get(d.BaseURL + "/?error=" + url.QueryEscape(`<script>alert(1)</script>`))
	if strings.Contains(p.body, "Sign-in failed") || strings.Contains(p.body, "alert(1)") {
		t.Errorf("unknown error text reflected:\n%s", p.body)
	}
	if p := b.get(d.BaseURL + "/?error=made_up_code"); strings.Contains(p.body, "made_up_code") {
		t.Errorf("unknown code reflected:\n%s", p.body)
	}
}

// TestRedirectURIFollowsBaseURL pins the scheme rule: the redirect_uri and
// the session cookie's Secure flag come from the base URL. The demo used to
// turn a non-loopback http base URL into https redirect URIs (the edX
// strategy's REDIRECT_IS_HTTPS default); now an http base URL gives http,
// and REDIRECT_IS_HTTPS=true with an http base URL is a start-up error
// (TestStartupValidation).
func TestRedirectURIFollowsBaseURL(t *testing.T) {
	tests := []struct {
		name, baseURL string
		env           map[string]string
		wantPrefix    string
		wantSecure    bool
	}{
		{name: "loopback: http", wantPrefix: "http://127.0.0.1:"},
		{name: "public host over http: http", baseURL: "http://demo.example:8000", wantPrefix: "http://demo.example:8000/complete/edx-oauth2/"},
		{name: "explicit false", baseURL: "http://demo.example:8000",
			env: map[string]string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": "false"}, wantPrefix: "http://demo.example:8000/complete/edx-oauth2/"},
		{name: "https base URL: https and a Secure cookie", baseURL: "https://demo.example:8000",
			wantPrefix: "https://demo.example:8000/complete/edx-oauth2/", wantSecure: true},
		{name: "https base URL, explicit true", baseURL: "https://demo.example:8000",
			env:        map[string]string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": "true"},
			wantPrefix: "https://demo.example:8000/complete/edx-oauth2/", wantSecure: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var args []string
			if tt.baseURL != "" {
				args = []string{"-base-url", tt.baseURL}
			}
			d := startDemo(t, tt.env, args...)
			// Reach the listener directly: the base URL may name another host.
			p := newBrowser(t).getNoFollow(listenURL(t, d) + "/login/edx-oauth2/")
			loc, err := url.Parse(p.header.Get("Location"))
			if p.status != http.StatusFound || err != nil {
				t.Fatalf("/login/edx-oauth2/ = %d %q", p.status, p.header.Get("Location"))
			}
			if got := loc.Query().Get("redirect_uri"); !strings.HasPrefix(got, tt.wantPrefix) {
				t.Errorf("redirect_uri = %q, want prefix %q", got, tt.wantPrefix)
			}
			var session *http.Cookie
			for _, c := range (&http.Response{Header: p.header}).Cookies() {
				if c.Name == "sessionid" {
					session = c
				}
			}
			if session == nil {
				t.Fatalf("no session cookie set by /login/edx-oauth2/: %v", p.header["Set-Cookie"])
			}
			if session.Secure != tt.wantSecure {
				t.Errorf("session cookie Secure = %v, want %v", session.Secure, tt.wantSecure)
			}
		})
	}
}

// listenURL is where the demo really listens.
func listenURL(t *testing.T, d *demo) string {
	t.Helper()
	return d.ListenURL
}

func TestStartupValidation(t *testing.T) {
	const canary = "CANARY-s3cr3t-7f1e"
	real := func(extra map[string]string) map[string]string {
		env := map[string]string{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://lms.example.com",
			"SOCIAL_AUTH_EDX_OAUTH2_KEY":      "svc",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET":   canary,
		}
		for k, v := range extra {
			env[k] = v
		}
		return env
	}
	// The SOCIAL_AUTH_* problems are found and worded by the library
	// (edxsso.New, backends.OIDCConfigFrom/NewOIDC): each line names the key
	// and the kind of problem in the library's words. DATABASE_URL, BASE_URL
	// and the flags are the demo's own.
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want []string // substrings of the error
	}{
		{name: "URL_ROOT not a URL", env: real(map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "lms.example.com"}),
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT: must be an absolute http or https URL"}},
		{name: "URL_ROOT with a query", env: real(map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://lms.example.com/?a=1"}),
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT: must not have a query"}},
		{name: "URL_ROOT empty", env: real(map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": ""}),
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT is required"}},
		{name: "PUBLIC_URL_ROOT not a URL", env: real(map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT": "javascript:alert(1)"}),
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT: must be an absolute http or https URL"}},
		{name: "key missing", env: map[string]string{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://lms.example.com", "SOCIAL_AUTH_EDX_OAUTH2_SECRET": canary},
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_KEY is required"}},
		{name: "unparsable config TTL", env: real(map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_PROVIDER_CONFIGURATION_CACHE_TTL": "a week"}),
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_PROVIDER_CONFIGURATION_CACHE_TTL: want duration, got malformed duration"}},
		{name: "unparsable JWKS TTL in embedded mode", env: map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL": "1 day"},
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL: want duration, got malformed duration"}},
		{name: "negative TTL", env: real(map[string]string{"SOCIAL_AUTH_JWKS_CACHE_TTL": "-5"}),
			want: []string{"SOCIAL_AUTH_JWKS_CACHE_TTL: must not be negative"}},
		{name: "STATE_TTL malformed", env: real(map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL": "abc"}),
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL: want duration"}},
		{name: "REDIRECT_IS_HTTPS not a bool", env: map[string]string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": "maybe"},
			want: []string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS: want bool, got malformed bool"}},
		{name: "REDIRECT_IS_HTTPS true with an http base URL", env: map[string]string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": "true"},
			want: []string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS: is true but the base URL is http"}},
		{name: "REDIRECT_IS_HTTPS true with an http -base-url", env: map[string]string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": "true"},
			args: []string{"-base-url", "http://demo.example:8000"},
			want: []string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS: is true but the base URL is http"}},
		{name: "insecure switch not a bool", env: map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_INSECURE_SKIP_TOKEN_VERIFICATION": "sure"},
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_INSECURE_SKIP_TOKEN_VERIFICATION: want bool, got malformed bool"}},
		{name: "LOGIN_REDIRECT_URL scheme", env: map[string]string{"LOGIN_REDIRECT_URL": "javascript:alert(1)"},
			want: []string{"LOGIN_REDIRECT_URL: must be a path starting with / or an absolute http(s) URL"}},
		{name: "LOGIN_ERROR_URL protocol-relative", env: map[string]string{"SOCIAL_AUTH_LOGIN_ERROR_URL": "//evil.example/"},
			want: []string{"SOCIAL_AUTH_LOGIN_ERROR_URL: must be a path"}},
		{name: "JWT_AUDIENCE bad JSON", env: map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE": "[1]"},
			want: []string{"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE: want string list"}},
		{name: "USER_FIELDS bad JSON", env: map[string]string{"SOCIAL_AUTH_USER_FIELDS": "[1]"},
			want: []string{"SOCIAL_AUTH_USER_FIELDS: want string list"}},
		{name: "unknown pipeline step", env: map[string]string{"SOCIAL_AUTH_PIPELINE": "social_core.pipeline.social_auth.social_details,no.such.step"},
			want: []string{"SOCIAL_AUTH_PIPELINE: names an unknown pipeline step", "no.such.step"}},
		{name: "DATABASE_URL unknown scheme", env: map[string]string{"DATABASE_URL": "oracle://u:" + canary + "@db/x"},
			want: []string{"DATABASE_URL: is not a database URL"}},
		{name: "DATABASE_URL empty", env: map[string]string{"DATABASE_URL": " "},
			want: []string{"DATABASE_URL: is empty"}},
		{name: "BASE_URL with a path", env: map[string]string{"BASE_URL": "http://127.0.0.1:8000/app"},
			want: []string{"BASE_URL: must not have a path"}},
		{name: "BASE_URL empty", env: map[string]string{"BASE_URL": ""},
			want: []string{"BASE_URL: is empty"}},
		{name: "-base-url not a URL", args: []string{"-base-url", "demo.example"},
			want: []string{"-base-url: must be an absolute http or https URL"}},
		{name: "demo settings together", env: map[string]string{"BASE_URL": "http://127.0.0.1:8000/app", "DATABASE_URL": "oracle://x"},
			want: []string{"BASE_URL: must not have a path", "DATABASE_URL: is not a database URL"}},
		{name: "OIDC endpoint and key", env: map[string]string{"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": "not a url"},
			want: []string{"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT: ", "SOCIAL_AUTH_OIDC_KEY is required"}},
		{name: "several at once", env: real(map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "nope", "SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL": "x"}),
			want: []string{"\n  SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT: must be an absolute http or https URL", "\n  SOCIAL_AUTH_EDX_OAUTH2_JWKS_CACHE_TTL: want duration"}},
		{name: "session cookie key short", env: map[string]string{"SOCIAL_AUTH_SESSION_COOKIE_KEYS": "c2hvcnQ" + canary},
			want: []string{"SOCIAL_AUTH_SESSION_COOKIE_KEYS: ", "key 1"}},
		{name: "bad -log-level", args: []string{"-log-level", "loud"}, want: []string{"-log-level"}},
		{name: "bad -log-format", args: []string{"-log-format", "xml"}, want: []string{"-log-format"}},
		{name: "stray argument", args: []string{"serve"}, want: []string{"unexpected arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := tt.env
			if env == nil {
				env = map[string]string{}
			}
			if _, ok := env[EnvDatabaseURL]; !ok {
				env[EnvDatabaseURL] = "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
			}
			if _, ok := env[EnvFieldKeyFile]; !ok {
				env[EnvFieldKeyFile] = filepath.Join(t.TempDir(), "field.key")
			}
			var stdout, stderr bytes.Buffer
			args := append([]string{"-addr", "127.0.0.1:0", "-lms-addr", "127.0.0.1:0"}, tt.args...)
			err := run(context.Background(), args, envMap(env), &stdout, &stderr)
			if err == nil {
				t.Fatal("run started with invalid settings")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if strings.Contains(err.Error(), canary) || strings.Contains(stderr.String(), canary) {
				t.Errorf("a secret reached the error or the logs: %q", err)
			}
			if stdout.Len() != 0 {
				t.Errorf("the demo announced itself although it did not start: %q", stdout.String())
			}
		})
	}
}

// TestSettingErrorsAreTyped: a start-up failure caused by settings matches
// errInvalidSettings, reads "invalid settings:" and one problem per line
// (the "settings: " prefix and the library's wrapping dropped), and carries
// the settings package's typed errors, each naming its key.
func TestSettingErrorsAreTyped(t *testing.T) {
	start := func(t *testing.T, env map[string]string) error {
		t.Helper()
		if _, ok := env[EnvDatabaseURL]; !ok {
			env[EnvDatabaseURL] = "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
		}
		if _, ok := env[EnvFieldKeyFile]; !ok {
			env[EnvFieldKeyFile] = filepath.Join(t.TempDir(), "field.key")
		}
		var stdout bytes.Buffer
		err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-lms-addr", "127.0.0.1:0"}, envMap(env), &stdout, &bytes.Buffer{})
		if err == nil {
			t.Fatal("run started with invalid settings")
		}
		if !errors.Is(err, errInvalidSettings) {
			t.Errorf("errors.Is(%v, errInvalidSettings) = false", err)
		}
		return err
	}

	t.Run("invalid", func(t *testing.T) {
		err := start(t, map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "nope", "SOCIAL_AUTH_EDX_OAUTH2_KEY": "svc",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET": "svc-secret"})
		if want := "invalid settings:\n  SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT: must be an absolute http or https URL"; err.Error() != want {
			t.Errorf("error text:\n%s\nwant:\n%s", err, want)
		}
		var ie *settings.InvalidError
		if !errors.As(err, &ie) || ie.Key != "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT" {
			t.Errorf("errors.As *settings.InvalidError = %+v", ie)
		}
		if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !errors.Is(err, settings.ErrInvalid) {
			t.Errorf("the library's sentinels do not match: %v", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		err := start(t, map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://lms.example.com",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET": "svc-secret"})
		var me *settings.MissingError
		if !errors.As(err, &me) || me.Key != "SOCIAL_AUTH_EDX_OAUTH2_KEY" {
			t.Errorf("errors.As *settings.MissingError = %+v (%v)", me, err)
		}
	})
	t.Run("wrong type", func(t *testing.T) {
		err := start(t, map[string]string{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL": "abc"})
		var te *settings.TypeError
		if !errors.As(err, &te) || te.Key != "SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL" || te.Want != "duration" {
			t.Errorf("errors.As *settings.TypeError = %+v (%v)", te, err)
		}
	})
	t.Run("the demo's own", func(t *testing.T) {
		err := start(t, map[string]string{EnvDatabaseURL: "oracle://db/x"})
		var ie *settings.InvalidError
		if !errors.As(err, &ie) || ie.Key != EnvDatabaseURL {
			t.Errorf("errors.As *settings.InvalidError = %+v (%v)", ie, err)
		}
		if !strings.HasPrefix(err.Error(), "invalid settings:\n  DATABASE_URL: ") {
			t.Errorf("error text: %q", err)
		}
	})
}

// TestProblems pins how an error tree becomes the lines of the start-up
// message: every settings error once, prefix dropped, whatever wraps it; any
// other leaf whole, with its context.
func TestProblems(t *testing.T) {
	rootErr := &settings.InvalidError{Key: "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", Reason: "must be an absolute http or https URL"}
	pipe := &settings.InvalidError{Key: "SOCIAL_AUTH_PIPELINE", Reason: "names an unknown pipeline step \"x\""}
	err := errors.Join(
		&socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: "edx-oauth2", Err: errors.Join(rootErr,
			&settings.MissingError{Key: "SOCIAL_AUTH_EDX_OAUTH2_KEY"})},
		&socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: "edx-oauth2", Err: pipe},
		&socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: "oidc", Err: fmt.Errorf("pipeline step y: %w", pipe)},
		fmt.Errorf("views: %w", errors.New("base URL has a fragment")),
	)
	want := []string{
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT: must be an absolute http or https URL",
		"SOCIAL_AUTH_EDX_OAUTH2_KEY is required",
		`SOCIAL_AUTH_PIPELINE: names an unknown pipeline step "x"`,
		"views: base URL has a fragment",
	}
	if diff := cmp.Diff(want, problems(err)); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestHelpFlag(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"-h"}, envMap(nil), &bytes.Buffer{}, &stderr)
	if !errors.Is(err, flag.ErrHelp) || !strings.Contains(stderr.String(), "-lms-addr") {
		t.Errorf("-h: %v\n%s", err, stderr.String())
	}
}

// TestNoSecretsInLogs runs a sign-in and sign-out at debug level, in both
// log formats, and looks for every secret of the flow in the logs: the
// client secret, the authorization code, the state, the session ids, the
// access and refresh tokens.
func TestNoSecretsInLogs(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		t.Run(format, func(t *testing.T) {
			const secret = "CANARY-client-secret-4b1d9c"
			dbPath := filepath.Join(t.TempDir(), "demo.db")
			d := startDemo(t, map[string]string{
				"SOCIAL_AUTH_EDX_OAUTH2_SECRET": secret,
				EnvDatabaseURL:                  "sqlite:" + dbPath,
			}, "-log-level", "debug", "-log-format", format)
			keyFile, err := os.ReadFile(d.keyFile)
			if err != nil {
				t.Fatal(err)
			}
			keys, err := storage.ParseFieldKeyFile(keyFile)
			if err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t)
			action, form := signInForm(t, b.get(d.BaseURL+"/login/?next=/"))
			canaries := map[string]string{"client secret": secret, "state": form.Get("state"),
				"PKCE challenge": form.Get("code_challenge")}
			canaries["pre-login session id"] = b.cookie(d.BaseURL, "sessionid")
			form.Set("username", "alice")
			b.postForm(action, form, nil)
			canaries["session id"] = b.cookie(d.BaseURL, "sessionid")
			for _, u := range b.visited() {
				if c := u.Query().Get("code"); c != "" {
					canaries["authorization code"] = c
				}
			}
			if status, _ := b.me(d.BaseURL); status != http.StatusOK {
				t.Fatalf("sign-in failed: /me = %d", status)
			}
			// The tokens are in the association's extra data.
			store, err := storage.Open(context.Background(), "sqlite:"+dbPath, storage.Options{FieldKeys: keys})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			socials, err := store.GetSocialAuthsForUser(context.Background(), "1", "", 0)
			if err != nil || len(socials) != 1 {
				t.Fatalf("associations: %v %v", socials, err)
			}
			canaries["access token"] = socials[0].AccessToken()
			canaries["refresh token"] = socials[0].RefreshToken()
			for _, line := range strings.Split(string(keyFile), "\n") {
				if line != "" && !strings.HasPrefix(line, "#") {
					canaries["field encryption key"] = line
				}
			}
			b.get(d.BaseURL + "/logout/")

			logs := d.logs.String()
			if !strings.Contains(logs, "level=DEBUG") && !strings.Contains(logs, `"level":"DEBUG"`) {
				t.Errorf("no debug lines: the test would prove nothing\n%s", logs)
			}
			for what, v := range canaries {
				if len(v) < 8 {
					t.Fatalf("canary %s is too short to search for: %q", what, v)
				}
				if strings.Contains(logs, v) {
					t.Errorf("the %s appears in the logs", what)
				}
			}
			if format == "json" {
				for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
					if !json.Valid([]byte(line)) {
						t.Errorf("not a JSON log line: %q", line)
					}
				}
			}
		})
	}
}

// TestOIDCBackend registers the generic oidc backend against a second fake
// provider and signs in through it.
func TestOIDCBackend(t *testing.T) {
	idp := fakelms.NewServer(t, fakelms.Options{})
	d := startDemo(t, map[string]string{
		"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": idp.URL() + "/oauth2",
		"SOCIAL_AUTH_OIDC_KEY":           "oidc-client",
		"SOCIAL_AUTH_OIDC_SECRET":        "oidc-secret",
	})
	if err := idp.AddClient(fakelms.Client{ID: "oidc-client", Secret: "oidc-secret",
		RedirectURIs: []string{d.BaseURL + "/complete/oidc/"}}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	home := b.get(d.BaseURL + "/")
	for _, want := range []string{`href="/login/edx-oauth2/?next=/"`, `href="/login/oidc/?next=/"`} {
		if !strings.Contains(home.body, want) {
			t.Errorf("home page lacks %s", want)
		}
	}
	action, form := signInForm(t, b.get(d.BaseURL+"/login/oidc/?next=/"))
	if !strings.HasPrefix(action, idp.URL()) {
		t.Fatalf("oidc sign-in went to %s, want the OpenID provider %s", action, idp.URL())
	}
	form.Set("username", "olivia")
	landed := b.postForm(action, form, nil)
	if !strings.Contains(landed.body, `<strong id="username">olivia</strong>`) {
		t.Fatalf("not signed in through oidc: %d %s\n%s\nlogs:\n%s", landed.status, landed.url, landed.body, d.logs)
	}
	_, me := b.me(d.BaseURL)
	social, _ := me["social"].([]any)
	if len(social) != 1 || social[0].(map[string]any)["provider"] != "oidc" {
		t.Errorf("/me social = %v, want one oidc association", me["social"])
	}
}

// TestTwoInstancesShareOneDatabase runs two demos behind one public base URL
// over one database: a sign-in started on the first completes on the
// second, and both then see the same session. SQLite always; PostgreSQL
// when SOCIALAUTH_TEST_POSTGRES_DSN is set (required under CI=true).
func TestTwoInstancesShareOneDatabase(t *testing.T) {
	targets := map[string]func(t *testing.T) string{
		"sqlite": func(t *testing.T) string { return "sqlite:" + filepath.Join(t.TempDir(), "shared.db") },
		"postgres": func(t *testing.T) string {
			dsn := strings.TrimSpace(os.Getenv(dbtest.EnvPostgres))
			if dsn == "" {
				if os.Getenv(dbtest.EnvCI) == "true" {
					t.Fatalf("CI=true but %s is not set", dbtest.EnvPostgres)
				}
				t.Skipf("%s not set (see .ci/services)", dbtest.EnvPostgres)
			}
			return dbtest.Fresh(t, dbtest.Target{Name: dbtest.Postgres, DSN: dsn})
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			dbURL := targets[name](t)
			const key, secret = "shared-client", "shared-secret-9f8e7d"
			// One service: the instances share the key file (which also
			// seals the pending sign-ins kept in session cookies).
			keyFile := filepath.Join(t.TempDir(), "shared.key")
			a := startDemo(t, map[string]string{EnvDatabaseURL: dbURL, EnvFieldKeyFile: keyFile,
				"SOCIAL_AUTH_EDX_OAUTH2_KEY": key, "SOCIAL_AUTH_EDX_OAUTH2_SECRET": secret})
			bDemo := startDemo(t, map[string]string{EnvDatabaseURL: dbURL, EnvFieldKeyFile: keyFile,
				"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": a.LMSURL,
				"SOCIAL_AUTH_EDX_OAUTH2_KEY":      key, "SOCIAL_AUTH_EDX_OAUTH2_SECRET": secret,
				"BASE_URL": a.BaseURL})
			bAddr := listenAddrFromLogs(t, bDemo)

			br := newBrowser(t)
			action, form := signInForm(t, br.get(a.BaseURL+"/login/edx-oauth2/?next=/me"))
			form.Set("username", "bob")
			p := br.postForm(action, form, br.noRedirects())
			callback, err := url.Parse(p.header.Get("Location"))
			if p.status != http.StatusFound || err != nil || callback.Path != "/complete/edx-oauth2/" {
				t.Fatalf("LMS answered %d %q", p.status, p.header.Get("Location"))
			}
			// The load balancer sends the callback to the other instance.
			callback.Host = bAddr
			done := br.getNoFollow(callback.String())
			if done.status != http.StatusFound || done.header.Get("Location") != "/me" {
				t.Fatalf("completion on the second instance: %d %q\n%s\nlogs:\n%s", done.status, done.header.Get("Location"), done.body, bDemo.logs)
			}
			for _, base := range []string{"http://" + bAddr, a.BaseURL} {
				if status, me := br.me(base); status != http.StatusOK || me["username"] != "bob" {
					t.Errorf("%s/me = %d %v, want bob", base, status, me)
				}
			}
			// Signing out on one signs out on both.
			br.getNoFollow("http://" + bAddr + "/logout/")
			if status, _ := br.me(a.BaseURL); status != http.StatusUnauthorized {
				t.Errorf("after sign-out on the second instance, the first says %d, want 401", status)
			}
		})
	}
}

// listenAddrFromLogs returns host:port the demo listens on when its base URL
// names another address.
func listenAddrFromLogs(t *testing.T, d *demo) string {
	t.Helper()
	u := listenURL(t, d)
	return strings.TrimPrefix(u, "http://")
}
