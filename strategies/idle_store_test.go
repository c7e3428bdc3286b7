package strategies_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestIdleStore keeps a two-hour idle timeout over the GORM session store
// on every database: a commit stores min(deadline, now+idle); a find costs
// one statement unless the expiry can move by KeepAliveInterval, then two
// (the keep-alive); a session unused for the idle timeout, or past its
// deadline, is gone.
func TestIdleStore(t *testing.T) {
	const idle = 2 * time.Hour
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			clk := &clock{t: t0}
			dsn := dbtest.Fresh(t, target)
			if target.Name == dbtest.SQLite {
				dsn = "sqlite:" + dsn
			}
			st, err := storage.Open(context.Background(), dsn, storage.Options{Now: clk.now})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			if err := st.AutoMigrate(context.Background()); err != nil {
				t.Fatal(err)
			}
			ss := st.SessionStore()
			s := strategies.NewIdleStore(ss, ss, idle, clk.now)
			c, err := storage.CountStatements(st.DB())
			if err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			// commit stores token at t0.
			commit := func(token string, deadline time.Time) {
				t.Helper()
				clk.set(t0)
				b, err := strategies.SessionCodec{}.Encode(deadline, map[string]any{"k": "v"})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.CommitCtx(ctx, token, b, deadline); err != nil {
					t.Fatal(err)
				}
			}
			// find reads token at offset from t0: whether it is found, how
			// many statements that cost and the expiry stored afterwards.
			find := func(token string, at time.Duration) (bool, int64, time.Time) {
				t.Helper()
				clk.set(t0.Add(at))
				c.Reset()
				_, ok, err := s.FindCtx(ctx, token)
				if err != nil {
					t.Fatalf("FindCtx at +%s: %v", at, err)
				}
				n := c.Reset()
				_, exp, _, err := ss.FindExpiryCtx(ctx, token)
				if err != nil {
					t.Fatal(err)
				}
				c.Reset()
				return ok, n, exp
			}
			check := func(token string, at time.Duration, wantFound bool, wantStatements int64, wantExpiry time.Duration) {
				t.Helper()
				ok, n, exp := find(token, at)
				if ok != wantFound || n != wantStatements {
					t.Errorf("%s at +%s: found %v in %d statements, want %v in %d", token, at, ok, n, wantFound, wantStatements)
				}
				if wantFound && !exp.Equal(t0.Add(wantExpiry)) {
					t.Errorf("%s at +%s: expiry +%s, want +%s", token, at, exp.Sub(t0), wantExpiry)
				}
			}

			commit("used", t0.Add(24*time.Hour))
			check("used", 30*time.Second, true, 1, idle)      // nothing to gain yet
			check("used", time.Hour, true, 2, time.Hour+idle) // keep-alive
			check("used", time.Hour+30*time.Second, true, 1, time.Hour+idle)
			check("used", time.Hour+idle+time.Second, false, 1, 0) // idle too long: gone

			commit("capped", t0.Add(150*time.Minute))
			check("capped", time.Hour, true, 2, 150*time.Minute)       // moved up to its deadline
			check("capped", 130*time.Minute, true, 1, 150*time.Minute) // the deadline binds: no write
			check("capped", 150*time.Minute+time.Second, false, 1, 0)  // past the deadline
		})
	}
}
