package backends

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/socialauth-go/socialauth"
)

// Refresh exchanges refreshToken for a new token response (upstream's
// refresh_token). Concurrent refreshes of the same token collapse into one
// request. When the provider does not rotate the refresh token, the old one is
// kept in the result. TokenResponse runs on the answer (flow nil).
func (o *OAuth2) Refresh(ctx context.Context, refreshToken string) (map[string]any, error) {
	if refreshToken == "" {
		return nil, socialauth.MissingParameter(o.cfg.Name, "refresh_token")
	}
	sum := sha256.Sum256([]byte(refreshToken))
	v, err, _ := o.refresh.Do("rt:"+hex.EncodeToString(sum[:]), func() (any, error) {
		return o.refreshOnce(ctx, refreshToken)
	})
	if err != nil {
		return nil, err
	}
	return cloneMap(v.(map[string]any)), nil
}

func (o *OAuth2) refreshOnce(ctx context.Context, refreshToken string) (map[string]any, error) {
	ep, err := o.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	u := ep.RefreshURL
	if u == "" {
		u = ep.AccessTokenURL
	}
	resp, err := o.tokenRequest(ctx, ep, u, url.Values{
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
		if err := o.cfg.TokenResponse(ctx, o, nil, resp); err != nil {
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
func (o *OAuth2) RefreshSocial(ctx context.Context, store socialauth.SocialStorage, social *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, error) {
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
		refreshToken, err := cur.Token("refresh_token")
		if err != nil {
			return nil, err
		}
		resp, err := o.Refresh(ctx, refreshToken)
		if err != nil {
			return nil, err
		}
		if o.cfg.ValidateRefresh != nil {
			if err := o.cfg.ValidateRefresh(ctx, o, cur, resp); err != nil {
				return nil, err
			}
		}
		details := socialauth.Details(cloneMap(cur.ExtraData))
		fresh := o.ExtraData(nil, cur.UID, resp, details)
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
			o.cfg.OnRefresh(ctx, o, updated)
		}
		return updated, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*socialauth.UserSocialAuth), nil
}

// AccessToken returns the association's access token, refreshing it first
// when it expires within socialauth.AccessTokenExpiredThreshold (upstream's get_access_token, with
// concurrent refreshes collapsed into one).
func (o *OAuth2) AccessToken(ctx context.Context, store socialauth.SocialStorage, social *socialauth.UserSocialAuth) (string, error) {
	if _, _, err := socialauth.Expiration(social.ExtraData, o.now()); err != nil {
		return "", socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "invalid expiry in extra data", err)
	}
	if !social.AccessTokenExpired(o.now()) {
		return social.Token("access_token")
	}
	updated, err := o.RefreshSocial(ctx, store, social)
	if err != nil {
		return "", err
	}
	return updated.Token("access_token")
}

// Revoke revokes token at the provider (RFC 7009), with the same client
// authentication as the token endpoint. Without a revocation endpoint it does
// nothing. Any 2xx answer is success.
func (o *OAuth2) Revoke(ctx context.Context, token, _ string) error {
	ep, err := o.Endpoints(ctx)
	if err != nil {
		return err
	}
	if ep.RevokeURL == "" {
		return nil
	}
	if token == "" {
		return socialauth.MissingParameter(o.cfg.Name, "token")
	}
	key := o.cfg.Key
	secret, err := o.clientSecret(ctx)
	if err != nil {
		return err
	}
	params := url.Values{"token": {token}}
	basic := o.clientAuth(ep) == ClientAuthBasic
	if !basic {
		params.Set("client_id", key)
		params.Set("client_secret", secret)
	}
	method := o.cfg.RevokeTokenMethod
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
		return socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "invalid revoke URL", nil)
	}
	if basic {
		req.SetBasicAuth(url.QueryEscape(key), url.QueryEscape(secret))
	}
	// RFC 7009 2.2: the body of a 200 answer is irrelevant (often empty).
	_, _, err = o.send(ctx, req)
	return err
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
