package fakelms

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestAuthorizeValidation(t *testing.T) {
	tests := []struct {
		name       string
		exact      bool
		params     url.Values
		wantStatus int
		// for redirects: the expected callback query (state always st-123)
		wantError string
		wantCode  bool
		wantBase  string
	}{
		{name: "ok", wantStatus: 302, wantCode: true, wantBase: testRedirect},
		{name: "unknown client", params: url.Values{"client_id": {"nobody"}}, wantStatus: 400},
		{name: "missing client", params: url.Values{"client_id": nil}, wantStatus: 400},
		{name: "unregistered redirect_uri", params: url.Values{"redirect_uri": {"http://evil.example/complete/edx-oauth2/"}}, wantStatus: 400},
		{name: "redirect_uri other port", params: url.Values{"redirect_uri": {"http://127.0.0.1:8001/complete/edx-oauth2/"}}, wantStatus: 400},
		{name: "redirect_uri other path", params: url.Values{"redirect_uri": {"http://127.0.0.1:8000/complete/edx-oauth2/x"}}, wantStatus: 400},
		{name: "redirect_uri userinfo", params: url.Values{"redirect_uri": {"http://x@127.0.0.1:8000/complete/edx-oauth2/"}}, wantStatus: 400},
		{name: "redirect_uri with fragment", params: url.Values{"redirect_uri": {testRedirect + "#x"}}, wantStatus: 400},
		{name: "missing redirect_uri", params: url.Values{"redirect_uri": nil}, wantStatus: 400},
		{name: "redirect_state query allowed (django-oauth-toolkit matching)",
			params: url.Values{"redirect_uri": {testRedirect + "?redirect_state=st-123"}}, wantStatus: 302, wantCode: true,
			wantBase: testRedirect + "?redirect_state=st-123"},
		{name: "extra query refused when exact", exact: true,
			params: url.Values{"redirect_uri": {testRedirect + "?redirect_state=st-123"}}, wantStatus: 400},
		{name: "unsupported response_type", params: url.Values{"response_type": {"token"}}, wantStatus: 302,
			wantError: "unsupported_response_type", wantBase: testRedirect},
		{name: "missing response_type", params: url.Values{"response_type": nil}, wantStatus: 302,
			wantError: "unsupported_response_type", wantBase: testRedirect},
		{name: "bad challenge method", params: url.Values{"code_challenge": {testChallengeS}, "code_challenge_method": {"S512"}},
			wantStatus: 302, wantError: "invalid_request", wantBase: testRedirect},
		{name: "short challenge", params: url.Values{"code_challenge": {"abc"}, "code_challenge_method": {"S256"}},
			wantStatus: 302, wantError: "invalid_request", wantBase: testRedirect},
		{name: "method without challenge", params: url.Values{"code_challenge_method": {"S256"}},
			wantStatus: 302, wantError: "invalid_request", wantBase: testRedirect},
		{name: "bad scope", params: url.Values{"scope": {"a\"b"}}, wantStatus: 302, wantError: "invalid_scope", wantBase: testRedirect},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newTestLMS(t, func(o *Options) { o.ExactRedirectURI = tc.exact })
			l.AutoApprove("jsmith")
			resp, err := noRedirect().Get(authorizeURL(l, tc.params))
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%s)", resp.StatusCode, tc.wantStatus, body)
			}
			if tc.wantStatus != 302 {
				if loc := resp.Header.Get("Location"); loc != "" {
					t.Errorf("error redirected to %q", loc)
				}
				return
			}
			loc := resp.Header.Get("Location")
			if !strings.HasPrefix(loc, tc.wantBase) {
				t.Fatalf("Location %q does not start with %q", loc, tc.wantBase)
			}
			u, _ := url.Parse(loc)
			q := u.Query()
			if q.Get("state") != "st-123" {
				t.Errorf("state = %q", q.Get("state"))
			}
			if got := q.Get("error"); got != tc.wantError {
				t.Errorf("error = %q, want %q", got, tc.wantError)
			}
			if (q.Get("code") != "") != tc.wantCode {
				t.Errorf("code present = %v, want %v", q.Get("code") != "", tc.wantCode)
			}
		})
	}
}

func TestAuthorizeStateVerbatimAndIssParameter(t *testing.T) {
	l := newTestLMS(t, func(o *Options) { o.IssParameter = true; o.Issuer = "https://lms.example/oauth2" })
	weird := "a b&c=d/é?%41+"
	cb := getCode(t, l, url.Values{"state": {weird}})
	if cb.Get("state") != weird {
		t.Errorf("state = %q, want %q", cb.Get("state"), weird)
	}
	if cb.Get("iss") != "https://lms.example/oauth2" {
		t.Errorf("iss = %q", cb.Get("iss"))
	}
	// no state in, no state out
	cb = getCode(t, l, url.Values{"state": nil})
	if cb.Has("state") {
		t.Errorf("state invented: %q", cb.Get("state"))
	}
}

func TestSignInPage(t *testing.T) {
	l := newTestLMS(t, nil)
	evil := `"><script>alert(1)</script>`
	resp, err := noRedirect().Get(authorizeURL(l, url.Values{"state": {evil}, "nonce": {"n1"},
		"code_challenge": {testChallengeS}, "code_challenge_method": {"S256"}}))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	page := string(b)
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("status %d, content-type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	for _, want := range []string{`id="username"`, `id="signin"`, `id="deny"`, `method="post"`, `action="/oauth2/authorize"`,
		`name="nonce" value="n1"`, `name="code_challenge_method" value="S256"`, `&#34;&gt;&lt;script&gt;alert(1)&lt;/script&gt;`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(page, "<script>") {
		t.Errorf("page reflects unescaped input:\n%s", page)
	}

	post := func(extra url.Values) *http.Response {
		t.Helper()
		form := url.Values{"client_id": {testClientID}, "redirect_uri": {testRedirect}, "response_type": {"code"},
			"state": {evil}, "nonce": {"n1"}, "scope": {"openid user_id"},
			"code_challenge": {testChallengeS}, "code_challenge_method": {"S256"}}
		for k, v := range extra {
			form[k] = v
		}
		resp, err := noRedirect().PostForm(l.URL()+"/oauth2/authorize", form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	resp = post(url.Values{"username": {"new.person"}})
	if resp.StatusCode != 302 {
		t.Fatalf("POST status %d", resp.StatusCode)
	}
	u, _ := url.Parse(resp.Header.Get("Location"))
	if u.Query().Get("state") != evil {
		t.Errorf("state = %q", u.Query().Get("state"))
	}
	tok := exchange(t, l, u.Query().Get("code"), url.Values{"code_verifier": {testVerifier}})
	if tok.status != 200 {
		t.Fatalf("exchange = %d %s", tok.status, tok.raw)
	}
	_, _, idc := verify(t, l, tok.body["id_token"].(string))
	if idc["nonce"] != "n1" || idc["preferred_username"] != "new.person" {
		t.Errorf("id_token claims = %v", idc)
	}
	if usr, ok := l.User("new.person"); !ok || usr.Email != "new.person@example.com" || usr.Name != "New Person" {
		t.Errorf("created user = %+v %v", usr, ok)
	}

	resp = post(url.Values{"deny": {"1"}, "username": {"jsmith"}})
	u, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != 302 || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != evil || u.Query().Has("code") {
		t.Errorf("deny = %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp = post(url.Values{"username": {"<b>x</b>"}}); resp.StatusCode != 400 {
		t.Errorf("invalid username = %d", resp.StatusCode)
	}
}

func TestStrictRefusesUnknownUsers(t *testing.T) {
	l := newTestLMS(t, func(o *Options) { o.Strict = true })
	resp, err := noRedirect().PostForm(l.URL()+"/oauth2/authorize", url.Values{"client_id": {testClientID},
		"redirect_uri": {testRedirect}, "response_type": {"code"}, "state": {"s"}, "username": {"stranger"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(string(b), "Unknown user") {
		t.Errorf("strict POST = %d", resp.StatusCode)
	}
	if _, ok := l.User("stranger"); ok {
		t.Errorf("strict mode created the user")
	}
	l.AutoApprove("stranger")
	resp, err = noRedirect().Get(authorizeURL(l, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	u, _ := url.Parse(resp.Header.Get("Location"))
	if u.Query().Get("error") != "access_denied" {
		t.Errorf("strict auto-approve = %s", resp.Header.Get("Location"))
	}
	// known users still work
	if cb := getCode(t, l, nil); cb.Get("code") == "" {
		t.Errorf("known user refused")
	}
}

func TestAutoApproveOff(t *testing.T) {
	l := newTestLMS(t, nil)
	l.AutoApprove("jsmith")
	l.AutoApprove("")
	resp, err := noRedirect().Get(authorizeURL(l, nil))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status = %d, want the sign-in page", resp.StatusCode)
	}
}

func TestHandlerWithoutBaseURLUsesHost(t *testing.T) {
	opts := testOptions()
	l, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	l.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "http://lms.test:18000/.well-known/openid-configuration", nil))
	if !strings.Contains(rec.Body.String(), `"issuer":"http://lms.test:18000/oauth2"`) {
		t.Errorf("discovery = %s", rec.Body.String())
	}
	l.SetBaseURL("http://127.0.0.1:18000/")
	if l.URL() != "http://127.0.0.1:18000" || l.Issuer() != "http://127.0.0.1:18000/oauth2" {
		t.Errorf("URL/Issuer = %q %q", l.URL(), l.Issuer())
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]Options{
		"empty client id":     {Clients: []Client{{Secret: "s"}}, Key: testKey()},
		"relative redirect":   {Clients: []Client{{ID: "c", RedirectURIs: []string{"/complete/"}}}, Key: testKey()},
		"javascript redirect": {Clients: []Client{{ID: "c", RedirectURIs: []string{"javascript:alert(1)"}}}, Key: testKey()},
		"bad username":        {Users: []User{{Username: "a b"}}, Key: testKey()},
		"bad public url":      {PublicURL: "ftp://x", Key: testKey()},
	} {
		if _, err := New(o); err == nil {
			t.Errorf("%s: New succeeded", name)
		}
	}
}
