// Command loadtest drives full edX sign-in flows against a running demo
// (cmd/demo) and its embedded fake LMS, over loopback only, and prints the
// throughput and latency percentiles.
//
//	go run ./cmd/demo &                       # 127.0.0.1:8000, LMS on :18000
//	go run ./cmd/loadtest -n 2000 -c 8        # -url http://127.0.0.1:8000
//
// One flow is what a browser does, with a cookie jar of its own:
// GET /login/edx-oauth2/?next=/me → the LMS's /oauth2/authorize (the
// sign-in page; when the LMS auto-approves, its redirect is followed
// instead) → POST the sign-in form as one of -users usernames → GET the
// /complete/edx-oauth2/ callback → GET /me, which must answer 200 with that
// username. Connections are kept alive across flows, as browsers and
// proxies do.
//
// The run stops after -n flows or -duration, whichever comes first. Every
// URL it is sent to — -url and every redirect — must be on a loopback host
// (127.0.0.0/8, ::1 or localhost): this is not a tool for other people's
// servers.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	base     *url.URL
	backend  string
	n, c     int
	users    int
	first    bool
	duration time.Duration
	timeout  time.Duration
}

// Limits of the flags.
const (
	maxFlows       = 10_000_000
	maxConcurrency = 1024
	maxBody        = 1 << 20
)

// ErrNotLoopback is returned for a target (or redirect) off the loopback
// interface.
var ErrNotLoopback = errors.New("only loopback targets are allowed (127.0.0.0/8, ::1, localhost)")

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	fs := flag.NewFlagSet("loadtest", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", "http://127.0.0.1:8000", "base URL of the running demo (loopback only)")
	c := &config{}
	fs.StringVar(&c.backend, "backend", "edx-oauth2", "backend to sign in with")
	fs.IntVar(&c.n, "n", 1000, "number of flows")
	fs.IntVar(&c.c, "c", 4, "concurrent flows")
	fs.IntVar(&c.users, "users", 100, "distinct LMS usernames the flows cycle through (returning users after the first round)")
	fs.BoolVar(&c.first, "first", false, "give every flow a new username (first logins only)")
	fs.DurationVar(&c.duration, "duration", time.Minute, "stop after this long even if -n flows have not run")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "timeout of one HTTP request")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: loadtest [flags]\n\nDrives full sign-in flows against a running demo and its fake LMS (loopback only).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected arguments: %q", fs.Args())
	}
	switch {
	case c.n < 1 || c.n > maxFlows:
		return nil, fmt.Errorf("-n must be between 1 and %d", maxFlows)
	case c.c < 1 || c.c > maxConcurrency:
		return nil, fmt.Errorf("-c must be between 1 and %d", maxConcurrency)
	case c.users < 1:
		return nil, errors.New("-users must be at least 1")
	case c.duration <= 0 || c.timeout <= 0:
		return nil, errors.New("-duration and -timeout must be positive")
	case c.backend == "" || strings.ContainsAny(c.backend, "/?#%"):
		return nil, errors.New("-backend must be a plain backend name")
	}
	u, err := url.Parse(*rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, errors.New("-url must be an http(s) URL such as http://127.0.0.1:8000")
	}
	if err := checkLoopback(u); err != nil {
		return nil, fmt.Errorf("-url: %w", err)
	}
	u.Path, u.RawPath, u.RawQuery, u.Fragment = strings.TrimRight(u.Path, "/"), "", "", ""
	c.base = u
	return c, nil
}

// checkLoopback refuses any host that is not a loopback address.
func checkLoopback(u *url.URL) error {
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return ErrNotLoopback
	}
	return nil
}

// flowResult is one flow: its latency, the callback's latency, its error.
type flowResult struct {
	total, complete time.Duration
	err             error
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()

	transport := &http.Transport{
		Proxy:               nil, // never through a proxy: loopback only
		DialContext:         (&net.Dialer{Timeout: cfg.timeout}).DialContext,
		MaxIdleConns:        4 * cfg.c,
		MaxIdleConnsPerHost: 2 * cfg.c,
		IdleConnTimeout:     time.Minute,
	}
	defer transport.CloseIdleConnections()

	// Check the demo answers before starting the clock.
	if err := preflight(ctx, cfg, transport); err != nil {
		return err
	}

	results := make([]flowResult, 0, cfg.n)
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	started := time.Now()
	for range cfg.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(cfg.n) {
					return
				}
				r := flow(ctx, cfg, transport, i)
				if r.err != nil && ctx.Err() != nil {
					return // cut off by -duration: not a failure of the demo
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(started)
	report(stdout, cfg, results, elapsed)
	if len(results) == 0 {
		return errors.New("no flow finished (is the demo running? see -url)")
	}
	for _, r := range results {
		if r.err == nil {
			return nil
		}
	}
	return errors.New("every flow failed")
}

func preflight(ctx context.Context, cfg *config, t http.RoundTripper) error {
	c := &http.Client{Transport: t, Timeout: cfg.timeout, CheckRedirect: noRedirects}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, cfg.base.String()+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("the demo does not answer at %s: %w", cfg.base, err)
	}
	drain(res)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/healthz answered %d", cfg.base, res.StatusCode)
	}
	return nil
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func drain(res *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, maxBody))
	_ = res.Body.Close()
}

// username of flow i.
func username(cfg *config, i int64) string {
	if cfg.first {
		return fmt.Sprintf("lt%d_%d", time.Now().UnixNano()%1_000_000_000, i)
	}
	return fmt.Sprintf("loaduser%d", i%int64(cfg.users))
}

// flow runs one sign-in as a new browser.
func flow(ctx context.Context, cfg *config, t http.RoundTripper, i int64) flowResult {
	jar, _ := cookiejar.New(nil) // never fails without options
	c := &http.Client{Transport: t, Jar: jar, Timeout: cfg.timeout, CheckRedirect: noRedirects}
	user := username(cfg, i)
	start := time.Now()
	var completeTook time.Duration
	err := func() error {
		// 1. The service sends the browser to the LMS.
		authz, err := expectRedirect(ctx, c, http.MethodGet, cfg.base.String()+"/login/"+cfg.backend+"/?next=%2Fme", nil)
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		// 2. The LMS: its sign-in page, then the form; or an auto-approving
		// LMS's redirect straight back.
		callback, err := signIn(ctx, c, authz, user)
		if err != nil {
			return fmt.Errorf("authorize: %w", err)
		}
		if !strings.HasPrefix(callback.Path, cfg.base.Path+"/complete/") {
			return fmt.Errorf("authorize: redirected to %s, not the complete view", callback.Path)
		}
		// 3. The callback: the login completes.
		t0 := time.Now()
		landing, err := expectRedirect(ctx, c, http.MethodGet, callback.String(), nil)
		completeTook = time.Since(t0)
		if err != nil {
			return fmt.Errorf("complete: %w", err)
		}
		if landing.Path != cfg.base.Path+"/me" {
			return fmt.Errorf("complete: landed on %s, want /me", landing.Path)
		}
		// 4. Signed in.
		return checkMe(ctx, c, landing.String(), user)
	}()
	return flowResult{total: time.Since(start), complete: completeTook, err: err}
}

// expectRedirect sends one request and returns the absolute, loopback
// Location of its 302/303.
func expectRedirect(ctx context.Context, c *http.Client, method, target string, form url.Values) (*url.URL, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	drain(res)
	if res.StatusCode != http.StatusFound && res.StatusCode != http.StatusSeeOther {
		return nil, fmt.Errorf("status %d, want a redirect", res.StatusCode)
	}
	loc, err := res.Location()
	if err != nil {
		return nil, fmt.Errorf("redirect without a usable Location: %w", err)
	}
	if err := checkLoopback(loc); err != nil {
		return nil, fmt.Errorf("redirect to %s refused: %w", loc.Host, err)
	}
	return loc, nil
}

// signIn answers the LMS's authorize step as username and returns the
// callback URL.
func signIn(ctx context.Context, c *http.Client, authz *url.URL, user string) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, authz.String(), nil)
	if err != nil {
		return nil, err
	}
	res, err := c.Do(req)
	if err != nil {
		return nil, err
	}
	drain(res)
	switch res.StatusCode {
	case http.StatusFound, http.StatusSeeOther: // auto-approve
		loc, err := res.Location()
		if err != nil {
			return nil, err
		}
		if err := checkLoopback(loc); err != nil {
			return nil, fmt.Errorf("redirect to %s refused: %w", loc.Host, err)
		}
		return loc, nil
	case http.StatusOK:
	default:
		return nil, fmt.Errorf("sign-in page: status %d", res.StatusCode)
	}
	// The sign-in form posts the authorize parameters back with the
	// username (the fake LMS's hidden fields are exactly the query).
	form := authz.Query()
	form.Set("username", user)
	post := *authz
	post.RawQuery = ""
	return expectRedirect(ctx, c, http.MethodPost, post.String(), form)
}

func checkMe(ctx context.Context, c *http.Client, target, user string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("/me: %w", err)
	}
	defer drain(res)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("/me: status %d", res.StatusCode)
	}
	var me struct {
		Username string `json:"username"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxBody)).Decode(&me); err != nil {
		return fmt.Errorf("/me: %w", err)
	}
	if me.Username != user {
		return fmt.Errorf("/me: signed in as %q, want %q", me.Username, user)
	}
	return nil
}

// Summary is what report prints.
type Summary struct {
	OK, Failed      int
	Elapsed         time.Duration
	FlowsPerSecond  float64
	Flow, Complete  Percentiles
	FirstErrors     []string
	DistinctErrors  int
	Concurrency     int
	FirstLoginsOnly bool
}

// Percentiles of a latency sample.
type Percentiles struct{ P50, P90, P99, Max time.Duration }

// percentiles uses the nearest-rank method on a sorted copy.
func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	s := slices.Clone(d)
	slices.Sort(s)
	rank := func(p float64) time.Duration {
		i := int(p*float64(len(s))+0.999999) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Percentiles{P50: rank(0.50), P90: rank(0.90), P99: rank(0.99), Max: s[len(s)-1]}
}

func summarize(cfg *config, results []flowResult, elapsed time.Duration) Summary {
	s := Summary{Elapsed: elapsed, Concurrency: cfg.c, FirstLoginsOnly: cfg.first}
	var flows, completes []time.Duration
	errs := map[string]int{}
	for _, r := range results {
		if r.err != nil {
			s.Failed++
			errs[r.err.Error()]++
			continue
		}
		s.OK++
		flows = append(flows, r.total)
		completes = append(completes, r.complete)
	}
	if elapsed > 0 {
		s.FlowsPerSecond = float64(s.OK) / elapsed.Seconds()
	}
	s.Flow, s.Complete = percentiles(flows), percentiles(completes)
	keys := make([]string, 0, len(errs))
	for k := range errs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return errs[keys[i]] > errs[keys[j]] })
	s.DistinctErrors = len(keys)
	for _, k := range keys[:min(len(keys), 5)] {
		s.FirstErrors = append(s.FirstErrors, fmt.Sprintf("%d× %s", errs[k], k))
	}
	return s
}

func report(w io.Writer, cfg *config, results []flowResult, elapsed time.Duration) {
	s := summarize(cfg, results, elapsed)
	kind := fmt.Sprintf("returning users (%d usernames)", cfg.users)
	if cfg.first {
		kind = "first logins"
	}
	fmt.Fprintf(w, "target      %s (%s)\n", cfg.base, kind)
	fmt.Fprintf(w, "flows       %d ok, %d failed, concurrency %d, %.2fs\n", s.OK, s.Failed, s.Concurrency, s.Elapsed.Seconds())
	fmt.Fprintf(w, "throughput  %.1f flows/s\n", s.FlowsPerSecond)
	fmt.Fprintf(w, "flow        p50 %s  p90 %s  p99 %s  max %s\n", ms(s.Flow.P50), ms(s.Flow.P90), ms(s.Flow.P99), ms(s.Flow.Max))
	fmt.Fprintf(w, "complete    p50 %s  p90 %s  p99 %s  max %s\n", ms(s.Complete.P50), ms(s.Complete.P90), ms(s.Complete.P99), ms(s.Complete.Max))
	for _, e := range s.FirstErrors {
		fmt.Fprintf(w, "error       %s\n", e)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
