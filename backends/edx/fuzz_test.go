package edx_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/settings"
)

// FuzzUserData feeds arbitrary access tokens to both decoders (verified
// against the fixture JWKS, and upstream's unverified mode): never a panic,
// every failure an AuthTokenError, and a verified token always the LMS's.
func FuzzUserData(f *testing.F) {
	f.Add(signJWT(f, jwa.RS512, lmsKey, fixtureClaims(time.Now()), nil))
	f.Add("eyJhbGciOiJub25lIn0.eyJwcmVmZXJyZWRfdXNlcm5hbWUiOiJqc21pdGgifQ.")
	f.Add("e30.e30.e30")
	f.Add("..")
	f.Add("not a jwt")
	f.Add("eyJhbGciOiJIUzI1NiJ9.W10.AAAA")
	lms := &exampleLMS{key: lmsKey}
	verified := fixtureBackend(f, lms, nil, edx.Options{})
	insecure := fixtureBackend(f, lms, settings.Map{edx.SettingInsecureSkipTokenVerification: true}, edx.Options{})
	f.Fuzz(func(t *testing.T, token string) {
		ctx := context.Background()
		if got, err := verified.UserData(ctx, token); err != nil {
			if !errors.Is(err, socialauth.CodeAuthTokenError) {
				t.Fatalf("verified: error %v is not an AuthTokenError", err)
			}
		} else if got["preferred_username"] != "jsmith" {
			t.Fatalf("verified a token the LMS did not sign: %v", got)
		}
		got, err := insecure.UserData(ctx, token)
		if err != nil && !errors.Is(err, socialauth.CodeAuthTokenError) {
			t.Fatalf("insecure: error %v is not an AuthTokenError", err)
		}
		for k := range got {
			if !contains(edx.UserDataClaims(), k) {
				t.Fatalf("claim %q leaked into user data", k)
			}
		}
	})
}

// FuzzQueryValueEscape: an escaped value always parses back to itself and
// never opens another parameter or a fragment.
func FuzzQueryValueEscape(f *testing.F) {
	for _, s := range []string{"https://example.com/logout_redirect", "a&b=c#d", "%zz %41+;", "é\x00\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		raw := "https://lms.test/logout?redirect_url=" + edx.QueryValueEscape(v)
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("%q: %v", raw, err)
		}
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil || len(q) != 1 || len(q["redirect_url"]) != 1 || q.Get("redirect_url") != v || u.Fragment != "" {
			t.Fatalf("%q parsed as %v (fragment %q), want %q", raw, q, u.Fragment, v)
		}
	})
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
