//go:build ignore

// Command testreport reads `go test -json` on stdin and prints what a plain
// `go test` would: one line per package, plus the full output of failed and
// skipped tests. It ends with one summary line,
//
//	tests: N passed, N failed, N skipped
//
// counting tests and subtests (fuzz seed corpora run as tests). It exits 1 if
// any test, package or build failed.
//
// Usage: go test -json ./... | go run .ci/testreport.go [-summary FILE]
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type report struct {
	out                  io.Writer
	passed, failed, skip int
	failedPkgs           map[string]bool
	buildFailed          bool
	// buf holds the output of each running top-level test, by package and
	// test name, until we know whether to show it.
	buf map[string][]string
}

func main() {
	summary := flag.String("summary", "", "also write the summary line to this file")
	flag.Parse()

	r := &report{out: os.Stdout, failedPkgs: map[string]bool{}, buf: map[string][]string{}}
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			fmt.Fprintf(r.out, "%s\n", line) // not from test2json: pass through
			continue
		}
		r.handle(e)
	}
	if err := sc.Err(); err != nil {
		fmt.Fprintf(os.Stderr, "testreport: reading input: %v\n", err)
		r.buildFailed = true
	}
	ok := r.finish()
	line := fmt.Sprintf("tests: %d passed, %d failed, %d skipped", r.passed, r.failed, r.skip)
	fmt.Fprintln(r.out, line)
	if *summary != "" {
		if err := os.WriteFile(*summary, []byte(line+"\n"), 0o644); err != nil {
			fmt.Fprintf(os.Stderr, "testreport: %v\n", err)
		}
	}
	if !ok {
		os.Exit(1)
	}
}

func topLevel(test string) string {
	if i := strings.IndexByte(test, '/'); i >= 0 {
		return test[:i]
	}
	return test
}

func (r *report) handle(e event) {
	switch e.Action {
	case "build-output":
		fmt.Fprint(r.out, e.Output)
		return
	case "build-fail":
		// The package(s) built from it report their own "fail".
		r.buildFailed = true
		return
	}
	if e.Test == "" {
		switch e.Action {
		case "output":
			if e.Output != "PASS\n" {
				fmt.Fprint(r.out, e.Output)
			}
		case "fail":
			r.failedPkgs[e.Package] = true
			r.flushPackage(e.Package)
		}
		return
	}
	key := e.Package + "\x00" + topLevel(e.Test)
	switch e.Action {
	case "output":
		if !strings.HasPrefix(e.Output, "=== ") {
			r.buf[key] = append(r.buf[key], e.Output)
		}
	case "pass":
		r.passed++
	case "fail":
		r.failed++
	case "skip":
		r.skip++
	}
	if e.Test != topLevel(e.Test) {
		return
	}
	switch e.Action {
	case "pass":
		delete(r.buf, key)
	case "fail", "skip":
		r.print(key)
	}
}

func (r *report) print(key string) {
	for _, s := range r.buf[key] {
		fmt.Fprint(r.out, s)
	}
	delete(r.buf, key)
}

// flushPackage prints what is left of tests that never finished in pkg (a
// panic or a timeout killed the test binary).
func (r *report) flushPackage(pkg string) {
	var keys []string
	for k := range r.buf {
		if strings.HasPrefix(k, pkg+"\x00") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(r.out, "--- unfinished: %s\n", strings.ReplaceAll(k, "\x00", " "))
		r.print(k)
	}
}

func (r *report) finish() bool {
	if len(r.failedPkgs) > 0 {
		var pkgs []string
		for p := range r.failedPkgs {
			pkgs = append(pkgs, p)
		}
		sort.Strings(pkgs)
		fmt.Fprintf(r.out, "FAILED packages (%d):\n", len(pkgs))
		for _, p := range pkgs {
			fmt.Fprintf(r.out, "  %s\n", p)
		}
	}
	return r.failed == 0 && len(r.failedPkgs) == 0 && !r.buildFailed
}
