package settings

import (
	"errors"
	"fmt"
)

// ErrWrongType is matched (errors.Is) by every [*TypeError].
var ErrWrongType = errors.New("settings: wrong type")

// TypeError reports a setting whose value cannot be read as the requested type.
// It never carries the value itself: settings hold client secrets and keys.
type TypeError struct {
	// Key is the full setting key that answered, e.g. "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT".
	Key string
	// Want names the requested type: "string", "bool", "int", "duration", "string list",
	// "string map".
	Want string
	// Got is the Go type of the value (e.g. "int", "[]interface {}"), or "malformed <Want>"
	// when a string (or number) of an acceptable type could not be parsed.
	Got string
}

// Error implements error. The message names the key and the types, never the value.
func (e *TypeError) Error() string {
	return fmt.Sprintf("settings: %s: want %s, got %s", e.Key, e.Want, e.Got)
}

// Is reports whether target is [ErrWrongType].
func (e *TypeError) Is(target error) bool { return target == ErrWrongType }

func wrongType(key, want string, v any) error {
	return &TypeError{Key: key, Want: want, Got: fmt.Sprintf("%T", v)}
}

func malformed(key, want string) error {
	return &TypeError{Key: key, Want: want, Got: "malformed " + want}
}
