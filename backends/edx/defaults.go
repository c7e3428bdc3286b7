package edx

import (
	"strings"

	"github.com/socialauth-go/socialauth/settings"
)

// Defaults returns the default table of upstream's EdxDjangoStrategy
// (auth_backends.strategies.EdxDjangoStrategy.DEFAULT_SETTINGS), keyed by
// full setting name: the edX pipeline, RAISE_EXCEPTIONS on, USER_FIELDS
// username/email/first_name/last_name, and LOGOUT_REDIRECT_URL explicitly
// unset (nil). A new map on every call.
//
// Upstream's REDIRECT_IS_HTTPS=True is left out on purpose: here the scheme
// of the redirect URIs comes from the service's base URL (an https base URL
// gives https redirect URIs), and the strategy refuses at start-up a
// REDIRECT_IS_HTTPS=true that contradicts an http base URL, so a default
// of true would only break an http development setup.
func Defaults() settings.Map {
	return settings.Map{
		"SOCIAL_AUTH_PIPELINE":         Pipeline(),
		"SOCIAL_AUTH_RAISE_EXCEPTIONS": true,
		"SOCIAL_AUTH_USER_FIELDS":      []string{"username", "email", "first_name", "last_name"},
		"LOGOUT_REDIRECT_URL":          nil,
	}
}

// WithDefaults returns s with Defaults below everything it holds, so a
// default applies only where the application has not set the key, and with
// upstream's _URL rule: a setting whose name ends in _URL that is explicitly
// nil or empty counts as unset (upstream's get_setting falls back to its
// default when resolve_url fails on it), so the default for that key — or
// the next candidate name — answers. Any other explicit value, nil
// included, is kept (SOCIAL_AUTH_USER_FIELDS=nil stays nil). s is unchanged.
// Give the result to ConfigFrom and to the Service (socialauth.Options.Settings),
// which read it once, at start-up.
func WithDefaults(s *settings.Settings) *settings.Settings {
	return s.WithDefaults(Defaults()).WithFilter(emptyURLIsUnset)
}

// emptyURLIsUnset is the settings.Filter of WithDefaults.
func emptyURLIsUnset(key string, v any) (any, bool) {
	if !strings.HasSuffix(key, "_URL") {
		return v, true
	}
	switch x := v.(type) {
	case nil:
		return nil, false
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, false
		}
	}
	return v, true
}
