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
// With -url a,b (several instances of one service), flow i goes to the
// i-th URL round robin; the LMS must accept every one's callback.
//
// Measured from outside, as an operator would (docs/performance.md,
// bench/process.sh): -pid (comma list: the service's processes) and
// -lms-pid read utime+stime from /proc/<pid>/stat before the first flow
// and after the last, and print the CPU per sign-in of each side and the
// service's RSS at the end; -pg-dsn (the service's PostgreSQL database,
// pg_stat_statements loaded) prints the SQL statements per sign-in (all
// requests, session store included, transaction control excluded). -me-only
// signs each of the -c browsers in once before the clock and then times
// only GET /me (statements per /me). -json prints the summary as one JSON
// object instead of the text.
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
	"runtime"
	"slices"
	"sort"
	"strconv"
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
	targets  []*url.URL // -url, one or more
	pids     []int      // -pid: the service's processes
	lmsPIDs  []int      // -lms-pid
	pgDSN    string
	meOnly   bool
	asJSON   bool
	procRoot string // "/proc"
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
	rawURL := fs.String("url", "http://127.0.0.1:8000", "base URL of the running demo (loopback only); a comma list spreads the flows over several instances")
	pids := fs.String("pid", "", "process id(s) of the service, comma list: CPU per sign-in and RSS from /proc")
	lmsPIDs := fs.String("lms-pid", "", "process id(s) of the LMS, comma list: its CPU per sign-in from /proc")
	c := &config{procRoot: "/proc"}
	fs.StringVar(&c.pgDSN, "pg-dsn", "", "the service's PostgreSQL database (pg_stat_statements): SQL statements per sign-in")
	fs.BoolVar(&c.meOnly, "me-only", false, "sign each concurrent browser in once before the clock, then time GET /me only")
	fs.BoolVar(&c.asJSON, "json", false, "print the summary as JSON")
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
	for raw := range strings.SplitSeq(*rawURL, ",") {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
			return nil, errors.New("-url must be an http(s) URL such as http://127.0.0.1:8000 (or a comma list of them)")
		}
		if err := checkLoopback(u); err != nil {
			return nil, fmt.Errorf("-url: %w", err)
		}
		u.Path, u.RawPath, u.RawQuery, u.Fragment = strings.TrimRight(u.Path, "/"), "", "", ""
		c.targets = append(c.targets, u)
	}
	var err error
	if c.pids, err = parsePIDs("-pid", *pids); err != nil {
		return nil, err
	}
	if c.lmsPIDs, err = parsePIDs("-lms-pid", *lmsPIDs); err != nil {
		return nil, err
	}
	return c, nil
}

// parsePIDs reads a comma list of process ids ("" is none).
func parsePIDs(name, list string) ([]int, error) {
	var out []int
	if strings.TrimSpace(list) == "" {
		return nil, nil
	}
	for f := range strings.SplitSeq(list, ",") {
		pid, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || pid < 1 {
			return nil, fmt.Errorf("%s: %q is not a process id", name, f)
		}
		out = append(out, pid)
	}
	return out, nil
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

	// Check every instance answers before starting the clock.
	for _, target := range cfg.targets {
		if err := preflight(ctx, cfg, target, transport); err != nil {
			return err
		}
	}
	// -me-only: one signed-in browser per worker, and its username.
	var signedIn []*http.Client
	var signedAs []string
	if cfg.meOnly {
		for w := range cfg.c {
			user := username(cfg, int64(w))
			r, c := signInFlow(ctx, cfg, transport, int64(w), user)
			if r.err != nil {
				return fmt.Errorf("-me-only: signing in: %w", r.err)
			}
			signedIn, signedAs = append(signedIn, c), append(signedAs, user)
		}
	}
	var pg *pgCounter
	if cfg.pgDSN != "" {
		if pg, err = openPGCounter(ctx, cfg.pgDSN); err != nil {
			return err
		}
		defer pg.Close()
	}
	before, err := takeSample(ctx, cfg, pg)
	if err != nil {
		return err
	}

	results := make([]flowResult, 0, cfg.n)
	var mu sync.Mutex
	var next atomic.Int64
	var wg sync.WaitGroup
	started := time.Now()
	for w := range cfg.c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(cfg.n) {
					return
				}
				var r flowResult
				if cfg.meOnly {
					r = meOnly(ctx, signedIn[w], cfg.targets[w%len(cfg.targets)], signedAs[w])
				} else {
					r = flow(ctx, cfg, transport, i)
				}
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
	after, err := takeSample(context.WithoutCancel(ctx), cfg, pg)
	if err != nil {
		return err
	}
	s := summarize(cfg, results, elapsed)
	s.measure(cfg, before, after)
	if cfg.asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(s); err != nil {
			return err
		}
	} else {
		report(stdout, cfg, s)
	}
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

func preflight(ctx context.Context, cfg *config, base *url.URL, t http.RoundTripper) error {
	c := &http.Client{Transport: t, Timeout: cfg.timeout, CheckRedirect: noRedirects}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base.String()+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("the demo does not answer at %s: %w", base, err)
	}
	drain(res)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/healthz answered %d", base, res.StatusCode)
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

// flow runs one sign-in as a new browser, at target i of -url.
func flow(ctx context.Context, cfg *config, t http.RoundTripper, i int64) flowResult {
	r, _ := signInFlow(ctx, cfg, t, i, username(cfg, i))
	return r
}

// meOnly is one GET /me of a signed-in browser.
func meOnly(ctx context.Context, c *http.Client, base *url.URL, user string) flowResult {
	start := time.Now()
	err := checkMe(ctx, c, base.String()+"/me", user)
	return flowResult{total: time.Since(start), err: err}
}

// signInFlow signs user in as a new browser at target i of -url and
// returns the browser.
func signInFlow(ctx context.Context, cfg *config, t http.RoundTripper, i int64, user string) (flowResult, *http.Client) {
	jar, _ := cookiejar.New(nil) // never fails without options
	c := &http.Client{Transport: t, Jar: jar, Timeout: cfg.timeout, CheckRedirect: noRedirects}
	base := cfg.targets[int(i%int64(len(cfg.targets)))]
	start := time.Now()
	var completeTook time.Duration
	err := func() error {
		// 1. The service sends the browser to the LMS.
		authz, err := expectRedirect(ctx, c, http.MethodGet, base.String()+"/login/"+cfg.backend+"/?next=%2Fme", nil)
		if err != nil {
			return fmt.Errorf("login: %w", err)
		}
		// 2. The LMS: its sign-in page, then the form; or an auto-approving
		// LMS's redirect straight back.
		callback, err := signIn(ctx, c, authz, user)
		if err != nil {
			return fmt.Errorf("authorize: %w", err)
		}
		if !strings.HasPrefix(callback.Path, base.Path+"/complete/") {
			return fmt.Errorf("authorize: redirected to %s, not the complete view", callback.Path)
		}
		// 3. The callback: the login completes.
		t0 := time.Now()
		landing, err := expectRedirect(ctx, c, http.MethodGet, callback.String(), nil)
		completeTook = time.Since(t0)
		if err != nil {
			return fmt.Errorf("complete: %w", err)
		}
		if landing.Path != base.Path+"/me" {
			return fmt.Errorf("complete: landed on %s, want /me", landing.Path)
		}
		// 4. Signed in.
		return checkMe(ctx, c, landing.String(), user)
	}()
	return flowResult{total: time.Since(start), complete: completeTook, err: err}, c
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

// Summary is what report prints (-json: as JSON).
type Summary struct {
	Targets         []string
	OK, Failed      int
	Elapsed         time.Duration
	FlowsPerSecond  float64
	Flow, Complete  Percentiles
	FirstErrors     []string
	DistinctErrors  int
	Concurrency     int
	FirstLoginsOnly bool
	MeOnly          bool
	// Measured from outside (-pid, -lms-pid, -pg-dsn); per successful
	// flow (or /me with -me-only). Absent flags leave them nil.
	ServiceCPUms  *float64 `json:",omitempty"`
	LMSCPUms      *float64 `json:",omitempty"`
	ServiceRSSKiB []int64  `json:",omitempty"` // at the end, per -pid
	SQLStatements *float64 `json:",omitempty"`
	// LoadgenCPUms is this command's own CPU per flow; HostBusyCPUs the
	// machine's average number of busy CPUs during the run (of HostCPUs):
	// near HostCPUs, the host itself is the bottleneck.
	LoadgenCPUms *float64 `json:",omitempty"`
	HostBusyCPUs *float64 `json:",omitempty"`
	HostCPUs     int
}

// Percentiles of a latency sample.
type Percentiles struct{ P50, P90, P99, Max time.Duration }

// sample is the outside view at one time.
type sample struct {
	serviceCPU, lmsCPU, selfCPU time.Duration
	rss                         []int64
	statements                  int64
	host                        hostCPU
	hostOK                      bool
}

func takeSample(ctx context.Context, cfg *config, pg *pgCounter) (sample, error) {
	var s sample
	var err error
	if s.serviceCPU, s.rss, err = sampleProcs(cfg.procRoot, cfg.pids); err != nil {
		return s, fmt.Errorf("-pid: %w", err)
	}
	if s.lmsCPU, _, err = sampleProcs(cfg.procRoot, cfg.lmsPIDs); err != nil {
		return s, fmt.Errorf("-lms-pid: %w", err)
	}
	if pg != nil {
		if s.statements, err = pg.count(ctx); err != nil {
			return s, err
		}
	}
	// The load generator and the host: best effort (not every system has
	// a /proc).
	if self, err := readProc(cfg.procRoot, os.Getpid()); err == nil {
		s.selfCPU = self.cpu
		if h, err := readHostCPU(cfg.procRoot); err == nil {
			s.host, s.hostOK = h, true
		}
	}
	return s, nil
}

// measure fills the per-flow figures from the samples around the run.
func (s *Summary) measure(cfg *config, before, after sample) {
	if s.OK == 0 {
		return
	}
	per := func(v float64) *float64 { v /= float64(s.OK); return &v }
	if len(cfg.pids) > 0 {
		s.ServiceCPUms = per(float64((after.serviceCPU - before.serviceCPU).Microseconds()) / 1000)
		s.ServiceRSSKiB = after.rss
	}
	if len(cfg.lmsPIDs) > 0 {
		s.LMSCPUms = per(float64((after.lmsCPU - before.lmsCPU).Microseconds()) / 1000)
	}
	if cfg.pgDSN != "" {
		s.SQLStatements = per(float64(after.statements - before.statements))
	}
	if before.hostOK && after.hostOK && after.host.total > before.host.total {
		s.LoadgenCPUms = per(float64((after.selfCPU - before.selfCPU).Microseconds()) / 1000)
		busy := float64(after.host.busy-before.host.busy) / float64(after.host.total-before.host.total) * float64(s.HostCPUs)
		s.HostBusyCPUs = &busy
	}
}

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
	s := Summary{Elapsed: elapsed, Concurrency: cfg.c, FirstLoginsOnly: cfg.first, MeOnly: cfg.meOnly, HostCPUs: runtime.NumCPU()}
	for _, t := range cfg.targets {
		s.Targets = append(s.Targets, t.String())
	}
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

func report(w io.Writer, cfg *config, s Summary) {
	kind := fmt.Sprintf("returning users (%d usernames)", cfg.users)
	switch {
	case cfg.meOnly:
		kind = "GET /me only, signed in"
	case cfg.first:
		kind = "first logins"
	}
	fmt.Fprintf(w, "target      %s (%s)\n", strings.Join(s.Targets, ", "), kind)
	fmt.Fprintf(w, "flows       %d ok, %d failed, concurrency %d, %.2fs\n", s.OK, s.Failed, s.Concurrency, s.Elapsed.Seconds())
	fmt.Fprintf(w, "throughput  %.1f flows/s\n", s.FlowsPerSecond)
	fmt.Fprintf(w, "flow        p50 %s  p90 %s  p99 %s  max %s\n", ms(s.Flow.P50), ms(s.Flow.P90), ms(s.Flow.P99), ms(s.Flow.Max))
	fmt.Fprintf(w, "complete    p50 %s  p90 %s  p99 %s  max %s\n", ms(s.Complete.P50), ms(s.Complete.P90), ms(s.Complete.P99), ms(s.Complete.Max))
	if s.ServiceCPUms != nil {
		fmt.Fprintf(w, "service cpu %.3f ms/flow, RSS %v KiB\n", *s.ServiceCPUms, s.ServiceRSSKiB)
	}
	if s.LMSCPUms != nil {
		fmt.Fprintf(w, "lms cpu     %.3f ms/flow\n", *s.LMSCPUms)
	}
	if s.SQLStatements != nil {
		fmt.Fprintf(w, "sql         %.2f statements/flow\n", *s.SQLStatements)
	}
	if s.HostBusyCPUs != nil {
		fmt.Fprintf(w, "host        %.2f of %d CPUs busy; loadtest itself %.3f ms/flow\n", *s.HostBusyCPUs, s.HostCPUs, *s.LoadgenCPUms)
	}
	for _, e := range s.FirstErrors {
		fmt.Fprintf(w, "error       %s\n", e)
	}
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }
