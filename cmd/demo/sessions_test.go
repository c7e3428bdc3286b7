package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// /me/sessions lists the user's sessions (two browsers signed in as jsmith,
// one as bob); "sign out everywhere" is refused cross-origin and, posted
// from the page, ends both of jsmith's sessions and not bob's.
func TestSessionsPageSignOutEverywhere(t *testing.T) {
	d := startDemo(t, nil)
	b1, b2, bob := newBrowser(t), newBrowser(t), newBrowser(t)
	b1.signIn(d.BaseURL, "jsmith")
	b2.signIn(d.BaseURL, "jsmith")
	bob.signIn(d.BaseURL, "bob")

	p := b1.get(d.BaseURL + "/me/sessions")
	if p.status != http.StatusOK {
		t.Fatalf("/me/sessions: %d", p.status)
	}
	if n := strings.Count(p.body, `<tr class="session">`); n != 2 {
		t.Errorf("/me/sessions lists %d sessions, want 2:\n%s", n, p.body)
	}
	if strings.Count(p.body, "this browser") != 1 || !strings.Contains(p.body, `id="signout-everywhere"`) {
		t.Errorf("/me/sessions lacks the current session marker or the button:\n%s", p.body)
	}

	post := func(origin string) int {
		req, err := http.NewRequest(http.MethodPost, d.BaseURL+"/me/sessions", strings.NewReader(url.Values{}.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		return b1.do(req, b1.noRedirects()).status
	}
	for _, origin := range []string{"", "https://evil.example"} {
		if got := post(origin); got != http.StatusForbidden {
			t.Errorf("POST /me/sessions from origin %q: %d, want 403", origin, got)
		}
	}
	if p := b2.getNoFollow(d.BaseURL + "/me/sessions"); p.status != http.StatusOK {
		t.Fatalf("a refused sign out everywhere ended a session: %d", p.status)
	}
	if got := post(d.BaseURL); got != http.StatusSeeOther {
		t.Fatalf("POST /me/sessions: %d, want 303", got)
	}
	for name, br := range map[string]*browser{"the posting browser": b1, "the other browser": b2} {
		if p := br.getNoFollow(d.BaseURL + "/me/sessions"); p.status == http.StatusOK {
			t.Errorf("%s is still signed in", name)
		}
	}
	if p := bob.getNoFollow(d.BaseURL + "/me/sessions"); p.status != http.StatusOK {
		t.Errorf("bob's session ended: %d", p.status)
	}
}
