package settings

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestKeys(t *testing.T) {
	tests := []struct {
		name         string
		backend, key string
		want         []string
	}{
		{"backend and name", "edx-oauth2", "URL_ROOT", []string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_URL_ROOT", "URL_ROOT"}},
		{"no backend", "", "PIPELINE", []string{"SOCIAL_AUTH_PIPELINE", "PIPELINE"}},
		{"backend upper-cased, dashes", "google-oauth2", "KEY", []string{"SOCIAL_AUTH_GOOGLE_OAUTH2_KEY", "SOCIAL_AUTH_KEY", "KEY"}},
		{"mixed case backend", "Edx-OAuth2", "KEY", []string{"SOCIAL_AUTH_EDX_OAUTH2_KEY", "SOCIAL_AUTH_KEY", "KEY"}},
		{"name normalised in prefixed keys only", "edx-oauth2", "url-root", []string{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_URL_ROOT", "url-root"}},
		{"already prefixed: as given only", "edx-oauth2", "SOCIAL_AUTH_PIPELINE", []string{"SOCIAL_AUTH_PIPELINE"}},
		{"already prefixed without backend", "", "SOCIAL_AUTH_USER_FIELDS", []string{"SOCIAL_AUTH_USER_FIELDS"}},
		{"prefix check is case-sensitive", "", "social_auth_x", []string{"SOCIAL_AUTH_SOCIAL_AUTH_X", "social_auth_x"}},
		{"empty name", "edx-oauth2", "", nil},
		{"non-ASCII left alone", "é-x", "ß", []string{"SOCIAL_AUTH_é_X_ß", "SOCIAL_AUTH_ß", "ß"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, Keys(tt.backend, tt.key)); diff != "" {
				t.Errorf("Keys(%q, %q) mismatch (-want +got):\n%s", tt.backend, tt.key, diff)
			}
		})
	}
}

// Every key Keys reports is one Lookup actually consults, in the same order.
func TestKeysMatchLookup(t *testing.T) {
	long := "A_VERY_LONG_SETTING_NAME_THAT_DOES_NOT_FIT_IN_THE_STACK_BUFFER_USED_FOR_KEYS_" +
		"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
	cases := [][2]string{{"edx-oauth2", "URL_root"}, {"", "PIPELINE"}, {"b", "SOCIAL_AUTH_X"}, {"some-backend", long}}
	for _, c := range cases {
		keys := Keys(c[0], c[1])
		for i, k := range keys {
			for _, src := range []Source{Map{k: i}, Env{LookupEnv: func(s string) (string, bool) { return "v", s == k }}} {
				// Also set every later candidate: the earlier one must still win.
				m := Map{}
				for _, later := range keys[i+1:] {
					m[later] = "later"
				}
				s := New(m, src)
				_, key, ok := s.Lookup(c[0], c[1])
				if !ok || key != k {
					t.Errorf("Lookup(%q, %q) with only %q (+later) set: key=%q ok=%v", c[0], c[1], k, key, ok)
				}
			}
		}
	}
}
