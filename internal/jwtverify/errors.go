package jwtverify

import "errors"

// Reason classifies why a token was rejected.
type Reason string

// The reasons a token can be rejected. Malformed and TooLarge are problems
// with the input (HTTP 400); KeyFetch is a provider failure (502/504); the
// rest are failed verification (403).
const (
	Malformed      Reason = "malformed"
	TooLarge       Reason = "too_large"
	BadAlgorithm   Reason = "bad_algorithm"
	BadSignature   Reason = "bad_signature"
	UnknownKey     Reason = "unknown_key"
	Expired        Reason = "expired"
	NotYetValid    Reason = "not_yet_valid"
	IssuedInFuture Reason = "issued_in_future"
	BadIssuer      Reason = "bad_issuer"
	BadAudience    Reason = "bad_audience"
	KeyFetch       Reason = "key_fetch"
)

// Sentinels matched by errors.Is against an *Error of the same Reason.
var (
	ErrMalformed      = errors.New("jwtverify: malformed token")
	ErrTooLarge       = errors.New("jwtverify: token too large")
	ErrBadAlgorithm   = errors.New("jwtverify: algorithm not allowed")
	ErrBadSignature   = errors.New("jwtverify: bad signature")
	ErrUnknownKey     = errors.New("jwtverify: unknown signing key")
	ErrExpired        = errors.New("jwtverify: token expired")
	ErrNotYetValid    = errors.New("jwtverify: token not yet valid")
	ErrIssuedInFuture = errors.New("jwtverify: token issued in the future")
	ErrBadIssuer      = errors.New("jwtverify: wrong issuer")
	ErrBadAudience    = errors.New("jwtverify: wrong audience")
	ErrKeyFetch       = errors.New("jwtverify: could not fetch signing keys")
)

func sentinel(r Reason) error {
	switch r {
	case Malformed:
		return ErrMalformed
	case TooLarge:
		return ErrTooLarge
	case BadAlgorithm:
		return ErrBadAlgorithm
	case BadSignature:
		return ErrBadSignature
	case UnknownKey:
		return ErrUnknownKey
	case Expired:
		return ErrExpired
	case NotYetValid:
		return ErrNotYetValid
	case IssuedInFuture:
		return ErrIssuedInFuture
	case BadIssuer:
		return ErrBadIssuer
	case BadAudience:
		return ErrBadAudience
	case KeyFetch:
		return ErrKeyFetch
	}
	return nil
}

// Error is the error returned for every rejected token. Its message is fixed
// text chosen by this package: it never contains the token or any part of it.
type Error struct {
	// Reason classifies the failure.
	Reason Reason
	// Detail is a short fixed explanation, e.g. "exp claim missing".
	Detail string
	// Err is the underlying cause where one is useful (e.g. a key fetch
	// failure); nil otherwise.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	msg := "jwtverify: " + string(e.Reason)
	if e.Detail != "" {
		msg += ": " + e.Detail
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports whether target is the sentinel for e.Reason.
func (e *Error) Is(target error) bool {
	s := sentinel(e.Reason)
	return s != nil && s == target
}

// Unwrap returns the underlying cause, if any.
func (e *Error) Unwrap() error { return e.Err }

func fail(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }
