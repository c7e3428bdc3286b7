package backends

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth"
)

// ExpiryThreshold is upstream's ACCESS_TOKEN_EXPIRED_THRESHOLD: a token this
// close to expiry counts as expired.
const ExpiryThreshold = 5 * time.Second

// ErrInvalidExpiry is returned by Expiration for a non-numeric expires* value
// (upstream's InvalidExpiryValue).
var ErrInvalidExpiry = errors.New("backends: invalid expiry value in extra data")

// Expiration is upstream's expiration_timedelta: how long until the access
// token described by extra expires (negative when it has). In priority order:
// expires_on is an absolute epoch time; expires_in is relative to auth_time
// (or now when auth_time is missing or invalid); expires is absolute when
// greater than two years in seconds, else relative. ok is false when extra
// says nothing about expiry.
func Expiration(extra map[string]any, now time.Time) (d time.Duration, ok bool, err error) {
	if len(extra) == 0 {
		return 0, false, nil
	}
	at := func(epoch int64) time.Duration { return time.Unix(epoch, 0).Sub(now) }
	if v, has := extra["expires_on"]; has && v != nil {
		n, err := intValue(v)
		if err != nil {
			return 0, false, err
		}
		return at(n), true, nil
	}
	if v, has := extra["expires_in"]; has && v != nil {
		n, err := intValue(v)
		if err != nil {
			return 0, false, err
		}
		base := now.Unix()
		if t, err := intValue(extra["auth_time"]); err == nil && t > 0 {
			base = t
		}
		return at(base + n), true, nil
	}
	if v, has := extra["expires"]; has && v != nil {
		n, err := intValue(v)
		if err != nil {
			return 0, false, err
		}
		if n > 63072000 {
			return at(n), true, nil
		}
		return time.Duration(n) * time.Second, true, nil
	}
	return 0, false, nil
}

// AccessTokenExpired reports whether extra's access token expires within
// ExpiryThreshold. With no expiry data it reports false, as upstream.
func AccessTokenExpired(extra map[string]any, now time.Time) bool {
	d, ok, err := Expiration(extra, now)
	return err == nil && ok && d <= ExpiryThreshold
}

func intValue(v any) (int64, error) {
	switch t := v.(type) {
	case json.Number:
		if n, err := t.Int64(); err == nil {
			return n, nil
		}
		f, err := t.Float64()
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || math.Abs(f) > 1e15 {
			return 0, ErrInvalidExpiry
		}
		return int64(f), nil
	case float64:
		if math.IsNaN(t) || math.IsInf(t, 0) || math.Abs(t) > 1e15 {
			return 0, ErrInvalidExpiry
		}
		return int64(t), nil
	case int:
		return int64(t), nil
	case int64:
		return t, nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
		if err != nil {
			return 0, ErrInvalidExpiry
		}
		return n, nil
	}
	return 0, ErrInvalidExpiry
}

// Refresh exchanges refreshToken for a new token response (upstream's
// refresh_token). Concurrent refreshes of the same token collapse into one
// request. When the provider does not rotate the refresh token, the old one is
// kept in the result. TokenResponse runs on the answer (flow nil).
func (o *OAuth2) Refresh(ctx context.Context, s socialauth.Strategy, refreshToken string) (map[string]any, error) {
	if refreshToken == "" {
		return nil, socialauth.MissingParameter(o.cfg.Name, "refresh_token")
	}
	sum := sha256.Sum256([]byte(refreshToken))
	v, err, _ := o.refresh.Do("rt:"+hex.EncodeToString(sum[:]), func() (any, error) {
		return o.refreshOnce(ctx, s, refreshToken)
	})
	if err != nil {
		return nil, err
	}
	return cloneMap(v.(map[string]any)), nil
}

func (o *OAuth2) refreshOnce(ctx context.Context, s socialauth.Strategy, refreshToken string) (map[string]any, error) {
	ep, err := o.Endpoints(ctx, s)
	if err != nil {
		return nil, err
	}
	u := ep.RefreshURL
	if u == "" {
		u = ep.AccessTokenURL
	}
	resp, err := o.tokenRequest(ctx, s, ep, u, url.Values{
		"grant_type":    {"refresh_token"},
		"refresh_token": {refreshToken},
	})
	if err != nil {
		return nil, err
	}
	if rt, _ := resp["refresh_token"].(string); rt == "" {
		resp["refresh_token"] = refreshToken
	}
	if o.cfg.TokenResponse != nil {
		if err := o.cfg.TokenResponse(ctx, s, nil, resp); err != nil {
			return nil, err
		}
	}
	return resp, nil
}

// RefreshSocial refreshes the tokens of one association and stores them:
// the association is re-read (its newest refresh token is used),
// ValidateRefresh checks the answer, the new extra data is merged into the
// stored one (old values kept where the answer has none, the refresh token
// kept when not rotated, auth_time reset) through Storage.UpdateExtraData, and
// OnRefresh is told. Concurrent calls for one association make one request.
func (o *OAuth2) RefreshSocial(ctx context.Context, s socialauth.Strategy, store socialauth.SocialStorage, social *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, error) {
	if social == nil || social.ID == 0 {
		return nil, socialauth.NewError(socialauth.CodeAuthMissingParameter, o.cfg.Name, "no association", nil)
	}
	v, err, _ := o.refresh.Do("id:"+strconv.FormatInt(social.ID, 10), func() (any, error) {
		cur, err := store.GetSocialAuthByID(ctx, social.ID)
		if err != nil {
			return nil, err
		}
		if cur.Provider != o.cfg.Name {
			return nil, socialauth.NewError(socialauth.CodeWrongBackend, o.cfg.Name, "association belongs to another backend", nil)
		}
		resp, err := o.Refresh(ctx, s, cur.RefreshToken())
		if err != nil {
			return nil, err
		}
		if o.cfg.ValidateRefresh != nil {
			if err := o.cfg.ValidateRefresh(ctx, s, cur, resp); err != nil {
				return nil, err
			}
		}
		details := socialauth.Details(cloneMap(cur.ExtraData))
		fresh := o.ExtraData(s, nil, cur.UID, resp, details)
		updated, err := store.UpdateExtraData(ctx, cur.ID, func(old map[string]any) (map[string]any, bool) {
			out := cloneMap(old)
			for k, v := range fresh {
				out[k] = v
			}
			// A refresh answer without expires_in must not leave a stale one
			// measured from the new auth_time.
			if _, has := resp["expires_in"]; !has {
				delete(out, "expires_in")
			}
			return out, true
		})
		if err != nil {
			return nil, err
		}
		if o.cfg.OnRefresh != nil {
			o.cfg.OnRefresh(ctx, s, updated)
		}
		return updated, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*socialauth.UserSocialAuth), nil
}

// AccessToken returns the association's access token, refreshing it first
// when it expires within ExpiryThreshold (upstream's get_access_token, with
// concurrent refreshes collapsed into one).
func (o *OAuth2) AccessToken(ctx context.Context, s socialauth.Strategy, store socialauth.SocialStorage, social *socialauth.UserSocialAuth) (string, error) {
	if _, _, err := Expiration(social.ExtraData, o.now()); err != nil {
		return "", socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "invalid expiry in extra data", err)
	}
	if !AccessTokenExpired(social.ExtraData, o.now()) {
		return social.AccessToken(), nil
	}
	updated, err := o.RefreshSocial(ctx, s, store, social)
	if err != nil {
		return "", err
	}
	return updated.AccessToken(), nil
}

// Revoke revokes token at the provider (RFC 7009), with the same client
// authentication as the token endpoint. Without a revocation endpoint it does
// nothing. Any 2xx answer is success.
func (o *OAuth2) Revoke(ctx context.Context, s socialauth.Strategy, token, _ string) error {
	ep, err := o.Endpoints(ctx, s)
	if err != nil {
		return err
	}
	if ep.RevokeURL == "" {
		return nil
	}
	if token == "" {
		return socialauth.MissingParameter(o.cfg.Name, "token")
	}
	key, secret, err := o.KeyAndSecret(s)
	if err != nil {
		return err
	}
	params := url.Values{"token": {token}}
	basic := o.clientAuth(ep) == ClientAuthBasic
	if !basic {
		params.Set("client_id", key)
		params.Set("client_secret", secret)
	}
	method := strings.ToUpper(o.cfg.RevokeTokenMethod)
	if method == "" {
		method = http.MethodPost
	}
	var req *http.Request
	if method == http.MethodGet {
		req, err = http.NewRequestWithContext(ctx, method, addQueryValues(ep.RevokeURL, params), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, ep.RevokeURL, strings.NewReader(params.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil || !absoluteHTTP(ep.RevokeURL) {
		return socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "invalid revoke URL", nil)
	}
	if basic {
		req.SetBasicAuth(url.QueryEscape(key), url.QueryEscape(secret))
	}
	// RFC 7009 2.2: the body of a 200 answer is irrelevant (often empty).
	_, _, err = o.send(ctx, s, req)
	return err
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
