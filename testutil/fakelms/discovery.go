package fakelms

import (
	"html/template"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// discovery serves GET /.well-known/openid-configuration. Browser-facing endpoints (authorize, end
// session) use Options.PublicURL when set; server-to-server ones use the base URL.
func (l *LMS) discovery(w http.ResponseWriter, r *http.Request) {
	base, public := l.baseFor(r), l.publicFor(r)
	issuer := l.issuerFor(r)
	if f := l.currentOIDCFaults(); f.DiscoveryIssuer != "" {
		issuer = f.DiscoveryIssuer
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                issuer,
		"authorization_endpoint":                public + "/oauth2/authorize",
		"token_endpoint":                        base + "/oauth2/access_token",
		"userinfo_endpoint":                     base + "/oauth2/user_info",
		"jwks_uri":                              base + "/oauth2/jwks.json",
		"end_session_endpoint":                  public + "/logout",
		"revocation_endpoint":                   base + "/oauth2/revoke_token",
		"response_types_supported":              []string{"code"},
		"grant_types_supported":                 []string{"authorization_code", "refresh_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
		"code_challenge_methods_supported":      []string{"S256", "plain"},
		"scopes_supported":                      []string{"openid", "profile", "email", "user_id", "read", "write"},
		"claims_supported": []string{
			"sub", "iss", "aud", "exp", "iat", "preferred_username", "email", "email_verified", "name",
			"given_name", "family_name", "user_id", "administrator", "superuser", "locale", "nonce", "at_hash", "auth_time",
		},
		"authorization_response_iss_parameter_supported": l.opts.IssParameter,
	})
}

var signedOutTemplate = template.Must(template.New("out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out | Fake LMS</title></head>
<body><h1 id="signed-out">You have signed out.</h1></body></html>
`))

// logout serves GET /logout: 302 to redirect_url when client_id names a client that allows its host,
// else a "signed out" page. The LMS has no session here, so there is nothing else to end.
func (l *LMS) logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if target := q.Get("redirect_url"); target != "" {
		l.mu.Lock()
		c, ok := l.clients[q.Get("client_id")]
		l.mu.Unlock()
		if ok && logoutRedirectAllowed(c, target) {
			l.log.Info("fakelms: logout: redirect", "client_id", c.ID)
			w.Header().Set("Location", target)
			w.WriteHeader(http.StatusFound)
			return
		}
		l.log.Info("fakelms: logout: redirect refused")
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = signedOutTemplate.Execute(w, nil)
}

// logoutRedirectAllowed accepts only absolute http(s) URLs whose host is in the client's
// LogoutRedirectHosts or is the host of one of its redirect URIs. Entries with a port match host:port;
// entries without one match the host name on any port.
func logoutRedirectAllowed(c Client, target string) bool {
	if strings.ContainsFunc(target, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '\\' }) {
		return false
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	// Percent-escapes in the authority are decoded by url.Parse; refuse them rather than compare a
	// host the browser may read differently.
	_, rest, ok := strings.Cut(target, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	if !ok || strings.Contains(rest, "%") {
		return false
	}
	allowed := append([]string(nil), c.LogoutRedirectHosts...)
	for _, ru := range c.RedirectURIs {
		if p, err := url.Parse(ru); err == nil && p.Host != "" {
			allowed = append(allowed, p.Host)
		}
	}
	host := strings.ToLower(u.Host)
	name := strings.ToLower(u.Hostname())
	for _, a := range allowed {
		a = strings.ToLower(a)
		if _, _, err := net.SplitHostPort(a); err == nil {
			if a == host {
				return true
			}
		} else if strings.Trim(a, "[]") == name {
			return true
		}
	}
	return false
}
