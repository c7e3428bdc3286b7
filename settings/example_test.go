package settings_test

import (
	"fmt"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth/settings"
)

func ExampleKeys() {
	fmt.Println(settings.Keys("edx-oauth2", "URL_ROOT"))
	fmt.Println(settings.Keys("", "PIPELINE"))
	fmt.Println(settings.Keys("edx-oauth2", "SOCIAL_AUTH_PIPELINE"))
	// Output:
	// [SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT SOCIAL_AUTH_URL_ROOT URL_ROOT]
	// [SOCIAL_AUTH_PIPELINE PIPELINE]
	// [SOCIAL_AUTH_PIPELINE]
}

// Unset is not the same as set to empty: an explicit "" or nil wins over later candidates
// and over the default.
func ExampleSettings_Lookup() {
	s := settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_LOGIN_ERROR_URL": "",
		"LOGIN_ERROR_URL":                        "/error",
	})
	v, key, ok := s.Lookup("edx-oauth2", "LOGIN_ERROR_URL")
	fmt.Printf("%q from %s (set: %v)\n", v, key, ok)
	_, _, ok = s.Lookup("edx-oauth2", "LOGIN_REDIRECT_URL")
	fmt.Println("LOGIN_REDIRECT_URL set:", ok)
	// Output:
	// "" from SOCIAL_AUTH_EDX_OAUTH2_LOGIN_ERROR_URL (set: true)
	// LOGIN_REDIRECT_URL set: false
}

// The edX strategy: the app's settings in code override the environment, the strategy's
// DEFAULT_SETTINGS are injected below both, and an explicitly empty or nil *_URL setting
// falls back as if unset.
func Example_edX() {
	// EdxDjangoStrategy.DEFAULT_SETTINGS (pipeline abridged), keyed by full names.
	edxDefaults := settings.Map{
		"SOCIAL_AUTH_PIPELINE":          []string{"social_core.pipeline.social_auth.social_details", "auth_backends.pipeline.update_email"},
		"SOCIAL_AUTH_RAISE_EXCEPTIONS":  true,
		"SOCIAL_AUTH_REDIRECT_IS_HTTPS": true,
		"SOCIAL_AUTH_USER_FIELDS":       []string{"username", "email", "first_name", "last_name"},
		"LOGOUT_REDIRECT_URL":           nil,
	}
	// A fixed environment for the example; settings.Env{} reads the real one.
	environ := map[string]string{
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":            "http://edx.devstack.lms:18000",
		"SOCIAL_AUTH_REDIRECT_IS_HTTPS":              "false", // a devstack
		"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": "",      // empty *_URL: falls back
		"SOCIAL_AUTH_EDX_OAUTH2_SESSION_EXPIRATION":  "1h",
	}
	env := settings.Env{LookupEnv: func(k string) (string, bool) { v, ok := environ[k]; return v, ok }}
	code := settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":    "my-client-id",
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET": "my-client-secret",
		"LOGOUT_REDIRECT_URL":           "https://service.example/logged-out",
		"PIPELINE":                      []string{"a bare PIPELINE is not what edX reads"},
	}
	emptyURLIsUnset := func(key string, v any) (any, bool) {
		if strings.HasSuffix(key, "_URL") && (v == nil || v == "") {
			return nil, false
		}
		return v, true
	}
	s := settings.New(env, code).WithDefaults(edxDefaults).WithFilter(emptyURLIsUnset)

	const edx = "edx-oauth2"
	root, _ := s.String(edx, "URL_ROOT", "")
	public, _ := s.String(edx, "PUBLIC_URL_ROOT", "")
	if public == "" { // setting('PUBLIC_URL_ROOT') or setting('URL_ROOT')
		public = root
	}
	https, _ := s.Bool(edx, "REDIRECT_IS_HTTPS", false)
	logout, _, _ := s.Lookup(edx, "LOGOUT_REDIRECT_URL")
	fields, _ := s.StringList(edx, "USER_FIELDS", nil)
	_, pipelineKey, _ := s.Lookup(edx, "PIPELINE")
	expiry, _ := s.Duration(edx, "SESSION_EXPIRATION", 2*time.Hour)

	fmt.Println("token URL:", root+"/oauth2/access_token")
	fmt.Println("authorize URL:", public+"/oauth2/authorize")
	fmt.Println("redirect is https:", https)
	fmt.Println("logout redirect:", logout)
	fmt.Println("user fields:", fields)
	fmt.Println("pipeline from:", pipelineKey)
	fmt.Println("session expiration:", expiry)
	// Output:
	// token URL: http://edx.devstack.lms:18000/oauth2/access_token
	// authorize URL: http://edx.devstack.lms:18000/oauth2/authorize
	// redirect is https: false
	// logout redirect: https://service.example/logged-out
	// user fields: [username email first_name last_name]
	// pipeline from: SOCIAL_AUTH_PIPELINE
	// session expiration: 1h0m0s
}
