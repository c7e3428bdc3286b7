package strategies_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
)

// test_get_setting and the rest of EdxDjangoStrategy's table.
func TestEdxDefaults(t *testing.T) {
	userFields := []string{"username", "email", "first_name", "last_name"}
	t.Run("defaults apply when unset", func(t *testing.T) {
		s := strategies.WithEdxDefaults(settings.New())
		got, err := s.StringList("", "SOCIAL_AUTH_USER_FIELDS", nil)
		if err != nil || !cmp.Equal(got, userFields) {
			t.Errorf("SOCIAL_AUTH_USER_FIELDS = %v, %v", got, err)
		}
		pipe, err := s.StringList(edx.Name, "PIPELINE", nil)
		if err != nil || !cmp.Equal(pipe, edx.Pipeline()) {
			t.Errorf("PIPELINE for edx-oauth2 = %v, %v", pipe, err)
		}
		for _, name := range []string{"RAISE_EXCEPTIONS", "REDIRECT_IS_HTTPS"} {
			if on, err := s.Bool(edx.Name, name, false); !on || err != nil {
				t.Errorf("%s = %v, %v; want true", name, on, err)
			}
		}
		v, key, ok := s.Lookup(edx.Name, "LOGOUT_REDIRECT_URL")
		if !ok || v != nil || key != "LOGOUT_REDIRECT_URL" {
			t.Errorf("LOGOUT_REDIRECT_URL = %v from %q (set %v), want the nil default", v, key, ok)
		}
	})
	t.Run("explicit nil on a non-_URL setting is kept", func(t *testing.T) {
		s := strategies.WithEdxDefaults(settings.New(settings.Map{"SOCIAL_AUTH_USER_FIELDS": nil}))
		v, _, ok := s.Lookup("", "SOCIAL_AUTH_USER_FIELDS")
		if !ok || v != nil {
			t.Errorf("SOCIAL_AUTH_USER_FIELDS = %v (set %v), want explicit nil", v, ok)
		}
	})
	t.Run("app values win", func(t *testing.T) {
		s := strategies.WithEdxDefaults(settings.New(settings.Map{
			"SOCIAL_AUTH_REDIRECT_IS_HTTPS":     false,
			"SOCIAL_AUTH_EDX_OAUTH2_PIPELINE":   []string{"x"},
			"SOCIAL_AUTH_USER_FIELDS":           []string{"username"},
			"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":   "https://lms",
			"SOCIAL_AUTH_LOGOUT_REDIRECT_URL":   "https://app/bye",
			"SOCIAL_AUTH_EDX_OAUTH2_SOMETHING":  "",
			"SOCIAL_AUTH_EDX_OAUTH2_EMPTY_LIST": nil,
		}))
		if on, _ := s.Bool(edx.Name, "REDIRECT_IS_HTTPS", true); on {
			t.Error("REDIRECT_IS_HTTPS default overrode the app")
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
				s := strategies.WithEdxDefaults(settings.New(tc.set))
				v, key, _ := s.Lookup(edx.Name, tc.name)
				if v != tc.want || key != tc.wantKey {
					t.Errorf("%s = %v from %q, want %v from %q", tc.name, v, key, tc.want, tc.wantKey)
				}
			})
		}
	})
	t.Run("does not change its input or share maps", func(t *testing.T) {
		base := settings.New()
		_ = strategies.WithEdxDefaults(base)
		if base.IsSet("", "SOCIAL_AUTH_PIPELINE") {
			t.Error("WithEdxDefaults changed its input")
		}
		m := strategies.EdxDefaults()
		m["SOCIAL_AUTH_PIPELINE"].([]string)[0] = "changed"
		if strategies.EdxDefaults()["SOCIAL_AUTH_PIPELINE"].([]string)[0] == "changed" {
			t.Error("EdxDefaults shares its slices")
		}
	})
}

// With the edX defaults, the pipeline resolves against the default steps
// plus the edX steps, and the edx-oauth2 backend's logout URL has no
// redirect (LOGOUT_REDIRECT_URL's default is None).
func TestEdxDefaultsWithBackend(t *testing.T) {
	s := strategies.WithEdxDefaults(settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "https://www.example.com",
		"LOGOUT_REDIRECT_URL":             nil,
	}))
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	names, err := s.StringList(edx.Name, "PIPELINE", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := steps.Resolve(names); err != nil {
		t.Errorf("Resolve: %v", err)
	}
	b, err := edx.New(edx.Options{Settings: s})
	if err != nil {
		t.Fatal(err)
	}
	st := testutil.NewStrategy(testutil.StrategyOptions{Settings: s})
	got, err := b.LogoutURL(context.Background(), st)
	if err != nil || got != "https://www.example.com/logout" {
		t.Errorf("LogoutURL = %q, %v", got, err)
	}
	if uri := st.AbsoluteURI("/complete/edx-oauth2/"); uri != "https://testserver/complete/edx-oauth2/" {
		t.Errorf("AbsoluteURI = %q, want https (REDIRECT_IS_HTTPS default)", uri)
	}
}

func ExampleWithEdxDefaults() {
	s := strategies.WithEdxDefaults(settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "http://edx.devstack.lms:18000",
		"SOCIAL_AUTH_REDIRECT_IS_HTTPS":   false, // devstack
	}))
	https, _ := s.Bool("", "REDIRECT_IS_HTTPS", true)
	fields, _ := s.StringList("", "USER_FIELDS", nil)
	pipe, _ := s.StringList(edx.Name, "PIPELINE", nil)
	fmt.Println(https, fields, pipe[len(pipe)-1])
	// Output: false [username email first_name last_name] auth_backends.pipeline.update_email
}
