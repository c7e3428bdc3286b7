package socialauth_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
)

func TestExpiration(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	tests := []struct {
		name    string
		extra   map[string]any
		want    time.Duration
		ok      bool
		invalid bool
		expired bool
	}{
		{"no data", nil, 0, false, false, false},
		{"no expiry keys", map[string]any{"access_token": "x"}, 0, false, false, false},
		{"expires_on absolute", map[string]any{"expires_on": float64(now.Unix() + 100)}, 100 * time.Second, true, false, false},
		{"expires_on wins over expires_in", map[string]any{"expires_on": float64(now.Unix() - 1), "expires_in": float64(3600)}, -time.Second, true, false, true},
		{"expires_in relative to auth_time", map[string]any{"expires_in": float64(3600), "auth_time": float64(now.Unix() - 3000)}, 600 * time.Second, true, false, false},
		{"expires_in relative to now without auth_time", map[string]any{"expires_in": float64(3600)}, time.Hour, true, false, false},
		{"expires_in with bad auth_time uses now", map[string]any{"expires_in": "60", "auth_time": "yesterday"}, time.Minute, true, false, false},
		{"expires_in within threshold", map[string]any{"expires_in": float64(5)}, 5 * time.Second, true, false, true},
		{"expires_in just above threshold", map[string]any{"expires_in": float64(6)}, 6 * time.Second, true, false, false},
		{"expires large is absolute", map[string]any{"expires": float64(now.Unix() + 10)}, 10 * time.Second, true, false, false},
		{"expires small is relative", map[string]any{"expires": float64(63072000), "auth_time": float64(now.Unix())}, 63072000 * time.Second, true, false, false},
		{"json.Number from a provider", map[string]any{"expires_in": json.Number("3600"), "auth_time": now.Unix() - 600}, 3000 * time.Second, true, false, false},
		{"integers", map[string]any{"expires_on": now.Unix() + 100, "expires_in": 5}, 100 * time.Second, true, false, false},
		{"invalid", map[string]any{"expires_in": "soon"}, 0, false, true, true},
		{"invalid bool", map[string]any{"expires_on": true}, 0, false, true, true},
	}
	for _, tc := range tests {
		d, ok, err := socialauth.Expiration(tc.extra, now)
		if (err != nil) != tc.invalid || (err != nil && !errors.Is(err, socialauth.ErrInvalidExpiry)) {
			t.Errorf("%s: err = %v, want invalid=%v", tc.name, err, tc.invalid)
		}
		if d != tc.want || ok != tc.ok {
			t.Errorf("%s: Expiration = %v, %v; want %v, %v", tc.name, d, ok, tc.want, tc.ok)
		}
		sa := &socialauth.UserSocialAuth{ExtraData: tc.extra}
		if got := sa.AccessTokenExpired(now); got != tc.expired {
			t.Errorf("%s: AccessTokenExpired = %v; want %v", tc.name, got, tc.expired)
		}
	}
}
