package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const sample = `goos: linux
goarch: amd64
pkg: github.com/socialauth-go/socialauth/bench
cpu: Intel(R) Xeon(R) Processor
BenchmarkLogin/sqlite/floor-2         	     882	   1000000 ns/op	         0 session-sql/op	         1.000 sql/op	   70000 B/op	     900 allocs/op
BenchmarkLogin/sqlite/returning-2     	     655	   1400000 ns/op	         3.000 session-sql/op	         4.000 sql/op	  140000 B/op	    1800 allocs/op
BenchmarkLogin/sqlite/returning-2     	     655	   1200000 ns/op	         3.000 session-sql/op	         4.000 sql/op	  140000 B/op	    1800 allocs/op
BenchmarkLogin/sqlite/first-2         	     572	   1400000 ns/op	  122599 B/op	    1443 allocs/op
BenchmarkLoginRatio/sqlite/returning-2 	 342	   3208428 ns/op	         1.376 x-floor	  207718 B/op	    2371 allocs/op
--- FAIL: BenchmarkBroken
BenchmarkNoNumbers-2   	 abc
PASS
ok  	github.com/socialauth-go/socialauth/bench	9.579s
pkg: github.com/socialauth-go/socialauth/internal/jwtverify
BenchmarkVerifyRS512Ours-2       	   10000	     110000 ns/op	    9000 B/op	     100 allocs/op
BenchmarkVerifyRS512JWXBare-2    	   10000	     100000 ns/op	   20000 B/op	     400 allocs/op
`

func TestParseAndTable(t *testing.T) {
	results, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range results {
		ids = append(ids, r.ID())
	}
	wantIDs := []string{
		"bench.BenchmarkLogin/sqlite/floor", "bench.BenchmarkLogin/sqlite/returning", "bench.BenchmarkLogin/sqlite/first",
		"bench.BenchmarkLoginRatio/sqlite/returning",
		"internal/jwtverify.BenchmarkVerifyRS512Ours", "internal/jwtverify.BenchmarkVerifyRS512JWXBare",
	}
	if diff := cmp.Diff(wantIDs, ids); diff != "" {
		t.Fatalf("ids (-want +got):\n%s", diff)
	}
	if r := results[1]; r.Runs != 2 || r.Metrics["ns/op"] != 1300000 {
		t.Errorf("returning: %d runs, %v ns/op; want 2 runs averaged to 1300000", r.Runs, r.Metrics["ns/op"])
	}

	rows := Table(results, map[string]string{}, defaultTargets())
	type got struct {
		id, floor       string
		xns, xb, target float64
		over            bool
	}
	var gots []got
	for _, row := range rows {
		g := got{id: row.Result.ID(), xns: round(row.XNs), xb: round(row.XBytes), target: row.Target, over: row.Over}
		if row.Floor != nil {
			g.floor = row.Floor.Name
		}
		gots = append(gots, g)
	}
	want := []got{
		{id: "bench.BenchmarkLogin/sqlite/floor"},
		{id: "bench.BenchmarkLogin/sqlite/returning", floor: "BenchmarkLogin/sqlite/floor", xns: 1.3, xb: 2, target: 1.3},
		{id: "bench.BenchmarkLogin/sqlite/first", floor: "BenchmarkLogin/sqlite/floor", xns: 1.4, xb: 1.75, target: 1.5},
		{id: "bench.BenchmarkLoginRatio/sqlite/returning", target: 1.3, over: true},
		{id: "internal/jwtverify.BenchmarkVerifyRS512Ours", floor: "BenchmarkVerifyRS512JWXBare", xns: 1.1, xb: 0.45, target: 1.1},
		{id: "internal/jwtverify.BenchmarkVerifyRS512JWXBare"},
	}
	if diff := cmp.Diff(want, gots, cmp.AllowUnexported(got{})); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
}

func round(x float64) float64 { return float64(int(x*100+0.5)) / 100 }

func TestFloorFlagOverrides(t *testing.T) {
	results, err := Parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	rows := Table(results, map[string]string{"bench.BenchmarkLogin/sqlite/first": "BenchmarkLogin/sqlite/returning"}, nil)
	if f := rows[2].Floor; f == nil || f.Name != "BenchmarkLogin/sqlite/returning" {
		t.Fatalf("first's floor = %+v, want the -floor override", f)
	}
}

func TestRunStrictAndErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		in       string
		wantCode int
		wantOut  string
	}{
		{"table", nil, sample, 0, "| bench.BenchmarkLogin/sqlite/returning | 1300000 | 140000 | 1800 | floor | 1.30× | 2.00× | 2.00× | ≤ 1.30× ok |"},
		{"strict over", []string{"-strict"}, sample, 1, "**OVER**"},
		{"strict with a tighter target", []string{"-strict", "-target", "bench.BenchmarkLogin/sqlite/first=1.2"}, strings.ReplaceAll(sample, "1.376 x-floor", "1.0 x-floor"), 1, "≤ 1.20× **OVER**"},
		{"empty input", nil, "PASS\n", 1, ""},
		{"bad target", []string{"-target", "x=abc"}, sample, 2, ""},
		{"bad floor flag", []string{"-floor", "nonsense"}, sample, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code, _ := run(tc.args, strings.NewReader(tc.in), &out, &errOut)
			if code != tc.wantCode {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tc.wantCode, errOut.String())
			}
			if !strings.Contains(out.String(), tc.wantOut) {
				t.Errorf("output lacks %q:\n%s", tc.wantOut, out.String())
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(sample)
	f.Add("BenchmarkX-2 1 5 ns/op\n")
	f.Add("pkg: \nBenchmark-- 1 1 ns/op 1\n")
	f.Add("Benchmark 00 NaN ns/op -Inf B/op\n")
	f.Fuzz(func(t *testing.T, in string) {
		results, err := Parse(strings.NewReader(in))
		if err != nil {
			return
		}
		rows := Table(results, nil, defaultTargets())
		var out bytes.Buffer
		if err := Render(&out, rows); err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(out.String(), "\n"); got != len(rows)+2 {
			t.Fatalf("%d lines for %d rows", got, len(rows))
		}
	})
}
