package edx_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// The edX token policy, as edx-drf-extensions applies it to the same
// tokens: each of these verified (correctly signed) tokens is refused as an
// AuthTokenError, before anything is written.
func TestTokenPolicyRejections(t *testing.T) {
	edit := func(f func(c map[string]any)) func(t *testing.T, h *harness) string {
		return func(t *testing.T, h *harness) string {
			c := lmsClaims(t, h)
			f(c)
			return h.lms.SignAccessToken(c)
		}
	}
	tests := []rejectionCase{
		{name: "no iat", token: edit(func(c map[string]any) { delete(c, "iat") })},
		{name: "iat in the future beyond the leeway", token: edit(func(c map[string]any) { c["iat"] = time.Now().Add(5 * time.Minute).Unix() })},
		{name: "iat not a number", token: edit(func(c map[string]any) { c["iat"] = "now" })},
		{name: "nbf in the future beyond the leeway", token: edit(func(c map[string]any) { c["nbf"] = time.Now().Add(5 * time.Minute).Unix() })},
		{name: "version 2.0.0", token: edit(func(c map[string]any) { c["version"] = "2.0.0" })},
		{name: "version 10", token: edit(func(c map[string]any) { c["version"] = "10" })},
		{name: "version malformed", token: edit(func(c map[string]any) { c["version"] = "v1" })},
		{name: "version empty", token: edit(func(c map[string]any) { c["version"] = "" })},
		{name: "version a number", token: edit(func(c map[string]any) { c["version"] = 1 })},
		{name: "is_restricted true", token: edit(func(c map[string]any) { c["is_restricted"] = true })},
		{name: "is_restricted not a boolean", token: edit(func(c map[string]any) { c["is_restricted"] = "true" })},
		{name: "no user_id though the user_id scope was requested", token: edit(func(c map[string]any) { delete(c, "user_id") })},
		{name: "null user_id", token: edit(func(c map[string]any) { c["user_id"] = nil })},
		{name: "no iat in HMAC mode", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": hmacKey},
			token: func(t *testing.T, h *harness) string {
				c := lmsClaims(t, h)
				delete(c, "iat")
				return signJWT(t, jwa.HS512, []byte(hmacKey), c, nil)
			}},
		{name: "is_restricted in HMAC mode", settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY": hmacKey},
			token: func(t *testing.T, h *harness) string {
				c := lmsClaims(t, h)
				c["is_restricted"] = true
				return signJWT(t, jwa.HS512, []byte(hmacKey), c, nil)
			}},
	}
	runRejections(t, tests)
}

// The policy's controls: what edx-drf-extensions accepts passes.
func TestTokenPolicyAccepted(t *testing.T) {
	edit := func(f func(c map[string]any)) func(c map[string]any) { return f }
	tests := []struct {
		name     string
		settings settings.Map
		edit     func(c map[string]any)
	}{
		{name: "as the LMS sends it (version 1.2.0, is_restricted false)", edit: edit(func(map[string]any) {})},
		{name: "version 1", edit: edit(func(c map[string]any) { c["version"] = "1" })},
		{name: "version 1.99.0", edit: edit(func(c map[string]any) { c["version"] = "1.99.0" })},
		{name: "version 0.1", edit: edit(func(c map[string]any) { c["version"] = "0.1" })},
		{name: "no version", edit: edit(func(c map[string]any) { delete(c, "version") })},
		{name: "no is_restricted", edit: edit(func(c map[string]any) { delete(c, "is_restricted") })},
		{name: "nbf in the past", edit: edit(func(c map[string]any) { c["nbf"] = time.Now().Add(-time.Minute).Unix() })},
		{name: "iat within the leeway", edit: edit(func(c map[string]any) { c["iat"] = time.Now().Add(10 * time.Second).Unix() })},
		{name: "no user_id when the user_id scope was not requested",
			settings: settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_IGNORE_DEFAULT_SCOPE": true, "SOCIAL_AUTH_EDX_OAUTH2_SCOPE": []string{"profile", "email"}},
			edit:     edit(func(c map[string]any) { delete(c, "user_id") })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{settings: tc.settings})
			c := lmsClaims(t, h)
			tc.edit(c)
			sess := testutil.NewSession()
			if _, err := h.loginWithToken(sess, h.lms.SignAccessToken(c)); err != nil {
				t.Fatalf("login: %v", err)
			}
			if sessionUser(sess) == "" {
				t.Error("not logged in")
			}
		})
	}
	// And the fake LMS's own token without the user_id scope, through its
	// token endpoint.
	h := newHarness(t, harnessOptions{settings: settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_IGNORE_DEFAULT_SCOPE": true, "SOCIAL_AUTH_EDX_OAUTH2_SCOPE": []string{"profile", "email"}}})
	sess := testutil.NewSession()
	if _, err := h.login(sess, nil); err != nil {
		t.Fatalf("login without the user_id scope: %v", err)
	}
}

// An LMS user_id beyond 2^53 keeps every digit: decoded from the verified
// token as an exact number, stored in extra_data as that number, written
// as JSON with every digit.
func TestLargeUserIDKeptExactly(t *testing.T) {
	const big = "9007199254740993" // 2^53 + 1: float64 would round it to ...992
	u := fakelms.FixtureUser()
	u.UserID = big
	h := newHarness(t, harnessOptions{lms: fakelms.Options{Users: []fakelms.User{u}, NumericUserID: true}})
	sess := testutil.NewSession()
	if _, err := h.login(sess, nil); err != nil {
		t.Fatalf("login: %v", err)
	}
	sas := h.store.SocialAuths()
	if len(sas) != 1 {
		t.Fatalf("%d associations, want 1", len(sas))
	}
	got := sas[0].ExtraData["user_id"]
	if fmt.Sprint(got) != big {
		t.Errorf("extra_data user_id = %v (%T), want %s", got, got, big)
	}
	if _, ok := got.(json.Number); !ok {
		t.Errorf("extra_data user_id is a %T, want a json.Number", got)
	}
	b, err := json.Marshal(sas[0].ExtraData)
	if err != nil {
		t.Fatal(err)
	}
	var back map[string]json.RawMessage
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if string(back["user_id"]) != big {
		t.Errorf("extra_data JSON user_id = %s, want %s", back["user_id"], big)
	}
	// The user data the backend returns for the token, too.
	c := lmsClaims(t, h)
	data, err := h.backend.UserData(t.Context(), h.lms.SignAccessToken(c))
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(data["user_id"]) != big {
		t.Errorf("UserData user_id = %v, want %s", data["user_id"], big)
	}
}

// A verified token whose preferred_username (the uid) cannot identify an
// account is refused by social_uid with a typed 400, before anything is
// written. (An empty one the backend refuses itself; invalid UTF-8 cannot
// come through JSON, which decodes it as U+FFFD: the pipeline tests cover
// both.)
func TestBadUIDRefused(t *testing.T) {
	for _, name := range []string{"  ", "jsmith\x00", "jsmith\nadmin", "jsmith\u0085", strings.Repeat("j", 256)} {
		t.Run(fmt.Sprintf("%q", name), func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			c := lmsClaims(t, h)
			c["preferred_username"] = name
			sess := testutil.NewSession()
			before := h.store.Snapshot()
			_, err := h.loginWithToken(sess, h.lms.SignAccessToken(c))
			if !errors.Is(err, socialauth.CodeAuthMissingParameter) {
				t.Fatalf("err = %v, want AuthMissingParameter or AuthInvalidParameter", err)
			}
			if got := socialauth.HTTPStatus(err); got != http.StatusBadRequest {
				t.Errorf("HTTPStatus = %d, want 400", got)
			}
			if sessionUser(sess) != "" {
				t.Error("the session is logged in")
			}
			if diff := before.Diff(h.store.Snapshot()); diff != "" {
				t.Errorf("storage changed (-before +after):\n%s", diff)
			}
		})
	}
}
