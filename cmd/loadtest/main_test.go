package main

import (
	"bytes"
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8000", true},
		{"http://127.1.2.3:8000", true},
		{"http://[::1]:8000", true},
		{"http://localhost:8000", true},
		{"http://LOCALHOST", true},
		{"http://10.0.0.1:8000", false},
		{"http://localhost.example.com", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://[::ffff:8.8.8.8]", false},
		{"http://0.0.0.0:8000", false},
		{"http://example.com", false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if err := checkLoopback(u); (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%s) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		bad  bool
	}{
		{"defaults", nil, false},
		{"non-loopback", []string{"-url", "http://192.168.1.1:8000"}, true},
		{"userinfo", []string{"-url", "http://u:p@127.0.0.1"}, true},
		{"scheme", []string{"-url", "ftp://127.0.0.1"}, true},
		{"zero flows", []string{"-n", "0"}, true},
		{"too concurrent", []string{"-c", "5000"}, true},
		{"no duration", []string{"-duration", "0s"}, true},
		{"backend with slash", []string{"-backend", "a/b"}, true},
		{"extra args", []string{"x"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, &bytes.Buffer{})
			if (err != nil) != tc.bad {
				t.Errorf("parseFlags(%q) error = %v, want bad=%v", tc.args, err, tc.bad)
			}
		})
	}
	if _, err := parseFlags([]string{"-url", "http://10.1.1.1"}, &bytes.Buffer{}); !errors.Is(err, ErrNotLoopback) {
		t.Errorf("non-loopback error = %v, want ErrNotLoopback", err)
	}
}

func TestPercentiles(t *testing.T) {
	var d []time.Duration
	for i := 100; i >= 1; i-- {
		d = append(d, time.Duration(i)*time.Millisecond)
	}
	got := percentiles(d)
	want := Percentiles{P50: 50 * time.Millisecond, P90: 90 * time.Millisecond, P99: 99 * time.Millisecond, Max: 100 * time.Millisecond}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("percentiles (-want +got):\n%s", diff)
	}
	if got := percentiles(nil); got != (Percentiles{}) {
		t.Errorf("percentiles(nil) = %+v", got)
	}
}

func TestSummarizeCountsFailures(t *testing.T) {
	cfg := &config{c: 2}
	s := summarize(cfg, []flowResult{
		{total: time.Millisecond, complete: time.Millisecond},
		{err: errors.New("complete: status 500, want a redirect")},
		{err: errors.New("complete: status 500, want a redirect")},
	}, time.Second)
	if s.OK != 1 || s.Failed != 2 || s.FlowsPerSecond != 1 || len(s.FirstErrors) != 1 || s.FirstErrors[0] != "2× complete: status 500, want a redirect" {
		t.Errorf("summary = %+v", s)
	}
}

// With nothing listening, the run fails at the preflight, before any flow.
func TestNoDemoRunning(t *testing.T) {
	var out bytes.Buffer
	err := run(context.Background(), []string{"-url", "http://127.0.0.1:1", "-n", "1", "-timeout", "1s"}, &out, &bytes.Buffer{})
	if err == nil || out.Len() != 0 {
		t.Errorf("run = %v, output %q; want a preflight error and no report", err, out.String())
	}
}
