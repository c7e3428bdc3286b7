package socialauth_test

import (
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
)

func TestRandomString(t *testing.T) {
	seen := map[string]bool{}
	for _, n := range []int{0, 1, 12, 32, 100} {
		s := socialauth.RandomString(n)
		if len(s) != n {
			t.Errorf("len %d, want %d", len(s), n)
		}
		for _, c := range s {
			if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", c) {
				t.Errorf("bad rune %q", c)
			}
		}
		if n >= 12 {
			if seen[s] {
				t.Error("repeated random string")
			}
			seen[s] = true
		}
	}
	if socialauth.RandomString(-1) != "" {
		t.Error("negative length")
	}
}
