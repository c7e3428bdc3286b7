package securitytest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// hostileTargets are `next` and logout-redirect values that must never
// become a Location: slashes, backslashes, tabs and control characters,
// schemes, userinfo, encoded and double-encoded forms, IDN lookalikes, ports
// and hosts that merely end with or start with an allowed one. self is the
// service's host:port; allowed.example is in ALLOWED_REDIRECT_HOSTS.
func hostileTargets(self string) []string {
	return []string{
		"//evil.com", "///evil.com", "////evil.com", "//evil.com/%2F..",
		`/\evil.com`, `\\evil.com`, `\/evil.com`, `/\/evil.com`,
		"/\t/evil.com", "/\n/evil.com", "\t//evil.com", "/%09/evil.com", "/%0d%0aLocation:%20http://evil.com",
		" //evil.com", "/\x00/evil.com",
		"https:evil.com", "https:/evil.com", "http:\\\\evil.com", "https:///evil.com",
		"javascript:alert(1)", "JavaScript:alert(document.cookie)", "java\tscript:alert(1)",
		"data:text/html,<script>alert(1)</script>", "vbscript:msgbox(1)", "file:///etc/passwd", "ftp://allowed.example/",
		"https://evil.com", "http://evil.com/", "HTTPS://EVIL.COM",
		"https://allowed.example@evil.com", "https://allowed.example:443@evil.com", "https://user:pw@allowed.example/",
		"http://" + self + "@evil.com/", "http://evil.com#@" + self,
		"/%2F%2Fevil.com", "/%2fevil.com", "/%5Cevil.com", "/%252F%252Fevil.com", "/%25252F%25252Fevil.com",
		"%2F%2Fevil.com", "/%E2%80%AE//moc.live", "/%EF%BC%8F%EF%BC%8Fevil.com",
		"https://allowed.example.evil.com/", "https://evilallowed.example/", "https://allowed.example.", "https://allowed.exampl",
		"http://" + self + ".evil.com/", "http://" + strings.Split(self, ":")[0] + ":1/", // own host, another port
		"https://аllowed.example/", // Cyrillic а
		"https://xn--llowed-7fg.example/",
		"https://allowed.example%2F@evil.com", "https://%61llowed.example/",
		"https://allowed.example:99999/", "https://[::1]/",
		"evil.com", "./evil", "?next=//evil.com", "#//evil.com",
		"/" + strings.Repeat("a", 9000), // longer than redirect.MaxLength
	}
}

// legitTargets pass unchanged.
func legitTargets(self string) []string {
	return []string{
		"/courses/", "/courses/course-v1:edX+DemoX+Demo/info?tab=1&x=y#top", "/caf%C3%A9",
		"/search?q=%2F%2Fevil.com", "http://" + self + "/dashboard", "https://allowed.example/x?y=1",
		"https://ALLOWED.example/upper",
	}
}

const redirectAllowList = "allowed.example"

// Every hostile `next` given at the start of a login is dropped: the login
// completes and lands on LOGIN_REDIRECT_URL; the legitimate ones are kept.
func TestNextThroughTheLoginHandlers(t *testing.T) {
	e := newEnv(t, options{settings: map[string]any{"SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS": []string{redirectAllowList}}})
	self := strings.TrimPrefix(e.base, "http://")
	hostile := hostileTargets(self)
	if len(hostile) < 40 {
		t.Fatalf("only %d hostile targets", len(hostile))
	}
	run := func(t *testing.T, next, want string, viaLoginView bool) {
		b := e.browser()
		var au *url.URL
		if viaLoginView {
			p := b.get("/login/?next=" + url.QueryEscape(next))
			if p.status != http.StatusFound {
				t.Fatalf("/login/: %d", p.status)
			}
			p = b.get(p.location())
			au, _ = url.Parse(p.location())
		} else {
			au = b.begin(edxName, url.Values{"next": {next}})
		}
		p := b.complete(e.authorize(au))
		if p.status != http.StatusFound || p.location() != want {
			t.Errorf("next=%q: %d Location %q, want %q", next, p.status, p.location(), want)
		}
	}
	for i, next := range hostile {
		run(t, next, "/done/", i%2 == 0)
	}
	for _, next := range legitTargets(self) {
		run(t, next, next, false)
	}
}

// The Host header never decides what is "our" host: a next on the host the
// attacker put in Host is refused, and the redirect_uri uses the configured
// base URL.
func TestHostHeaderIsNotTrusted(t *testing.T) {
	e := newEnv(t, options{})
	b := e.browser()
	req, _ := http.NewRequest(http.MethodGet, e.base+"/login/"+edxName+"/?next="+url.QueryEscape("http://evil.com/x"), nil)
	req.Host = "evil.com"
	p := b.do(req)
	// The client's jar files the cookie under the Host header: file it
	// under the real address instead.
	u, _ := url.Parse(e.base)
	b.jar.SetCookies(u, (&http.Response{Header: http.Header{"Set-Cookie": p.header.Values("Set-Cookie")}}).Cookies())
	au, err := url.Parse(p.location())
	if err != nil || p.status != http.StatusFound {
		t.Fatalf("begin: %d %q", p.status, p.location())
	}
	if ru := au.Query().Get("redirect_uri"); !strings.HasPrefix(ru, e.base+"/complete/") {
		t.Errorf("redirect_uri = %q, want the configured base URL", ru)
	}
	if p := b.complete(e.authorize(au)); p.location() != "/done/" {
		t.Errorf("Location = %q, want /done/", p.location())
	}
}

// The logout view never follows a redirect the request asks for: every
// hostile value in every parameter a logout might read lands on the
// provider's logout URL.
func TestLogoutRedirectIgnoresTheRequest(t *testing.T) {
	e := newEnv(t, options{settings: map[string]any{
		"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": "/after-logout/",
	}})
	self := strings.TrimPrefix(e.base, "http://")
	want := e.lms.URL() + "/logout?client_id=" + clientID + "&redirect_url=/after-logout/"
	for _, target := range append(hostileTargets(self), legitTargets(self)...) {
		for _, param := range []string{"next", "redirect_url", "redirect_to", "return_to", "post_logout_redirect_uri"} {
			b := e.browser()
			b.login(edxName)
			p := b.get("/logout/?" + param + "=" + url.QueryEscape(target))
			if p.status != http.StatusFound || p.location() != want {
				t.Errorf("logout %s=%q: %d Location %q, want %q", param, target, p.status, p.location(), want)
			}
			if b.me() != "" {
				t.Errorf("still logged in after logout")
			}
		}
	}
}

// The disconnect view's next is checked like the login's.
func TestDisconnectNext(t *testing.T) {
	e := newEnv(t, options{settings: map[string]any{"SOCIAL_AUTH_ALLOWED_REDIRECT_HOSTS": []string{redirectAllowList}}})
	self := strings.TrimPrefix(e.base, "http://")
	b := e.browser()
	b.login(edxName)
	origin := http.Header{"Origin": {e.base}}
	check := func(next, want string) {
		t.Helper()
		b.login(oidcName) // a second association, so one may go
		p := b.post("/disconnect/"+oidcName+"/", url.Values{"next": {next}}, origin)
		if p.status != http.StatusFound || p.location() != want {
			t.Errorf("disconnect next=%q: %d Location %q, want %q", next, p.status, p.location(), want)
		}
	}
	for _, next := range hostileTargets(self)[:20] {
		check(next, "/done/")
	}
	for _, next := range legitTargets(self) {
		check(next, next)
	}
	// A cross-origin disconnect is refused before anything happens.
	b.login(oidcName)
	before := e.snapshot()
	p := b.post("/disconnect/"+oidcName+"/", nil, http.Header{"Origin": {"http://evil.com"}})
	if p.status != http.StatusForbidden {
		t.Errorf("cross-origin disconnect: %d", p.status)
	}
	if len(before[socialAuthTable]) != len(e.snapshot()[socialAuthTable]) {
		t.Error("a cross-origin disconnect changed the associations")
	}
}

const socialAuthTable = "social_auth_usersocialauth"
