package securitytest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// recorder is a server that must receive nothing: where a hostile token
// endpoint redirects the client.
type recorder struct {
	mu   sync.Mutex
	hits []string
	srv  *httptest.Server
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.hits = append(r.hits, req.Method+" "+req.URL.String()+" "+req.Header.Get("Authorization")+" "+string(body))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"stolen"}`))
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hits...)
}

// Provider faults at the token endpoint are bounded and typed: 502 for a
// broken answer, 504 for a timeout; no session, nothing written, one call.
func TestTokenEndpointFaults(t *testing.T) {
	envs(t, options{settings: map[string]any{"SOCIAL_AUTH_REQUESTS_TIMEOUT": "300ms"}}, func(t *testing.T, e *env) {
		evil := newRecorder(t)
		cases := []struct {
			name  string
			fault fakelms.Fault
			want  rejection
		}{
			{"500", fakelms.Fault{Status: 500, Body: `{"error":"server_error"}`}, rejection{status: 502, code: socialauth.CodeAuthUnreachableProvider}},
			{"503 HTML", fakelms.Fault{Status: 503, Body: "<html>down</html>", ContentType: "text/html"}, rejection{status: 502, code: socialauth.CodeAuthUnreachableProvider}},
			{"200 HTML instead of JSON", fakelms.Fault{Body: "<html><body>Sign in</body></html>", ContentType: "text/html"}, rejection{status: 502, code: socialauth.CodeAuthUnknownError}},
			{"200 JSON that is not an object", fakelms.Fault{Body: `["a"]`}, rejection{status: 502, code: socialauth.CodeAuthUnknownError}},
			{"200 truncated JSON", fakelms.Fault{Body: `{"access_token":"ab`}, rejection{status: 502, code: socialauth.CodeAuthUnknownError}},
			{"200 without access_token", fakelms.Fault{Body: `{"token_type":"Bearer"}`}, rejection{status: 502, code: socialauth.CodeAuthUnknownError}},
			{"huge body (32 MiB)", fakelms.Fault{BodySize: 32 << 20}, rejection{status: 502, code: socialauth.CodeAuthUnknownError}},
			{"slow (timeout)", fakelms.Fault{Delay: 3 * time.Second, Body: `{}`}, rejection{status: 504, code: socialauth.CodeAuthUnreachableProvider}},
			{"307 to another host", fakelms.Fault{Status: 307, RedirectTo: evil.srv.URL + "/steal"}, rejection{status: 502, code: socialauth.CodeAuthUnknownError}},
			{"308 to another host", fakelms.Fault{Status: 308, RedirectTo: evil.srv.URL + "/steal"}, rejection{status: 502, code: socialauth.CodeAuthUnknownError}},
			{"302 to another host", fakelms.Fault{RedirectTo: evil.srv.URL + "/steal"}, rejection{status: 502, code: socialauth.CodeAuthUnknownError}},
			{"400 invalid_grant", fakelms.Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"<script>x</script>"}`}, rejection{status: 403, code: socialauth.CodeAuthCanceled}},
		}
		for _, backend := range []string{edxName, oidcName, oauthName} {
			for _, c := range cases {
				t.Run(backend+"/"+c.name, func(t *testing.T) {
					b := e.browser()
					cb := b.callbackURL(backend, nil)
					f := c.fault
					f.Endpoint, f.Times = "token", 1
					e.lms.Fault(f)
					w := c.want
					w.tokenCalls = 1
					// The slow case is bounded by REQUESTS_TIMEOUT: had the
					// client waited out the delay, the LMS's answer ({})
					// would be a 403, not the 504 asserted.
					e.reject(t, b, w, func() page { return b.complete(cb) })
				})
			}
		}
		if hits := evil.requests(); len(hits) != 0 {
			t.Errorf("the redirect target received %d requests (credentials re-sent): %q", len(hits), hits)
		}
	})
}

// Faults at the other endpoints a login needs: JWKS and discovery (edx,
// oidc) and UserInfo (oidc, lms).
func TestOtherEndpointFaults(t *testing.T) {
	{
		evil := newRecorder(t)
		cases := []struct {
			backend, endpoint string
			fault             fakelms.Fault
			status            int
		}{
			{oauthName, "userinfo", fakelms.Fault{Status: 500}, 502},
			{oauthName, "userinfo", fakelms.Fault{Body: "<html>", ContentType: "text/html"}, 502},
			{oauthName, "userinfo", fakelms.Fault{BodySize: 8 << 20}, 502},
			{oauthName, "userinfo", fakelms.Fault{RedirectTo: evil.srv.URL}, 502},
			{oauthName, "userinfo", fakelms.Fault{Delay: 3 * time.Second, Body: "{}"}, 504},
			{oidcName, "userinfo", fakelms.Fault{Status: 500}, 502},
			{oidcName, "userinfo", fakelms.Fault{RedirectTo: evil.srv.URL}, 502},
			{edxName, "jwks", fakelms.Fault{Status: 500}, 502},
			{edxName, "jwks", fakelms.Fault{Body: "<html>", ContentType: "text/html"}, 502},
			{edxName, "jwks", fakelms.Fault{BodySize: 8 << 20}, 502},
			{edxName, "jwks", fakelms.Fault{RedirectTo: evil.srv.URL}, 502},
			{oidcName, "jwks", fakelms.Fault{Status: 500}, 502},
		}
		for _, c := range cases {
			t.Run(c.backend+"/"+c.endpoint, func(t *testing.T) {
				// A fresh env per case: the JWKS is cached once fetched.
				e := newEnv(t, options{settings: map[string]any{"SOCIAL_AUTH_REQUESTS_TIMEOUT": "300ms"}})
				b := e.browser()
				cb := b.callbackURL(c.backend, nil)
				f := c.fault
				f.Endpoint = c.endpoint
				e.lms.Fault(f)
				mark := e.logs.Len()
				p := b.complete(cb)
				if p.status != c.status || b.me() != "" {
					t.Errorf("status %d (want %d), user %q", p.status, c.status, b.me())
				}
				e.assertRejected(t, p, rejection{status: c.status, code: codeOf(e, t, mark)}, mark)
				if e.count(socialAuthTable) != 0 {
					t.Error("an association was written")
				}
			})
		}
		if hits := evil.requests(); len(hits) != 0 {
			t.Errorf("the redirect target received %d requests: %q", len(hits), hits)
		}
	}
}

// codeOf is the code of the newest failure log line (the status, not the
// exact code, is what these cases pin).
func codeOf(e *env, t *testing.T, mark int) socialauth.Code {
	for _, r := range e.logs.records(t, mark) {
		if r["msg"] == "socialauth: request failed" {
			c, _ := r["code"].(string)
			return socialauth.Code(c)
		}
	}
	return ""
}
