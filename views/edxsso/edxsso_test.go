package edxsso_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
	"github.com/socialauth-go/socialauth/views"
	"github.com/socialauth-go/socialauth/views/edxsso"
)

// quickstart is docs/quickstart.md's program, line for line (the doc test
// below checks it), with the listener given by the test instead of
// http.ListenAndServe.
func quickstart(ln net.Listener, base string) error {
	// quickstart:begin
	ctx := context.Background()
	sso, err := edxsso.New(ctx, edxsso.Options{BaseURL: base}) // SOCIAL_AUTH_EDX_OAUTH2_* from the environment
	if err != nil {
		return err // names every missing or malformed setting
	}
	defer sso.Close()

	mux := http.NewServeMux()
	sso.Mount(mux) // /login/, /login/edx-oauth2/, /complete/edx-oauth2/, /logout/, /disconnect/…
	mux.Handle("GET /{$}", sso.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s!\n", views.CurrentUser(r).Username)
	})))
	// quickstart:end
	return http.Serve(ln, mux)
}

// byHand is docs/quickstart.md's wiring by hand (§4), line for line.
func byHand(ln net.Listener, base string, logger *slog.Logger) error {
	ctx := context.Background()
	mux := http.NewServeMux()
	// byhand:begin
	set := edx.WithDefaults(settings.New(settings.Env{})) // the environment over EdxDjangoStrategy's defaults
	store, err := storage.Open(ctx, "sqlite:app.db", storage.Options{Logger: logger})
	if err != nil {
		return err
	}
	defer store.Close()
	if err := store.AutoMigrate(ctx); err != nil {
		return err
	}
	edxCfg, err := edx.ConfigFrom(set) // URL_ROOT, KEY, SECRET, …: checked now
	if err != nil {
		return err
	}
	backend, err := edx.New(edxCfg, edx.Options{Users: store, Logger: logger})
	if err != nil {
		return err
	}
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps) // get_user_if_exists, update_email
	svc, err := socialauth.New(socialauth.Options{Storage: store, Backends: []socialauth.Backend{backend},
		Steps: steps, Settings: set, Logger: logger}) // PIPELINE, redirects, …: checked now
	if err != nil {
		return err
	}
	web, err := strategies.HTTPConfigFrom(set, strategies.HTTPConfig{SessionStore: store.SessionStore(), BaseURL: base})
	if err != nil {
		return err
	}
	v, err := views.New("", views.Config{Service: svc, HTTP: web, Logger: logger})
	if err != nil {
		return err
	}
	v.Mount(mux)
	// byhand:end
	mux.Handle("GET /{$}", v.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s!\n", views.CurrentUser(r).Username)
	})))
	return http.Serve(ln, mux)
}

// TestByHand runs the by-hand wiring of the quickstart through a sign-in.
func TestByHand(t *testing.T) {
	signInThrough(t, func(ln net.Listener, base string) error { return byHand(ln, base, nil) })
}

// signInThrough serves a service with serve on a loopback port, against the
// fake LMS configured by the environment, and signs in as a browser would:
// the protected home page sends the browser to sign in and back.
func signInThrough(t *testing.T, serve func(ln net.Listener, base string) error) {
	t.Helper()
	chdirTemp(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	lms(t, base)
	done := make(chan error, 1)
	go func() { done <- serve(ln, base) }()
	t.Cleanup(func() { ln.Close(); <-done })

	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "Hello, jsmith!\n" {
		t.Fatalf("GET / after sign-in: %d %q", resp.StatusCode, body)
	}
	if resp.Request.URL.String() != base+"/" {
		t.Errorf("ended at %s, want %s/", resp.Request.URL, base)
	}
}

// lms starts a fake LMS with a client for base and sets the environment the
// quickstart reads.
func lms(t *testing.T, base string) *fakelms.LMS {
	t.Helper()
	l := fakelms.NewServer(t, fakelms.Options{Clients: []fakelms.Client{{
		ID: "svc", Secret: "svc-secret", RedirectURIs: []string{base + "/complete/edx-oauth2/"},
		LogoutRedirectHosts: []string{strings.TrimPrefix(base, "http://")},
	}}})
	l.AutoApprove("jsmith")
	t.Setenv("SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", l.URL())
	t.Setenv("SOCIAL_AUTH_EDX_OAUTH2_KEY", "svc")
	t.Setenv("SOCIAL_AUTH_EDX_OAUTH2_SECRET", "svc-secret")
	t.Setenv("SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE", l.Audience())
	return l
}

func chdirTemp(t *testing.T) {
	t.Helper()
	t.Chdir(t.TempDir())
}

// TestQuickstart runs the quickstart's program over loopback against the
// fake LMS, signs in, and finds the default SQLite database.
func TestQuickstart(t *testing.T) {
	signInThrough(t, quickstart)
	if _, err := os.Stat(filepath.Join(".", "socialauth.db")); err != nil {
		t.Errorf("default SQLite database: %v", err)
	}
}

// TestNewRefusesBadSettings: a mistyped or missing setting stops New,
// naming it, and creates no database.
func TestNewRefusesBadSettings(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  settings.Map
		base string
		want []string
	}{
		{"nothing set", settings.Map{}, "http://127.0.0.1:8000",
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_EDX_OAUTH2_KEY", "SOCIAL_AUTH_EDX_OAUTH2_SECRET"}},
		{"malformed values", settings.Map{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":  "not a url",
			"SOCIAL_AUTH_EDX_OAUTH2_KEY":       "k",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET":    "s",
			"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL": "abc",
			"SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE":  "maybe",
		}, "http://127.0.0.1:8000",
			[]string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL", "SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE"}},
		{"https redirect URIs over an http base URL", settings.Map{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://lms.example.com",
			"SOCIAL_AUTH_EDX_OAUTH2_KEY":      "k",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET":   "s",
			"SOCIAL_AUTH_REDIRECT_IS_HTTPS":   true,
		}, "http://127.0.0.1:8000", []string{"SOCIAL_AUTH_REDIRECT_IS_HTTPS"}},
		{"short field encryption key", settings.Map{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":   "https://lms.example.com",
			"SOCIAL_AUTH_EDX_OAUTH2_KEY":        "k",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET":     "s",
			"SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS": "c2l4dGVlbiBieXRlIGtleQ==",
		}, "http://127.0.0.1:8000", []string{"SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS", "16 bytes"}},
		{"malformed field encryption key", settings.Map{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":   "https://lms.example.com",
			"SOCIAL_AUTH_EDX_OAUTH2_KEY":        "k",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET":     "s",
			"SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS": "not a url",
		}, "http://127.0.0.1:8000", []string{"SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS", "not base64"}},
		{"unknown pipeline step", settings.Map{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://lms.example.com",
			"SOCIAL_AUTH_EDX_OAUTH2_KEY":      "k",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET":   "s",
			"SOCIAL_AUTH_PIPELINE":            []string{"social_core.pipeline.social_auth.social_detals"},
		}, "http://127.0.0.1:8000", []string{"social_detals"}},
		{"no base URL", settings.Map{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://lms.example.com",
			"SOCIAL_AUTH_EDX_OAUTH2_KEY":      "k",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET":   "s",
		}, "", []string{"BaseURL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := "sqlite:" + filepath.Join(dir, "app.db")
			_, err := edxsso.New(context.Background(), edxsso.Options{BaseURL: tc.base, DatabaseURL: db, Settings: settings.New(tc.set)})
			if err == nil {
				t.Fatal("New succeeded")
			}
			if !errors.Is(err, socialauth.CodeImproperlyConfigured) {
				t.Errorf("error %v is not ImproperlyConfigured", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %s", err, w)
				}
			}
			if strings.Contains(err.Error(), "not a url") {
				t.Errorf("error %q quotes a value", err)
			}
		})
	}
}

// TestPrefixReachesRedirectURI: routes under /auth send the provider a
// redirect_uri under /auth, and the sign-in completes there.
func TestPrefixReachesRedirectURI(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	l := fakelms.NewServer(t, fakelms.Options{Clients: []fakelms.Client{{
		ID: "svc", Secret: "svc-secret", RedirectURIs: []string{base + "/auth/complete/edx-oauth2/"},
	}}})
	l.AutoApprove("jsmith")
	sso, err := edxsso.New(context.Background(), edxsso.Options{
		BaseURL: base, Prefix: "/auth", DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "app.db"),
		Settings: settings.New(settings.Map{
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": l.URL(), "SOCIAL_AUTH_EDX_OAUTH2_KEY": "svc",
			"SOCIAL_AUTH_EDX_OAUTH2_SECRET": "svc-secret", "SOCIAL_AUTH_LOGIN_REDIRECT_URL": "/whoami",
		}),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sso.Close()
	mux := http.NewServeMux()
	sso.Mount(mux)
	mux.Handle("GET /whoami", sso.LoadUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u := views.CurrentUser(r); u != nil {
			fmt.Fprint(w, u.Username)
		}
	})))
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	resp, err := (&http.Client{Jar: jar}).Get(base + "/auth/login/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "jsmith" {
		t.Fatalf("sign-in under /auth: %d %q (at %s)", resp.StatusCode, body, resp.Request.URL)
	}
}

// TestQuickstartDoc: docs/quickstart.md shows quickstart's lines, in
// order, and at most 25 lines of wiring.
func TestQuickstartDoc(t *testing.T) {
	doc, err := os.ReadFile("../../docs/quickstart.md")
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile("edxsso_test.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, mark := range []string{"quickstart", "byhand"} {
		begin, end := "\t// "+mark+":begin\n", "\t// "+mark+":end\n"
		want, got := between(string(src), begin, end), between(string(doc), begin, end)
		if want == "" || got == "" {
			t.Fatalf("%s markers missing (test %d bytes, doc %d bytes)", mark, len(want), len(got))
		}
		if got != want {
			t.Errorf("docs/quickstart.md's %s differs from the tested code:\n--- doc\n%s--- test\n%s", mark, got, want)
		}
		if n := strings.Count(want, "\n"); mark == "quickstart" && n > 25 {
			t.Errorf("the quickstart's wiring is %d lines, want at most 25", n)
		}
	}
}

func between(s, begin, end string) string {
	i := strings.Index(s, begin)
	if i < 0 {
		return ""
	}
	s = s[i+len(begin):]
	j := strings.Index(s, end)
	if j < 0 {
		return ""
	}
	return s[:j]
}

// TestMoreBackendsReportedTogether: a bad setting of an extra backend is
// reported with the edX backend's, before any database is created, and the
// extra backend reads the same settings.
func TestMoreBackendsReportedTogether(t *testing.T) {
	dir := t.TempDir()
	var saw *settings.Settings
	_, err := edxsso.New(context.Background(), edxsso.Options{
		BaseURL: "http://127.0.0.1:8000", DatabaseURL: "sqlite:" + filepath.Join(dir, "app.db"),
		Settings: settings.New(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL": "abc"}),
		Backends: []edxsso.BackendFunc{func(s *settings.Settings, _ socialauth.NonceStorage) (socialauth.Backend, error) {
			saw = s
			return nil, &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: "other",
				Err: &settings.MissingError{Key: "SOCIAL_AUTH_OTHER_KEY"}}
		}},
	})
	for _, w := range []string{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL", "SOCIAL_AUTH_OTHER_KEY"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not name %s", err, w)
		}
	}
	if saw == nil || !saw.IsSet(edx.Name, "PIPELINE") {
		t.Error("the extra backend did not get the settings with the edX defaults")
	}
	if _, err := os.Stat(filepath.Join(dir, "app.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a database was created although the settings are bad: %v", err)
	}
}

// TestCallbackURL: the URL to register at the LMS follows the base URL and
// the prefix.
func TestCallbackURL(t *testing.T) {
	sso, err := edxsso.New(context.Background(), edxsso.Options{
		BaseURL: "https://svc.example.com/app", Prefix: "/auth", DatabaseURL: "sqlite:" + filepath.Join(t.TempDir(), "app.db"),
		Settings: settings.New(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://lms.example.com",
			"SOCIAL_AUTH_EDX_OAUTH2_KEY": "k", "SOCIAL_AUTH_EDX_OAUTH2_SECRET": "s"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sso.Close()
	if got, want := sso.CallbackURL(edx.Name), "https://svc.example.com/app/auth/complete/edx-oauth2/"; got != want {
		t.Errorf("CallbackURL = %q, want %q", got, want)
	}
}
