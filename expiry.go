package socialauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// AccessTokenExpiredThreshold is upstream's ACCESS_TOKEN_EXPIRED_THRESHOLD:
// a token that expires within 5 seconds counts as expired.
const AccessTokenExpiredThreshold = 5 * time.Second

// twoYears is the limit above which "expires" is an absolute timestamp.
const twoYears = 63072000

// ErrInvalidExpiry is upstream's InvalidExpiryValue: an expiry field that is
// not an integer.
var ErrInvalidExpiry = errors.New("socialauth: invalid expiry value")

// Expiration is social-core's UserMixin.expiration_timedelta: how
// long until the access token expires (negative when it has), from the
// association's extra data, in priority order:
//
//   - expires_on: an absolute epoch timestamp;
//   - expires_in: seconds relative to extra_data["auth_time"] (or to now
//     when auth_time is missing or not an integer);
//   - expires: absolute when greater than 63072000 (two years of seconds),
//     else relative like expires_in.
//
// ok is false when there is no expiry data. A value that is not an integer
// gives an error wrapping ErrInvalidExpiry.
func Expiration(extra map[string]any, now time.Time) (d time.Duration, ok bool, err error) {
	if len(extra) == 0 {
		return 0, false, nil
	}
	at := func(epoch int64) time.Duration { return time.Unix(epoch, 0).Sub(now) }
	relative := func(secs int64) time.Duration {
		ref := now
		if v, present := extra["auth_time"]; present {
			if t, err := expiryInt(v); err == nil {
				ref = time.Unix(t, 0)
			}
		}
		return ref.Add(time.Duration(secs) * time.Second).Sub(now)
	}
	if v, present := extra["expires_on"]; present && v != nil {
		n, err := expiryInt(v)
		if err != nil {
			return 0, false, fmt.Errorf("%w: expires_on", err)
		}
		return at(n), true, nil
	}
	if v, present := extra["expires_in"]; present && v != nil {
		n, err := expiryInt(v)
		if err != nil {
			return 0, false, fmt.Errorf("%w: expires_in", err)
		}
		return relative(n), true, nil
	}
	if v, present := extra["expires"]; present && v != nil {
		n, err := expiryInt(v)
		if err != nil {
			return 0, false, fmt.Errorf("%w: expires", err)
		}
		if n > twoYears {
			return at(n), true, nil
		}
		return relative(n), true, nil
	}
	return 0, false, nil
}

// AccessTokenExpired is upstream's access_token_expired: true when an expiry
// is known and is at most AccessTokenExpiredThreshold away. Without expiry
// data it is false (upstream never refreshes then). An invalid expiry value
// counts as expired, so the caller refreshes rather than trusting a broken
// record.
func (s *UserSocialAuth) AccessTokenExpired(now time.Time) bool {
	if s == nil {
		return false
	}
	d, ok, err := Expiration(s.ExtraData, now)
	if err != nil {
		return true
	}
	return ok && d <= AccessTokenExpiredThreshold
}

// expiryInt is Python's int() over a JSON value: integers, floats
// (truncated) and decimal strings.
func expiryInt(v any) (int64, error) {
	switch x := v.(type) {
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1<<53 {
			return 0, ErrInvalidExpiry
		}
		return int64(x), nil
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n, nil
		}
		f, err := x.Float64()
		if err != nil {
			return 0, ErrInvalidExpiry
		}
		return expiryInt(f)
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, ErrInvalidExpiry
		}
		return n, nil
	}
	return 0, ErrInvalidExpiry
}
