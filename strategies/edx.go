package strategies

import (
	"strings"

	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/settings"
)

// EdxDefaults returns the default table of upstream's EdxDjangoStrategy
// (auth_backends.strategies.EdxDjangoStrategy.DEFAULT_SETTINGS), keyed by
// full setting name: the edX pipeline, RAISE_EXCEPTIONS and
// REDIRECT_IS_HTTPS on, USER_FIELDS username/email/first_name/last_name, and
// LOGOUT_REDIRECT_URL explicitly unset (nil). A new map on every call.
func EdxDefaults() settings.Map {
	return settings.Map{
		"SOCIAL_AUTH_PIPELINE":          edx.Pipeline(),
		"SOCIAL_AUTH_RAISE_EXCEPTIONS":  true,
		"SOCIAL_AUTH_REDIRECT_IS_HTTPS": true,
		"SOCIAL_AUTH_USER_FIELDS":       []string{"username", "email", "first_name", "last_name"},
		"LOGOUT_REDIRECT_URL":           nil,
	}
}

// WithEdxDefaults returns s with EdxDefaults below everything it holds, so a
// default applies only where the application has not set the key, and with
// upstream's _URL rule: a setting whose name ends in _URL that is explicitly
// nil or empty counts as unset (upstream's get_setting falls back to its
// default when resolve_url fails on it), so the default for that key — or
// the next candidate name — answers. Any other explicit value, nil
// included, is kept (SOCIAL_AUTH_USER_FIELDS=nil stays nil). s is unchanged.
func WithEdxDefaults(s *settings.Settings) *settings.Settings {
	return s.WithDefaults(EdxDefaults()).WithFilter(emptyURLIsUnset)
}

// emptyURLIsUnset is the settings.Filter of WithEdxDefaults.
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
