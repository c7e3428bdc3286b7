package securitytest

import (
	"errors"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
)

// A malformed security setting fails closed at start-up: the service is not
// built, the error is ImproperlyConfigured and names the key, and neither
// the error nor the logs carry the value (a secret may be the value). Nothing
// on the request path reports a bad setting: the rejections of the other
// tests are all about the request.
func TestMalformedSecuritySettingsFailAtStartUp(t *testing.T) {
	hmac := canary("hmac")
	cases := []struct {
		name string
		set  map[string]any
		// key is what the error must name.
		key string
		// secret is a value that must not appear in the error.
		secret string
	}{
		{"state lifetime", map[string]any{"SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL": "abc"}, "SOCIAL_AUTH_EDX_OAUTH2_STATE_TTL", ""},
		{"PKCE switch", map[string]any{"SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE": "maybe"}, "SOCIAL_AUTH_EDX_OAUTH2_USE_PKCE", ""},
		{"LMS root not a URL", map[string]any{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "not a url"}, "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", ""},
		{"LMS root javascript:", map[string]any{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "javascript:alert(1)"}, "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", ""},
		{"edX client id missing", map[string]any{"SOCIAL_AUTH_EDX_OAUTH2_KEY": ""}, "SOCIAL_AUTH_EDX_OAUTH2_KEY", ""},
		{"HMAC key of the wrong type", map[string]any{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": []string{hmac}}, "SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY", hmac},
		{"client secret of the wrong type", map[string]any{"SOCIAL_AUTH_LMS_SECRET": []string{hmac}}, "SOCIAL_AUTH_LMS_SECRET", hmac},
		{"OIDC alg none", map[string]any{"SOCIAL_AUTH_OIDC_JWT_ALGORITHMS": []string{"none"}}, "SOCIAL_AUTH_OIDC_JWT_ALGORITHMS", ""},
		{"OIDC HMAC algorithm", map[string]any{"SOCIAL_AUTH_OIDC_JWT_ALGORITHMS": []string{"HS256"}}, "SOCIAL_AUTH_OIDC_JWT_ALGORITHMS", ""},
		{"OIDC issuer not a URL", map[string]any{"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": "not a url"}, "SOCIAL_AUTH_OIDC_OIDC_ENDPOINT", ""},
		{"OAuth2 client id missing", map[string]any{"SOCIAL_AUTH_LMS_KEY": ""}, "SOCIAL_AUTH_LMS_KEY", ""},
		{"OAuth2 endpoint javascript:", map[string]any{"SOCIAL_AUTH_LMS_AUTHORIZATION_URL": "javascript:alert(1)"}, "SOCIAL_AUTH_LMS_AUTHORIZATION_URL", ""},
		{"provider timeout", map[string]any{"SOCIAL_AUTH_REQUESTS_TIMEOUT": "forever"}, "SOCIAL_AUTH_REQUESTS_TIMEOUT", ""},
		{"redirect sanitizing", map[string]any{"SOCIAL_AUTH_SANITIZE_REDIRECTS": "maybe"}, "SOCIAL_AUTH_SANITIZE_REDIRECTS", ""},
		{"redirect allow-list", map[string]any{"SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS": 42}, "SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS", ""},
		{"partial lifetime", map[string]any{"SOCIAL_AUTH_PARTIAL_PIPELINE_TTL": "abc"}, "SOCIAL_AUTH_PARTIAL_PIPELINE_TTL", ""},
		{"inactive users", map[string]any{"SOCIAL_AUTH_ALLOW_INACTIVE_USERS_LOGIN": "maybe"}, "SOCIAL_AUTH_ALLOW_INACTIVE_USERS_LOGIN", ""},
		{"unknown pipeline step", map[string]any{"SOCIAL_AUTH_LMS_PIPELINE": []string{"social_core.pipeline.social_auth.social_details", "no.such.step"}}, "no.such.step", ""},
		{"https redirect URIs over an http base URL", map[string]any{"SOCIAL_AUTH_REDIRECT_IS_HTTPS": true}, "REDIRECT_IS_HTTPS", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, err := buildEnv(t, options{settings: c.set})
			if err == nil {
				t.Fatalf("the service was built with %v", c.set)
			}
			var se *socialauth.Error
			if !errors.As(err, &se) || se.Code != socialauth.CodeImproperlyConfigured {
				t.Errorf("error %v (%T) is not ImproperlyConfigured", err, err)
			}
			if !strings.Contains(err.Error(), c.key) {
				t.Errorf("error %q does not name %s", err, c.key)
			}
			if c.secret != "" {
				e.addSecret(c.secret, "setting value")
				if strings.Contains(err.Error(), c.secret) {
					t.Errorf("the error carries the value of %s: %q", c.key, err)
				}
			}
		})
	}
}
