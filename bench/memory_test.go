package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/storage"
)

// heapInUse returns HeapInuse after two full collections.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// TestAbandonedStartsKeepHeapFlat starts 100,000 logins (20,000 under the
// race detector, 10,000 with -short) that are never completed: each one is a new browser (no cookie)
// going through the login view, which stores a state, a PKCE verifier and
// `next` in a new session. That state lives in the session store (the GORM
// store, with the sessions' lifetime, deleted by Store.Cleanup), not in
// the process: the heap after GC must not grow by more than a small bound
// that does not depend on the number of starts, while the sessions table
// holds one row per start.
func TestAbandonedStartsKeepHeapFlat(t *testing.T) {
	n := 100_000
	switch {
	case testing.Short():
		n = 10_000
	case raceEnabled: // ~160 s for 100,000 under -race
		n = 20_000
	}
	const warm = 1_000
	// 512 KiB is 52 bytes a start over 10,000 starts, 26 over 20,000 and 5
	// over 100,000: keeping any per-start object in the process (a session
	// is ~400 bytes in memory, the state string alone 32) exceeds it; GC
	// noise does not.
	// TestHeapBoundCatchesInProcessState shows the bound can fail.
	const bound = 512 << 10

	// Stored sessions: the state goes to the database, not the process.
	r := newRig(t, rigOptions{storedSessions: true})
	grew := abandonStarts(t, r, warm, n)
	if grew > bound {
		t.Errorf("heap grew by %d bytes over %d abandoned starts, want ≤ %d", grew, n, bound)
	}

	// The state did go somewhere: one live session per start.
	var rows int64
	if err := r.db.WithContext(context.Background()).Table(storage.TableSessions).Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if want := int64(n + warm); rows != want {
		t.Errorf("sessions table holds %d rows, want %d (one per start)", rows, want)
	}
}

// TestHeapBoundCatchesInProcessState runs the same starts with scs's
// in-memory session store, which keeps every session in the process until
// it expires: the heap does grow past the bound, so the bound above can
// fail.
func TestHeapBoundCatchesInProcessState(t *testing.T) {
	const n, warm = 10_000, 1_000
	r := newRig(t, rigOptions{sessionStore: memstore.NewWithCleanupInterval(0), storedSessions: true})
	if grew := abandonStarts(t, r, warm, n); grew <= 512<<10 {
		t.Errorf("in-memory sessions: heap grew by only %d bytes over %d starts; the bound would not catch a leak", grew, n)
	}
}

// TestAbandonedSealedStartsKeepNothing: with the pre-login session sealed
// into its cookie (the demo's default), an abandoned sign-in leaves nothing
// behind, in the process or in the database.
func TestAbandonedSealedStartsKeepNothing(t *testing.T) {
	const n, warm = 10_000, 1_000
	r := newRig(t, rigOptions{})
	if grew := abandonStarts(t, r, warm, n); grew > 512<<10 {
		t.Errorf("heap grew by %d bytes over %d abandoned starts, want ≤ %d", grew, n, 512<<10)
	}
	var rows int64
	if err := r.db.WithContext(context.Background()).Table(storage.TableSessions).Count(&rows).Error; err != nil {
		t.Fatal(err)
	}
	if rows != 0 {
		t.Errorf("sessions table holds %d rows after sealed starts, want 0", rows)
	}
}

// abandonStarts runs warm then n login starts from new browsers and
// returns how much HeapInuse grew over the n.
func abandonStarts(t *testing.T, r *rig, warm, n int) int64 {
	t.Helper()
	h := r.handler
	start := func() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/login/"+edx.Name+"/?next=%2Fcourses%2F", nil))
		if rec.Code != http.StatusFound {
			t.Fatalf("login start: %d %s", rec.Code, rec.Body.String())
		}
	}
	for range warm {
		start()
	}
	before := heapInUse()
	for range n {
		start()
	}
	after := heapInUse()
	// The rig (service, backend caches, session manager and store) must
	// stay reachable through the measurement, or whatever it kept would be
	// collected with it and never counted.
	runtime.KeepAlive(r)
	grew := int64(after) - int64(before)
	t.Logf("%d abandoned starts: HeapInuse %d → %d bytes (%+d, %.2f bytes a start)",
		n, before, after, grew, float64(grew)/float64(n))
	return grew
}
