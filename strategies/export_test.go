package strategies

import "time"

// SealForTest exposes SealedStore.seal to the external tests, so that they
// can build a correctly sealed token the middleware never writes (one
// longer than MaxSealedToken): fits reports whether seal would use it.
func SealForTest(s *SealedStore, b []byte, deadline time.Time) (token string, fits bool, err error) {
	return s.seal(b, deadline)
}
