package socialauth

import "crypto/rand"

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// RandomString returns n characters of [A-Za-z0-9], uniformly drawn from
// crypto/rand ("" when n <= 0): what Strategy.RandomString implementations
// return.
func RandomString(n int) string {
	if n <= 0 {
		return ""
	}
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		_, _ = rand.Read(buf[:]) // never fails (Go 1.24+)
		for _, b := range buf {
			// 248 = 4*62: rejection sampling keeps the choice uniform.
			if b < 248 && len(out) < n {
				out = append(out, alnum[int(b)%len(alnum)])
			}
		}
	}
	return string(out)
}
