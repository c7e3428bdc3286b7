package storage_test

import (
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// redeemedFlow is the nonce backends/flow.go records in UsedStates when it
// redeems a pending sign-in: server_url "socialauth:state:<backend>", the
// flow's start time (Unix seconds) and the flow's id, the SHA-256 of its
// state in base64url without padding (43 characters), as salt.
func redeemedFlow(backend, state string, created time.Time) socialauth.Nonce {
	h := sha256.Sum256([]byte(state))
	return socialauth.Nonce{ServerURL: "socialauth:state:" + backend, Timestamp: created.Unix(),
		Salt: base64.RawURLEncoding.EncodeToString(h[:])}
}

// TestRedeemedFlowRows: the nonce table stores a redeemed flow's record
// whole on every database (server_url and a 43-character salt read back
// byte for byte, a long backend name included), and Cleanup's NonceAge
// removes the records of flows started before it, keeping the others.
func TestRedeemedFlowRows(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			s := openFresh(t, target, storage.Options{Now: func() time.Time { return now }})
			ctx := t.Context()
			longName := strings.Repeat("b", 100)
			old := []socialauth.Nonce{
				redeemedFlow("edx-oauth2", "old-1", now.Add(-2*time.Hour)),
				redeemedFlow(longName, "old-2", now.Add(-61*time.Minute)),
			}
			recent := []socialauth.Nonce{
				redeemedFlow("edx-oauth2", "recent-1", now.Add(-time.Minute)),
				redeemedFlow("oidc", "recent-2", now.Add(-59*time.Minute)),
			}
			for _, n := range append(append([]socialauth.Nonce{}, old...), recent...) {
				if fresh, err := s.UseNonce(ctx, n); err != nil || !fresh {
					t.Fatalf("UseNonce(%+v) = %v, %v; want fresh", n, fresh, err)
				}
			}
			type row struct {
				ServerURL string
				Timestamp int64
				Salt      string
			}
			var rows []row
			if err := s.DB().Table(storage.TableNonce).Select("server_url, timestamp, salt").Order("id").Scan(&rows).Error; err != nil {
				t.Fatal(err)
			}
			var want []row
			for _, n := range append(append([]socialauth.Nonce{}, old...), recent...) {
				want = append(want, row{n.ServerURL, n.Timestamp, n.Salt})
			}
			if d := cmp.Diff(want, rows); d != "" {
				t.Errorf("stored nonce rows (-want +got):\n%s", d)
			}

			res, err := s.Cleanup(ctx, storage.CleanupOptions{Age: 24 * time.Hour, NonceAge: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			if res.Nonces != int64(len(old)) {
				t.Errorf("Cleanup(NonceAge 1h) removed %d nonces, want %d (the flows started over an hour ago)", res.Nonces, len(old))
			}
			// The recent records stay: a replay of those flows is still refused.
			for _, n := range recent {
				if fresh, err := s.UseNonce(ctx, n); err != nil || fresh {
					t.Errorf("after Cleanup, UseNonce(%s) = %v, %v; want a replay (record kept)", n.ServerURL, fresh, err)
				}
			}
			// The old ones are gone (a flow that old is past its state TTL
			// and refused by the backend before UsedStates is asked).
			for _, n := range old {
				if fresh, err := s.UseNonce(ctx, n); err != nil || !fresh {
					t.Errorf("after Cleanup, UseNonce(%s) = %v, %v; want fresh (record removed)", n.ServerURL, fresh, err)
				}
			}
		})
	}
}
