package discovery

import (
	"errors"
	"fmt"
)

var (
	// ErrUnreachable marks a fetch that failed because the provider could not
	// be reached or failed on its side: timeouts, refused connections, TLS
	// errors, 5xx answers. Maps naturally to 502/504.
	ErrUnreachable = errors.New("discovery: provider unreachable")
	// ErrBadResponse marks a fetch whose answer was unusable: 3xx (redirects
	// are never followed), 4xx, non-JSON or HTML bodies, oversized bodies,
	// documents missing required members.
	ErrBadResponse = errors.New("discovery: bad response from provider")
	// ErrUnknownKey is returned by KeyFor when no usable signing key matches
	// the requested key id, even after the allowed refetch.
	ErrUnknownKey = errors.New("discovery: no matching signing key")
	// ErrNoConfiguration is returned by Config for a Provider built with
	// NewStatic when asked for something only discovery can provide.
	ErrNoConfiguration = errors.New("discovery: no provider configuration URL")
)

// FetchError describes a failed fetch of the configuration or key set.
// Err wraps ErrUnreachable or ErrBadResponse (use errors.Is) and, where there
// was one, the underlying cause (e.g. context.DeadlineExceeded).
type FetchError struct {
	// URL is the document that was being fetched.
	URL string
	// Status is the HTTP status code, 0 when no response was received.
	Status int
	// Err is the classified cause.
	Err error
}

// Error implements error. It names the URL and status, never a body.
func (e *FetchError) Error() string {
	if e.Status != 0 {
		return fmt.Sprintf("discovery: fetch %s: status %d: %v", e.URL, e.Status, e.Err)
	}
	return fmt.Sprintf("discovery: fetch %s: %v", e.URL, e.Err)
}

// Unwrap returns the classified cause.
func (e *FetchError) Unwrap() error { return e.Err }
