package settings

import (
	"testing"
	"time"
)

// benchSettings looks like a real app: an env source with nothing relevant, code settings,
// and a default table.
func benchSettings() *Settings {
	return New(
		Map{"SOCIAL_AUTH_EDX_OAUTH2_KEY": "client-id", "URL_ROOT": "http://lms"},
	).WithDefaults(Map{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": true})
}

// BenchmarkLookup measures the hot path and reports it against a plain map read of a
// precomputed key in the same run (x-map-read), plus allocations per lookup, which must be zero
// for a hit in a Map source.
func BenchmarkLookup(b *testing.B) {
	s := benchSettings()
	plain := map[string]any{"SOCIAL_AUTH_EDX_OAUTH2_KEY": "client-id"}
	cases := []struct {
		name string
		run  func()
	}{
		{"Lookup/hit-backend-key", func() { s.Lookup("edx-oauth2", "KEY") }},
		{"Lookup/hit-bare-key", func() { s.Lookup("edx-oauth2", "URL_ROOT") }},
		{"Lookup/hit-default", func() { s.Lookup("edx-oauth2", "REDIRECT_IS_HTTPS") }},
		{"Lookup/miss", func() { s.Lookup("edx-oauth2", "NOT_THERE") }},
		{"String/hit", func() { _, _ = s.String("edx-oauth2", "KEY", "") }},
		{"Bool/hit-default", func() { _, _ = s.Bool("edx-oauth2", "REDIRECT_IS_HTTPS", false) }},
	}
	var sink any
	baseline := func() { sink = plain["SOCIAL_AUTH_EDX_OAUTH2_KEY"] }
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			if allocs := testing.AllocsPerRun(100, c.run); allocs != 0 {
				b.Errorf("%s allocates %.1f times per call, want 0", c.name, allocs)
			}
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				c.run()
			}
			elapsed := time.Since(start)
			n := b.N
			bstart := time.Now()
			for range n {
				baseline()
			}
			base := time.Since(bstart)
			if base > 0 {
				b.ReportMetric(float64(elapsed)/float64(base), "x-map-read")
			}
		})
	}
	_ = sink
}

// BenchmarkLookupEnv shows the cost of a non-Map source (it must build key strings).
func BenchmarkLookupEnv(b *testing.B) {
	s := New(Env{LookupEnv: func(k string) (string, bool) { return "v", k == "URL_ROOT" }})
	b.ReportAllocs()
	for b.Loop() {
		_, _ = s.String("edx-oauth2", "URL_ROOT", "")
	}
}
