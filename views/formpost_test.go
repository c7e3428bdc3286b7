package views_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/views"
)

// formPostBackend declares response_mode=form_post (backends.FormPoster).
type formPostBackend struct{ *testutil.FakeBackend }

func (formPostBackend) FormPostCallback() bool { return true }

func TestFormPostRelay(t *testing.T) {
	fp := formPostBackend{&testutil.FakeBackend{BackendName: "apple-id", AuthorizeURL: authorizeURL,
		Response: map[string]any{"id": "x"}}}
	a := newApp(t, appOptions{others: []socialauth.Backend{fp}, config: func(c *views.Config) { c.DefaultBackend = backendName }})
	form := url.Values{"code": {"c0de"}, "state": {"st<ate>"}, "user": {`{"name":{"firstName":"J"}}`}}

	// A cookie-less cross-site POST to a form_post backend: the relay page.
	resp, body := a.do(t, http.MethodPost, a.path("/complete/apple-id/"), form, nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<form method="post" id="relay">`) {
		t.Fatalf("relay: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{`name="code" value="c0de"`, `name="state" value="st&lt;ate&gt;"`,
		`name="user" value="{&#34;name&#34;:{&#34;firstName&#34;:&#34;J&#34;}}"`, `name="socialauth_relay" value="1"`} {
		if !strings.Contains(body, want) {
			t.Errorf("relay page lacks %s:\n%s", want, body)
		}
	}
	csp := resp.Header.Get("Content-Security-Policy")
	m := regexp.MustCompile(`script-src 'nonce-([0-9a-f]{36})'`).FindStringSubmatch(csp)
	if m == nil || !strings.Contains(body, `<script nonce="`+m[1]+`">`) || !strings.Contains(csp, "default-src 'none'") ||
		!strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("CSP %q does not allow exactly the page's script", csp)
	}
	if resp.Header.Get("Cache-Control") != "no-store" || sessionCookie(resp) != nil {
		t.Errorf("relay headers %v", resp.Header)
	}

	// Never relayed: a backend without form_post, a POST that carries the
	// session cookie, a POST already relayed, a GET.
	refused := func(name, backend string, f url.Values, c *http.Cookie, method string) {
		t.Run(name, func(t *testing.T) {
			target := a.path("/complete/" + backend + "/")
			if method == http.MethodGet {
				target += "?" + f.Encode()
				f = nil
			}
			resp, body := a.do(t, method, target, f, c, nil)
			if resp.StatusCode == http.StatusOK || strings.Contains(body, "relay") {
				t.Errorf("relayed: %d %s", resp.StatusCode, body)
			}
		})
	}
	refused("not form_post", backendName, form, nil, http.MethodPost)
	relayed := url.Values{"socialauth_relay": {"1"}, "code": {"c"}, "state": {"s"}}
	refused("already relayed", "apple-id", relayed, nil, http.MethodPost)
	refused("GET", "apple-id", form, nil, http.MethodGet)
	begin, _ := a.do(t, http.MethodGet, a.path("/login/apple-id/"), nil, nil, nil)
	refused("with the session cookie", "apple-id", form, sessionCookie(begin), http.MethodPost)
}
