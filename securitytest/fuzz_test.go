package securitytest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// fuzzEnv is one env for a whole fuzz run.
func fuzzEnv(f *testing.F) *env {
	return newEnv(f, options{settings: map[string]any{"SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS": []string{redirectAllowList}}})
}

// serve runs one request through the env's handlers in process (no
// loopback round trip: fast enough for fuzzing), with the given cookies.
func (e *env) serve(req *http.Request, cookies []*http.Cookie) *httptest.ResponseRecorder {
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	return rec
}

// FuzzCompleteHandler sends arbitrary callback queries and form bodies to
// the complete view, with a flow started in the session: whatever arrives,
// the answer is a 4xx with a fixed body (or a redirect), never a 5xx or a
// session, and never a call to the token endpoint (nothing the fuzzer
// sends can hold the session's random state).
func FuzzCompleteHandler(f *testing.F) {
	f.Add(edxName, "code=abc&state=xyz", "")
	f.Add(oidcName, "state=a&state=b", "code=x")
	f.Add(oauthName, "error=access_denied&error_description=%3Cscript%3E", "")
	f.Add(edxName, "redirect_state=x&code=y&iss=http%3A%2F%2Fevil", "state=q")
	f.Add(oidcName, "partial_token=abc", "partial_token=abc&confirmed=yes")
	f.Add(edxName, "code=%00&state=%ff%fe", "")
	f.Add("nope", "", "")
	f.Add(edxName, strings.Repeat("a=b&", 500), strings.Repeat("x", 70000))
	base := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, backend, query, body string) {
		e := base.withT(t)
		b := e.browser()
		b.begin(edxName, nil)
		b.begin(oidcName, nil)
		u, _ := url.Parse(e.base)
		cookies := b.jar.Cookies(u)
		calls := e.lms.Calls().Token
		var req *http.Request
		if body == "" {
			req = httptest.NewRequest(http.MethodGet, "http://example.invalid/", nil)
		} else {
			req = httptest.NewRequest(http.MethodPost, "http://example.invalid/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.URL.Path = "/complete/" + backend + "/"
		req.URL.RawPath = ""
		req.URL.RawQuery = query
		rec := e.serve(req, cookies)
		switch {
		case rec.Code == http.StatusFound:
		case rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed ||
			rec.Code == http.StatusMovedPermanently || rec.Code == http.StatusTemporaryRedirect:
			// the mux: no such route, or a path it cleans first (/complete/./)
		case rec.Code >= 400 && rec.Code < 500:
			if want := http.StatusText(rec.Code) + "\n"; rec.Body.String() != want {
				t.Fatalf("%d body %q: not the fixed text", rec.Code, rec.Body.String())
			}
		default:
			t.Fatalf("status %d for backend %q query %q body %q", rec.Code, backend, query, body)
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, "/") {
			t.Fatalf("Location %q", loc)
		}
		if got := e.lms.Calls().Token - calls; got != 0 {
			t.Fatalf("%d token calls", got)
		}
		if b.me() != "" {
			t.Fatal("a session was authenticated")
		}
	})
}

// FuzzBeginNext starts a login with an arbitrary next and checks what the
// session keeps against an oracle independent of the sanitizer: nothing, a
// same-origin path a browser cannot read as another host, or an absolute
// http(s) URL on the service's own host or the allow-list.
func FuzzBeginNext(f *testing.F) {
	for _, s := range append(hostileTargets("127.0.0.1:1"), legitTargets("127.0.0.1:1")...) {
		f.Add(s)
	}
	base := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, next string) {
		e := base.withT(t)
		b := e.browser()
		req := httptest.NewRequest(http.MethodGet, "http://example.invalid/", nil)
		req.URL.Path = "/login/" + edxName + "/"
		req.URL.RawQuery = url.Values{"next": {next}}.Encode()
		rec := e.serve(req, nil)
		if rec.Code != http.StatusFound {
			t.Fatalf("begin: %d", rec.Code)
		}
		u, _ := url.Parse(e.base)
		b.jar.SetCookies(u, rec.Result().Cookies())
		kept := b.get("/session-next").body
		if kept == "" {
			return
		}
		if !safeTarget(kept, u.Host, redirectAllowList) {
			t.Fatalf("next %q was kept as %q", next, kept)
		}
	})
}

// safeTarget is the fuzz oracle for a redirect target.
func safeTarget(s, self, allowed string) bool {
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' || r == 0xfffd }) {
		return false
	}
	dec := s
	for range 4 {
		d, err := url.PathUnescape(dec)
		if err != nil || d == dec {
			break
		}
		dec = d
	}
	if strings.HasPrefix(s, "/") {
		return !strings.HasPrefix(dec, "//") && !strings.HasPrefix(dec, "/\\") &&
			!strings.ContainsFunc(dec, func(r rune) bool { return r < 0x20 || r == 0x7f })
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Opaque != "" {
		return false
	}
	h := strings.ToLower(u.Host)
	return h == self || strings.ToLower(u.Hostname()) == allowed
}

// FuzzLogoutView: whatever the logout request carries, the redirect is the
// provider's fixed logout URL (or the empty no_redirect answer).
func FuzzLogoutView(f *testing.F) {
	f.Add("next=//evil.com")
	f.Add("redirect_url=https://evil.com&next=javascript:alert(1)")
	f.Add("no_redirect=1")
	f.Add("%zz=%zz")
	base := fuzzEnv(f)
	f.Fuzz(func(t *testing.T, query string) {
		e := base.withT(t)
		req := httptest.NewRequest(http.MethodGet, "http://example.invalid/logout/", nil)
		req.URL.RawQuery = query
		rec := e.serve(req, nil)
		switch rec.Code {
		case http.StatusOK:
			if req.URL.Query().Get("no_redirect") == "" {
				t.Fatalf("200 without no_redirect")
			}
		case http.StatusFound:
			if loc := rec.Header().Get("Location"); loc != e.lms.URL()+"/logout" {
				t.Fatalf("logout ?%s → %q", query, loc)
			}
		default:
			t.Fatalf("logout ?%s: %d", query, rec.Code)
		}
	})
}
