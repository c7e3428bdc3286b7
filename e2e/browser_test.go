package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/socialauth-go/socialauth/testutil"
)

// Environment variables read by the test.
const (
	envChromium = "SOCIALAUTH_TEST_CHROMIUM"
	envCI       = "CI"
	// envScreenshots, when set, is a directory that receives a copy of the
	// screenshots (they always go to the test's temporary directory).
	envScreenshots = "SOCIALAUTH_E2E_SCREENSHOT_DIR"
	defaultChrome  = "/usr/bin/chromium"
)

// chromiumPath finds Chromium, or skips (fails under CI=true).
func chromiumPath(t *testing.T) string {
	t.Helper()
	if p := strings.TrimSpace(os.Getenv(envChromium)); p != "" {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s: %v", envChromium, p, err)
		}
		return p
	}
	if _, err := os.Stat(defaultChrome); err == nil {
		return defaultChrome
	}
	msg := fmt.Sprintf("no Chromium: set %s or install Debian's chromium package (bash .ci/services)", envChromium)
	if os.Getenv(envCI) == "true" {
		t.Fatal(msg + "; CI=true requires the browser test")
	}
	t.Skip(msg)
	return ""
}

// goTool returns the go command: go on PATH, else $GOROOT/bin/go (go test
// sets GOROOT for the tests it runs).
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	if root := os.Getenv("GOROOT"); root != "" {
		return filepath.Join(root, "bin", "go")
	}
	return "go"
}

// buildDemo builds cmd/demo into a temporary directory: the binary a user
// gets from go build ./cmd/demo.
func buildDemo(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "demo")
	cmd := exec.Command(goTool(), "build", "-o", bin, "github.com/socialauth-go/socialauth/cmd/demo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/demo: %v\n%s", err, out)
	}
	return bin
}

// runningDemo is a demo process.
type runningDemo struct {
	baseURL, lmsURL string
	logs            *testutil.LogBuffer
}

// bannerPattern matches the demo's start-up line on stdout.
const bannerPattern = `open (http://127\.0\.0\.1:\d+)/ \(embedded fake LMS at (http://127\.0\.0\.1:\d+)`

// startDemo runs the binary on free loopback ports with a fresh SQLite
// database, and stops it with SIGTERM when the test ends, checking that it
// exits cleanly.
func startDemo(t *testing.T, bin string) *runningDemo {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command(bin, "-addr", "127.0.0.1:0", "-lms-addr", "127.0.0.1:0", "-log-level", "debug")
	cmd.Dir = dir
	// Only what the demo needs: no SOCIAL_AUTH_* from the caller's shell.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "DATABASE_URL=sqlite:" + filepath.Join(dir, "demo.db")}
	d := &runningDemo{logs: &testutil.LogBuffer{}}
	cmd.Stderr = d.logs
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	found := make(chan []string, 1)
	banner := regexp.MustCompile(bannerPattern)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := banner.FindStringSubmatch(sc.Text()); m != nil {
				found <- m
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
	}()
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("demo exited uncleanly after SIGTERM: %v\nlogs:\n%s", err, d.logs)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Errorf("demo did not stop within 20s of SIGTERM")
		}
	})
	select {
	case m := <-found:
		d.baseURL, d.lmsURL = m[1], m[2]
	case err := <-exited:
		t.Fatalf("demo exited at start-up: %v\nlogs:\n%s", err, d.logs)
	case <-time.After(60 * time.Second):
		t.Fatalf("demo did not announce itself within 60s\nlogs:\n%s", d.logs)
	}
	return d
}

// browserContext starts headless Chromium with a fresh profile.
func browserContext(t *testing.T, chrome string) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chrome),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 768),
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx, chromedp.WithErrorf(t.Logf))
	timeoutCtx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() {
		cancelTimeout()
		cancelCtx()
		cancelAlloc()
	})
	return timeoutCtx
}

// screenshot saves a full-page screenshot into the test's temporary
// directory (and into $SOCIALAUTH_E2E_SCREENSHOT_DIR when set).
func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if len(png) < 1000 {
		t.Fatalf("screenshot %s is suspiciously small (%d bytes)", name, len(png))
	}
	dirs := []string{dir}
	if extra := os.Getenv(envScreenshots); extra != "" {
		dirs = append(dirs, extra)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Errorf("screenshot directory: %v", err)
			continue
		}
		if err := os.WriteFile(filepath.Join(d, name), png, 0o644); err != nil {
			t.Errorf("saving screenshot: %v", err)
		}
	}
	t.Logf("screenshot: %s", filepath.Join(dir, name))
}

// page reads what the test checks on the current page.
type page struct {
	location, status string
}

func readPage(ctx context.Context) (page, error) {
	var p page
	var err error
	if p.location, err = chromedp.Run(ctx, chromedp.Location()); err != nil {
		return p, err
	}
	p.status, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#status")))
	return p, err
}

// TestBrowserSignInSignOut opens the demo in headless Chromium, clicks
// "Sign in", types a username at the fake LMS, submits, lands back signed in
// with the name on the page, signs out and lands signed out.
func TestBrowserSignInSignOut(t *testing.T) {
	chrome := chromiumPath(t)
	d := startDemo(t, buildDemo(t))
	ctx := browserContext(t, chrome)
	shots := t.TempDir()
	fail := func(step string, err error) {
		t.Helper()
		t.Fatalf("%s: %v\ndemo logs:\n%s", step, err, d.logs)
	}

	// Open / signed out.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.baseURL+"/"),
		chromedp.WaitVisible(chromedp.CSS("a#signin")),
	); err != nil {
		fail("open /", err)
	}
	p, err := readPage(ctx)
	if err != nil {
		fail("read /", err)
	}
	if p.status != "You are not signed in." {
		t.Fatalf("home page status = %q, want not signed in", p.status)
	}
	screenshot(t, ctx, shots, "1-signed-out.png")

	// Click "Sign in": the fake LMS's sign-in page.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("a#signin")),
		chromedp.WaitVisible(chromedp.CSS("input#username")),
	); err != nil {
		fail("click sign in", err)
	}
	lmsLocation, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		fail("read the LMS location", err)
	}
	if !strings.HasPrefix(lmsLocation, d.lmsURL+"/oauth2/authorize") {
		t.Fatalf("sign in led to %s, want the fake LMS's authorize page at %s", lmsLocation, d.lmsURL)
	}
	screenshot(t, ctx, shots, "2-lms-sign-in.png")

	// Type a username, submit, land back signed in.
	const username = "ada.lovelace"
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("input#username"), username),
		chromedp.Click(chromedp.CSS("button#signin")),
		chromedp.WaitVisible(chromedp.CSS("strong#username")),
	); err != nil {
		fail("sign in at the fake LMS", err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("strong#username")))
	if err != nil {
		fail("read the user name", err)
	}
	if p, err = readPage(ctx); err != nil {
		fail("read the signed-in page", err)
	}
	if shown != username || !strings.HasPrefix(p.status, "Signed in as "+username) {
		t.Errorf("signed-in page shows %q (status %q), want %q", shown, p.status, username)
	}
	if p.location != d.baseURL+"/" {
		t.Errorf("after sign-in the browser is at %s, want %s/", p.location, d.baseURL)
	}
	screenshot(t, ctx, shots, "3-signed-in.png")

	// /me answers the same user, as JSON, without tokens.
	if err := chromedp.Do(ctx, chromedp.Navigate(d.baseURL+"/me")); err != nil {
		fail("open /me", err)
	}
	meBody, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		fail("read /me", err)
	}
	if !strings.Contains(meBody, `"username":"`+username+`"`) || strings.Contains(meBody, "token") {
		t.Errorf("/me = %s", meBody)
	}

	// Click "Sign out": through the LMS's logout and back, signed out.
	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.baseURL+"/"),
		chromedp.WaitVisible(chromedp.CSS("a#signout")),
		chromedp.Click(chromedp.CSS("a#signout")),
		chromedp.WaitVisible(chromedp.CSS("a#signin")),
	); err != nil {
		fail("sign out", err)
	}
	if p, err = readPage(ctx); err != nil {
		fail("read the signed-out page", err)
	}
	if p.status != "You are not signed in." || p.location != d.baseURL+"/" {
		t.Errorf("after sign-out: status %q at %s, want not signed in at %s/", p.status, p.location, d.baseURL)
	}
	screenshot(t, ctx, shots, "4-signed-out-again.png")

	if err := chromedp.Do(ctx, chromedp.Navigate(d.baseURL+"/me")); err != nil {
		fail("open /me after sign-out", err)
	}
	if meBody, err = chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body"))); err != nil {
		fail("read /me after sign-out", err)
	}
	if !strings.Contains(meBody, `"error":"not_authenticated"`) {
		t.Errorf("/me after sign-out = %s", meBody)
	}
	logs := d.logs.String()
	if !strings.Contains(logs, `msg="demo: signed in" backend=edx-oauth2`) || !strings.Contains(logs, "/logout") {
		t.Errorf("the demo's logs show no sign-in and sign-out:\n%s", logs)
	}
}
