package fakelms

import (
	"github.com/lestrrat-go/jwx/v2/jwa"
)

// BackChannelLogoutEvent is the events member of an OpenID Connect
// back-channel logout token.
const BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// SetSessionID makes sid the "sid" claim (the provider's session id) of the
// ID tokens issued to username from now on; "" stops including one. By
// default ID tokens carry no sid.
func (l *LMS) SetSessionID(username, sid string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sids == nil {
		l.sids = map[string]string{}
	}
	if sid == "" {
		delete(l.sids, username)
		return
	}
	l.sids[username] = sid
}

// SessionID returns the sid of username's ID tokens ("" for none).
func (l *LMS) SessionID(username string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sids[username]
}

// Subject returns the sub claim of username's tokens ("" for an unknown
// user).
func (l *LMS) Subject(username string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.users[username].Subject
}

// LogoutTokenClaims returns the claims of a valid back-channel logout token
// for the client: iss (Issuer), aud, iat (now), a fresh jti, the
// back-channel logout event, sub when sub is not empty and sid when sid is
// not empty. No exp, as Ory Hydra. Tests change them to forge bad tokens.
func (l *LMS) LogoutTokenClaims(clientID, sub, sid string) map[string]any {
	jti, err := randomToken()
	if err != nil {
		jti = "" // refused by the relying party; crypto/rand does not fail
	}
	c := map[string]any{
		"iss":    l.Issuer(),
		"aud":    clientID,
		"iat":    l.now().Unix(),
		"jti":    jti,
		"events": map[string]any{BackChannelLogoutEvent: map[string]any{}},
	}
	if sub != "" {
		c["sub"] = sub
	}
	if sid != "" {
		c["sid"] = sid
	}
	return c
}

// SignLogoutToken signs claims as an ID token is signed (RS256 with the
// current key, its ID-token kid) and typ "logout+jwt" (§2.4).
func (l *LMS) SignLogoutToken(claims map[string]any) (string, error) {
	k := l.currentKey()
	return l.signWith(k, jwa.RS256, k.idTokenKID(), claims, map[string]any{"typ": "logout+jwt"})
}
