package securitytest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// rawGet GETs path at the service with the browser's cookies without
// recording the answer for the secret scan: RP-initiated logout puts the
// ID token in the end_session URL (id_token_hint), as the specification
// requires.
func (b *browser) rawGet(t *testing.T, path string) *http.Response {
	t.Helper()
	resp, err := b.c.Get(b.abs(path))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// RP-initiated logout with the OIDC backend: the logout view flushes the
// session and sends the browser to the provider's end_session endpoint with
// id_token_hint, client_id, the return route as post_logout_redirect_uri and
// a state; the return route accepts that state once, then redirects to
// LOGOUT_REDIRECT_URL (never the request's next); a wrong, missing or
// replayed state is refused.
func TestRPInitiatedLogout(t *testing.T) {
	e := newEnv(t, options{})
	b := signedInOIDC(t, e, "jsmith", "sid-rp")
	resp := b.rawGet(t, "/logout/?next=/bye/")
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), e.lms.URL()+"/logout?") {
		t.Fatalf("logout Location %q is not the LMS's end_session endpoint", resp.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("client_id") != clientID || strings.Count(q.Get("id_token_hint"), ".") != 2 {
		t.Errorf("end_session query lacks client_id or id_token_hint: %v", q)
	}
	if want := e.base + "/logout/" + oidcName + "/return/"; q.Get("post_logout_redirect_uri") != want {
		t.Errorf("post_logout_redirect_uri = %q, want %q", q.Get("post_logout_redirect_uri"), want)
	}
	state := q.Get("state")
	if len(state) < 32 {
		t.Fatalf("state %q too short", state)
	}
	if b.me() != "" {
		t.Error("still signed in after logout")
	}

	ret := "/logout/" + oidcName + "/return/"
	if p := b.get(ret + "?state=" + url.QueryEscape(state+"x")); p.status != http.StatusForbidden {
		t.Errorf("wrong state: %d, want 403", p.status)
	}
	// The wrong state consumed the pending logout: even the right one is
	// refused now.
	if p := b.get(ret + "?state=" + url.QueryEscape(state)); p.status != http.StatusForbidden {
		t.Errorf("state after a wrong one: %d, want 403", p.status)
	}

	b = signedInOIDC(t, e, "jsmith", "sid-rp2")
	if resp := b.rawGet(t, "/logout/?next=/bye/"); resp.StatusCode != http.StatusFound {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	if p := b.get(ret); p.status != http.StatusForbidden {
		t.Errorf("missing state: %d, want 403", p.status)
	}

	b = signedInOIDC(t, e, "jsmith", "sid-rp3")
	loc, _ = url.Parse(b.rawGet(t, "/logout/?next=https://evil.example/").Header.Get("Location"))
	state = loc.Query().Get("state")
	p := b.get(ret + "?state=" + url.QueryEscape(state))
	if p.status != http.StatusFound || p.location() != "/" {
		t.Errorf("return: %d %q, want 302 to / (no LOGOUT_REDIRECT_URL; next ignored)", p.status, p.location())
	}

	if p := b.get(ret + "?state=" + url.QueryEscape(state)); p.status != http.StatusForbidden {
		t.Errorf("replayed state: %d, want 403", p.status)
	}

	// With LOGOUT_REDIRECT_URL set, the return route goes there.
	e2 := newEnv(t, options{settings: map[string]any{"SOCIAL_AUTH_OIDC_LOGOUT_REDIRECT_URL": "/bye/"}})
	b = signedInOIDC(t, e2, "jsmith", "sid-rp4")
	loc, _ = url.Parse(b.rawGet(t, "/logout/").Header.Get("Location"))
	if q := loc.Query(); q.Get("post_logout_redirect_uri") != e2.base+ret {
		t.Errorf("post_logout_redirect_uri = %q with LOGOUT_REDIRECT_URL set, want the return route", q.Get("post_logout_redirect_uri"))
	}
	p = b.get(ret + "?state=" + url.QueryEscape(loc.Query().Get("state")))
	if p.status != http.StatusFound || p.location() != "/bye/" {
		t.Errorf("return: %d %q, want 302 to /bye/", p.status, p.location())
	}
}
