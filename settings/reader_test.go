package settings_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/settings"
)

func TestReaderKeepsEveryErrorNamingItsKey(t *testing.T) {
	s := settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL": "abc",
		"SOCIAL_AUTH_USE_PKCE":             "maybe",
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":  "not a url",
		"SOCIAL_AUTH_EDX_OAUTH2_TIMEOUT":   "-3s",
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":    "s3cr3t",
	})
	r := s.Reader("edx-oauth2")
	if got := r.Duration("STATE_TTL", time.Minute); got != time.Minute {
		t.Errorf("malformed duration: got %v, want the default", got)
	}
	if got := r.Bool("USE_PKCE", true); !got {
		t.Errorf("malformed bool: got %v, want the default", got)
	}
	if got := r.URL("URL_ROOT", ""); got != "" {
		t.Errorf("invalid URL: got %q, want empty", got)
	}
	r.Duration("TIMEOUT", time.Second)
	r.Required("KEY")
	if got := r.String("SECRET", ""); got != "s3cr3t" {
		t.Errorf("SECRET = %q", got)
	}
	err := r.Err()
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL", "SOCIAL_AUTH_USE_PKCE", "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT",
		"SOCIAL_AUTH_EDX_OAUTH2_TIMEOUT", "SOCIAL_AUTH_EDX_OAUTH2_KEY is required",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), "not a url") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("error %q quotes a value", err)
	}
	for _, target := range []error{settings.ErrWrongType, settings.ErrMissing, settings.ErrInvalid} {
		if !errors.Is(err, target) {
			t.Errorf("errors.Is(err, %v) = false", target)
		}
	}
}

func TestReaderNoErrorWhenUnsetOrValid(t *testing.T) {
	r := (*settings.Settings)(nil).Reader("x")
	if got := r.URL("URL_ROOT", ""); got != "" {
		t.Errorf("unset URL = %q", got)
	}
	if got := r.StringList("SCOPE", []string{"a"}); len(got) != 1 || got[0] != "a" {
		t.Errorf("default list = %v", got)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
	r = settings.New(settings.Map{"SOCIAL_AUTH_X_URL_ROOT": "https://lms.example.com/"}).Reader("x")
	if got := r.URL("URL_ROOT", ""); got != "https://lms.example.com/" {
		t.Errorf("URL = %q", got)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("Err() = %v", err)
	}
}

func TestCheckAbsoluteURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"https://a.example": true, "http://127.0.0.1:8000/x": true,
		"ftp://a": false, "/path": false, "https://u:p@a": false, "https://a/#f": false,
		"https://a b": false, "https://": false,
	} {
		if got := settings.CheckAbsoluteURL(raw) == ""; got != ok {
			t.Errorf("CheckAbsoluteURL(%q) ok = %v, want %v", raw, got, ok)
		}
	}
}
