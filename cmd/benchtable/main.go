// Command benchtable prints the benchmark table of socialauth: each
// benchmark's ns/op, B/op and allocs/op and its ratio to its floor, read
// from the output of go test -bench -benchmem.
//
//	go test -run '^$' -bench . -benchmem ./... | tee bench.txt
//	go run ./cmd/benchtable bench.txt        # or: ... | go run ./cmd/benchtable
//
// A benchmark's floor is, in this order: the one named by a -floor
// name=floor flag; the sibling named "floor" (BenchmarkLogin/sqlite/floor is
// the floor of BenchmarkLogin/sqlite/returning); for a name ending in
// "Ours", the same name ending in "JWXBare" (internal/jwtverify). Names are
// given without the -GOMAXPROCS suffix; a floor is looked up in the same
// package. With -count > 1 the runs of a benchmark are averaged.
//
// Targets (the ratio a benchmark must stay under) are built in for the
// login and verification benchmarks and can be added with -target
// name=ratio; the status column says ok or OVER, and -strict makes any OVER
// exit with status 1. Other metrics a benchmark reports (x-floor, sql/op …)
// are listed in the last column. The table is GitHub Markdown.
package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
)

func main() {
	code, err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "benchtable:", err)
		}
	}
	os.Exit(code)
}

// pairFlag is a repeatable name=value flag.
type pairFlag map[string]string

func (p pairFlag) String() string { return fmt.Sprint(map[string]string(p)) }

func (p pairFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
		return fmt.Errorf("want name=value, got %q", s)
	}
	p[strings.TrimSpace(k)] = strings.TrimSpace(v)
	return nil
}

// defaultTargets are the ratios of issue 7 (docs/performance.md).
func defaultTargets() map[string]float64 {
	return map[string]float64{
		"bench.BenchmarkLogin/sqlite/returning":           1.3,
		"bench.BenchmarkLogin/sqlite/first":               1.5,
		"bench.BenchmarkLogin/postgres/returning":         1.3,
		"bench.BenchmarkLogin/postgres/first":             1.5,
		"bench.BenchmarkTokenVerify/HS512/ours":           1.1,
		"bench.BenchmarkTokenVerify/RS512/ours":           1.1,
		"internal/jwtverify.BenchmarkVerifyRS512Ours":     1.1,
		"internal/jwtverify.BenchmarkVerifyHS512Ours":     1.1,
		"internal/jwtverify.BenchmarkVerifyES256Ours":     1.1,
		"internal/jwtverify.BenchmarkVerifyRatio/RS512#x": 1.1,
		"internal/jwtverify.BenchmarkVerifyRatio/HS512#x": 1.1,
		"bench.BenchmarkLoginRatio/sqlite/returning#x":    1.3,
		"bench.BenchmarkLoginRatio/sqlite/first#x":        1.5,
		"bench.BenchmarkLoginRatio/postgres/returning#x":  1.3,
		"bench.BenchmarkLoginRatio/postgres/first#x":      1.5,
	}
}

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) (int, error) {
	fs := flag.NewFlagSet("benchtable", flag.ContinueOnError)
	fs.SetOutput(stderr)
	floors := pairFlag{}
	targets := pairFlag{}
	fs.Var(floors, "floor", "name=floor: the floor of a benchmark (repeatable; names as in the table)")
	fs.Var(targets, "target", "name=ratio: a ratio the benchmark must stay under (repeatable)")
	strict := fs.Bool("strict", false, "exit 1 when a benchmark is over its target")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: benchtable [flags] [bench.txt]\n\nPrints go test -bench -benchmem output as a table of ratios against floors.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	in := stdin
	switch fs.NArg() {
	case 0:
	case 1:
		f, err := os.Open(fs.Arg(0))
		if err != nil {
			return 2, err
		}
		defer f.Close()
		in = f
	default:
		return 2, fmt.Errorf("one input file at most, got %d", fs.NArg())
	}
	want := defaultTargets()
	for k, v := range targets {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r <= 0 {
			return 2, fmt.Errorf("-target %s: %q is not a positive ratio", k, v)
		}
		want[k] = r
	}
	results, err := Parse(in)
	if err != nil {
		return 1, err
	}
	if len(results) == 0 {
		return 1, errors.New("no benchmark results in the input")
	}
	rows := Table(results, floors, want)
	if err := Render(stdout, rows); err != nil {
		return 1, err
	}
	if *strict {
		for _, r := range rows {
			if r.Over {
				return 1, nil
			}
		}
	}
	return 0, nil
}

// Result is one benchmark, its runs averaged.
type Result struct {
	// Pkg is the package, relative to the module when recognisable
	// ("bench", "internal/jwtverify").
	Pkg string
	// Name is the benchmark name without the -GOMAXPROCS suffix.
	Name string
	// Runs is how many result lines were averaged.
	Runs int
	// Metrics holds every value by unit (ns/op, B/op, allocs/op, x-floor …).
	Metrics map[string]float64
	// Order lists the units in first-seen order.
	Order []string
}

// ID is Pkg.Name, the key of -floor and -target.
func (r *Result) ID() string { return r.Pkg + "." + r.Name }

// maxLine bounds one input line.
const maxLine = 1 << 20

// Parse reads go test -bench output. Lines that are not results are
// skipped; "pkg:" lines set the package of the results that follow.
func Parse(r io.Reader) ([]*Result, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	pkg := ""
	byID := map[string]*Result{}
	var out []*Result
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if p, ok := strings.CutPrefix(line, "pkg:"); ok {
			pkg = shortPkg(strings.TrimSpace(p))
			continue
		}
		name, metrics, order, ok := parseLine(line)
		if !ok {
			continue
		}
		id := pkg + "." + name
		res, seen := byID[id]
		if !seen {
			res = &Result{Pkg: pkg, Name: name, Metrics: map[string]float64{}}
			byID[id] = res
			out = append(out, res)
		}
		// Running mean over the runs.
		res.Runs++
		for _, unit := range order {
			v := metrics[unit]
			old, had := res.Metrics[unit]
			if !had {
				res.Order = append(res.Order, unit)
				res.Metrics[unit] = v
				continue
			}
			res.Metrics[unit] = old + (v-old)/float64(res.Runs)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading benchmark output: %w", err)
	}
	return out, nil
}

// shortPkg trims the module path: github.com/socialauth-go/socialauth/bench
// → bench (the root package is "socialauth").
func shortPkg(p string) string {
	const module = "github.com/socialauth-go/socialauth"
	switch {
	case p == module:
		return "socialauth"
	case strings.HasPrefix(p, module+"/"):
		return strings.TrimPrefix(p, module+"/")
	}
	return p
}

// parseLine reads "BenchmarkX-2  100  123 ns/op  45 B/op  6 allocs/op  1.2 x".
func parseLine(line string) (name string, metrics map[string]float64, order []string, ok bool) {
	if !strings.HasPrefix(line, "Benchmark") {
		return "", nil, nil, false
	}
	f := strings.Fields(line)
	if len(f) < 4 || len(f)%2 != 0 {
		return "", nil, nil, false
	}
	if n, err := strconv.ParseInt(f[1], 10, 64); err != nil || n <= 0 {
		return "", nil, nil, false
	}
	name = trimProcs(f[0])
	metrics = map[string]float64{}
	for i := 2; i+1 < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return "", nil, nil, false
		}
		unit := f[i+1]
		if _, dup := metrics[unit]; !dup {
			order = append(order, unit)
		}
		metrics[unit] = v
	}
	if _, has := metrics["ns/op"]; !has {
		return "", nil, nil, false
	}
	return name, metrics, order, true
}

// trimProcs drops the -GOMAXPROCS suffix ("BenchmarkX/y-2" → "BenchmarkX/y").
func trimProcs(name string) string {
	i := strings.LastIndexByte(name, '-')
	if i <= 0 || i == len(name)-1 {
		return name
	}
	if _, err := strconv.Atoi(name[i+1:]); err != nil {
		return name
	}
	return name[:i]
}

// Row is one line of the table.
type Row struct {
	Result *Result
	// Floor is the floor's result, nil when the benchmark has none (or is a
	// floor).
	Floor *Result
	// X is ours/floor for ns/op, B/op and allocs/op (0 when unknown).
	XNs, XBytes, XAllocs float64
	// Target is the ratio the benchmark must stay under (0: none); Over
	// reports it is exceeded. For a name ending in "#x" the target applies
	// to the benchmark's own x-floor / ours/bare metric.
	Target float64
	Over   bool
}

// Table resolves floors and targets. floors maps an ID or name to a floor
// name; targets maps an ID (or ID#x for a reported ratio metric) to the
// ratio it must stay under.
func Table(results []*Result, floors map[string]string, targets map[string]float64) []Row {
	byID := map[string]*Result{}
	for _, r := range results {
		byID[r.ID()] = r
	}
	rows := make([]Row, 0, len(results))
	for _, r := range results {
		row := Row{Result: r}
		if f := floorOf(r, byID, floors); f != nil && f != r {
			row.Floor = f
			row.XNs = ratio(r.Metrics["ns/op"], f.Metrics["ns/op"])
			row.XBytes = ratio(r.Metrics["B/op"], f.Metrics["B/op"])
			row.XAllocs = ratio(r.Metrics["allocs/op"], f.Metrics["allocs/op"])
		}
		if t, ok := targets[r.ID()]; ok && row.XNs > 0 {
			row.Target, row.Over = t, row.XNs > t
		}
		if t, ok := targets[r.ID()+"#x"]; ok {
			if x, has := reportedRatio(r); has {
				row.Target, row.Over = t, x > t
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// reportedRatio is a ratio the benchmark measured itself (interleaved).
func reportedRatio(r *Result) (float64, bool) {
	for _, unit := range []string{"x-floor", "ours/bare"} {
		if v, ok := r.Metrics[unit]; ok {
			return v, true
		}
	}
	return 0, false
}

func ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

func floorOf(r *Result, byID map[string]*Result, floors map[string]string) *Result {
	lookup := func(name string) *Result {
		if f, ok := byID[name]; ok {
			return f
		}
		return byID[r.Pkg+"."+name]
	}
	for _, key := range []string{r.ID(), r.Name} {
		if name, ok := floors[key]; ok {
			return lookup(name)
		}
	}
	if path.Base(r.Name) == "floor" {
		return nil
	}
	if dir := path.Dir(r.Name); dir != "." {
		if f := lookup(dir + "/floor"); f != nil {
			return f
		}
	}
	if base, ok := strings.CutSuffix(r.Name, "Ours"); ok {
		return lookup(base + "JWXBare")
	}
	return nil
}

// Render writes rows as a Markdown table.
func Render(w io.Writer, rows []Row) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "| benchmark | ns/op | B/op | allocs/op | floor | × ns | × B | × allocs | target | other metrics |")
	fmt.Fprintln(bw, "|---|---:|---:|---:|---|---:|---:|---:|---|---|")
	for _, row := range rows {
		r := row.Result
		floor, xn, xb, xa := "", "", "", ""
		if row.Floor != nil {
			floor = path.Base(row.Floor.Name)
			if row.Floor.Pkg != r.Pkg || path.Dir(row.Floor.Name) != path.Dir(r.Name) {
				floor = row.Floor.Name
			}
			xn, xb, xa = fmtRatio(row.XNs), fmtRatio(row.XBytes), fmtRatio(row.XAllocs)
		}
		target := ""
		if row.Target > 0 {
			status := "ok"
			if row.Over {
				status = "**OVER**"
			}
			target = fmt.Sprintf("≤ %.2f× %s", row.Target, status)
		}
		fmt.Fprintf(bw, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n",
			r.ID(), fmtNum(r.Metrics["ns/op"]), fmtNum(r.Metrics["B/op"]), fmtNum(r.Metrics["allocs/op"]),
			floor, xn, xb, xa, target, others(r))
	}
	return bw.Flush()
}

func others(r *Result) string {
	var parts []string
	for _, unit := range r.Order {
		switch unit {
		case "ns/op", "B/op", "allocs/op", "MB/s":
			continue
		}
		parts = append(parts, unit+"="+fmtNum(r.Metrics[unit]))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

func fmtRatio(x float64) string {
	if x == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f×", x)
}

func fmtNum(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}
