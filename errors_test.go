package socialauth_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
)

func TestErrorHierarchy(t *testing.T) {
	tests := []struct {
		code    socialauth.Code
		is      []error
		isNot   []error
		status  int
		message string
	}{
		{socialauth.CodeAuthCanceled, []error{socialauth.CodeAuthCanceled, socialauth.CodeAuthException}, []error{socialauth.CodeAuthFailed}, 403, "Authentication process canceled"},
		{socialauth.CodeAuthInvalidParameter, []error{socialauth.CodeAuthInvalidParameter, socialauth.CodeAuthMissingParameter, socialauth.CodeAuthException}, []error{socialauth.CodeAuthNotImplementedParameter}, 400, "Invalid value for parameter"},
		{socialauth.CodeAuthNotImplementedParameter, []error{socialauth.CodeAuthMissingParameter}, nil, 400, "Not implemented parameter"},
		{socialauth.CodeAuthStateMissing, []error{socialauth.CodeAuthException}, []error{socialauth.CodeAuthStateForbidden}, 400, "Session value state missing."},
		{socialauth.CodeAuthStateForbidden, []error{socialauth.CodeAuthException}, nil, 403, "Wrong state parameter given."},
		{socialauth.CodeAuthTokenError, []error{socialauth.CodeAuthException}, nil, 403, "Token error"},
		{socialauth.CodeAuthAlreadyAssociated, []error{socialauth.CodeAuthException}, nil, 409, "This account is already in use."},
		{socialauth.CodeAuthUnreachableProvider, []error{socialauth.CodeAuthException}, nil, 502, "The authentication provider could not be reached"},
		{socialauth.CodeAuthConnectionError, []error{socialauth.CodeAuthException}, nil, 502, "Connection error"},
		{socialauth.CodeMissingBackend, []error{socialauth.CodeMissingBackend, socialauth.CodeWrongBackend}, []error{socialauth.CodeAuthException}, 404, "Missing backend entry"},
		{socialauth.CodeWrongBackend, []error{socialauth.CodeWrongBackend}, []error{socialauth.CodeMissingBackend, socialauth.CodeAuthException}, 400, "Incorrect authentication service"},
		{socialauth.CodeNotAllowedToDisconnect, []error{socialauth.CodeNotAllowedToDisconnect}, []error{socialauth.CodeAuthException}, 403, "This account is not allowed to be disconnected."},
		{socialauth.CodeStorageUnavailable, []error{socialauth.CodeStorageUnavailable}, []error{socialauth.CodeAuthException}, 503, "Storage unavailable"},
		{socialauth.CodeFieldEncryption, []error{socialauth.CodeFieldEncryption}, []error{socialauth.CodeAuthException, socialauth.CodeStorageUnavailable}, 500, "Stored secret cannot be decrypted"},
		{socialauth.CodeInvalidEmail, []error{socialauth.CodeInvalidEmail, socialauth.CodeAuthException}, nil, 403, "Email couldn't be validated"},
	}
	for _, tt := range tests {
		t.Run(string(tt.code), func(t *testing.T) {
			// Wrapped twice, as a caller would see it.
			err := fmt.Errorf("outer: %w", socialauth.NewError(tt.code, "edx-oauth2", "", nil))
			for _, target := range tt.is {
				if !errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = false", err, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(err, target) {
					t.Errorf("errors.Is(%v, %v) = true", err, target)
				}
			}
			if got := socialauth.HTTPStatus(err); got != tt.status {
				t.Errorf("HTTPStatus = %d, want %d", got, tt.status)
			}
			if socialauth.ErrorCode(err) != tt.code {
				t.Errorf("ErrorCode = %q", socialauth.ErrorCode(err))
			}
			if !strings.Contains(err.Error(), tt.message) || !strings.Contains(err.Error(), "edx-oauth2") {
				t.Errorf("Error() = %q, want the upstream message %q and the backend", err.Error(), tt.message)
			}
			// A bare Code follows the same hierarchy and reads as the message.
			for _, target := range tt.is {
				if !errors.Is(tt.code, target) {
					t.Errorf("errors.Is(%s, %v) = false", tt.code, target)
				}
			}
			for _, target := range tt.isNot {
				if errors.Is(tt.code, target) {
					t.Errorf("errors.Is(%s, %v) = true", tt.code, target)
				}
			}
			if tt.code.Error() != tt.message {
				t.Errorf("Code.Error() = %q, want %q", tt.code.Error(), tt.message)
			}
		})
	}
}

func TestErrorDetails(t *testing.T) {
	cause := errors.New("dial tcp: refused")
	err := socialauth.NewError(socialauth.CodeAuthConnectionError, "b", "", cause)
	if !errors.Is(err, cause) {
		t.Error("cause not unwrapped")
	}
	timeout := socialauth.NewError(socialauth.CodeAuthUnreachableProvider, "b", "", context.DeadlineExceeded)
	if socialauth.HTTPStatus(timeout) != 504 {
		t.Errorf("timeout status = %d, want 504", socialauth.HTTPStatus(timeout))
	}
	if got := socialauth.MissingParameter("b", "state").Error(); got != "b: Missing needed parameter state" {
		t.Errorf("MissingParameter = %q", got)
	}
	if socialauth.HTTPStatus(errors.New("x")) != 500 || socialauth.HTTPStatus(nil) != 200 {
		t.Error("untyped errors must map to 500")
	}
	// Only a Code is a match target: another *Error never matches, even of
	// the same code.
	if errors.Is(err, &socialauth.Error{Code: socialauth.CodeAuthConnectionError}) {
		t.Error("matched an *Error target")
	}
}

func TestErrorListsJoinedCauses(t *testing.T) {
	a, b := errors.New("settings: A is required"), errors.New("settings: B: want bool, got malformed bool")
	c := errors.New("settings: C: must not be negative")
	err := &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: "x", Err: errors.Join(errors.Join(a, b), c)}
	want := "x: Improperly configured:\n  settings: A is required\n  settings: B: want bool, got malformed bool\n  settings: C: must not be negative"
	if got := err.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
	for _, cause := range []error{a, b, c} {
		if !errors.Is(err, cause) {
			t.Errorf("errors.Is(err, %v) = false", cause)
		}
	}
	one := &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: "x", Err: errors.Join(a)}
	if got := one.Error(); got != "x: Improperly configured: settings: A is required" {
		t.Errorf("one cause: %q", got)
	}
}
