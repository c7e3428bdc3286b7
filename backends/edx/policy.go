package edx

import (
	"errors"
	"slices"
	"strconv"
	"strings"
)

// SupportedTokenVersion is the major version of the LMS's JWT format this
// backend understands: a token whose version claim has a higher major
// version is refused (edx-drf-extensions' JWT_SUPPORTED_VERSION check; the
// LMS sends "1.x").
const SupportedTokenVersion = 1

// MinHMACKeyBytes is the shortest JWS_HMAC_SIGNING_KEY accepted: an HS512
// key must be at least as long as the hash output (RFC 7518 §3.2).
const MinHMACKeyBytes = 64

// errPolicy is a verified token that the edX token policy refuses; its text
// names the claim, never a value.
type errPolicy string

func (e errPolicy) Error() string { return "token policy: " + string(e) }

// checkPolicy applies the edX token policy to the claims of a token whose
// signature, exp, nbf, iat (when present), iss and aud have been verified,
// as edx-drf-extensions applies it to the same tokens: iat is required; the
// version claim, when present, must be a version string whose major version
// is at most SupportedTokenVersion; a restricted application's token
// (is_restricted true) is refused for sign-in; and when the user_id scope
// was requested, the user_id claim must be there (not null).
func checkPolicy(claims map[string]any, scope []string) error {
	if _, ok := claims["iat"]; !ok {
		return errPolicy("iat claim missing")
	}
	if v, ok := claims["version"]; ok {
		s, isString := v.(string)
		if !isString {
			return errPolicy("version claim is not a string")
		}
		major, err := majorVersion(s)
		if err != nil {
			return errPolicy("version claim is malformed")
		}
		if major > SupportedTokenVersion {
			return errPolicy("version claim is unsupported")
		}
	}
	switch r := claims["is_restricted"].(type) {
	case nil:
	case bool:
		if r {
			return errPolicy("token of a restricted application")
		}
	default:
		return errPolicy("is_restricted claim is not a boolean")
	}
	if slices.Contains(scope, "user_id") {
		if v, ok := claims["user_id"]; !ok || v == nil {
			return errPolicy("user_id claim missing though the user_id scope was requested")
		}
	}
	return nil
}

// majorVersion returns the major version of a version string such as
// "1.2.0" or "1" (digits, optionally followed by a dot and more).
func majorVersion(s string) (int, error) {
	head, _, _ := strings.Cut(s, ".")
	if head == "" || len(head) > 9 || strings.TrimLeft(head, "0123456789") != "" {
		return 0, errors.New("malformed version")
	}
	return strconv.Atoi(head)
}
