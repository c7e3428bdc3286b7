package backends

import (
	"context"
	"errors"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/jwtverify"
)

// BackChannelLogoutEvent is the member of a logout token's events claim
// that makes it one (OpenID Connect Back-Channel Logout 1.0 §2.4).
const BackChannelLogoutEvent = "http://schemas.openid.net/event/backchannel-logout"

// maxSIDLength is the longest provider session id recorded (the sessions
// table's sid column); a longer one is not recorded, and a logout token
// naming it ends nothing by sid.
const maxSIDLength = 128

// VerifyLogoutToken verifies an OpenID Connect Back-Channel Logout token
// (§2.6): the signature with the provider's keys and one of the ID-token
// algorithms (JWT_ALGORITHMS and the provider's
// id_token_signing_alg_values_supported; never none or an HMAC), iss (the
// ID tokens' issuer), aud (the client id), iat (not in the future beyond
// JWT_LEEWAY, not older than ID_TOKEN_MAX_AGE plus JWT_LEEWAY), exp when
// present (a missing exp is allowed: Ory Hydra sends none), an events
// claim that is a JSON object holding BackChannelLogoutEvent, no nonce, a
// sub or a sid (strings), and a jti. The jti is not recorded here (see
// socialauth.Service.BackChannelLogout).
func (o *OIDC) VerifyLogoutToken(ctx context.Context, token string) (*socialauth.LogoutToken, error) {
	bad := func(what string, err error) error {
		return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "invalid logout_token: "+what, err)
	}
	claims, err := o.logoutVerifier.Verify(ctx, token)
	if err != nil {
		var je *jwtverify.Error
		if errors.As(err, &je) && je.Reason == jwtverify.KeyFetch {
			return nil, o.discoveryErr(je.Err)
		}
		if errors.As(err, &je) {
			return nil, bad(string(je.Reason), err)
		}
		return nil, bad("unverifiable", err)
	}
	leeway := o.ocfg.Leeway
	if leeway < 0 {
		leeway = 0
	}
	now := o.now()
	iat, ok := jwtverify.NumericDate(claims["iat"])
	if !ok {
		return nil, bad("iat missing", nil)
	}
	issued := time.Unix(int64(iat), 0)
	if now.Sub(issued) > o.ocfg.IDTokenMaxAge+leeway {
		return nil, bad("iat too old", nil)
	}
	events, ok := claims["events"].(map[string]any)
	if !ok {
		return nil, bad("events missing or not an object", nil)
	}
	if _, ok := events[BackChannelLogoutEvent].(map[string]any); !ok {
		return nil, bad("events has no back-channel logout event", nil)
	}
	if _, ok := claims["nonce"]; ok {
		return nil, bad("nonce present", nil)
	}
	sub, subOK := claims["sub"].(string)
	sid, sidOK := claims["sid"].(string)
	if _, has := claims["sub"]; has && (!subOK || sub == "") {
		return nil, bad("sub", nil)
	}
	if _, has := claims["sid"]; has && (!sidOK || sid == "") {
		return nil, bad("sid", nil)
	}
	if sub == "" && sid == "" {
		return nil, bad("neither sub nor sid", nil)
	}
	jti, _ := claims["jti"].(string)
	if jti == "" {
		return nil, bad("jti missing", nil)
	}
	iss, _ := claims["iss"].(string)
	out := &socialauth.LogoutToken{Issuer: iss, Subject: sub, SID: sid, JTI: jti, IssuedAt: issued,
		Expiry: issued.Add(o.ocfg.IDTokenMaxAge + leeway)}
	if exp, ok := jwtverify.NumericDate(claims["exp"]); ok {
		out.Expiry = time.Unix(int64(exp), 0)
	}
	return out, nil
}
