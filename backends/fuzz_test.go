package backends

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// FuzzParseCallback: any query either parses or fails with a typed
// parameter error; nothing of the input is reflected in the error.
func FuzzParseCallback(f *testing.F) {
	for _, s := range []string{
		"code=abc&state=xyz", "state=a&state=b", "error=access_denied&error_description=%3Cb%3E",
		"iss=https%3A%2F%2Fidp&code=%00", "redirect_state=r&code=c", "denied=1", "state=" + string(make([]byte, 600)),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		cb, err := ParseCallback("fz", q, true)
		if err != nil {
			var e *socialauth.Error
			if !errors.As(err, &e) || e.Code != socialauth.CodeAuthInvalidParameter || e.Param == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if len(cb.Code) > maxCodeLen || len(cb.State) > maxStateLen || len(cb.Iss) > maxIssLen {
			t.Fatalf("limits not applied: %d %d %d", len(cb.Code), len(cb.State), len(cb.Iss))
		}
		if cb.Error != "" {
			e := providerError("fz", cb.Error, cb.Denied).(*socialauth.Error)
			if e.Msg != safeCode(cb.Error) || (e.Msg != "provider_error" && e.Msg != cb.Error) {
				t.Fatalf("provider text reflected: %q", e.Msg)
			}
		}
	})
}

// FuzzVerifyIDToken runs arbitrary strings through the ID-token verification
// path (keys from a fake provider, fetched once): it must never panic and
// must reject everything but a genuine token with a typed error.
func FuzzVerifyIDToken(f *testing.F) {
	l := newLMS(f, fakelms.Options{})
	b := newOIDC(f, l, nil)
	good, _ := l.SignJWT("RS256", map[string]any{"iss": l.Issuer(), "aud": testClientID, "sub": "s", "exp": 4102444800, "iat": 1}, map[string]any{"kid": l.KeyID() + "-rs256"})
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		claims, err := b.VerifyIDToken(context.Background(), tok, "")
		if err != nil {
			var e *socialauth.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if tok != good || claims["sub"] != "s" {
			t.Fatalf("accepted a token that was not issued: %q", tok)
		}
	})
}

// FuzzVerifyLogoutToken: whatever a caller of the back-channel endpoint
// POSTs, VerifyLogoutToken answers a typed error or accepts only the token
// the provider signed.
func FuzzVerifyLogoutToken(f *testing.F) {
	l := newLMS(f, fakelms.Options{})
	b := newOIDC(f, l, nil)
	good, err := l.SignLogoutToken(l.LogoutTokenClaims(testClientID, "s", "sid-1"))
	if err != nil {
		f.Fatal(err)
	}
	if _, err := b.VerifyLogoutToken(context.Background(), good); err != nil {
		f.Fatalf("the seed token is refused: %v", err)
	}
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Add("a.b.c")
	f.Add("")
	f.Fuzz(func(t *testing.T, tok string) {
		lt, err := b.VerifyLogoutToken(context.Background(), tok)
		if err != nil {
			var e *socialauth.Error
			if !errors.As(err, &e) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if tok != good || lt.SID != "sid-1" || lt.Subject != "s" || lt.JTI == "" {
			t.Fatalf("accepted a token that was not issued: %q", tok)
		}
	})
}
