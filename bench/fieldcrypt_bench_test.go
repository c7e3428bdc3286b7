package bench

import (
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// BenchmarkFieldEncryption is the cost of field encryption on a returning
// sign-in through the complete handler: two rigs on the same kind of
// database, one without keys and one with SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS,
// run interleaved in chunks so that both see the same machine state.
// x-plain is encrypted/plain in ns per sign-in (target: < 1.02).
func BenchmarkFieldEncryption(b *testing.B) {
	for _, target := range dbtest.Targets(b) {
		b.Run(target.Name, func(b *testing.B) {
			key, _, err := storage.NewFieldKey()
			if err != nil {
				b.Fatal(err)
			}
			plain := newRig(b, rigOptions{target: &target})
			sealed := newRig(b, rigOptions{target: &target, fieldKeys: [][]byte{key}})
			plain.login(b)
			sealed.login(b)
			plainLogins := plain.mint(b, b.N, "")
			sealedLogins := sealed.mint(b, b.N, "")
			const chunk = 8
			var tPlain, tSealed time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i += chunk {
				end := min(i+chunk, b.N)
				// Alternate which one goes first, so neither always
				// follows the other's writes.
				first, second := plain, sealed
				firstLogins, secondLogins := plainLogins, sealedLogins
				dFirst, dSecond := &tPlain, &tSealed
				if (i/chunk)%2 == 1 {
					first, second = sealed, plain
					firstLogins, secondLogins = sealedLogins, plainLogins
					dFirst, dSecond = &tSealed, &tPlain
				}
				t0 := time.Now()
				for j := i; j < end; j++ {
					first.complete(b, firstLogins[j])
				}
				t1 := time.Now()
				for j := i; j < end; j++ {
					second.complete(b, secondLogins[j])
				}
				*dFirst += t1.Sub(t0)
				*dSecond += time.Since(t1)
			}
			b.StopTimer()
			if tPlain > 0 {
				b.ReportMetric(float64(tPlain.Nanoseconds())/float64(b.N), "plain-ns/op")
				b.ReportMetric(float64(tSealed.Nanoseconds())/float64(b.N), "encrypted-ns/op")
				b.ReportMetric(float64(tSealed)/float64(tPlain), "x-plain")
			}
		})
	}
}
