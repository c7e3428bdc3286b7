// Package redirect is the redirect sanitizer of socialauth. Every redirect
// target that comes from a request (the "next" parameter, logout redirects,
// values stored in the session from an earlier request) goes through
// [Policy.Sanitize] before it is put in a Location header.
//
// It ports the intent of social-core's sanitize_redirect (relative paths are
// allowed; absolute URLs only when their host is in an explicit allow-list;
// backslashes and control characters are rejected) and is stricter where
// browsers and servers are known to disagree about what a URL means:
//
//   - A relative target must be a path that starts with exactly one "/"
//     ("/" alone, or "/" followed by a character other than "/" and "\").
//     "//host", "/\host", "\\host", "?x", "#x", "path" and "./path" are
//     rejected. The query and fragment are kept.
//   - An absolute target must be "http://" or "https://" (scheme matched
//     case-insensitively, and limited further by [Policy.AllowedSchemes])
//     followed by a host in [Policy.AllowedHosts]. No other scheme is ever
//     accepted ("javascript:", "data:", "vbscript:", "ftp:", private-use
//     schemes), nor "https:host" or "https:/host".
//   - The authority may not hold userinfo ("@"), percent signs, or anything
//     but an ASCII host name, or an IP literal, and an optional decimal port.
//     Non-ASCII (IDN) host names must be written, and allowed, in their
//     punycode ("xn--") form. A trailing dot ("example.com.") or an empty
//     label is rejected; it is never treated as equal to the name without it.
//   - The target must be printable ASCII: no control characters, tab, CR,
//     LF, NUL, DEL, space or other whitespace, no backslash anywhere, and no
//     raw non-ASCII character (percent-encode them). Invalid percent escapes
//     are rejected.
//   - The target is percent-decoded repeatedly (up to [MaxDecodeRounds]
//     times) and every decoded form is checked again: it must not contain
//     control characters, backslashes, Unicode control, format or
//     separator characters, or compatibility and lookalike forms of ASCII
//     punctuation (fullwidth "／", "＼", "．", "℀"...), and it must keep the same shape: a
//     relative path must still start with a single "/", an absolute URL's
//     path must still not start with "//". This rejects "/%2F%2Fhost",
//     "/%5Chost", "/%09/host", "/%252F%252Fhost" and their kin, which are
//     harmless to a browser but not to a server or proxy that decodes them.
//   - Targets longer than [MaxLength] bytes are rejected.
//
// Host matching is exact and case-insensitive on the host name; there are
// no wildcards and no suffix matching. Ports are compared after applying the
// scheme's default port (80 for http, 443 for https): an allowed entry
// without a port matches a target without a port or with the default port of
// its scheme, and an entry with a port matches exactly that port (so
// "example.com:443" also matches "https://example.com"). Allow-list the
// application's own public host explicitly; never derive it from the request
// Host header, which the client controls.
//
// A rejected target yields an error wrapping [ErrUnsafe]; the caller then
// falls back to its configured default (LOGIN_REDIRECT_URL and the like).
package redirect

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrUnsafe is wrapped by every error [Policy.Sanitize] returns.
var ErrUnsafe = errors.New("redirect: unsafe redirect target")

// MaxLength is the longest target, in bytes, that [Policy.Sanitize] accepts.
const MaxLength = 8192

// MaxDecodeRounds bounds how many times [Policy.Sanitize] percent-decodes a
// target to re-check it. A target that still changes after this many rounds
// is rejected as excessively encoded.
const MaxDecodeRounds = 4

// maxQuoted is how many bytes of the target an error message shows.
const maxQuoted = 40

// Error is the error [Policy.Sanitize] returns for a rejected target. It
// wraps [ErrUnsafe]. Its message names the reason and shows at most a short,
// escaped prefix of the target (still attacker-chosen text: HTML-escape it
// before rendering it anywhere).
type Error struct {
	// Reason says, in a few words, why the target was rejected, e.g.
	// "host not allowed". It never contains the target.
	Reason string
	// prefix is the escaped, truncated target.
	prefix string
}

// Error returns `redirect: unsafe redirect target "<prefix>…": <reason>`.
func (e *Error) Error() string {
	return ErrUnsafe.Error() + " " + e.prefix + ": " + e.Reason
}

// Unwrap returns [ErrUnsafe].
func (e *Error) Unwrap() error { return ErrUnsafe }

func unsafeErr(target, reason string) error {
	short := target
	if len(short) > maxQuoted {
		short = short[:maxQuoted]
	}
	q := strconv.QuoteToASCII(short)
	if len(short) < len(target) {
		q += "…"
	}
	return &Error{Reason: reason, prefix: q}
}

// Policy says which redirect targets are acceptable. The zero Policy accepts
// relative paths only.
type Policy struct {
	// AllowedHosts lists the hosts that absolute targets may point to, as
	// "host" or "host:port" ("example.com", "example.com:8443",
	// "[2001:db8::1]:443", "xn--bcher-kva.example"). Matching is exact and
	// case-insensitive; an entry without a port matches no explicit port or
	// the scheme's default port. Entries that are not valid host[:port]
	// values (with a scheme, a path, a trailing dot, non-ASCII...) never
	// match; [Policy.Validate] reports them. The application adds its own
	// public host here; never the request Host header.
	AllowedHosts []string
	// AllowedSchemes lists the schemes absolute targets may use. Empty means
	// "http" and "https". Matching is case-insensitive. Only http and https
	// can ever be allowed: other entries are ignored ([Policy.Validate]
	// reports them), so this can only narrow the default, e.g. to https.
	AllowedSchemes []string
}

// Validate reports configuration mistakes: allowed hosts that can never
// match and schemes other than http and https. Call it once at start-up;
// Sanitize works (and stays safe) with an invalid Policy.
func (p Policy) Validate() error {
	var errs []error
	for _, h := range p.AllowedHosts {
		if _, _, ok := parseHostPort(h); !ok {
			errs = append(errs, errors.New("redirect: invalid allowed host "+strconv.QuoteToASCII(h)+` (want "host" or "host:port", ASCII, no trailing dot)`))
		}
	}
	for _, s := range p.AllowedSchemes {
		if ls := strings.ToLower(s); ls != "http" && ls != "https" {
			errs = append(errs, errors.New("redirect: unsupported scheme "+strconv.QuoteToASCII(s)+" (only http and https)"))
		}
	}
	return errors.Join(errs...)
}

// schemeAllowed reports whether the lower-case scheme (http or https) is
// allowed by the policy.
func (p Policy) schemeAllowed(scheme string) bool {
	if len(p.AllowedSchemes) == 0 {
		return true
	}
	for _, s := range p.AllowedSchemes {
		if strings.EqualFold(s, scheme) {
			return true
		}
	}
	return false
}

// hostAllowed reports whether host (lower-case) and port ("" when absent)
// of a target with the given scheme match an allowed entry.
func (p Policy) hostAllowed(scheme, host, port string) bool {
	def := defaultPort(scheme)
	if port == "" {
		port = def
	}
	for _, entry := range p.AllowedHosts {
		eh, ep, ok := parseHostPort(entry)
		if !ok || eh != host {
			continue
		}
		if ep == "" {
			ep = def
		}
		if ep == port {
			return true
		}
	}
	return false
}

func defaultPort(scheme string) string {
	if scheme == "https" {
		return "443"
	}
	return "80"
}

// Sanitize checks target and returns it unchanged when it is a safe redirect
// target under p (so clean is exactly what to put in the Location header), or
// "" and an error wrapping [ErrUnsafe] when it is not. See the package
// documentation for the rules. Sanitize never panics and is safe for
// concurrent use.
func (p Policy) Sanitize(target string) (clean string, err error) {
	if target == "" {
		return "", unsafeErr(target, "empty")
	}
	if len(target) > MaxLength {
		return "", unsafeErr(target, "too long")
	}
	for i := 0; i < len(target); i++ {
		switch c := target[i]; {
		case c < 0x20 || c == 0x7f:
			return "", unsafeErr(target, "control character")
		case c == ' ':
			return "", unsafeErr(target, "whitespace")
		case c >= 0x80:
			return "", unsafeErr(target, "non-ASCII character")
		case c == '\\':
			return "", unsafeErr(target, "backslash")
		}
	}
	sh, reason := p.check(target)
	if reason != "" {
		return "", unsafeErr(target, reason)
	}

	// Re-check every percent-decoded form.
	cur := target
	for range MaxDecodeRounds {
		next := unescape(cur)
		if next == cur {
			return target, nil
		}
		if reason := checkDecoded(next, sh); reason != "" {
			return "", unsafeErr(target, "encoded "+reason)
		}
		cur = next
	}
	if unescape(cur) != cur {
		return "", unsafeErr(target, "too deeply percent-encoded")
	}
	return target, nil
}

// shape is what a raw target looked like: a relative path (prefixLen 0) or
// an absolute URL whose scheme and authority take the first prefixLen bytes.
type shape struct{ prefixLen int }

// check applies the structural rules to the raw target, which is known to be
// printable ASCII without spaces or backslashes. It returns a reason when
// the target is rejected.
func (p Policy) check(target string) (shape, string) {
	if target[0] == '/' {
		if len(target) > 1 && target[1] == '/' {
			return shape{}, "protocol-relative URL"
		}
		u, err := url.Parse(target)
		if err != nil {
			return shape{}, "malformed URL"
		}
		// Cross-check with net/url: a plain path, nothing else.
		if u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
			return shape{}, "ambiguous URL"
		}
		return shape{}, ""
	}

	scheme, rest, ok := splitScheme(target)
	if !ok {
		return shape{}, "not a path starting with / nor an absolute URL"
	}
	scheme = strings.ToLower(scheme)
	if scheme != "http" && scheme != "https" {
		return shape{}, "scheme not allowed"
	}
	if !p.schemeAllowed(scheme) {
		return shape{}, "scheme not allowed"
	}
	if !strings.HasPrefix(rest, "//") {
		return shape{}, "absolute URL without //"
	}
	rest = rest[2:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority, path := rest[:end], rest[end:]
	switch {
	case authority == "":
		return shape{}, "empty host"
	case strings.Contains(authority, "@"):
		return shape{}, "userinfo in URL"
	case strings.Contains(authority, "%"):
		return shape{}, "percent-encoding in host"
	}
	host, port, ok := parseHostPort(authority)
	if !ok {
		return shape{}, "invalid host or port"
	}
	if strings.HasPrefix(path, "//") {
		return shape{}, "path starts with //"
	}
	u, err := url.Parse(target)
	if err != nil {
		return shape{}, "malformed URL"
	}
	// Cross-check with net/url: same scheme, no userinfo, same authority.
	if !strings.EqualFold(u.Scheme, scheme) || u.User != nil || u.Opaque != "" || u.Host != authority {
		return shape{}, "ambiguous URL"
	}
	if !p.hostAllowed(scheme, host, port) {
		return shape{}, "host not allowed"
	}
	return shape{prefixLen: len(target) - len(path)}, ""
}

// checkDecoded checks one percent-decoded form of a target whose raw form
// had shape sh. It returns a reason when the decoded form is unsafe.
func checkDecoded(d string, sh shape) string {
	for i := 0; i < len(d); {
		c := d[i]
		if c < utf8.RuneSelf {
			switch {
			case c < 0x20 || c == 0x7f:
				return "control character"
			case c == '\\':
				return "backslash"
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(d[i:])
		if r != utf8.RuneError || size > 1 {
			if unicode.In(r, unicode.C, unicode.Z) {
				return "Unicode control, format or space character"
			}
			if asciiLookalike(r) {
				return "character equivalent to ASCII"
			}
		}
		i += size
	}
	// Scheme and authority contain no "%" so decoding leaves them as they
	// were; what follows must keep its meaning.
	if sh.prefixLen == 0 {
		if d[0] != '/' || (len(d) > 1 && d[1] == '/') {
			return "protocol-relative URL"
		}
		return ""
	}
	if strings.HasPrefix(d[sh.prefixLen:], "//") {
		return "path starts with //"
	}
	return ""
}

// asciiLookalike reports whether r is in a Unicode range whose characters
// normalise (NFKC) to ASCII punctuation or look like a slash: fullwidth and
// small forms, vertical and CJK compatibility forms, letterlike symbols ("℀"
// is "a/c"), leaders, enclosed alphanumerics ("⒈" is "1."), CJK
// compatibility squares, and the slash and backslash lookalikes of the
// mathematical blocks.
func asciiLookalike(r rune) bool {
	switch {
	case 0x2024 <= r && r <= 0x2026, // one and two dot leaders, ellipsis
		r == 0x2044,                // fraction slash
		0x2100 <= r && r <= 0x214f, // letterlike symbols
		r == 0x2215 || r == 0x2216, // division slash, set minus
		0x2460 <= r && r <= 0x24ff, // enclosed alphanumerics
		0x29f5 <= r && r <= 0x29f9, // reverse solidus operator, big solidus...
		r == 0x3002,                // ideographic full stop (IDNA maps it to ".")
		0x3300 <= r && r <= 0x33ff, // CJK compatibility
		0xfe10 <= r && r <= 0xfe1f, // vertical forms
		0xfe30 <= r && r <= 0xfe6f, // CJK compatibility forms, small form variants
		0xff00 <= r && r <= 0xffef: // halfwidth and fullwidth forms
		return true
	}
	return false
}

// splitScheme splits "scheme:rest" where scheme is RFC 3986
// ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func splitScheme(s string) (scheme, rest string, ok bool) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.':
			if i == 0 {
				return "", "", false
			}
		case c == ':':
			if i == 0 {
				return "", "", false
			}
			return s[:i], s[i+1:], true
		default:
			return "", "", false
		}
	}
	return "", "", false
}

// parseHostPort parses "host" or "host:port" strictly: host is a DNS name
// of ASCII letters, digits, "-" and "_" in non-empty dot-separated labels (no
// trailing dot), or a bracketed IPv6 literal; port is 1-65535 in decimal
// without leading zeros. host is returned in lower case.
func parseHostPort(s string) (host, port string, ok bool) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", false
		}
		host, rest := s[:end+1], s[end+1:]
		if !validIPv6Literal(host[1:end]) {
			return "", "", false
		}
		if rest != "" {
			if rest[0] != ':' || !validPort(rest[1:]) {
				return "", "", false
			}
			port = rest[1:]
		}
		return strings.ToLower(host), port, true
	}
	host = s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if !validPort(port) {
			return "", "", false
		}
	}
	if !validDNSName(host) {
		return "", "", false
	}
	return strings.ToLower(host), port, true
}

func validDNSName(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

func validIPv6Literal(s string) bool {
	if len(s) < 2 || !strings.Contains(s, ":") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' || c == ':' || c == '.') {
			return false
		}
	}
	return true
}

func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// unescape decodes every valid %XX escape in s and leaves anything else,
// including invalid escapes and "+", as it is.
func unescape(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && ishex(s[i+1]) && ishex(s[i+2]) {
			b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
			i += 2
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func ishex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	default:
		return c - 'A' + 10
	}
}
