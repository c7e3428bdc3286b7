package backends

import (
	"net/url"
	"strings"

	"github.com/socialauth-go/socialauth"
)

// Limits on callback parameters. Anything longer is rejected locally, before
// any call to the provider.
const (
	maxCodeLen  = 4096
	maxStateLen = 512
	maxIssLen   = 2048
	maxErrorLen = 256
)

// Callback is the provider's answer to the authorization request, as read
// from the callback's request data (query merged with the POST form).
type Callback struct {
	Code  string
	State string // state, or redirect_state when the backend uses it
	// Iss is the RFC 9207 iss parameter; HasIss reports whether it was sent.
	Iss    string
	HasIss bool
	// Error is the provider's error code (RFC 6749 4.1.2.1). Its
	// error_description is never read: provider text is not reflected.
	Error string
	// Denied is set when the provider sent the legacy "denied" parameter.
	Denied bool
}

// ParseCallback reads the callback parameters from data. A parameter sent
// twice (even with the same value, in the query and the form body, in any
// order), too long, or holding control characters is an
// AuthInvalidParameter error naming it; no value of the callback is ever
// reflected in an error. With redirectState, redirect_state stands in for a
// missing state (upstream's REDIRECT_STATE).
func ParseCallback(backend string, data url.Values, redirectState bool) (Callback, error) {
	var cb Callback
	var err error
	get := func(name string, max int) (string, bool) {
		if err != nil {
			return "", false
		}
		vs, ok := data[name]
		if !ok || len(vs) == 0 {
			return "", false
		}
		v := vs[0]
		if len(vs) > 1 {
			err = &socialauth.Error{Code: socialauth.CodeAuthInvalidParameter, Backend: backend, Param: name}
			return "", false
		}
		if len(v) > max || strings.ContainsFunc(v, isControl) {
			err = &socialauth.Error{Code: socialauth.CodeAuthInvalidParameter, Backend: backend, Param: name}
			return "", false
		}
		return v, true
	}
	cb.Error, _ = get("error", maxErrorLen)
	_, cb.Denied = data["denied"]
	cb.State, _ = get("state", maxStateLen)
	if rs, ok := get("redirect_state", maxStateLen); ok && redirectState && cb.State == "" {
		cb.State = rs
	}
	cb.Iss, cb.HasIss = get("iss", maxIssLen)
	cb.Code, _ = get("code", maxCodeLen)
	if err != nil {
		return Callback{}, err
	}
	return cb, nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }

// safeCode returns an RFC 6749 error code if it is a plain token
// ([A-Za-z0-9_.-], at most 64 bytes), so it can go into an error message; any
// other value becomes "provider_error".
func safeCode(code string) string {
	if code == "" || len(code) > 64 {
		return "provider_error"
	}
	for i := 0; i < len(code); i++ {
		c := code[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return "provider_error"
		}
	}
	return code
}

// providerError maps an error code sent by the provider (in the callback or a
// token response) as upstream's process_error does: "denied"/"cancelled" in
// the code → AuthCanceled, anything else → AuthFailed; only the code, never
// the description, is carried.
func providerError(backend, code string, denied bool) error {
	lc := strings.ToLower(code)
	if denied || strings.Contains(lc, "denied") || strings.Contains(lc, "cancelled") || strings.Contains(lc, "canceled") {
		return socialauth.NewError(socialauth.CodeAuthCanceled, backend, safeCode(code), nil)
	}
	return socialauth.NewError(socialauth.CodeAuthFailed, backend, safeCode(code), nil)
}
