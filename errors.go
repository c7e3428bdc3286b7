package socialauth

import (
	"context"
	"errors"
	"net/http"
	"strings"
)

// Code names a kind of authentication error. It mirrors the exception classes of
// social-core (AuthCanceled → CodeAuthCanceled) and is safe to put in a URL
// (LOGIN_ERROR_URL?error=<code>) or a log line.
//
// A Code is also the target to match an *Error with errors.Is, following the
// upstream class hierarchy: errors.Is(err, CodeAuthException) holds for every
// Auth* error, errors.Is(err, CodeAuthMissingParameter) for an
// AuthInvalidParameter. Return an *Error (NewError), not a bare Code, so
// that the backend and the cause travel with it.
type Code string

// Error is the upstream message of the code.
func (c Code) Error() string { return c.message() }

// Is reports whether c is target or one of its descendants in the upstream
// hierarchy.
func (c Code) Is(target error) bool {
	t, ok := target.(Code)
	return ok && c.isA(t)
}

// isA reports whether c is t or descends from it.
func (c Code) isA(t Code) bool {
	for ; c != ""; c = c.parent() {
		if c == t {
			return true
		}
	}
	return false
}

// The social-core family of errors, one code per upstream exception class.
const (
	CodeAuthException               Code = "auth_exception"
	CodeAuthFailed                  Code = "auth_failed"
	CodeAuthCanceled                Code = "auth_canceled"
	CodeAuthUnknownError            Code = "auth_unknown_error"
	CodeAuthTokenError              Code = "auth_token_error"
	CodeAuthMissingParameter        Code = "auth_missing_parameter"
	CodeAuthInvalidParameter        Code = "auth_invalid_parameter"
	CodeAuthNotImplementedParameter Code = "auth_not_implemented_parameter"
	CodeAuthStateMissing            Code = "auth_state_missing"
	CodeAuthStateForbidden          Code = "auth_state_forbidden"
	CodeAuthAlreadyAssociated       Code = "auth_already_associated"
	CodeAuthTokenRevoked            Code = "auth_token_revoked"
	CodeAuthForbidden               Code = "auth_forbidden"
	CodeAuthUnreachableProvider     Code = "auth_unreachable_provider"
	CodeAuthConnectionError         Code = "auth_connection_error"
	CodeInvalidEmail                Code = "invalid_email"
	CodeNotAllowedToDisconnect      Code = "not_allowed_to_disconnect"
	CodeWrongBackend                Code = "wrong_backend"
	CodeMissingBackend              Code = "missing_backend"
	CodeStorageUnavailable          Code = "storage_unavailable"
	CodeImproperlyConfigured        Code = "improperly_configured"
	// CodeFieldEncryption: a stored secret (a provider token kept encrypted
	// in extra_data) does not decrypt: sealed with a key no longer
	// configured, tampered with, or copied from another association. Not
	// an upstream class.
	CodeFieldEncryption Code = "field_encryption"
)

// parent gives the upstream class hierarchy: errors.Is(err, CodeAuthException)
// holds for every Auth* error, errors.Is(err, CodeAuthMissingParameter) for an
// AuthInvalidParameter, errors.Is(err, CodeWrongBackend) for a MissingBackend.
func (c Code) parent() Code {
	switch c {
	case CodeAuthException, CodeNotAllowedToDisconnect, CodeWrongBackend,
		CodeStorageUnavailable, CodeImproperlyConfigured, CodeFieldEncryption:
		return ""
	case CodeAuthInvalidParameter, CodeAuthNotImplementedParameter:
		return CodeAuthMissingParameter
	case CodeMissingBackend:
		return CodeWrongBackend
	default:
		return CodeAuthException
	}
}

// message is the upstream text of each exception class.
func (c Code) message() string {
	switch c {
	case CodeAuthFailed:
		return "Authentication failed"
	case CodeAuthCanceled:
		return "Authentication process canceled"
	case CodeAuthUnknownError:
		return "An unknown error happened while authenticating"
	case CodeAuthTokenError:
		return "Token error"
	case CodeAuthMissingParameter:
		return "Missing needed parameter"
	case CodeAuthInvalidParameter:
		return "Invalid value for parameter"
	case CodeAuthNotImplementedParameter:
		return "Not implemented parameter"
	case CodeAuthStateMissing:
		return "Session value state missing."
	case CodeAuthStateForbidden:
		return "Wrong state parameter given."
	case CodeAuthAlreadyAssociated:
		return "This account is already in use."
	case CodeAuthTokenRevoked:
		return "User revoke access to the token"
	case CodeAuthForbidden:
		return "Your credentials aren't allowed"
	case CodeAuthUnreachableProvider:
		return "The authentication provider could not be reached"
	case CodeAuthConnectionError:
		return "Connection error"
	case CodeInvalidEmail:
		return "Email couldn't be validated"
	case CodeNotAllowedToDisconnect:
		return "This account is not allowed to be disconnected."
	case CodeWrongBackend:
		return "Incorrect authentication service"
	case CodeMissingBackend:
		return "Missing backend entry"
	case CodeStorageUnavailable:
		return "Storage unavailable"
	case CodeImproperlyConfigured:
		return "Improperly configured"
	case CodeFieldEncryption:
		return "Stored secret cannot be decrypted"
	default:
		return "Authentication error"
	}
}

// Error is the one error type of socialauth's authentication paths. Match it
// with errors.Is against a Code (which follows the upstream class hierarchy)
// or errors.As to read its fields.
//
// Msg and Param must never hold secrets (tokens, codes, keys): they end up in
// logs and, as Code, in redirect URLs.
type Error struct {
	Code    Code   // what went wrong
	Backend string // the backend name, when known
	Param   string // the parameter, for the *Parameter codes
	Msg     string // a short, safe detail
	Err     error  // the cause, if any
}

// Error formats the upstream message, the parameter or detail, and the cause.
func (e *Error) Error() string {
	s := e.Code.message()
	switch {
	case e.Param != "":
		s += " " + e.Param
	case e.Msg != "":
		s += ": " + e.Msg
	}
	if e.Backend != "" {
		s = e.Backend + ": " + s
	}
	if e.Err == nil {
		return s
	}
	causes := leaves(e.Err)
	if len(causes) == 1 {
		return s + ": " + causes[0].Error()
	}
	// Several causes (every bad setting of a backend, say): one per line.
	var b strings.Builder
	b.WriteString(s + ":")
	for _, c := range causes {
		b.WriteString("\n  " + strings.ReplaceAll(c.Error(), "\n", "\n  "))
	}
	return b.String()
}

// leaves flattens errors joined with errors.Join (Unwrap() []error), so a
// join of joins prints as one list.
func leaves(err error) []error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return []error{err}
	}
	var out []error
	for _, e := range j.Unwrap() {
		out = append(out, leaves(e)...)
	}
	return out
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Is reports whether target is this error's Code or one of its ancestors in
// the upstream hierarchy.
func (e *Error) Is(target error) bool {
	t, ok := target.(Code)
	return ok && e.Code.isA(t)
}

// NewError builds an *Error; a helper for backends and steps.
func NewError(code Code, backend, msg string, cause error) *Error {
	return &Error{Code: code, Backend: backend, Msg: msg, Err: cause}
}

// MissingParameter builds an AuthMissingParameter error for param.
func MissingParameter(backend, param string) *Error {
	return &Error{Code: CodeAuthMissingParameter, Backend: backend, Param: param}
}

// Storage-level sentinels. A Storage returns errors that wrap these so the
// pipeline can tell "no row" and "unique key collided" from a failure.
var (
	// ErrNotFound: the record does not exist.
	ErrNotFound = errors.New("socialauth: not found")
	// ErrDuplicate: a unique constraint rejected the write (a race lost, or a
	// username taken). The pipeline restarts once on it; see Service.Complete.
	ErrDuplicate = errors.New("socialauth: duplicate key")
	// ErrConflict: the database aborted the transaction to resolve a
	// conflict (a deadlock, a lock wait timeout, a serialization failure)
	// and rolled it back; run it again. The pipeline restarts on it (at most
	// three runs in all); elsewhere HTTPStatus answers it 503.
	ErrConflict = errors.New("socialauth: the database aborted the transaction to resolve a conflict; run it again")
)

// ErrorCode returns the Code of err, or "" when err is not an *Error.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// HTTPStatus is the one mapping from an error on the authentication paths to
// the HTTP status answered (see SECURITY.md): 400 malformed or missing input,
// 403 failed verification, 409 identity conflict, 502/504 provider failure or
// timeout, 503 storage down or a transaction aborted by a conflict
// (ErrConflict) that survived the restarts, 404 unknown backend, 500 anything unexpected.
func HTTPStatus(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var e *Error
	if !errors.As(err, &e) {
		switch {
		case errors.Is(err, context.DeadlineExceeded):
			return http.StatusGatewayTimeout
		case errors.Is(err, ErrConflict):
			return http.StatusServiceUnavailable
		}
		return http.StatusInternalServerError
	}
	switch e.Code {
	case CodeAuthMissingParameter, CodeAuthInvalidParameter, CodeAuthNotImplementedParameter,
		CodeAuthStateMissing, CodeWrongBackend:
		return http.StatusBadRequest
	case CodeMissingBackend:
		return http.StatusNotFound
	case CodeAuthStateForbidden, CodeAuthTokenError, CodeAuthForbidden, CodeAuthFailed,
		CodeAuthCanceled, CodeAuthTokenRevoked, CodeInvalidEmail, CodeNotAllowedToDisconnect,
		CodeAuthException:
		return http.StatusForbidden
	case CodeAuthAlreadyAssociated:
		return http.StatusConflict
	case CodeAuthUnreachableProvider, CodeAuthConnectionError, CodeAuthUnknownError:
		if errors.Is(err, context.DeadlineExceeded) {
			return http.StatusGatewayTimeout
		}
		return http.StatusBadGateway
	case CodeStorageUnavailable:
		return http.StatusServiceUnavailable
	default:
		if errors.Is(err, ErrConflict) {
			return http.StatusServiceUnavailable
		}
		return http.StatusInternalServerError
	}
}
