package fakelms

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func fuzzLMS(f *testing.F) *LMS {
	l, err := New(testOptions())
	if err != nil {
		f.Fatal(err)
	}
	l.SetBaseURL("http://lms.test")
	return l
}

// FuzzAuthorize: any query never yields a 5xx, and a redirect only ever goes to a registered URI.
func FuzzAuthorize(f *testing.F) {
	l := fuzzLMS(f)
	f.Add("client_id=a-key&redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fcomplete%2Fedx-oauth2%2F&response_type=code&state=x", true)
	f.Add("client_id=a-key&redirect_uri=http%3A%2F%2F127.0.0.1%3A8000%2Fcomplete%2Fedx-oauth2%2F%3Fa%3Db&response_type=token", false)
	f.Add("client_id=a-key&redirect_uri=//evil&code_challenge=%00", false)
	f.Add("%zz&&;=", true)
	f.Fuzz(func(t *testing.T, query string, auto bool) {
		if auto {
			l.AutoApprove("jsmith")
		} else {
			l.AutoApprove("")
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://lms.test/oauth2/authorize", nil)
		req.URL.RawQuery = query
		l.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for %q", rec.Code, query)
		}
		if loc := rec.Header().Get("Location"); loc != "" && !strings.HasPrefix(loc, testRedirect) {
			t.Fatalf("redirected to unregistered %q", loc)
		}
	})
}

// FuzzToken: any form body gets an RFC 6749 JSON error or a token, never a 5xx.
func FuzzToken(f *testing.F) {
	l := fuzzLMS(f)
	f.Add("grant_type=authorization_code&code=x&client_id=a-key&client_secret=a-secret-key", "")
	f.Add("grant_type=refresh_token&refresh_token=x", "Basic YS1rZXk6YS1zZWNyZXQta2V5")
	f.Add("%%%", "Basic !!!")
	f.Fuzz(func(t *testing.T, body, auth string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "http://lms.test/oauth2/access_token", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		l.Handler().ServeHTTP(rec, req)
		if rec.Code >= 500 || (rec.Code != 200 && !strings.Contains(rec.Body.String(), `"error"`)) {
			t.Fatalf("status %d body %q", rec.Code, rec.Body.String())
		}
	})
}

// FuzzLogoutRedirect: /logout only ever redirects to an http(s) URL on an allowed host.
func FuzzLogoutRedirect(f *testing.F) {
	l := fuzzLMS(f)
	for _, s := range []string{"https://app.example.com/x", "//app.example.com", "https://app.example.com@evil", "https://evil\\@app.example.com", "http://localhost:9000/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "http://lms.test/logout", nil)
		req.URL.RawQuery = url.Values{"client_id": {testClientID}, "redirect_url": {target}}.Encode()
		l.Handler().ServeHTTP(rec, req)
		loc := rec.Header().Get("Location")
		if loc == "" {
			return
		}
		u, err := url.Parse(loc)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
			t.Fatalf("redirected to %q", loc)
		}
		switch h := strings.ToLower(u.Host); {
		case h == "app.example.com" || strings.HasPrefix(h, "app.example.com:"), h == "localhost:9000", h == "127.0.0.1:8000":
		default:
			t.Fatalf("redirected to host %q (%q)", u.Host, loc)
		}
	})
}
