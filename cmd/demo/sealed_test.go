package main

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/strategies"
)

// The demo keeps a sign-in in progress in its sealed session cookie by
// default (its field keys, through a derivation of their own), with
// SOCIAL_AUTH_SESSION_COOKIE_KEYS when set, and in the sessions table when
// that setting is an empty list (a malformed key stops start-up naming the
// setting: TestStartupValidation). Each way, the sign-in completes.
func TestDemoSealsPendingSignIns(t *testing.T) {
	_, other, err := storage.NewFieldKey()
	if err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		name   string
		env    map[string]string
		sealed bool
	}{
		{"default: the field keys", nil, true},
		{"its own keys", map[string]string{"SOCIAL_AUTH_SESSION_COOKIE_KEYS": other}, true},
		{"off", map[string]string{"SOCIAL_AUTH_SESSION_COOKIE_KEYS": ""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := startDemo(t, tc.env)
			b := newBrowser(t)
			start := b.getNoFollow(d.BaseURL + "/login/edx-oauth2/?next=/me")
			if start.status != http.StatusFound {
				t.Fatalf("login start = %d", start.status)
			}
			var cookie string
			for _, c := range (&http.Response{Header: start.header}).Cookies() {
				if c.Name == strategies.SessionCookieName {
					cookie = c.Value
				}
			}
			if cookie == "" || strategies.IsSealed(cookie) != tc.sealed {
				t.Fatalf("session cookie %.20q…: sealed %v, want %v", cookie, strategies.IsSealed(cookie), tc.sealed)
			}
			action, form := signInForm(t, b.get(start.header.Get("Location")))
			form.Set("username", fmt.Sprintf("sealed%d", i))
			back := b.postForm(action, form, b.noRedirects())
			if back.status != http.StatusFound {
				t.Fatalf("LMS sign-in = %d %s", back.status, back.body)
			}
			if done := b.getNoFollow(back.header.Get("Location")); done.status != http.StatusFound || done.header.Get("Location") != "/me" {
				t.Fatalf("complete = %d %q\nlogs:\n%s", done.status, done.header.Get("Location"), d.logs)
			}
		})
	}
}
