package fakelms

import (
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// authCode is an issued authorization code and what it is bound to.
type authCode struct {
	clientID, redirectURI, username string
	scopes                          []string
	nonce                           string
	challenge, method               string
	expires, authTime               time.Time
	used                            bool
	grant                           string // tokens issued from this code share it
}

// authzRequest is the validated authorization request.
type authzRequest struct {
	client                           Client
	redirectURI, state, scope, nonce string
	responseType, challenge, method  string
	scopes                           []string
}

// defaultScopes are django-oauth-toolkit's defaults on the LMS (OAUTH2_DEFAULT_SCOPES).
var defaultScopes = []string{"read", "write", "email", "profile"}

func (l *LMS) authorize(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		l.errorPage(w, http.StatusBadRequest, "The request could not be read.")
		return
	}
	// On POST the sign-in form carries the parameters in the body; on GET they are in the query.
	get := r.URL.Query().Get
	if r.Method == http.MethodPost {
		get = r.PostForm.Get
	}
	req := authzRequest{
		redirectURI:  get("redirect_uri"),
		state:        get("state"),
		scope:        get("scope"),
		nonce:        get("nonce"),
		responseType: get("response_type"),
		challenge:    get("code_challenge"),
		method:       get("code_challenge_method"),
	}
	// Without a known client and a registered redirect_uri nothing may be redirected (RFC 6749 4.1.2.1).
	l.mu.Lock()
	client, ok := l.clients[get("client_id")]
	l.mu.Unlock()
	if !ok {
		l.log.Info("fakelms: authorize: unknown client")
		l.errorPage(w, http.StatusBadRequest, "Unknown client_id.")
		return
	}
	req.client = client
	if !redirectAllowed(client.RedirectURIs, req.redirectURI, l.opts.ExactRedirectURI) {
		l.log.Info("fakelms: authorize: redirect_uri not registered", "client_id", client.ID)
		l.errorPage(w, http.StatusBadRequest, "Mismatching redirect URI.")
		return
	}
	if code, desc := validateAuthz(&req); code != "" {
		l.redirectError(w, r, req, code, desc)
		return
	}

	l.mu.Lock()
	auto := l.autoApprove
	l.mu.Unlock()
	switch {
	case r.Method == http.MethodGet && auto != "":
		l.approve(w, r, req, auto)
	case r.Method == http.MethodGet:
		l.signInPage(w, http.StatusOK, req, "")
	case r.PostForm.Get("deny") != "":
		l.redirectError(w, r, req, "access_denied", "The resource owner denied the request.")
	default:
		username := strings.TrimSpace(r.PostForm.Get("username"))
		if !validUsername(username) {
			l.signInPage(w, http.StatusBadRequest, req, "Enter a valid username.")
			return
		}
		l.approve(w, r, req, username)
	}
}

func validateAuthz(req *authzRequest) (code, desc string) {
	if req.responseType != "code" {
		return "unsupported_response_type", "response_type must be code"
	}
	if req.scope == "" {
		req.scopes = append([]string(nil), defaultScopes...)
	} else {
		req.scopes = strings.Fields(req.scope)
		for _, s := range req.scopes {
			if !validScopeToken(s) {
				return "invalid_scope", "malformed scope"
			}
		}
	}
	if req.challenge == "" {
		if req.method != "" {
			return "invalid_request", "code_challenge_method without code_challenge"
		}
		return "", ""
	}
	if req.method == "" {
		req.method = "plain" // RFC 7636 4.3
	}
	if req.method != "S256" && req.method != "plain" {
		return "invalid_request", "transform algorithm not supported"
	}
	if !validPKCEString(req.challenge) {
		return "invalid_request", "malformed code_challenge"
	}
	return "", ""
}

// approve signs username in (creating the account unless Strict) and redirects with a fresh code.
func (l *LMS) approve(w http.ResponseWriter, r *http.Request, req authzRequest, username string) {
	now := l.now()
	code, err := randomToken()
	if err != nil {
		l.errorPage(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	grant, err := randomToken()
	if err != nil {
		l.errorPage(w, http.StatusInternalServerError, "Internal error.")
		return
	}
	l.mu.Lock()
	_, known := l.users[username]
	if !known && !l.opts.Strict {
		l.addUserLocked(User{Username: username})
		known = true
	}
	if known {
		l.pruneLocked(now)
		l.codes[code] = &authCode{
			clientID: req.client.ID, redirectURI: req.redirectURI, username: username,
			scopes: req.scopes, nonce: req.nonce, challenge: req.challenge, method: req.method,
			expires: now.Add(l.opts.CodeTTL), authTime: now, grant: grant,
		}
	}
	l.mu.Unlock()
	if !known {
		l.log.Info("fakelms: authorize: unknown user refused (strict)")
		if r.Method == http.MethodGet {
			l.redirectError(w, r, req, "access_denied", "unknown user")
			return
		}
		l.signInPage(w, http.StatusUnauthorized, req, "Unknown user.")
		return
	}
	l.log.Info("fakelms: authorize: approved", "client_id", req.client.ID, "username", username)
	q := url.Values{"code": {code}}
	l.redirectBack(w, r, req, q)
}

func (l *LMS) redirectError(w http.ResponseWriter, r *http.Request, req authzRequest, code, desc string) {
	l.log.Info("fakelms: authorize: error", "client_id", req.client.ID, "error", code)
	l.redirectBack(w, r, req, url.Values{"error": {code}, "error_description": {desc}})
}

// redirectBack appends q, state and iss to the redirect URI, keeping its own query as it was.
func (l *LMS) redirectBack(w http.ResponseWriter, r *http.Request, req authzRequest, q url.Values) {
	if req.state != "" {
		q.Set("state", req.state)
	}
	if l.opts.IssParameter {
		q.Set("iss", l.issuerFor(r))
	}
	target := req.redirectURI
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
		if strings.HasSuffix(target, "?") || strings.HasSuffix(target, "&") {
			sep = ""
		}
	}
	w.Header().Set("Location", target+sep+q.Encode())
	w.WriteHeader(http.StatusFound)
}

// parseRedirectURI accepts absolute http(s) URIs without fragment or userinfo.
func parseRedirectURI(s string) (*url.URL, error) {
	if s == "" || strings.ContainsAny(s, "\x00\t\r\n \\") {
		return nil, errors.New("empty or contains forbidden characters")
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, errors.New("scheme must be http or https")
	}
	if u.Host == "" || u.User != nil || u.Fragment != "" || u.Opaque != "" {
		return nil, errors.New("must be absolute, without userinfo or fragment")
	}
	return u, nil
}

// redirectAllowed matches uri against the registered URIs: exactly, or as django-oauth-toolkit does
// (same scheme, host, port and path; the registered query parameters a subset of uri's).
func redirectAllowed(registered []string, uri string, exact bool) bool {
	u, err := parseRedirectURI(uri)
	if err != nil {
		return false
	}
	got := u.Query()
	for _, reg := range registered {
		if reg == uri {
			return true
		}
		if exact {
			continue
		}
		ru, err := parseRedirectURI(reg)
		if err != nil {
			continue
		}
		if ru.Scheme != u.Scheme || !strings.EqualFold(ru.Host, u.Host) || ru.EscapedPath() != u.EscapedPath() {
			continue
		}
		subset := true
		for k, vs := range ru.Query() {
			for _, v := range vs {
				if !contains(got[k], v) {
					subset = false
				}
			}
		}
		if subset {
			return true
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// validScopeToken is RFC 6749 3.3 scope-token: 1*( %x21 / %x23-5B / %x5D-7E ).
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// validPKCEString is RFC 7636's code_verifier / code_challenge syntax: 43-128 unreserved characters.
func validPKCEString(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}

// validUsername is Django's username rule: 1-150 of letters, digits and @.+-_.
func validUsername(s string) bool {
	if s == "" || len(s) > 150 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("@.+-_", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// pruneLocked forgets expired unused codes so that load tests do not grow the map without limit.
func (l *LMS) pruneLocked(now time.Time) {
	if len(l.codes) < 1024 {
		return
	}
	for k, c := range l.codes {
		if now.After(c.expires.Add(time.Minute)) {
			delete(l.codes, k)
		}
	}
}

var signInTemplate = template.Must(template.New("signin").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in | Fake LMS</title>
<style>body{font-family:sans-serif;max-width:26rem;margin:4rem auto;padding:0 1rem}
label,input,button{display:block;width:100%;margin:.4rem 0;font-size:1rem}
input,button{padding:.5rem;box-sizing:border-box}.error{color:#b00020}.app{color:#555}</style></head>
<body><h1>Sign in</h1>
<p class="app">to continue to <strong id="client">{{.ClientID}}</strong></p>
{{if .Error}}<p class="error" id="error" role="alert">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" autofocus required>
{{range .Hidden}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<button id="signin" type="submit">Sign in</button>
<button id="deny" name="deny" value="1" type="submit" formnovalidate>Deny</button>
</form></body></html>
`))

var errorTemplate = template.Must(template.New("error").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Error | Fake LMS</title></head>
<body><h1>Authorization error</h1><p id="error">{{.}}</p></body></html>
`))

type hiddenField struct{ Name, Value string }

func (l *LMS) signInPage(w http.ResponseWriter, status int, req authzRequest, errMsg string) {
	fields := []hiddenField{
		{"client_id", req.client.ID},
		{"redirect_uri", req.redirectURI},
		{"response_type", req.responseType},
	}
	for _, f := range []hiddenField{
		{"state", req.state}, {"scope", req.scope}, {"nonce", req.nonce},
		{"code_challenge", req.challenge}, {"code_challenge_method", req.method},
	} {
		if f.Value != "" {
			fields = append(fields, f)
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	_ = signInTemplate.Execute(w, struct {
		ClientID, Error, Action string
		Hidden                  []hiddenField
	}{req.client.ID, errMsg, "/oauth2/authorize", fields})
}

func (l *LMS) errorPage(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_ = errorTemplate.Execute(w, msg)
}
