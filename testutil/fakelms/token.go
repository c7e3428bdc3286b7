package fakelms

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/lestrrat-go/jwx/v2/jwa"
)

// accessToken and refreshToken are the issued tokens. Tokens from one authorization share grant.
type accessToken struct {
	clientID, username, grant string
	scopes                    []string
	expires                   time.Time
	refresh                   string
}

type refreshToken struct {
	clientID, username, grant string
	scopes                    []string
	access                    string
}

// oauthError is an RFC 6749 5.2 error.
type oauthError struct {
	status     int
	code, desc string
}

func (l *LMS) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	l.recordTokenRequest(r)
	client, oerr := l.authenticateClient(r)
	if oerr == nil {
		switch gt := r.PostForm.Get("grant_type"); gt {
		case "authorization_code":
			oerr = l.codeGrant(w, r, client)
		case "refresh_token":
			oerr = l.refreshGrant(w, r, client)
		case "":
			oerr = &oauthError{http.StatusBadRequest, "invalid_request", "missing grant_type"}
		default:
			oerr = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "grant_type not supported"}
		}
	}
	if oerr != nil {
		l.log.Info("fakelms: token: refused", "error", oerr.code, "grant_type", r.PostForm.Get("grant_type"))
		if oerr.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="fakelms"`)
		}
		writeOAuthError(w, oerr.status, oerr.code, oerr.desc)
	}
}

func (l *LMS) recordTokenRequest(r *http.Request) {
	tr := TokenRequest{
		Form:        cloneValues(r.PostForm),
		ContentType: r.Header.Get("Content-Type"),
		Accept:      r.Header.Get("Accept"),
		UserAgent:   r.Header.Get("User-Agent"),
	}
	if u, p, ok := r.BasicAuth(); ok {
		tr.BasicAuth = true
		tr.BasicUser, tr.BasicPassword = formUnescape(u), formUnescape(p)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.tokenRequests) >= maxTokenRequests {
		l.tokenRequests = append(l.tokenRequests[:0], l.tokenRequests[1:]...)
	}
	l.tokenRequests = append(l.tokenRequests, tr)
}

// formUnescape undoes RFC 6749 2.3.1's form-encoding of Basic credentials.
func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// authenticateClient accepts client_secret_basic or client_secret_post, not both at once.
func (l *LMS) authenticateClient(r *http.Request) (Client, *oauthError) {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	bu, bp, basic := r.BasicAuth()
	if basic {
		bu, bp = formUnescape(bu), formUnescape(bp)
		if secret != "" {
			return Client{}, &oauthError{http.StatusBadRequest, "invalid_request", "more than one client authentication method"}
		}
		if id != "" && id != bu {
			return Client{}, &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
		}
		id, secret = bu, bp
	}
	l.mu.Lock()
	c, ok := l.clients[id]
	l.mu.Unlock()
	if !ok || id == "" || subtle.ConstantTimeCompare([]byte(c.Secret), []byte(secret)) != 1 {
		return Client{}, &oauthError{http.StatusUnauthorized, "invalid_client", "client authentication failed"}
	}
	return c, nil
}

func (l *LMS) codeGrant(w http.ResponseWriter, r *http.Request, client Client) *oauthError {
	code := r.PostForm.Get("code")
	if code == "" {
		return &oauthError{http.StatusBadRequest, "invalid_request", "missing code"}
	}
	now := l.now()
	l.mu.Lock()
	ac, ok := l.codes[code]
	var oerr *oauthError
	switch {
	case !ok:
		oerr = invalidGrant("invalid code")
	case ac.used:
		// RFC 6749 4.1.2: a replayed code revokes what it produced.
		l.revokeGrantLocked(ac.grant)
		oerr = invalidGrant("code already used")
	case ac.clientID != client.ID:
		oerr = invalidGrant("code issued to another client")
	default:
		// Any attempt with a valid code by its client consumes it.
		ac.used = true
		switch {
		case now.After(ac.expires):
			oerr = invalidGrant("code expired")
		case r.PostForm.Get("redirect_uri") != ac.redirectURI:
			oerr = invalidGrant("mismatching redirect_uri")
		default:
			oerr = checkPKCE(ac, r.PostForm.Get("code_verifier"))
		}
	}
	l.mu.Unlock()
	if oerr != nil {
		return oerr
	}
	l.mu.Lock()
	u, ok := l.users[ac.username]
	l.mu.Unlock()
	if !ok {
		return invalidGrant("user no longer exists")
	}
	return l.issue(w, r, client, u, ac.grant, ac.scopes, ac.nonce, ac.authTime)
}

func invalidGrant(desc string) *oauthError {
	return &oauthError{http.StatusBadRequest, "invalid_grant", desc}
}

func checkPKCE(ac *authCode, verifier string) *oauthError {
	if ac.challenge == "" {
		if verifier != "" {
			return invalidGrant("code_verifier sent but no code_challenge was")
		}
		return nil
	}
	if !validPKCEString(verifier) {
		return invalidGrant("missing or malformed code_verifier")
	}
	want := verifier
	if ac.method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(ac.challenge)) != 1 {
		return invalidGrant("code_verifier does not match")
	}
	return nil
}

func (l *LMS) refreshGrant(w http.ResponseWriter, r *http.Request, client Client) *oauthError {
	rt := r.PostForm.Get("refresh_token")
	if rt == "" {
		return &oauthError{http.StatusBadRequest, "invalid_request", "missing refresh_token"}
	}
	l.mu.Lock()
	rec, ok := l.refresh[rt]
	var oerr *oauthError
	var scopes []string
	switch {
	case !ok:
		oerr = invalidGrant("invalid refresh_token")
	case rec.clientID != client.ID:
		oerr = invalidGrant("refresh_token issued to another client")
	default:
		scopes = rec.scopes
		if s := r.PostForm.Get("scope"); s != "" {
			scopes = strings.Fields(s)
			for _, sc := range scopes {
				if !contains(rec.scopes, sc) {
					oerr = &oauthError{http.StatusBadRequest, "invalid_scope", "scope exceeds the original grant"}
				}
			}
		}
		if oerr == nil {
			// Rotation: the old refresh token and its access token die now.
			delete(l.refresh, rt)
			delete(l.access, rec.access)
		}
	}
	l.mu.Unlock()
	if oerr != nil {
		return oerr
	}
	l.mu.Lock()
	u, ok := l.users[rec.username]
	l.mu.Unlock()
	if !ok {
		return invalidGrant("user no longer exists")
	}
	return l.issue(w, r, client, u, rec.grant, scopes, "", time.Time{})
}

// issue mints the access token (JWT when token_type=jwt), a refresh token and, for openid, an ID token.
func (l *LMS) issue(w http.ResponseWriter, r *http.Request, client Client, u User, grant string, scopes []string, nonce string, authTime time.Time) *oauthError {
	now := l.now()
	exp := now.Add(l.ttl)
	grantType := r.PostForm.Get("grant_type")
	issuer := l.issuerFor(r)
	key := l.currentKey()
	serverErr := &oauthError{http.StatusInternalServerError, "server_error", "cannot issue token"}

	var access, tokenType string
	if strings.EqualFold(r.PostForm.Get("token_type"), "jwt") {
		claims := l.accessClaims(u, scopes, issuer, now, exp, grantType)
		s, err := l.sign(key, jwa.RS512, claims)
		if err != nil {
			l.log.Error("fakelms: token: sign", "err", err)
			return serverErr
		}
		access, tokenType = s, "JWT"
	} else {
		s, err := randomToken()
		if err != nil {
			return serverErr
		}
		access, tokenType = s, "Bearer"
	}
	refresh, err := randomToken()
	if err != nil {
		return serverErr
	}
	resp := map[string]any{
		"access_token":  access,
		"token_type":    tokenType,
		"expires_in":    int(l.ttl / time.Second),
		"refresh_token": refresh,
		"scope":         strings.Join(scopes, " "),
	}
	if contains(scopes, "openid") {
		idc := l.userClaims(u, scopes)
		idc["iss"] = issuer
		idc["aud"] = client.ID
		idc["iat"] = now.Unix()
		idc["exp"] = exp.Unix()
		idc["at_hash"] = atHash(access)
		if !authTime.IsZero() {
			idc["auth_time"] = authTime.Unix()
		}
		if nonce != "" {
			idc["nonce"] = nonce
		}
		if sid := l.SessionID(u.Username); sid != "" {
			idc["sid"] = sid
		}
		faults := l.currentOIDCFaults()
		applyIDTokenFaults(faults, idc)
		s, err := l.signIDToken(faults, idc)
		if err != nil {
			l.log.Error("fakelms: token: sign id_token", "err", err)
			return serverErr
		}
		resp["id_token"] = s
	}
	l.mu.Lock()
	l.access[access] = &accessToken{clientID: client.ID, username: u.Username, grant: grant, scopes: scopes, expires: exp, refresh: refresh}
	l.refresh[refresh] = &refreshToken{clientID: client.ID, username: u.Username, grant: grant, scopes: scopes, access: access}
	l.mu.Unlock()
	l.log.Info("fakelms: token: issued", "client_id", client.ID, "username", u.Username, "grant_type", grantType, "token_type", tokenType)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// accessClaims are the claims of the LMS's JWT access token (openedx oauth_dispatch/jwt.py): the
// base claims always, user_id/email/profile claims when the scope is granted.
func (l *LMS) accessClaims(u User, scopes []string, issuer string, now, exp time.Time, grantType string) map[string]any {
	c := l.userClaims(u, scopes)
	c["iss"] = issuer
	c["aud"] = l.opts.Audience
	c["iat"] = now.Unix()
	c["exp"] = exp.Unix()
	c["grant_type"] = grantType
	c["scopes"] = append([]string{}, scopes...)
	c["version"] = "1.2.0"
	c["filters"] = []string{}
	c["is_restricted"] = false
	return c
}

// userClaims are the user's claims for the granted scopes (also the user_info answer).
func (l *LMS) userClaims(u User, scopes []string) map[string]any {
	c := map[string]any{
		"sub":                u.Subject,
		"preferred_username": u.Username,
		"email_verified":     !u.Inactive,
	}
	if contains(scopes, "user_id") {
		c["user_id"] = u.UserID
		if n, err := strconv.Atoi(u.UserID); err == nil && l.opts.NumericUserID {
			c["user_id"] = n
		}
	}
	if contains(scopes, "email") {
		c["email"] = u.Email
	}
	if contains(scopes, "profile") {
		c["name"] = u.Name
		c["given_name"] = u.GivenName
		c["family_name"] = u.FamilyName
		c["administrator"] = u.Administrator
		c["superuser"] = u.Superuser
		if u.Locale != "" {
			c["locale"] = u.Locale
		}
	}
	return c
}

// AccessTokenClaims returns the claims a JWT access token for username would carry with these scopes
// (nil scopes: "user_id profile email"), to tweak and sign with SignAccessToken.
func (l *LMS) AccessTokenClaims(username string, scopes ...string) (map[string]any, bool) {
	u, ok := l.User(username)
	if !ok {
		return nil, false
	}
	if scopes == nil {
		scopes = []string{"user_id", "profile", "email"}
	}
	now := l.now()
	return l.accessClaims(u, scopes, l.Issuer(), now, now.Add(l.ttl), "authorization_code"), true
}

func atHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
}

// revokeGrantLocked drops every token issued from one authorization.
func (l *LMS) revokeGrantLocked(grant string) {
	for k, t := range l.access {
		if t.grant == grant {
			delete(l.access, k)
		}
	}
	for k, t := range l.refresh {
		if t.grant == grant {
			delete(l.refresh, k)
		}
	}
}

// revoke serves RFC 7009: 200 for unknown tokens and for tokens of other clients (nothing revealed).
// Revoking a refresh token also revokes its access token, as django-oauth-toolkit does.
func (l *LMS) revoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "malformed form body")
		return
	}
	client, oerr := l.authenticateClient(r)
	if oerr != nil {
		if oerr.status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="fakelms"`)
		}
		writeOAuthError(w, oerr.status, oerr.code, oerr.desc)
		return
	}
	tok := r.PostForm.Get("token")
	if tok == "" {
		writeOAuthError(w, http.StatusBadRequest, "invalid_request", "missing token")
		return
	}
	l.mu.Lock()
	if a, ok := l.access[tok]; ok && a.clientID == client.ID {
		delete(l.access, tok)
	}
	if rt, ok := l.refresh[tok]; ok && rt.clientID == client.ID {
		delete(l.refresh, tok)
		delete(l.access, rt.access)
	}
	l.mu.Unlock()
	l.log.Info("fakelms: revoke", "client_id", client.ID)
	w.WriteHeader(http.StatusOK)
}

// userInfo serves GET/POST /oauth2/user_info for a live access token (Authorization: Bearer).
func (l *LMS) userInfo(w http.ResponseWriter, r *http.Request) {
	auth := r.Header.Get("Authorization")
	scheme, tok, _ := strings.Cut(auth, " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") || tok == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fakelms"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_request", "missing bearer token")
		return
	}
	now := l.now()
	l.mu.Lock()
	a, ok := l.access[tok]
	var u User
	if ok {
		u, ok = l.users[a.username]
	}
	l.mu.Unlock()
	if !ok || now.After(a.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="fakelms", error="invalid_token"`)
		writeOAuthError(w, http.StatusUnauthorized, "invalid_token", "token unknown, revoked or expired")
		return
	}
	claims := l.userClaims(u, a.scopes)
	if sub := l.currentOIDCFaults().UserInfoSub; sub != "" {
		claims["sub"] = sub
	}
	writeJSON(w, http.StatusOK, claims)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"error":"server_error"}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// subjectFor is a stable 32-hex-digit "sub" for a username, shaped like the LMS's anonymous user id.
func subjectFor(username string) string {
	sum := sha256.Sum256([]byte("fakelms-sub:" + username))
	return hex.EncodeToString(sum[:16])
}

// deriveNames turns "joe.smith" / "joe_smith" / "joe-smith" into ("Joe", "Smith").
func deriveNames(username string) (given, family string) {
	local, _, _ := strings.Cut(username, "@")
	parts := strings.FieldsFunc(local, func(r rune) bool { return r == '.' || r == '_' || r == '-' || r == '+' })
	for i, p := range parts {
		rs := []rune(p)
		rs[0] = unicode.ToUpper(rs[0])
		parts[i] = string(rs)
	}
	switch len(parts) {
	case 0:
		return username, ""
	case 1:
		return parts[0], ""
	default:
		return parts[0], strings.Join(parts[1:], " ")
	}
}
