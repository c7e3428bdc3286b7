package main

import (
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil"
)

// envMap is a lookupEnv over a map.
func envMap(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

// demo is a running demo.
type demo struct {
	started
	logs    *testutil.LogBuffer
	stdout  *testutil.LogBuffer
	keyFile string // the field encryption key file
}

// startDemo runs the demo on free loopback ports with env (a temporary
// SQLite database unless env sets DATABASE_URL) and stops it when the test
// ends, failing the test if it does not stop cleanly.
func startDemo(t *testing.T, env map[string]string, args ...string) *demo {
	t.Helper()
	if env == nil {
		env = map[string]string{}
	}
	if _, ok := env[EnvDatabaseURL]; !ok {
		env[EnvDatabaseURL] = "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	}
	if _, ok := env[EnvFieldKeyFile]; !ok {
		env[EnvFieldKeyFile] = filepath.Join(t.TempDir(), "field.key")
	}
	args = append([]string{"-addr", "127.0.0.1:0", "-lms-addr", "127.0.0.1:0"}, args...)
	d := &demo{logs: &testutil.LogBuffer{}, stdout: &testutil.LogBuffer{}, keyFile: env[EnvFieldKeyFile]}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan started, 1)
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, args, envMap(env), d.stdout, d.logs, func(s started) { ready <- s })
	}()
	select {
	case d.started = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("demo did not start: %v\nlogs:\n%s", err, d.logs)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("demo did not start in 30s\nlogs:\n%s", d.logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("demo stopped with an error: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Errorf("demo did not stop within 30s of cancellation")
		}
	})
	return d
}

// browser is an HTTP client with a cookie jar that records every URL it
// was redirected to.
type browser struct {
	t      *testing.T
	c      *http.Client
	mu     sync.Mutex
	visits []*url.URL
}

func newBrowser(t *testing.T) *browser {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &browser{t: t}
	b.c = &http.Client{Jar: jar, Timeout: 30 * time.Second}
	b.c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		b.mu.Lock()
		b.visits = append(b.visits, req.URL)
		b.mu.Unlock()
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}
	return b
}

// noRedirects returns a client sharing the jar that does not follow redirects.
func (b *browser) noRedirects() *http.Client {
	return &http.Client{Jar: b.c.Jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

type page struct {
	status int
	url    *url.URL
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request, c *http.Client) page {
	b.t.Helper()
	if c == nil {
		c = b.c
	}
	resp, err := c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatalf("%s %s: reading body: %v", req.Method, req.URL, err)
	}
	return page{status: resp.StatusCode, url: resp.Request.URL, header: resp.Header, body: string(body)}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req, nil)
}

// getNoFollow GETs u without following a redirect.
func (b *browser) getNoFollow(u string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req, b.noRedirects())
}

func (b *browser) postForm(u string, form url.Values, c *http.Client) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req, c)
}

// cookie returns the value of the cookie name the jar holds for u.
func (b *browser) cookie(u, name string) string {
	pu, err := url.Parse(u)
	if err != nil {
		b.t.Fatal(err)
	}
	for _, c := range b.c.Jar.Cookies(pu) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// visited lists every URL the browser was redirected to.
func (b *browser) visited() []*url.URL {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]*url.URL(nil), b.visits...)
}

var hiddenInput = regexp.MustCompile(`<input type="hidden" name="([^"]*)" value="([^"]*)">`)

// signInForm reads the fake LMS's sign-in form: its action and hidden fields.
func signInForm(t *testing.T, p page) (string, url.Values) {
	t.Helper()
	if p.status != http.StatusOK || !strings.Contains(p.body, `id="username"`) {
		t.Fatalf("not the LMS sign-in page: %d %s\n%s", p.status, p.url, p.body)
	}
	m := regexp.MustCompile(`<form method="post" action="([^"]*)">`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no form on the sign-in page:\n%s", p.body)
	}
	action, err := p.url.Parse(html.UnescapeString(m[1]))
	if err != nil {
		t.Fatal(err)
	}
	form := url.Values{}
	for _, f := range hiddenInput.FindAllStringSubmatch(p.body, -1) {
		form.Add(html.UnescapeString(f[1]), html.UnescapeString(f[2]))
	}
	return action.String(), form
}

// signIn goes from the demo's sign-in link through the fake LMS's sign-in
// page (POSTing its form as username) and back; it returns the final page.
func (b *browser) signIn(base, username string) page {
	b.t.Helper()
	action, form := signInForm(b.t, b.get(base+"/login/?next=/"))
	form.Set("username", username)
	return b.postForm(action, form, nil)
}

// me GETs /me and decodes it.
func (b *browser) me(base string) (int, map[string]any) {
	b.t.Helper()
	p := b.get(base + "/me")
	if ct := p.header.Get("Content-Type"); ct != "application/json" {
		b.t.Fatalf("/me Content-Type = %q, want application/json", ct)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(p.body), &v); err != nil {
		b.t.Fatalf("/me is not JSON: %v\n%s", err, p.body)
	}
	return p.status, v
}

// openDemoStore opens the database of a demo with the keys of its key file,
// as the demo reads them.
func openDemoStore(t *testing.T, dbURL, keyFile string) *storage.Store {
	t.Helper()
	data, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := storage.ParseFieldKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	s, err := storage.Open(context.Background(), dbURL, storage.Options{FieldKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// targetDatabaseURL is the demo's DATABASE_URL for a test database: a new
// SQLite file named file when env is "", else a fresh database of target
// on the server env's DSN names; the test is skipped when env is unset,
// and fails when it is unset under CI=true.
func targetDatabaseURL(t *testing.T, target, env, file string) string {
	t.Helper()
	if env == "" {
		return "sqlite:" + filepath.Join(t.TempDir(), file)
	}
	dsn := strings.TrimSpace(os.Getenv(env))
	if dsn == "" {
		if os.Getenv(dbtest.EnvCI) == "true" {
			t.Fatalf("CI=true but %s is not set", env)
		}
		t.Skipf("%s not set (see .ci/services)", env)
	}
	return dbtest.Fresh(t, dbtest.Target{Name: target, DSN: dsn})
}
