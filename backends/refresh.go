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
// kept when not rotated, auth_time reset), and OnRefresh is told.
//
// social is the caller's copy of the association. When the store is a
// socialauth.SocialLocker (the GORM store and MemStore are), the refresh
// holds across instances sharing the database: the row is locked and
// re-read, the provider is asked only when the stored tokens are still the
// ones social carries (or a copy without tokens was given, or the stored
// access token has expired too), and the answer is written in the same
// transaction. When another instance has refreshed meanwhile, its stored
// tokens are returned without a request (and OnRefresh is not told). The
// provider call is bounded by twice the backend's Timeout, since the row
// stays locked while it runs; a failure writes nothing. OnRefresh runs after
// the commit. Concurrent calls for one association in one process make one
// request.
//
// A store without SocialLocker gets the unlocked refresh: re-read, request,
// merge through Storage.UpdateExtraData.
func (o *OAuth2) RefreshSocial(ctx context.Context, store socialauth.SocialStorage, social *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, error) {
	if social == nil || social.ID == 0 {
		return nil, socialauth.NewError(socialauth.CodeAuthMissingParameter, o.cfg.Name, "no association", nil)
	}
	v, err, _ := o.refresh.Do("id:"+strconv.FormatInt(social.ID, 10), func() (any, error) {
		updated, refreshed, err := o.refreshSocial(ctx, store, social)
		if err != nil {
			return nil, err
		}
		if refreshed && o.cfg.OnRefresh != nil {
			o.cfg.OnRefresh(ctx, o, updated)
		}
		return updated, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*socialauth.UserSocialAuth), nil
}

// refreshSocial does RefreshSocial's work; refreshed reports whether the
// provider was asked (false when the stored tokens were already fresh).
func (o *OAuth2) refreshSocial(ctx context.Context, store socialauth.SocialStorage, seen *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, bool, error) {
	locker, ok := store.(socialauth.SocialLocker)
	if !ok {
		return o.refreshSocialUnlocked(ctx, store, seen)
	}
	refreshed := false
	updated, err := locker.UpdateSocialAuthLocked(ctx, seen.ID, func(cur *socialauth.UserSocialAuth) (map[string]any, bool, error) {
		// The row stays locked while the provider answers: bound the wait.
		pctx, cancel := context.WithTimeout(ctx, 2*o.cfg.Timeout)
		defer cancel()
		next, err := o.refreshAnswer(pctx, seen, cur)
		if err != nil || next == nil {
			return nil, false, err
		}
		refreshed = true
		return next(cur.ExtraData), true, nil
	})
	if err != nil {
		return nil, false, err
	}
	return updated, refreshed, nil
}

// refreshSocialUnlocked is the refresh for a store without SocialLocker:
// the provider is asked outside any lock, and the answer merged into the
// stored extra data atomically.
func (o *OAuth2) refreshSocialUnlocked(ctx context.Context, store socialauth.SocialStorage, seen *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, bool, error) {
	cur, err := store.GetSocialAuthByID(ctx, seen.ID)
	if err != nil {
		return nil, false, err
	}
	next, err := o.refreshAnswer(ctx, seen, cur)
	if err != nil {
		return nil, false, err
	}
	if next == nil {
		return cur, false, nil
	}
	updated, err := store.UpdateExtraData(ctx, cur.ID, func(old map[string]any) (map[string]any, bool) {
		return next(old), true
	})
	if err != nil {
		return nil, false, err
	}
	return updated, true, nil
}

// refreshAnswer asks the provider to refresh the stored association cur,
// when the caller's copy seen still needs it (mustRefresh), and returns how
// the checked answer changes the stored extra data; nil, nil when another
// caller has refreshed since seen was read.
func (o *OAuth2) refreshAnswer(ctx context.Context, seen, cur *socialauth.UserSocialAuth) (func(old map[string]any) map[string]any, error) {
	if cur.Provider != o.cfg.Name {
		return nil, o.wrongBackend()
	}
	if !o.mustRefresh(seen, cur) {
		return nil, nil
	}
	refreshToken, err := cur.Token("refresh_token")
	if err != nil {
		return nil, err
	}
	resp, err := o.Refresh(ctx, refreshToken)
	if err != nil {
		return nil, err
	}
	return o.mergeRefresh(ctx, cur, resp)
}

// mustRefresh reports whether the stored association cur still needs the
// refresh the caller asked for with its copy seen: when cur holds the tokens
// seen holds, when seen holds none (nothing to compare: the caller asks for
// a refresh regardless), or when cur's access token has expired as well.
// Otherwise another caller has refreshed since seen was read.
func (o *OAuth2) mustRefresh(seen, cur *socialauth.UserSocialAuth) bool {
	if seen.AccessToken() == "" && seen.RefreshToken() == "" {
		return true
	}
	if cur.AccessToken() == seen.AccessToken() && cur.RefreshToken() == seen.RefreshToken() {
		return true
	}
	return cur.AccessToken() == "" || cur.AccessTokenExpired(o.now())
}

// mergeRefresh checks a refresh answer for association cur
// (ValidateRefresh) and returns how it changes stored extra data: the new
// values merged over the old ones.
func (o *OAuth2) mergeRefresh(ctx context.Context, cur *socialauth.UserSocialAuth, resp map[string]any) (func(old map[string]any) map[string]any, error) {
	if o.cfg.ValidateRefresh != nil {
		if err := o.cfg.ValidateRefresh(ctx, o, cur, resp); err != nil {
			return nil, err
		}
	}
	details := socialauth.Details(cloneMap(cur.ExtraData))
	fresh := o.ExtraData(nil, cur.UID, resp, details)
	return func(old map[string]any) map[string]any {
		out := cloneMap(old)
		for k, v := range fresh {
			out[k] = v
		}
		// A refresh answer without expires_in must not leave a stale one
		// measured from the new auth_time.
		if _, has := resp["expires_in"]; !has {
			delete(out, "expires_in")
		}
		return out
	}, nil
}

func (o *OAuth2) wrongBackend() error {
	return socialauth.NewError(socialauth.CodeWrongBackend, o.cfg.Name, "association belongs to another backend", nil)
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
