package views

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/testutil"
)

// FuzzSameOrigin feeds arbitrary Origin, Referer and Sec-Fetch-Site headers
// to the disconnect view's CSRF rule: no panic, and nothing but the
// service's own origin (or a browser's same-origin verdict) passes.
func FuzzSameOrigin(f *testing.F) {
	f.Add("http://testserver", "", "")
	f.Add("", "http://testserver/page", "")
	f.Add("null", "http://evil/", "same-site")
	f.Add("HTTP://TESTSERVER", "", "")
	f.Add("", "http://testserver@evil/", "")
	f.Add("", "", "same-origin")
	st := testutil.NewStrategy(testutil.StrategyOptions{})
	f.Fuzz(func(t *testing.T, origin, referer, site string) {
		r := httptest.NewRequest(http.MethodPost, "/", nil)
		for k, v := range map[string]string{"Origin": origin, "Referer": referer, "Sec-Fetch-Site": site} {
			if v != "" {
				r.Header[k] = []string{v}
			}
		}
		if !sameOrigin(r, st) {
			return
		}
		switch {
		case site == "same-origin":
		case site != "":
			t.Errorf("passed with Sec-Fetch-Site %q", site)
		case origin != "":
			if !strings.EqualFold(origin, testutil.DefaultBaseURL) {
				t.Errorf("passed with Origin %q", origin)
			}
		case !strings.HasPrefix(strings.ToLower(referer), testutil.DefaultBaseURL):
			t.Errorf("passed with Referer %q", referer)
		}
	})
}

// FuzzWithErrorCode: the code lands in the query, before any fragment.
func FuzzWithErrorCode(f *testing.F) {
	f.Add("/err/", "auth_canceled")
	f.Add("/err?x=1#f", "a&b")
	f.Fuzz(func(t *testing.T, target, code string) {
		got := withErrorCode(target, code)
		if i := strings.IndexByte(got, '#'); i >= 0 && strings.Contains(got[i:], "error=") && !strings.Contains(got[:i], "error=") {
			t.Errorf("code after the fragment: %q", got)
		}
	})
}
