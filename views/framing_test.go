package views_test

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// framingDenied reports what is missing for h to forbid framing: both
// X-Frame-Options: DENY and a Content-Security-Policy holding
// frame-ancestors 'none'.
func framingDenied(h http.Header) string {
	var missing []string
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		missing = append(missing, "X-Frame-Options = "+strings.TrimSpace(got+" (want DENY)"))
	}
	if !slices.ContainsFunc(h.Values("Content-Security-Policy"), func(p string) bool {
		return strings.Contains(p, "frame-ancestors 'none'")
	}) {
		missing = append(missing, "no Content-Security-Policy frame-ancestors 'none' (got "+strings.Join(h.Values("Content-Security-Policy"), " | ")+")")
	}
	return strings.Join(missing, "; ")
}

// framable reports whether h lets the page be framed by another site (no
// X-Frame-Options, no frame-ancestors directive).
func framable(h http.Header) bool {
	if h.Get("X-Frame-Options") != "" {
		return false
	}
	for _, p := range h.Values("Content-Security-Policy") {
		if strings.Contains(p, "frame-ancestors") {
			return false
		}
	}
	return true
}

// Anti-framing: the login start (/login/ and /login/{backend}/), the
// complete answer and every complete error answer forbid framing
// (clickjacking a sign-in); the logout view stays framable, since edX
// single sign-out loads each service's /logout/ in an iframe.
func TestAntiFraming(t *testing.T) {
	for _, router := range routers {
		t.Run(router, func(t *testing.T) { testAntiFraming(t, router) })
	}
}

func testAntiFraming(t *testing.T, router string) {
	type answer struct {
		name string
		resp *http.Response
	}
	var denied, allowed []answer
	a := newApp(t, appOptions{router: router, prefix: "/auth"})

	resp, _ := a.do(t, http.MethodGet, "/auth/login/?next=/x", nil, nil, nil)
	denied = append(denied, answer{"login view", resp})
	resp, _ = a.do(t, http.MethodGet, "/auth/login/edx-oauth2/?next=/x", nil, nil, nil)
	denied = append(denied, answer{"begin, GET", resp})
	c := sessionCookie(resp)
	state := mustQuery(t, resp.Header.Get("Location")).Get("state")
	resp, _ = a.do(t, http.MethodPost, "/auth/login/edx-oauth2/", url.Values{}, nil, nil)
	denied = append(denied, answer{"begin, POST", resp})
	resp, _ = a.do(t, http.MethodGet, "/auth/login/nope/", nil, nil, nil)
	denied = append(denied, answer{"begin, unknown backend (404)", resp})
	resp, _ = a.do(t, http.MethodGet, "/auth/complete/edx-oauth2/?state=wrong&code=x", nil, nil, nil)
	denied = append(denied, answer{"complete, wrong state (403)", resp})
	resp, _ = a.do(t, http.MethodGet, "/auth/complete/nope/?state=s&code=x", nil, nil, nil)
	denied = append(denied, answer{"complete, unknown backend (404)", resp})
	resp, _ = a.do(t, http.MethodGet, "/auth/complete/edx-oauth2/?state="+url.QueryEscape(state)+"&code=x", nil, c, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("complete: %d", resp.StatusCode)
	}
	denied = append(denied, answer{"complete, success (302)", resp})
	logged := sessionCookie(resp)

	for _, tc := range []struct {
		name string
		set  settings.Map
		err  error
	}{
		{"complete, provider error (403)", nil, socialauth.NewError(socialauth.CodeAuthCanceled, backendName, "", nil)},
		{"complete, missing parameter (400)", nil, socialauth.MissingParameter(backendName, "code")},
		{"complete, provider down (502)", nil, socialauth.NewError(socialauth.CodeAuthUnreachableProvider, backendName, "", errors.New("dial"))},
		{"complete, unexpected (500)", nil, errors.New("boom")},
		{"complete, LOGIN_ERROR_URL (302)", settings.Map{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/oops/"},
			socialauth.NewError(socialauth.CodeAuthStateForbidden, backendName, "", nil)},
	} {
		e := newApp(t, appOptions{router: router, settings: tc.set})
		e.backend.CompleteErr = tc.err
		resp, _ := e.do(t, http.MethodGet, "/complete/edx-oauth2/?state=s&code=x", nil, nil, nil)
		denied = append(denied, answer{tc.name, resp})
	}

	resp, _ = a.do(t, http.MethodGet, "/auth/logout/", nil, nil, nil)
	allowed = append(allowed, answer{"logout, anonymous", resp})
	resp, _ = a.do(t, http.MethodGet, "/auth/logout/", nil, logged, nil)
	allowed = append(allowed, answer{"logout, signed in", resp})
	resp, _ = a.do(t, http.MethodGet, "/auth/logout/?no_redirect=1", nil, nil, nil)
	allowed = append(allowed, answer{"logout, no_redirect", resp})
	resp, _ = a.do(t, http.MethodPost, "/auth/logout/", url.Values{}, nil, nil)
	allowed = append(allowed, answer{"logout, POST", resp})

	for _, x := range denied {
		if m := framingDenied(x.resp.Header); m != "" {
			t.Errorf("%s (%d): framing not denied: %s", x.name, x.resp.StatusCode, m)
		}
	}
	for _, x := range allowed {
		if x.resp.StatusCode >= 400 {
			t.Errorf("%s: status %d", x.name, x.resp.StatusCode)
		}
		if !framable(x.resp.Header) {
			t.Errorf("%s: framing forbidden (X-Frame-Options %q, CSP %q); the LMS frames the logout view",
				x.name, x.resp.Header.Get("X-Frame-Options"), x.resp.Header.Values("Content-Security-Policy"))
		}
	}
}
