package apple

import (
	"testing"

	"github.com/socialauth-go/socialauth/backends"
)

// FuzzDetails: the unsigned user JSON never sets the email or the
// username, and never blanks a name.
func FuzzDetails(f *testing.F) {
	for _, s := range []string{`{"name":{"firstName":"John","lastName":"Appleseed"},"email":"x@example.com"}`,
		`{"name":null}`, `{"name":{"firstName":""}}`, `[]`, `{`, `{"username":"root","email":"root@example.com"}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, user string) {
		resp := map[string]any{"user": user, backends.IDTokenClaimsKey: map[string]any{"sub": "s", "email": "a@b.c", "email_verified": "true"}}
		d := details(resp, false)
		if d["email"] != "a@b.c" || d["username"] != "s" {
			t.Fatalf("details %v from user %q", d, user)
		}
		for _, k := range []string{"first_name", "last_name", "fullname"} {
			if v, ok := d[k]; ok && v == "" {
				t.Fatalf("blank %s from %q", k, user)
			}
		}
	})
}
