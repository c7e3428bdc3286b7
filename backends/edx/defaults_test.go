package edx_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
)

// test_get_setting and the rest of EdxDjangoStrategy's table.
func TestDefaults(t *testing.T) {
	userFields := []string{"username", "email", "first_name", "last_name"}
	t.Run("defaults apply when unset", func(t *testing.T) {
		s := edx.WithDefaults(settings.New())
		got, err := s.StringList("", "SOCIAL_AUTH_USER_FIELDS", nil)
		if err != nil || !cmp.Equal(got, userFields) {
			t.Errorf("SOCIAL_AUTH_USER_FIELDS = %v, %v", got, err)
		}
		pipe, err := s.StringList(edx.Name, "PIPELINE", nil)
		if err != nil || !cmp.Equal(pipe, edx.Pipeline()) {
			t.Errorf("PIPELINE for edx-oauth2 = %v, %v", pipe, err)
		}
		if on, err := s.Bool(edx.Name, "RAISE_EXCEPTIONS", false); !on || err != nil {
			t.Errorf("RAISE_EXCEPTIONS = %v, %v; want true", on, err)
		}
		v, key, ok := s.Lookup(edx.Name, "LOGOUT_REDIRECT_URL")
		if !ok || v != nil || key != "LOGOUT_REDIRECT_URL" {
			t.Errorf("LOGOUT_REDIRECT_URL = %v from %q (set %v), want the nil default", v, key, ok)
		}
	})
	t.Run("REDIRECT_IS_HTTPS is left to the base URL", func(t *testing.T) {
		// Upstream defaults it to True; here the redirect URIs take the
		// scheme of the service's base URL, and a true that contradicts an
		// http base URL is a start-up error, so the table leaves it unset.
		if s := edx.WithDefaults(settings.New()); s.IsSet("", "REDIRECT_IS_HTTPS") {
			t.Error("the edX defaults set REDIRECT_IS_HTTPS")
		}
	})
	t.Run("explicit nil on a non-_URL setting is kept", func(t *testing.T) {
		s := edx.WithDefaults(settings.New(settings.Map{"SOCIAL_AUTH_USER_FIELDS": nil}))
		v, _, ok := s.Lookup("", "SOCIAL_AUTH_USER_FIELDS")
		if !ok || v != nil {
			t.Errorf("SOCIAL_AUTH_USER_FIELDS = %v (set %v), want explicit nil", v, ok)
		}
	})
	t.Run("app values win", func(t *testing.T) {
		s := edx.WithDefaults(settings.New(settings.Map{
			"SOCIAL_AUTH_RAISE_EXCEPTIONS":      false,
			"SOCIAL_AUTH_EDX_OAUTH2_PIPELINE":   []string{"x"},
			"SOCIAL_AUTH_USER_FIELDS":           []string{"username"},
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":   "https://lms",
			"SOCIAL_AUTH_LOGOUT_REDIRECT_URL":   "https://app/bye",
			"SOCIAL_AUTH_EDX_OAUTH2_SOMETHING":  "",
			"SOCIAL_AUTH_EDX_OAUTH2_EMPTY_LIST": nil,
		}))
		if on, _ := s.Bool(edx.Name, "RAISE_EXCEPTIONS", true); on {
			t.Error("RAISE_EXCEPTIONS default overrode the app")
		}
		if p, _ := s.StringList(edx.Name, "PIPELINE", nil); !cmp.Equal(p, []string{"x"}) {
			t.Errorf("PIPELINE = %v", p)
		}
		if u, _ := s.String(edx.Name, "LOGOUT_REDIRECT_URL", ""); u != "https://app/bye" {
			t.Errorf("LOGOUT_REDIRECT_URL = %q", u)
		}
		if v, _, ok := s.Lookup(edx.Name, "SOMETHING"); !ok || v != "" {
			t.Errorf("a non-_URL empty string was not kept: %v %v", v, ok)
		}
		if v, _, ok := s.Lookup(edx.Name, "EMPTY_LIST"); !ok || v != nil {
			t.Errorf("a non-_URL nil was not kept: %v %v", v, ok)
		}
	})
	t.Run("an explicitly empty _URL setting falls back", func(t *testing.T) {
		tests := []struct {
			set     settings.Map
			name    string
			want    any
			wantKey string
		}{
			// Django's own LOGOUT_REDIRECT_URL = None: the strategy default (None).
			{settings.Map{"LOGOUT_REDIRECT_URL": nil}, "LOGOUT_REDIRECT_URL", nil, "LOGOUT_REDIRECT_URL"},
			{settings.Map{"LOGOUT_REDIRECT_URL": ""}, "LOGOUT_REDIRECT_URL", nil, "LOGOUT_REDIRECT_URL"},
			// An empty backend value gives way to the next candidate name.
			{settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": "", "LOGOUT_REDIRECT_URL": "https://app/bye"},
				"LOGOUT_REDIRECT_URL", "https://app/bye", "LOGOUT_REDIRECT_URL"},
			{settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGIN_REDIRECT_URL": nil, "SOCIAL_AUTH_LOGIN_REDIRECT_URL": "/home"},
				"LOGIN_REDIRECT_URL", "/home", "SOCIAL_AUTH_LOGIN_REDIRECT_URL"},
		}
		for _, tc := range tests {
			t.Run(fmt.Sprint(tc.set), func(t *testing.T) {
				s := edx.WithDefaults(settings.New(tc.set))
				v, key, _ := s.Lookup(edx.Name, tc.name)
				if v != tc.want || key != tc.wantKey {
					t.Errorf("%s = %v from %q, want %v from %q", tc.name, v, key, tc.want, tc.wantKey)
				}
			})
		}
	})
	t.Run("does not change its input or share maps", func(t *testing.T) {
		base := settings.New()
		_ = edx.WithDefaults(base)
		if base.IsSet("", "SOCIAL_AUTH_PIPELINE") {
			t.Error("WithDefaults changed its input")
		}
		m := edx.Defaults()
		m["SOCIAL_AUTH_PIPELINE"].([]string)[0] = "changed"
		if edx.Defaults()["SOCIAL_AUTH_PIPELINE"].([]string)[0] == "changed" {
			t.Error("Defaults shares its slices")
		}
	})
}

// With the edX defaults, the pipeline resolves against the default steps
// plus the edX steps, and the backend read from them has a logout URL
// without redirect (LOGOUT_REDIRECT_URL's default is None; an empty
// backend value falls back to it).
func TestDefaultsWithBackend(t *testing.T) {
	s := edx.WithDefaults(settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":                 clientKey,
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":              clientSecret,
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":            "https://www.example.com",
		"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": "",
		"LOGOUT_REDIRECT_URL":                        nil,
	}))
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	names, err := s.StringList(edx.Name, "PIPELINE", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := steps.Build(names, edx.Name, s); err != nil {
		t.Errorf("Build: %v", err)
	}
	cfg, err := edx.ConfigFrom(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := edx.New(cfg, edx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := b.LogoutURL(context.Background(), newStrategy())
	if err != nil || got != "https://www.example.com/logout" {
		t.Errorf("LogoutURL = %q, %v", got, err)
	}
}

func ExampleWithDefaults() {
	s := edx.WithDefaults(settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "http://edx.devstack.lms:18000",
	}))
	fields, _ := s.StringList("", "USER_FIELDS", nil)
	pipe, _ := s.StringList(edx.Name, "PIPELINE", nil)
	fmt.Println(fields, pipe[len(pipe)-1])
	// Output: [username email first_name last_name] auth_backends.pipeline.update_email
}
