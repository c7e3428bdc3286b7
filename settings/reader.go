package settings

import (
	"errors"
	"net/url"
	"strings"
	"time"
)

// ErrMissing is matched (errors.Is) by a [*MissingError].
var ErrMissing = errors.New("settings: required setting missing")

// MissingError reports a required setting that no source sets (or that is set to empty).
type MissingError struct {
	// Key is the preferred key of the setting (the first of [Keys]), e.g.
	// "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT".
	Key string
}

// Error implements error.
func (e *MissingError) Error() string { return "settings: " + e.Key + " is required" }

// Is reports whether target is [ErrMissing].
func (e *MissingError) Is(target error) bool { return target == ErrMissing }

// ErrInvalid is matched (errors.Is) by an [*InvalidError].
var ErrInvalid = errors.New("settings: invalid setting")

// InvalidError reports a setting of the right type whose value is not allowed (a URL that is not
// absolute, a negative duration, …). Like [TypeError], it never carries the value.
type InvalidError struct {
	Key    string // the key that answered
	Reason string // what is wrong, without the value
}

// Error implements error.
func (e *InvalidError) Error() string { return "settings: " + e.Key + ": " + e.Reason }

// Is reports whether target is [ErrInvalid].
func (e *InvalidError) Is(target error) bool { return target == ErrInvalid }

// Reader reads the settings of one backend once, at construction, and keeps every error it meets
// so that a ConfigFrom function can read straight through and report all bad settings together.
// Build it with [Settings.Reader]; it is not safe for concurrent use (and needs not be).
type Reader struct {
	s       *Settings
	backend string
	errs    []error
}

// Reader returns a Reader of s for backend ("" for settings that have no backend form).
func (s *Settings) Reader(backend string) *Reader { return &Reader{s: s, backend: backend} }

// Settings returns the settings the reader reads.
func (r *Reader) Settings() *Settings { return r.s }

// Backend returns the backend name the reader reads for.
func (r *Reader) Backend() string { return r.backend }

func (r *Reader) add(err error) {
	if err != nil {
		r.errs = append(r.errs, err)
	}
}

// Err returns every error met so far, joined (nil when none).
func (r *Reader) Err() error { return errors.Join(r.errs...) }

// Key returns the key that answers for name, or the preferred key when none is set: the one to
// name in an error.
func (r *Reader) Key(name string) string {
	if _, key, ok := r.s.find(r.backend, name); ok {
		return key
	}
	if keys := Keys(r.backend, name); len(keys) > 0 {
		return keys[0]
	}
	return name
}

// Invalid records an [*InvalidError] for name.
func (r *Reader) Invalid(name, reason string) {
	r.add(&InvalidError{Key: r.Key(name), Reason: reason})
}

// Missing records a [*MissingError] for name.
func (r *Reader) Missing(name string) {
	r.add(&MissingError{Key: r.Key(name)})
}

// IsSet reports whether name is set (see [Settings.IsSet]).
func (r *Reader) IsSet(name string) bool { return r.s.IsSet(r.backend, name) }

// String reads a string setting (see [Settings.String]).
func (r *Reader) String(name, def string) string {
	v, err := r.s.String(r.backend, name, def)
	r.add(err)
	return v
}

// Required reads a string setting that must be set and not empty.
func (r *Reader) Required(name string) string {
	v := r.String(name, "")
	if strings.TrimSpace(v) == "" {
		r.Missing(name)
	}
	return v
}

// Bool reads a bool setting (see [Settings.Bool]).
func (r *Reader) Bool(name string, def bool) bool {
	v, err := r.s.Bool(r.backend, name, def)
	r.add(err)
	return v
}

// Int reads an int setting (see [Settings.Int]).
func (r *Reader) Int(name string, def int) int {
	v, err := r.s.Int(r.backend, name, def)
	r.add(err)
	return v
}

// Duration reads a duration setting (see [Settings.Duration]). A negative value is invalid.
func (r *Reader) Duration(name string, def time.Duration) time.Duration {
	v, err := r.s.Duration(r.backend, name, def)
	r.add(err)
	if err == nil && v < 0 {
		r.Invalid(name, "must not be negative")
		return def
	}
	return v
}

// StringList reads a list setting (see [Settings.StringList]).
func (r *Reader) StringList(name string, def []string) []string {
	v, err := r.s.StringList(r.backend, name, def)
	r.add(err)
	return v
}

// StringMap reads a map setting (see [Settings.StringMap]).
func (r *Reader) StringMap(name string, def map[string]string) map[string]string {
	v, err := r.s.StringMap(r.backend, name, def)
	r.add(err)
	return v
}

// URL reads a setting that, when set and not empty, must be an absolute http or https URL with a
// host and no userinfo, fragment, spaces or control characters; it is returned as given ("" when
// unset or empty).
func (r *Reader) URL(name, def string) string {
	v := strings.TrimSpace(r.String(name, def))
	if v == "" {
		return ""
	}
	if reason := CheckAbsoluteURL(v); reason != "" {
		r.Invalid(name, reason)
		return ""
	}
	return v
}

// CheckAbsoluteURL returns "" when raw is an absolute http(s) URL with a host and no userinfo,
// fragment, spaces, backslashes or control characters, else why it is not (never quoting raw).
func CheckAbsoluteURL(raw string) string {
	if strings.ContainsFunc(raw, func(c rune) bool { return c <= 0x20 || c == 0x7f || c == '\\' }) {
		return "contains spaces, backslashes or control characters"
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "is not a URL"
	case u.Scheme != "http" && u.Scheme != "https":
		return "must be an absolute http or https URL"
	case u.Host == "" || u.Hostname() == "":
		return "must have a host"
	case u.User != nil:
		return "must not have userinfo"
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "must not have a fragment"
	}
	return ""
}
