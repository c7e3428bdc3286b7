package backends

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
)

// FuzzDecodeList: a provider's list answer decodes to a non-nil list or
// fails; trailing data is refused.
func FuzzDecodeList(f *testing.F) {
	for _, s := range []string{`[{"email":"a@b","primary":true,"verified":true}]`, `null`, `[] []`, `{}`, `[1e999]`, `[`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		list, err := decodeList([]byte(body))
		if err == nil && list == nil {
			t.Fatal("nil list without an error")
		}
		if err == nil && !json.Valid([]byte(body)) {
			t.Fatalf("accepted invalid JSON %q", body)
		}
	})
}

// FuzzVerifiedEmail: whatever the list, the email returned belongs to an
// entry that is primary and verified.
func FuzzVerifiedEmail(f *testing.F) {
	for _, s := range []string{`[{"email":"a@b","primary":true,"verified":true}]`,
		`[{"email":"a@b","primary":true,"verified":false},{"email":"c@d","primary":false,"verified":true}]`,
		`[{"email":"a@b","primary":"true","verified":"true"}]`, `["a@b"]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		list, err := decodeList([]byte(body))
		if err != nil {
			return
		}
		got := VerifiedEmail(list)
		if got == "" {
			return
		}
		for _, e := range list {
			if m, ok := e.(map[string]any); ok && m["email"] == got && m["primary"] == true && m["verified"] == true {
				return
			}
		}
		t.Fatalf("%q is not a primary verified entry of %s", got, body)
	})
}

// FuzzCallbackParams: a copied callback parameter is single, bounded, free
// of control characters other than whitespace, and never replaces a value
// the provider's verified answers set.
func FuzzCallbackParams(f *testing.F) {
	for _, s := range []string{`user=%7B%22name%22%3A%7B%7D%7D`, `user=a&user=b`, `user=%00`, `sub=x&user=y`, "user=" + strings.Repeat("a", 5000)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		out := map[string]any{"sub": "verified"}
		keepCallbackParams([]string{"user", "sub"}, q, out)
		if out["sub"] != "verified" {
			t.Fatal("a callback parameter replaced a verified value")
		}
		if v, ok := out["user"].(string); ok {
			if len(q["user"]) != 1 || len(v) > maxCallbackParamLen || strings.ContainsFunc(v, isControlNotSpace) {
				t.Fatalf("copied %q from %q", v, raw)
			}
		}
	})
}
