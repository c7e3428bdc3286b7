package pipeline_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
)

// TestMalformedSettingFailsAtBuild: every setting a default step reads is
// read once, when the pipeline is built (socialauth.New calls Steps.Build):
// a malformed value fails there with an ImproperlyConfigured error naming
// the key that answered, never quoting the value, instead of failing the
// first login.
func TestMalformedSettingFailsAtBuild(t *testing.T) {
	const secretish = "s3cr3t-looking-value"
	tests := []struct {
		step    string
		key     string
		value   any
		wantErr error // besides ImproperlyConfigured
	}{
		{pipeline.StepAuthAllowed, "SOCIAL_AUTH_WHITELISTED_EMAILS", 7, settings.ErrWrongType},
		{pipeline.StepAuthAllowed, "SOCIAL_AUTH_FAKE_WHITELISTED_DOMAINS", map[string]any{"x": secretish}, settings.ErrWrongType},
		{pipeline.StepGetUsername, "SOCIAL_AUTH_USER_FIELDS", 5, settings.ErrWrongType},
		{pipeline.StepGetUsername, "SOCIAL_AUTH_USERNAME_IS_FULL_EMAIL", secretish, settings.ErrWrongType},
		{pipeline.StepGetUsername, "SOCIAL_AUTH_UUID_LENGTH", secretish, settings.ErrWrongType},
		{pipeline.StepGetUsername, "SOCIAL_AUTH_UUID_LENGTH", 0, settings.ErrInvalid},
		{pipeline.StepGetUsername, "SOCIAL_AUTH_FAKE_SLUGIFY_USERNAMES", secretish, settings.ErrWrongType},
		{pipeline.StepGetUsername, "CLEAN_USERNAMES", secretish, settings.ErrWrongType},
		{pipeline.StepCreateUser, "SOCIAL_AUTH_USER_FIELDS", secretish + ",email", nil},
		{pipeline.StepCreateUser, "SOCIAL_AUTH_FORCE_EMAIL_LOWERCASE", secretish, settings.ErrWrongType},
		{pipeline.StepUserDetails, "SOCIAL_AUTH_NO_DEFAULT_PROTECTED_USER_FIELDS", secretish, settings.ErrWrongType},
		{pipeline.StepUserDetails, "SOCIAL_AUTH_PROTECTED_USER_FIELDS", 1, settings.ErrWrongType},
		{pipeline.StepUserDetails, "SOCIAL_AUTH_IMMUTABLE_USER_FIELDS", true, settings.ErrWrongType},
		{pipeline.StepUserDetails, "SOCIAL_AUTH_FAKE_USER_FIELD_MAPPING", secretish, settings.ErrWrongType},
		{pipeline.StepMailValidation, "SOCIAL_AUTH_FORCE_EMAIL_VALIDATION", secretish, settings.ErrWrongType},
		{pipeline.StepMailValidation, "SOCIAL_AUTH_PASSWORDLESS", secretish, settings.ErrWrongType},
		{pipeline.StepMailValidation, "SOCIAL_AUTH_EMAIL_VALIDATION_URL", 42, settings.ErrWrongType},
		{pipeline.StepRevokeTokens, "REVOKE_TOKENS_ON_DISCONNECT", secretish, settings.ErrWrongType},
	}
	send := pipeline.WithEmailSender(func(context.Context, *socialauth.State, *socialauth.EmailCode, string) error { return nil })
	for _, tc := range tests {
		t.Run(tc.step+"/"+tc.key, func(t *testing.T) {
			m := settings.Map{tc.key: tc.value}
			if tc.step == pipeline.StepMailValidation && tc.key != "SOCIAL_AUTH_EMAIL_VALIDATION_URL" {
				m["SOCIAL_AUTH_EMAIL_VALIDATION_URL"] = "/validate/"
			}
			err := buildErr(tc.step, m, send)
			if tc.wantErr == nil {
				// A list given as comma-separated text is accepted: only
				// check that the step builds.
				if err != nil {
					t.Fatalf("build: %v", err)
				}
				return
			}
			if !errors.Is(err, socialauth.CodeImproperlyConfigured) || !errors.Is(err, tc.wantErr) {
				t.Fatalf("build: %v; want ImproperlyConfigured and %v", err, tc.wantErr)
			}
			var e *socialauth.Error
			if !errors.As(err, &e) || e.Backend != "fake" {
				t.Errorf("error %#v does not name the backend", err)
			}
			if msg := err.Error(); !strings.Contains(msg, tc.key) || !strings.Contains(msg, tc.step) {
				t.Errorf("error %q does not name the key %s and the step", msg, tc.key)
			}
			if strings.Contains(err.Error(), secretish) {
				t.Errorf("error %q quotes the value", err)
			}
		})
	}
}

// TestBuildReportsEverySetting: one build names every malformed setting of
// a step, so that a deployment fixes them in one round.
func TestBuildReportsEverySetting(t *testing.T) {
	err := buildErr(pipeline.StepUserDetails, settings.Map{
		"SOCIAL_AUTH_PROTECTED_USER_FIELDS": 1,
		"SOCIAL_AUTH_USER_FIELD_MAPPING":    2,
	})
	for _, key := range []string{"SOCIAL_AUTH_PROTECTED_USER_FIELDS", "SOCIAL_AUTH_USER_FIELD_MAPPING"} {
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("build error %v does not name %s", err, key)
		}
	}
}

// TestBuildPerBackend: a step is built once per backend, each with its own
// SOCIAL_AUTH_<BACKEND>_ settings.
func TestBuildPerBackend(t *testing.T) {
	s := settings.New(settings.Map{
		"SOCIAL_AUTH_GOOD_WHITELISTED_DOMAINS": []string{"example.com"},
		"SOCIAL_AUTH_BAD_WHITELISTED_DOMAINS":  3,
	})
	r := pipeline.NewSteps()
	if _, err := r.Build([]string{pipeline.StepAuthAllowed}, "good", s); err != nil {
		t.Errorf("backend good: %v", err)
	}
	if _, err := r.Build([]string{pipeline.StepAuthAllowed}, "bad", s); err == nil || !strings.Contains(err.Error(), "SOCIAL_AUTH_BAD_WHITELISTED_DOMAINS") {
		t.Errorf("backend bad: %v; want an error naming SOCIAL_AUTH_BAD_WHITELISTED_DOMAINS", err)
	}
}

// TestDefaultStepsBuildWithoutSettings: the default pipelines need no
// setting at all.
func TestDefaultStepsBuildWithoutSettings(t *testing.T) {
	r := pipeline.NewSteps()
	for _, names := range [][]string{socialauth.DefaultAuthPipeline(), socialauth.DefaultDisconnectPipeline()} {
		steps, err := r.Build(names, "fake", nil)
		if err != nil {
			t.Fatalf("Build(%v): %v", names, err)
		}
		for _, s := range steps {
			if s.Func == nil || s.New != nil {
				t.Errorf("step %s not built: %+v", s.Name, s)
			}
		}
	}
}
