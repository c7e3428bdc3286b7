// Package bench measures the login hot path of socialauth against a
// hand-written floor, in the same run.
//
// It holds benchmarks and tests only (go test -bench . ./bench/). The floor
// is a minimal completion of the same edX login with no framework around
// it: a golang.org/x/oauth2 code exchange over a kept-alive loopback
// connection to the fake LMS (testutil/fakelms), jwx verification of the
// RS512 access token with a pre-fetched key, and one GORM upsert of the
// association. Ours is the complete handler end to end (views, strategy,
// scs session with the GORM store, the edx-oauth2 backend, the edX
// pipeline) on the same fake LMS and database. Both pay the same provider
// cost: the authorization codes are minted outside the timer, and the token
// request (which makes the LMS sign an RS512 token) is inside it.
//
// The tests in this package pin what a login costs in statements and
// provider calls: at most 4 SQL statements for a returning user and 7 for
// a first login, last_login included (session-store statements counted
// separately, at most 3), no
// discovery or JWKS fetch in steady state, a reused connection for the token
// request, and a flat heap across many abandoned login starts.
//
// The LMS runs in the same process and its token endpoint (the RS512
// signature, mostly) is inside both timers; the rig meters it and the
// benchmarks report it apart (lms-ns/op, and x-floor-excl-lms in
// BenchmarkLoginRatio).
//
// The process-level counterpart is bench/floor (a minimal hand-written
// service, its own main) and bench/process.sh (make bench-process), which
// measure each service in its own process with cmd/loadtest.
//
// cmd/benchtable turns the output of go test -bench -benchmem into a table
// of ratios against named floors; docs/performance.md records the figures.
package bench
