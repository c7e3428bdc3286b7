package socialauth

import (
	"errors"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth/internal/redirect"

	"github.com/socialauth-go/socialauth/settings"
)

// Config is what a Service needs to know about one backend, read once when
// the Service is built. ConfigFrom reads it from the Django-style settings;
// an app that configures in code fills it itself and passes it in
// Options.Configs.
type Config struct {
	// Pipeline and DisconnectPipeline are the step names of the auth and
	// disconnect pipelines (PIPELINE, DISCONNECT_PIPELINE).
	Pipeline           []string
	DisconnectPipeline []string
	// FieldsStoredInSession are the request parameters Begin keeps in the
	// session (FIELDS_STORED_IN_SESSION).
	FieldsStoredInSession []string
	// PartialPipelineTTL bounds how long a paused pipeline can be resumed
	// (PARTIAL_PIPELINE_TTL, default DefaultPartialTTL).
	PartialPipelineTTL time.Duration
	// AllowInactiveUsersLogin lets an inactive user sign in
	// (ALLOW_INACTIVE_USERS_LOGIN); InactiveUserURL is where an inactive
	// user is sent otherwise (INACTIVE_USER_URL).
	AllowInactiveUsersLogin bool
	InactiveUserURL         string
	// Redirect targets (LOGIN_REDIRECT_URL, NEW_USER_REDIRECT_URL,
	// NEW_ASSOCIATION_REDIRECT_URL, DISCONNECT_REDIRECT_URL,
	// LOGIN_ERROR_URL, LOGIN_URL).
	LoginRedirectURL          string
	NewUserRedirectURL        string
	NewAssociationRedirectURL string
	DisconnectRedirectURL     string
	LoginErrorURL             string
	LoginURL                  string
	// The redirect policy: SANITIZE_REDIRECTS (default true),
	// ALLOWED_REDIRECT_HOSTS and ALLOWED_REDIRECT_SCHEMES.
	SanitizeRedirects      bool
	AllowedRedirectHosts   []string
	AllowedRedirectSchemes []string
}

// DefaultConfig returns the configuration of a backend with no settings:
// social-core's default pipelines, DefaultPartialTTL, sanitized redirects.
func DefaultConfig() Config {
	return Config{
		Pipeline:           DefaultAuthPipeline(),
		DisconnectPipeline: DefaultDisconnectPipeline(),
		PartialPipelineTTL: DefaultPartialTTL,
		SanitizeRedirects:  true,
	}
}

// ConfigFrom reads backend's Config from s, with the upstream names and
// lookup order (SOCIAL_AUTH_<BACKEND>_<NAME>, SOCIAL_AUTH_<NAME>, <NAME>).
// ALLOW_INACTIVE_USERS_LOGIN is read globally only, as upstream. Every
// malformed setting is reported, each error naming its key.
func ConfigFrom(s *settings.Settings, backend string) (Config, error) {
	d := DefaultConfig()
	r := s.Reader(backend)
	c := Config{
		Pipeline:                  r.StringList("PIPELINE", d.Pipeline),
		DisconnectPipeline:        r.StringList("DISCONNECT_PIPELINE", d.DisconnectPipeline),
		FieldsStoredInSession:     r.StringList("FIELDS_STORED_IN_SESSION", nil),
		PartialPipelineTTL:        r.Duration("PARTIAL_PIPELINE_TTL", d.PartialPipelineTTL),
		InactiveUserURL:           r.String("INACTIVE_USER_URL", ""),
		LoginRedirectURL:          r.String("LOGIN_REDIRECT_URL", ""),
		NewUserRedirectURL:        r.String("NEW_USER_REDIRECT_URL", ""),
		NewAssociationRedirectURL: r.String("NEW_ASSOCIATION_REDIRECT_URL", ""),
		DisconnectRedirectURL:     r.String("DISCONNECT_REDIRECT_URL", ""),
		LoginErrorURL:             r.String("LOGIN_ERROR_URL", ""),
		LoginURL:                  r.String("LOGIN_URL", ""),
		SanitizeRedirects:         r.Bool("SANITIZE_REDIRECTS", d.SanitizeRedirects),
		AllowedRedirectHosts:      r.StringList("ALLOWED_REDIRECT_HOSTS", nil),
		AllowedRedirectSchemes:    r.StringList("ALLOWED_REDIRECT_SCHEMES", nil),
	}
	for _, t := range []struct{ name, v string }{
		{"INACTIVE_USER_URL", c.InactiveUserURL}, {"LOGIN_REDIRECT_URL", c.LoginRedirectURL},
		{"NEW_USER_REDIRECT_URL", c.NewUserRedirectURL}, {"NEW_ASSOCIATION_REDIRECT_URL", c.NewAssociationRedirectURL},
		{"DISCONNECT_REDIRECT_URL", c.DisconnectRedirectURL}, {"LOGIN_ERROR_URL", c.LoginErrorURL}, {"LOGIN_URL", c.LoginURL},
	} {
		if reason := checkRedirectTarget(t.v); reason != "" {
			r.Invalid(t.name, reason)
		}
	}
	global := s.Reader("")
	c.AllowInactiveUsersLogin = global.Bool("ALLOW_INACTIVE_USERS_LOGIN", false)
	if err := errors.Join(r.Err(), global.Err()); err != nil {
		return Config{}, configError(backend, err)
	}
	if c.PartialPipelineTTL == 0 {
		c.PartialPipelineTTL = DefaultPartialTTL
	}
	return c, nil
}

// checkRedirectTarget returns why v cannot be a redirect target setting
// ("" when it can, or when it is empty): it must be a local path starting
// with a single "/" that the redirect policy accepts, or an absolute http(s)
// URL. (Django's view names are not supported.) Whether an absolute URL's
// host is allowed is decided per request, against ALLOWED_REDIRECT_HOSTS and
// the service's own host.
func checkRedirectTarget(v string) string {
	switch {
	case v == "":
		return ""
	case strings.HasPrefix(v, "/"):
		if _, err := (redirect.Policy{}).Sanitize(v); err != nil {
			return "must be a path starting with / or an absolute http(s) URL (this path is refused by the redirect policy)"
		}
		return ""
	case settings.CheckAbsoluteURL(v) != "":
		return "must be a path starting with / or an absolute http(s) URL"
	}
	return ""
}
