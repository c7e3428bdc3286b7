package redirect

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testPolicy() Policy {
	return Policy{AllowedHosts: []string{
		"allowed.com",
		"app.example.org:8443",
		"[::1]:8080",
		"xn--bcher-kva.example",
		"Mixed-Case.Example",
		"not a host",         // invalid entry: never matches
		"https://scheme.com", // invalid entry: never matches
		"trailing.com.",      // invalid entry: never matches
	}}
}

func TestSanitizeAcceptsLegitimateTargets(t *testing.T) {
	p := testPolicy()
	for _, target := range []string{
		"/",
		"/dashboard",
		"/courses/course-v1:edX+DemoX+Demo_Course/info?tab=1&x=y#top",
		"/search?q=hello%20world",
		"/caf%C3%A9/%E2%82%AC",
		"/login?next=%2Fdashboard",
		"/?next=//evil.com#//evil.com", // "//" inside query and fragment is data
		"/a?q=100%25",
		"/~user/;params",
		"/a/b/../c",
		"https://allowed.com",
		"https://allowed.com/path?x=1#y",
		"https://allowed.com?x=1",
		"http://allowed.com/",
		"HTTPS://ALLOWED.COM/Upper",
		"https://allowed.com:443/default-port",
		"http://allowed.com:80/default-port",
		"https://app.example.org:8443/x",
		"http://[::1]:8080/x",
		"https://xn--bcher-kva.example/",
		"https://mixed-case.example/",
		"https://allowed.com/%40evil.com",
	} {
		clean, err := p.Sanitize(target)
		if err != nil || clean != target {
			t.Errorf("Sanitize(%q) = %q, %v; want it accepted unchanged", target, clean, err)
		}
	}
}

func TestSanitizeRejectsHostileTargets(t *testing.T) {
	p := testPolicy()
	tests := []struct{ target, reason string }{
		// Empty, padded, too long.
		{"", "empty"},
		{" /dashboard", "whitespace"},
		{"/dashboard ", "whitespace"},
		{"\t/dashboard", "control character"},
		{"/" + strings.Repeat("a", MaxLength), "too long"},
		// Protocol-relative and backslash tricks.
		{"//evil.com", "protocol-relative URL"},
		{"//allowed.com", "protocol-relative URL"},
		{"///evil.com", "protocol-relative URL"},
		{"////evil.com", "protocol-relative URL"},
		{`/\evil.com`, "backslash"},
		{`\\evil.com`, "backslash"},
		{`\/evil.com`, "backslash"},
		{`/foo\bar`, "backslash"},
		{`http:\\evil.com`, "backslash"},
		{`https://allowed.com\@evil.com`, "backslash"},
		{`https://evil.com\@allowed.com`, "backslash"},
		{`https://allowed.com\.evil.com`, "backslash"},
		// Control characters.
		{"/\t/evil.com", "control character"},
		{"/\x00evil", "control character"},
		{"/foo\r\nSet-Cookie: a=b", "control character"},
		{"/foo\x7f", "control character"},
		{"https://allowed.com\n.evil.com", "control character"},
		// Schemes.
		{"javascript:alert(1)", "scheme not allowed"},
		{"JaVaScRiPt:alert(1)", "scheme not allowed"},
		{"javascript://allowed.com/%0Aalert(1)", "scheme not allowed"},
		{"data:text/html,<script>alert(1)</script>", "scheme not allowed"},
		{"vbscript:msgbox(1)", "scheme not allowed"},
		{"ftp://allowed.com/", "scheme not allowed"},
		{"file:///etc/passwd", "scheme not allowed"},
		{"java%0ascript:alert(1)", "not a path starting with / nor an absolute URL"},
		{"jav&#x09;ascript:alert(1)", "not a path starting with / nor an absolute URL"},
		{"1http://allowed.com", "not a path starting with / nor an absolute URL"},
		{"https:evil.com", "absolute URL without //"},
		{"https:allowed.com", "absolute URL without //"},
		{"https:/allowed.com", "absolute URL without //"},
		{"https:///evil.com", "empty host"},
		{"https://", "empty host"},
		// Not a path.
		{"evil.com", "not a path starting with / nor an absolute URL"},
		{"dashboard", "not a path starting with / nor an absolute URL"},
		{"./dashboard", "not a path starting with / nor an absolute URL"},
		{"?next=/x", "not a path starting with / nor an absolute URL"},
		{"#frag", "not a path starting with / nor an absolute URL"},
		{"%2F%2Fevil.com", "not a path starting with / nor an absolute URL"},
		// Percent-encoded and double-encoded variants.
		{"/%2F%2Fevil.com", "encoded protocol-relative URL"},
		{"/%2fevil.com", "encoded protocol-relative URL"},
		{"/%5Cevil.com", "encoded backslash"},
		{"/%5cevil.com", "encoded backslash"},
		{"/%09/evil.com", "encoded control character"},
		{"/%0d%0aSet-Cookie:%20a=b", "encoded control character"},
		{"/%00", "encoded control character"},
		{"/%252F%252Fevil.com", "encoded protocol-relative URL"},
		{"/%25252F%25252Fevil.com", "encoded protocol-relative URL"},
		{"/%255Cevil.com", "encoded backslash"},
		{"/%2525252525252Fx", "too deeply percent-encoded"},
		{"/%E2%80%AEmoc.live", "encoded Unicode control, format or space character"},
		{"/%C2%A0/evil.com", "encoded Unicode control, format or space character"},
		{"/%EF%BC%8F%EF%BC%8Fevil.com", "encoded character equivalent to ASCII"},
		{"/%EF%BC%BCevil.com", "encoded character equivalent to ASCII"},
		{"/%E2%84%80", "encoded character equivalent to ASCII"},
		{"https://allowed.com/%2F%2Fevil.com", "encoded path starts with //"},
		{"https://allowed.com/%5Cevil.com", "encoded backslash"},
		{"https://allowed.com%2F@evil.com", "userinfo in URL"},
		{"https://allowed.com%2Eevil.com", "percent-encoding in host"},
		{"https://%61llowed.com", "percent-encoding in host"},
		{"/%zz", "malformed URL"},
		// Userinfo.
		{"https://allowed.com@evil.com", "userinfo in URL"},
		{"https://user:pass@allowed.com/", "userinfo in URL"},
		{"https://@allowed.com", "userinfo in URL"},
		{"https://allowed.com:443@evil.com", "userinfo in URL"},
		// Hosts not allowed, lookalikes.
		{"https://evil.com", "host not allowed"},
		{"https://evil.com#@allowed.com", "host not allowed"},
		{"https://evil.com?@allowed.com", "host not allowed"},
		{"https://evil.com/allowed.com", "host not allowed"},
		{"https://allowed.com.evil.com", "host not allowed"},
		{"https://evilallowed.com", "host not allowed"},
		{"https://sub.allowed.com", "host not allowed"},
		{"https://allowed.co", "host not allowed"},
		{"https://xn--allowed-abc.com", "host not allowed"},
		{"https://bücher.example/", "non-ASCII character"},
		{"https://аllowed.com", "non-ASCII character"}, // Cyrillic а
		{"https://allowed.com。evil.com", "non-ASCII character"},
		{"https://ａllowed.com", "non-ASCII character"},
		{"/\u2028evil", "non-ASCII character"},
		{"https://allowed.com.", "invalid host or port"},
		{"https://allowed.com..", "invalid host or port"},
		{"https://.allowed.com", "invalid host or port"},
		{"https://trailing.com./", "invalid host or port"},
		{"https://trailing.com/", "host not allowed"},
		{"https://scheme.com/", "host not allowed"},
		{"https://127.0.0.1/", "host not allowed"},
		{"https://[::1]/", "host not allowed"},
		{"https://[::1]:8081/", "host not allowed"},
		{"https://[evil.com]/", "invalid host or port"},
		{"https://allowed.com:80:443/", "invalid host or port"},
		{"https://allowed.com[]/", "invalid host or port"},
		// Ports.
		{"https://allowed.com:8443/", "host not allowed"},
		{"http://allowed.com:443/", "host not allowed"},
		{"https://allowed.com:80/", "host not allowed"},
		{"https://app.example.org/", "host not allowed"},
		{"https://app.example.org:443/", "host not allowed"},
		{"https://allowed.com:/", "invalid host or port"},
		{"https://allowed.com:0443/", "invalid host or port"},
		{"https://allowed.com:0/", "invalid host or port"},
		{"https://allowed.com:65536/", "invalid host or port"},
		{"https://allowed.com:+443/", "invalid host or port"},
		{"https://allowed.com//evil.com", "path starts with //"},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d hostile values", len(tests))
	}
	for _, tt := range tests {
		clean, err := p.Sanitize(tt.target)
		if err == nil || clean != "" {
			t.Errorf("Sanitize(%q) = %q, %v; want rejection", tt.target, clean, err)
			continue
		}
		var e *Error
		if !errors.Is(err, ErrUnsafe) || !errors.As(err, &e) {
			t.Errorf("Sanitize(%q) error %v does not wrap ErrUnsafe as *Error", tt.target, err)
			continue
		}
		if e.Reason != tt.reason {
			t.Errorf("Sanitize(%q) reason = %q, want %q", tt.target, e.Reason, tt.reason)
		}
	}
}

func TestAllowedSchemes(t *testing.T) {
	httpsOnly := Policy{AllowedHosts: []string{"allowed.com"}, AllowedSchemes: []string{"HTTPS"}}
	if _, err := httpsOnly.Sanitize("https://allowed.com/"); err != nil {
		t.Errorf("https rejected: %v", err)
	}
	if _, err := httpsOnly.Sanitize("http://allowed.com/"); !errors.Is(err, ErrUnsafe) {
		t.Errorf("http accepted by an https-only policy: %v", err)
	}
	// Other schemes can never be enabled.
	custom := Policy{AllowedHosts: []string{"allowed.com"}, AllowedSchemes: []string{"javascript", "myapp", "https"}}
	for _, target := range []string{"javascript:alert(1)", "javascript://allowed.com/%0aalert(1)", "myapp://allowed.com/cb", "myapp:/cb"} {
		if clean, err := custom.Sanitize(target); err == nil {
			t.Errorf("Sanitize(%q) = %q, want rejection", target, clean)
		}
	}
	if err := custom.Validate(); err == nil || !strings.Contains(err.Error(), `"myapp"`) || !strings.Contains(err.Error(), `"javascript"`) {
		t.Errorf("Validate = %v, want errors naming the unsupported schemes", err)
	}
}

func TestZeroPolicyAllowsOnlyPaths(t *testing.T) {
	var p Policy
	if _, err := p.Sanitize("/dashboard?x=1"); err != nil {
		t.Errorf("path rejected: %v", err)
	}
	for _, target := range []string{"https://localhost/", "http://example.com/"} {
		if _, err := p.Sanitize(target); err == nil {
			t.Errorf("zero policy accepted %q", target)
		}
	}
	if err := p.Validate(); err != nil {
		t.Errorf("zero Policy Validate = %v", err)
	}
}

func TestValidate(t *testing.T) {
	err := testPolicy().Validate()
	if err == nil {
		t.Fatal("Validate accepted invalid entries")
	}
	for _, want := range []string{`"not a host"`, `"https://scheme.com"`, `"trailing.com."`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Validate error %q does not name %s", err, want)
		}
	}
	good := Policy{AllowedHosts: []string{"a.example", "b.example:8443", "[2001:db8::1]:443", "xn--bcher-kva.example"}, AllowedSchemes: []string{"https"}}
	if err := good.Validate(); err != nil {
		t.Errorf("Validate(good) = %v", err)
	}
}

func TestErrorDoesNotEchoWholeTarget(t *testing.T) {
	target := "https://evil.com/" + strings.Repeat("A", 200) + "SECRET-TAIL"
	_, err := testPolicy().Sanitize(target)
	if err == nil {
		t.Fatal("accepted")
	}
	msg := err.Error()
	if strings.Contains(msg, "SECRET-TAIL") || len(msg) > 150 {
		t.Errorf("error echoes the target: %q", msg)
	}
	want := `redirect: unsafe redirect target "https://evil.com/AAAAAAAAAAAAAAAAAAAAAAA"…: host not allowed`
	if diff := cmp.Diff(want, msg); diff != "" {
		t.Errorf("message (-want +got):\n%s", diff)
	}
	// Control and non-ASCII characters are escaped, not reproduced.
	_, err = testPolicy().Sanitize("/\r\n<script>é")
	if msg := err.Error(); strings.ContainsAny(msg, "\r\né") || !strings.Contains(msg, `\r\n`) {
		t.Errorf("message not escaped: %q", msg)
	}
}

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		"":           "",
		"abc":        "abc",
		"%41%42":     "AB",
		"%4":         "%4",
		"%":          "%",
		"100%":       "100%",
		"%zz%2f":     "%zz/",
		"a+b":        "a+b",
		"%252F":      "%2F",
		"%%41":       "%A",
		"%C3%A9%E2x": "é\xe2x",
	} {
		if got := unescape(in); got != want {
			t.Errorf("unescape(%q) = %q, want %q", in, got, want)
		}
	}
}

// acceptable is the fuzz oracle: an independent, simpler statement of what
// an accepted target must look like.
func acceptable(t *testing.T, p Policy, clean string) {
	t.Helper()
	for i := 0; i < len(clean); i++ {
		if c := clean[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			t.Fatalf("accepted %q with byte %#x", clean, c)
		}
	}
	if strings.HasPrefix(clean, "/") {
		if strings.HasPrefix(clean, "//") {
			t.Fatalf("accepted protocol-relative %q", clean)
		}
		for d, i := clean, 0; i <= MaxDecodeRounds; i++ {
			if strings.HasPrefix(d, "//") || strings.ContainsAny(d, "\\\t\r\n\x00") {
				t.Fatalf("accepted %q whose decoded form %q is unsafe", clean, d)
			}
			d = unescape(d)
		}
		return
	}
	u, err := url.Parse(clean)
	if err != nil {
		t.Fatalf("accepted unparseable %q: %v", clean, err)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" || u.User != nil || u.Opaque != "" || u.Host == "" {
		t.Fatalf("accepted %q: scheme %q user %v opaque %q host %q", clean, u.Scheme, u.User, u.Opaque, u.Host)
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	def := map[string]string{"http": "80", "https": "443"}[scheme]
	if port == "" {
		port = def
	}
	for _, entry := range p.AllowedHosts {
		eu, err := url.Parse("//" + entry)
		if err != nil {
			continue
		}
		ep := eu.Port()
		if ep == "" {
			ep = def
		}
		if strings.EqualFold(eu.Hostname(), host) && ep == port {
			return
		}
	}
	t.Fatalf("accepted %q whose host %q is not in %q", clean, u.Host, p.AllowedHosts)
}

func FuzzSanitize(f *testing.F) {
	for _, seed := range []string{
		"/", "/dashboard?x=1#y", "//evil.com", `/\evil.com`, "/%2F%2Fevil.com", "/%252F%252Fevil.com",
		"https://allowed.com/x", "https://allowed.com@evil.com", "https://allowed.com:443/", "http://[::1]:8080/",
		"javascript:alert(1)", "https:evil.com", "/%EF%BC%8F", "https://allowed.com./", "\t/x", "/x%",
	} {
		f.Add(seed)
	}
	p := testPolicy()
	f.Fuzz(func(t *testing.T, target string) {
		clean, err := p.Sanitize(target)
		if err != nil {
			if clean != "" || !errors.Is(err, ErrUnsafe) {
				t.Fatalf("Sanitize(%q) = %q, %v", target, clean, err)
			}
			return
		}
		if clean != target {
			t.Fatalf("Sanitize(%q) changed it to %q", target, clean)
		}
		acceptable(t, p, clean)
		again, err := p.Sanitize(clean)
		if err != nil || again != clean {
			t.Fatalf("re-Sanitize(%q) = %q, %v", clean, again, err)
		}
	})
}

func BenchmarkSanitize(b *testing.B) {
	p := testPolicy()
	for _, bc := range []struct{ name, target string }{
		{"path", "/courses/course-v1:edX+DemoX+Demo_Course/info?tab=1#top"},
		{"encoded-path", "/login?next=%2Fdashboard%3Fa%3D1"},
		{"absolute", "https://app.example.org:8443/path?x=1#y"},
		{"hostile", "https://allowed.com@evil.com/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				_, _ = p.Sanitize(bc.target)
			}
			b.StopTimer()
			// Baseline measured in the same run: a bare url.Parse of the
			// same target.
			start := time.Now()
			for i := 0; i < b.N; i++ {
				_, _ = url.Parse(bc.target)
			}
			if base := time.Since(start); base > 0 {
				b.ReportMetric(float64(b.Elapsed())/float64(base), "x-url.Parse")
			}
		})
	}
}
