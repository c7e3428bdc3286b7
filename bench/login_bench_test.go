package bench

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
)

// BenchmarkLogin is the login hot path per database:
//
//	floor        the hand-written completion (exchange, verify, 1 upsert)
//	returning    the complete handler, returning user (target ≤ 1.3× floor)
//	floor-first  the hand-written first login (… + 1 user insert)
//	first        the complete handler, first login (target ≤ 1.5× floor)
//
// Codes are minted before the timer (begin + authorize for ours, authorize
// for the floor); the timer covers the token request, verification and the
// database writes — and for ours everything the framework adds: routing,
// session load/rotate/save, settings, the pipeline, the redirect. Each
// benchmark reports statements/op (login and session store separately).
// cmd/benchtable prints the ratios; BenchmarkLoginRatio measures them
// interleaved.
func BenchmarkLogin(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		if target.Name == dbtest.MySQL {
			continue // the targets of the issue: SQLite, and PostgreSQL when set
		}
		b.Run(target.Name, func(b *testing.B) {
			r := newRig(b, rigOptions{target: &target})
			count := countStatements(b, r.db)
			r.login(b) // jsmith exists; discovery and JWKS are cached
			f := newFloor(b, r, userIDOf(b, r, returningUser))

			b.Run("floor", func(b *testing.B) {
				codes := f.mint(b, r, b.N, "")
				count.reset()
				r.lmsTime.Store(0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := f.returning(codes[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportStatements(b, count)
				reportLMS(b, r)
			})
			b.Run("returning", func(b *testing.B) {
				logins := r.mint(b, b.N, "")
				count.reset()
				r.lmsTime.Store(0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					r.complete(b, logins[i])
				}
				b.StopTimer()
				reportStatements(b, count)
				reportLMS(b, r)
			})
			b.Run("floor-first", func(b *testing.B) {
				codes := f.mint(b, r, b.N, uniquePrefix(b))
				count.reset()
				r.lmsTime.Store(0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					if err := f.first(codes[i]); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				reportStatements(b, count)
				reportLMS(b, r)
			})
			b.Run("first", func(b *testing.B) {
				logins := r.mint(b, b.N, uniquePrefix(b))
				count.reset()
				r.lmsTime.Store(0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					r.complete(b, logins[i])
				}
				b.StopTimer()
				reportStatements(b, count)
				reportLMS(b, r)
			})
		})
	}
}

// BenchmarkSealedSessions compares the complete handler with the pending
// sign-in sealed in its cookie (the rig's default, as the demo) and with
// it in the session store, interleaved in chunks so that both see the same
// machine state, on every available database but MariaDB: x-stored is
// stored/sealed in ns per login (the LMS's token endpoint, inside both
// timers, is reported apart as lms-ns/op).
func BenchmarkSealedSessions(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		if target.Name == dbtest.MySQL {
			continue
		}
		b.Run(target.Name, func(b *testing.B) {
			sealed := newRig(b, rigOptions{target: &target})
			stored := newRig(b, rigOptions{target: &target, storedSessions: true})
			sealed.login(b)
			stored.login(b)
			sealed.lmsTime.Store(0)
			stored.lmsTime.Store(0)
			var ls, lt []pendingLogin
			b.ReportAllocs()
			tSealed, tStored := abTimes(b, 50,
				func(n int) { ls, lt = sealed.mint(b, n, ""), stored.mint(b, n, "") },
				func(i int) { sealed.complete(b, ls[i]) },
				func(i int) { stored.complete(b, lt[i]) })
			b.ReportMetric(float64(tSealed.Nanoseconds())/float64(b.N), "sealed-ns/op")
			b.ReportMetric(float64(tStored.Nanoseconds())/float64(b.N), "stored-ns/op")
			b.ReportMetric(float64(sealed.lmsTime.Load()+stored.lmsTime.Load())/float64(2*b.N), "lms-ns/op")
			b.ReportMetric(float64(tStored)/float64(tSealed), "x-stored")
		})
	}
}

// BenchmarkMe is a "who am I" page of a signed-in browser, the user with
// their associations, read two ways in turn (chunks of 50, same process,
// same database): "loaded" behind LoadSession with
// Service.CurrentUserWithSocialAuths (the session's find, then the user: two
// statements), "signed-in" with SignedInUser (the session's row joined
// with its user: one statement). Both decode the session's data (who is
// signed in) and the associations. x-loaded is loaded/signed-in time.
func BenchmarkMe(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		b.Run(target.Name, func(b *testing.B) {
			r := newRig(b, rigOptions{target: &target})
			cookie := r.signIn(b)
			loaded := r.views.LoadSession(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if u, _, err := r.service.CurrentUserWithSocialAuths(req.Context(), r.views.Strategy(req)); err != nil || u == nil {
					b.Fatalf("CurrentUserWithSocialAuths = %v, %v", u, err)
				}
			}))
			signedIn := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
				if u, _, err := r.views.SignedInUser(req); err != nil || u == nil {
					b.Fatalf("SignedInUser = %v, %v", u, err)
				}
			})
			req := httptest.NewRequest(http.MethodGet, appBase+"/me", nil)
			req.AddCookie(cookie)
			b.ReportAllocs()
			tLoaded, tSignedIn := abTimes(b, 50, nil,
				func(int) { loaded.ServeHTTP(httptest.NewRecorder(), req) },
				func(int) { signedIn.ServeHTTP(httptest.NewRecorder(), req) })
			b.ReportMetric(float64(tLoaded.Nanoseconds())/float64(b.N), "loaded-ns/op")
			b.ReportMetric(float64(tSignedIn.Nanoseconds())/float64(b.N), "signed-in-ns/op")
			b.ReportMetric(float64(tLoaded)/float64(tSignedIn), "x-loaded")
		})
	}
}

// abTimes runs b.N iterations of each of two sides in turn, chunk at a
// time, so that both see the same state of the host, and returns each
// side's total time; the timer is stopped when it returns. prepare (nil:
// none) runs with the timer stopped before each chunk of n iterations;
// a side's run gets the iteration's index within its chunk.
func abTimes(b *testing.B, chunk int, prepare func(n int), sideA, sideB func(i int)) (ta, tb time.Duration) {
	b.ResetTimer()
	for done := 0; done < b.N; done += chunk {
		n := min(chunk, b.N-done)
		if prepare != nil {
			b.StopTimer()
			prepare(n)
			b.StartTimer()
		}
		for _, side := range []struct {
			run func(int)
			t   *time.Duration
		}{{sideA, &ta}, {sideB, &tb}} {
			start := time.Now()
			for i := range n {
				side.run(i)
			}
			*side.t += time.Since(start)
		}
	}
	b.StopTimer()
	return ta, tb
}

// BenchmarkLoginVariants measures changes proposed outside this package
// against the same floor, on SQLite: prepared is the store opened with
// GORM's PrepareStmt (storage.Open leaves it off, so SQLite parses every
// statement of every login again).
func BenchmarkLoginVariants(b *testing.B) {
	b.Run("prepared", func(b *testing.B) {
		r := newRig(b, rigOptions{prepareStmt: true})
		count := countStatements(b, r.db)
		r.login(b)
		f := newFloor(b, r, userIDOf(b, r, returningUser))
		b.Run("floor", func(b *testing.B) {
			codes := f.mint(b, r, b.N, "")
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := f.returning(codes[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, kind := range []string{"returning", "first"} {
			b.Run(kind, func(b *testing.B) {
				prefix := ""
				if kind == "first" {
					prefix = uniquePrefix(b)
				}
				logins := r.mint(b, b.N, prefix)
				count.reset()
				r.lmsTime.Store(0)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					r.complete(b, logins[i])
				}
				b.StopTimer()
				reportStatements(b, count)
				reportLMS(b, r)
			})
		}
	})
}

func reportStatements(b *testing.B, s *statements) {
	c := s.load()
	b.ReportMetric(float64(c.login)/float64(b.N), "sql/op")
	b.ReportMetric(float64(c.sessions)/float64(b.N), "session-sql/op")
}

// reportLMS reports the LMS's token-endpoint time per login (lms-ns/op),
// spent inside the timer on the same cores; ns/op minus lms-ns/op is the
// login's own cost.
func reportLMS(b *testing.B, r *rig) {
	b.ReportMetric(float64(r.lmsTime.Load())/float64(b.N), "lms-ns/op")
}

// BenchmarkLoginRatio runs ours and the floor interleaved, in chunks, in
// one benchmark, so that both see the same machine state (the host is
// shared), and reports x-floor = ours/floor in ns per login. ns/op is the
// cost of one ours + one floor login. lms-ns/op and floor-lms-ns/op are the
// fake LMS's token-endpoint time inside each side's timer (it runs in this
// process), and x-floor-excl-lms the ratio without it.
func BenchmarkLoginRatio(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		if target.Name == dbtest.MySQL {
			continue
		}
		b.Run(target.Name, func(b *testing.B) {
			r := newRig(b, rigOptions{target: &target})
			r.login(b)
			f := newFloor(b, r, userIDOf(b, r, returningUser))
			for _, kind := range []string{"returning", "first"} {
				b.Run(kind, func(b *testing.B) {
					prefix := ""
					if kind == "first" {
						prefix = uniquePrefix(b)
					}
					logins := r.mint(b, b.N, prefix)
					codes := f.mint(b, r, b.N, "")
					const chunk = 8
					var ours, base, oursProvider, baseProvider time.Duration
					b.ResetTimer()
					for i := 0; i < b.N; i += chunk {
						end := min(i+chunk, b.N)
						l0 := r.lmsTime.Load()
						t0 := time.Now()
						for j := i; j < end; j++ {
							r.complete(b, logins[j])
						}
						t1 := time.Now()
						l1 := r.lmsTime.Load()
						for j := i; j < end; j++ {
							if err := f.returning(codes[j]); err != nil {
								b.Fatal(err)
							}
						}
						ours += t1.Sub(t0)
						base += time.Since(t1)
						oursProvider += time.Duration(l1 - l0)
						baseProvider += time.Duration(r.lmsTime.Load() - l1)
					}
					b.StopTimer()
					if base > 0 {
						b.ReportMetric(float64(ours.Nanoseconds())/float64(b.N), "ours-ns/op")
						b.ReportMetric(float64(base.Nanoseconds())/float64(b.N), "floor-ns/op")
						b.ReportMetric(float64(ours)/float64(base), "x-floor")
						b.ReportMetric(float64((ours-base).Nanoseconds())/float64(b.N), "overhead-ns/op")
						// The LMS's signing, inside both timers, hides our
						// own cost: the ratio without it.
						b.ReportMetric(float64(oursProvider.Nanoseconds())/float64(b.N), "lms-ns/op")
						b.ReportMetric(float64(baseProvider.Nanoseconds())/float64(b.N), "floor-lms-ns/op")
						if base > baseProvider {
							b.ReportMetric(float64(ours-oursProvider)/float64(base-baseProvider), "x-floor-excl-lms")
						}
					}
				})
			}
		})
	}
}
