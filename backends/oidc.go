package backends

import (
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/discovery"
	"github.com/socialauth-go/socialauth/internal/jwtverify"
	"github.com/socialauth-go/socialauth/internal/redirect"
	"github.com/socialauth-go/socialauth/settings"
)

// OpenID Connect defaults (upstream's OpenIdConnectAuth).
const (
	// DefaultIDTokenMaxAge is ID_TOKEN_MAX_AGE: how old an ID token's iat may be.
	DefaultIDTokenMaxAge = 600 * time.Second
	// DefaultJWTLeeway is JWT_LEEWAY, the clock skew allowed on exp/nbf/iat.
	DefaultJWTLeeway = time.Second
	// IDTokenClaimsKey is the response key holding the verified ID-token claims.
	IDTokenClaimsKey = "id_token_claims"
	// IDTokenContextKey is the extra-data key binding refreshes to the
	// identity of the login (upstream's ID_TOKEN_CONTEXT_KEY).
	IDTokenContextKey = "_oidc_id_token_context"
)

// OIDCConfig describes an OpenID Connect backend. The zero value (with
// Settings) is the generic "oidc" backend.
type OIDCConfig struct {
	// Name defaults to "oidc".
	Name string
	// Endpoint is the issuer base URL; discovery is
	// {Endpoint}/.well-known/openid-configuration. The OIDC_ENDPOINT setting
	// overrides it.
	Endpoint string
	// DefaultScope defaults to openid, profile, email.
	DefaultScope []string
	// IDKey defaults to "sub".
	IDKey string
	// ExtraData defaults to id_token, refresh_token, expires_in and sub (as id).
	ExtraData []ExtraDataField
	// Algorithms is the ID-token algorithm allow-list (default RS256; the
	// JWT_ALGORITHMS setting overrides it). "none" and HMAC algorithms are
	// refused.
	Algorithms []string
	// PKCEDisabled turns PKCE off (it is on by default; USE_PKCE overrides).
	PKCEDisabled bool
	// AllowedAuthExtraArgs: see OAuth2Config.
	AllowedAuthExtraArgs []string
	// UserData replaces the UserInfo request (the default GETs the UserInfo
	// endpoint and requires its sub to match the ID token's).
	UserData func(ctx context.Context, s socialauth.Strategy, accessToken string, response map[string]any) (map[string]any, error)
	// Details replaces the default mapping (USERNAME_KEY, EMAIL_KEY, …).
	Details func(response map[string]any) socialauth.Details
	// OnRefresh: see OAuth2Config.
	OnRefresh func(ctx context.Context, s socialauth.Strategy, social *socialauth.UserSocialAuth)
	// Discovery tunes the discovery and JWKS cache (TTLs, refetch cooldown).
	// Its HTTPClient defaults to the strategy's client of the first request.
	Discovery discovery.Options
	// Settings: see OAuth2Config.Settings.
	Settings *settings.Settings
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// OIDC is the OpenID Connect base backend: OAuth2 plus discovery, JWKS, ID
// token validation, UserInfo and RP-initiated logout. It implements
// socialauth.Backend, Refresher, Revoker and LogoutURLer.
type OIDC struct {
	*OAuth2
	ocfg OIDCConfig

	mu        sync.Mutex
	providers map[string]*discovery.Provider
}

var _ socialauth.LogoutURLer = (*OIDC)(nil)

// NewOIDC returns an OpenID Connect backend; NewOIDC(OIDCConfig{Settings: s})
// is the generic "oidc" backend configured by SOCIAL_AUTH_OIDC_OIDC_ENDPOINT,
// SOCIAL_AUTH_OIDC_KEY and SOCIAL_AUTH_OIDC_SECRET.
func NewOIDC(cfg OIDCConfig) *OIDC {
	if cfg.Name == "" {
		cfg.Name = "oidc"
	}
	if cfg.DefaultScope == nil {
		cfg.DefaultScope = []string{"openid", "profile", "email"}
	}
	if cfg.IDKey == "" {
		cfg.IDKey = "sub"
	}
	if cfg.ExtraData == nil {
		cfg.ExtraData = []ExtraDataField{
			{Name: "id_token"}, {Name: "refresh_token"}, {Name: "expires_in"}, {Name: "sub", Alias: "id"},
		}
	}
	if len(cfg.Algorithms) == 0 {
		cfg.Algorithms = []string{"RS256"}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	o := &OIDC{ocfg: cfg, providers: map[string]*discovery.Provider{}}
	o.OAuth2 = NewOAuth2(OAuth2Config{
		Name:                 cfg.Name,
		EndpointsFunc:        o.endpoints,
		DefaultScope:         cfg.DefaultScope,
		IDKey:                cfg.IDKey,
		ExtraData:            cfg.ExtraData,
		AllowedAuthExtraArgs: cfg.AllowedAuthExtraArgs,
		PKCEDisabled:         cfg.PKCEDisabled,
		AuthParams:           o.authParams,
		TokenResponse:        o.tokenResponse,
		UserData:             o.userData,
		Details:              o.details,
		MoreExtraData:        o.moreExtraData,
		ValidateRefresh:      o.validateRefresh,
		OnRefresh:            cfg.OnRefresh,
		Settings:             cfg.Settings,
		Now:                  cfg.Now,
	})
	return o
}

func (o *OIDC) setting(s socialauth.Strategy, name, def string) (string, error) {
	v, err := s.Settings().String(o.cfg.Name, name, def)
	if err != nil {
		return "", o.configErr(name, err)
	}
	return v, nil
}

// cachedProvider returns the provider kept for (kind, u), making it on first use.
func (o *OIDC) cachedProvider(s socialauth.Strategy, kind, u string) (*discovery.Provider, error) {
	key := kind + " " + u
	o.mu.Lock()
	defer o.mu.Unlock()
	if p, ok := o.providers[key]; ok {
		return p, nil
	}
	opts := o.ocfg.Discovery
	if opts.HTTPClient == nil {
		c, err := o.httpClient(s)
		if err != nil {
			return nil, err
		}
		opts.HTTPClient = c
	}
	if opts.Logger == nil {
		opts.Logger = s.Logger()
	}
	if opts.Now == nil {
		opts.Now = o.ocfg.Now
	}
	var p *discovery.Provider
	if kind == "jwks" {
		p = discovery.NewStatic(u, opts)
	} else {
		p = discovery.New(strings.TrimRight(u, "/")+"/.well-known/openid-configuration", opts)
	}
	o.providers[key] = p
	return p, nil
}

// discoveryProvider is the provider of the OIDC_ENDPOINT setting (nil when
// it is empty).
func (o *OIDC) discoveryProvider(s socialauth.Strategy) (*discovery.Provider, error) {
	endpoint, err := o.setting(s, "OIDC_ENDPOINT", o.ocfg.Endpoint)
	if err != nil || endpoint == "" {
		return nil, err
	}
	return o.cachedProvider(s, "config", endpoint)
}

// KeySource returns the cached provider of the ID-token signing keys: the
// JWKS_URI setting when set, else the jwks_uri of discovery.
func (o *OIDC) KeySource(s socialauth.Strategy) (*discovery.Provider, error) {
	jwksURI, err := o.setting(s, "JWKS_URI", "")
	if err != nil {
		return nil, err
	}
	if jwksURI != "" {
		return o.cachedProvider(s, "jwks", jwksURI)
	}
	p, err := o.discoveryProvider(s)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "setting OIDC_ENDPOINT is empty", nil)
	}
	return p, nil
}

func (o *OIDC) discoveryErr(err error) error {
	var se *socialauth.Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, discovery.ErrUnreachable):
		return socialauth.NewError(socialauth.CodeAuthUnreachableProvider, o.cfg.Name, "OpenID discovery failed", err)
	case errors.Is(err, discovery.ErrNoConfiguration):
		return socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "no OpenID discovery endpoint", err)
	}
	return socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "OpenID discovery failed", err)
}

// endpoints resolves the provider URLs: a setting wins, else discovery
// (upstream's get_setting_config).
func (o *OIDC) endpoints(ctx context.Context, s socialauth.Strategy) (Endpoints, error) {
	var ep Endpoints
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"AUTHORIZATION_URL", &ep.AuthorizationURL},
		{"ACCESS_TOKEN_URL", &ep.AccessTokenURL},
		{"REVOKE_TOKEN_URL", &ep.RevokeURL},
		{"USERINFO_URL", &ep.UserInfoURL},
		{"ID_TOKEN_ISSUER", &ep.Issuer},
	} {
		v, err := o.setting(s, f.name, "")
		if err != nil {
			return Endpoints{}, err
		}
		*f.dst = v
	}
	method, err := o.setting(s, "TOKEN_ENDPOINT_AUTH_METHOD", "")
	if err != nil {
		return Endpoints{}, err
	}
	p, err := o.discoveryProvider(s)
	if err != nil {
		return Endpoints{}, err
	}
	var cfg *discovery.Config
	if p != nil {
		if cfg, err = p.Config(ctx); err != nil {
			return Endpoints{}, o.discoveryErr(err)
		}
		fill := func(dst *string, v string) {
			if *dst == "" {
				*dst = v
			}
		}
		fill(&ep.AuthorizationURL, cfg.AuthorizationEndpoint)
		fill(&ep.AccessTokenURL, cfg.TokenEndpoint)
		fill(&ep.RevokeURL, cfg.RevocationEndpoint)
		fill(&ep.UserInfoURL, cfg.UserinfoEndpoint)
		fill(&ep.Issuer, cfg.Issuer)
		ep.IssParameterSupported = cfg.AuthorizationResponseIssParameterSupported
	}
	switch method {
	case "client_secret_basic":
		ep.ClientAuth = ClientAuthBasic
	case "client_secret_post":
		ep.ClientAuth = ClientAuthForm
	case "":
		// Upstream: Basic unless discovery lists methods without it.
		ep.ClientAuth = ClientAuthBasic
		if cfg != nil {
			if methods, ok := cfg.Raw["token_endpoint_auth_methods_supported"].([]any); ok && len(methods) > 0 &&
				!slices.Contains(methods, any("client_secret_basic")) {
				ep.ClientAuth = ClientAuthForm
			}
		}
	default:
		return Endpoints{}, socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "unsupported TOKEN_ENDPOINT_AUTH_METHOD", nil)
	}
	return ep, nil
}

// authParams adds the per-flow nonce and the optional OpenID request
// parameters (DISPLAY, PROMPT, MAX_AGE, UI_LOCALES, ID_TOKEN_HINT,
// LOGIN_HINT, ACR_VALUES), validated as upstream.
func (o *OIDC) authParams(_ context.Context, s socialauth.Strategy, flow *Flow, params url.Values) error {
	flow.Nonce = randomToken(32)
	params.Set("nonce", flow.Nonce)
	invalid := func(name string) error {
		return &socialauth.Error{Code: socialauth.CodeAuthInvalidParameter, Backend: o.cfg.Name, Param: name}
	}
	if v, err := o.setting(s, "DISPLAY", ""); err != nil {
		return err
	} else if v != "" {
		if !slices.Contains([]string{"page", "popup", "touch", "wap"}, v) {
			return socialauth.MissingParameter(o.cfg.Name, "display")
		}
		params.Set("display", v)
	}
	if v, err := o.setting(s, "PROMPT", ""); err != nil {
		return err
	} else if v != "" {
		for _, p := range strings.Fields(v) {
			if !slices.Contains([]string{"none", "login", "consent", "select_account"}, p) {
				return invalid("prompt")
			}
		}
		params.Set("prompt", strings.Join(strings.Fields(v), " "))
	}
	if s.Settings().IsSet(o.cfg.Name, "MAX_AGE") {
		n, err := s.Settings().Int(o.cfg.Name, "MAX_AGE", 0)
		if err != nil || n < 0 {
			return invalid("max_age")
		}
		params.Set("max_age", strconv.Itoa(n))
	}
	for _, p := range []struct{ setting, param string }{
		{"UI_LOCALES", "ui_locales"}, {"ID_TOKEN_HINT", "id_token_hint"},
		{"LOGIN_HINT", "login_hint"}, {"ACR_VALUES", "acr_values"},
	} {
		if !s.Settings().IsSet(o.cfg.Name, p.setting) {
			continue
		}
		v, err := o.setting(s, p.setting, "")
		if err != nil || strings.TrimSpace(v) == "" {
			return invalid(p.param)
		}
		params.Set(p.param, v)
	}
	return nil
}

// verifier builds the ID-token verifier for this request's settings.
func (o *OIDC) verifier(ctx context.Context, s socialauth.Strategy, ep Endpoints) (*jwtverify.Verifier, error) {
	key, _, err := o.KeyAndSecret(s)
	if err != nil {
		return nil, err
	}
	names, err := s.Settings().StringList(o.cfg.Name, "JWT_ALGORITHMS", o.ocfg.Algorithms)
	if err != nil {
		return nil, o.configErr("JWT_ALGORITHMS", err)
	}
	algs := make([]jwa.SignatureAlgorithm, 0, len(names))
	for _, n := range names {
		algs = append(algs, jwa.SignatureAlgorithm(n))
	}
	leeway, err := s.Settings().Duration(o.cfg.Name, "JWT_LEEWAY", DefaultJWTLeeway)
	if err != nil {
		return nil, o.configErr("JWT_LEEWAY", err)
	}
	if leeway <= 0 {
		leeway = -1 // jwtverify: negative means none
	}
	p, err := o.KeySource(s)
	if err != nil {
		return nil, err
	}
	if ep.Issuer == "" {
		return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "no ID-token issuer known", nil)
	}
	v, err := jwtverify.New(jwtverify.Options{
		Keys: p, Algorithms: algs, Issuer: ep.Issuer, Audience: []string{key}, Leeway: leeway, Now: o.ocfg.Now,
	})
	if err != nil {
		return nil, o.configErr("JWT_ALGORITHMS", err)
	}
	return v, nil
}

// VerifyIDToken checks an ID token's signature (algorithm allow-list, key
// from the JWKS), iss, aud, azp, exp/nbf/iat and, when present, at_hash
// against accessToken. It does not check the nonce or the token's age: that
// is the login's job (tokenResponse). Errors are AuthTokenError, or
// AuthUnreachableProvider when the keys could not be fetched.
func (o *OIDC) VerifyIDToken(ctx context.Context, s socialauth.Strategy, idToken, accessToken string) (map[string]any, error) {
	ep, err := o.Endpoints(ctx, s)
	if err != nil {
		return nil, err
	}
	return o.verifyIDToken(ctx, s, ep, idToken, accessToken)
}

func (o *OIDC) verifyIDToken(ctx context.Context, s socialauth.Strategy, ep Endpoints, idToken, accessToken string) (map[string]any, error) {
	v, err := o.verifier(ctx, s, ep)
	if err != nil {
		return nil, err
	}
	claims, err := v.Verify(ctx, idToken)
	if err != nil {
		var je *jwtverify.Error
		if errors.As(err, &je) && je.Reason == jwtverify.KeyFetch {
			return nil, o.discoveryErr(je.Err)
		}
		if errors.As(err, &je) {
			return nil, socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "invalid id_token: "+string(je.Reason), err)
		}
		return nil, socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "invalid id_token", err)
	}
	key, _, _ := o.KeyAndSecret(s)
	bad := func(what string) error {
		return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Incorrect id_token: "+what, nil)
	}
	if sub, _ := claims["sub"].(string); sub == "" {
		return nil, bad("sub")
	}
	// azp: required with several audiences; when present it must be us.
	switch aud := claims["aud"].(type) {
	case string:
	case []any:
		if len(aud) > 1 {
			if _, ok := claims["azp"]; !ok {
				return nil, bad("azp")
			}
		}
	default:
		return nil, bad("aud")
	}
	if azp, ok := claims["azp"]; ok && azp != key {
		return nil, bad("azp")
	}
	if h, ok := claims["at_hash"]; ok {
		hs, _ := h.(string)
		alg := headerAlg(idToken)
		if accessToken == "" || !atHashOK(alg, accessToken, hs) {
			return nil, socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Invalid access token", nil)
		}
	}
	return map[string]any(claims), nil
}

// tokenResponse validates the token response: after the code exchange
// (flow set) the ID token must be there, fresh (ID_TOKEN_MAX_AGE) and carry
// this flow's nonce; on refresh (flow nil) an ID token, if any, is verified
// the same way without the nonce and age checks.
func (o *OIDC) tokenResponse(ctx context.Context, s socialauth.Strategy, flow *Flow, resp map[string]any) error {
	idToken, _ := resp["id_token"].(string)
	access, _ := resp["access_token"].(string)
	if flow == nil && idToken == "" {
		return nil
	}
	if idToken == "" {
		return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Missing id_token in OpenID Connect token response", nil)
	}
	if access == "" {
		return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Missing access_token in OpenID Connect token response", nil)
	}
	ep, err := o.Endpoints(ctx, s)
	if err != nil {
		return err
	}
	claims, err := o.verifyIDToken(ctx, s, ep, idToken, access)
	if err != nil {
		return err
	}
	if flow != nil {
		maxAge, err := s.Settings().Duration(o.cfg.Name, "ID_TOKEN_MAX_AGE", DefaultIDTokenMaxAge)
		if err != nil {
			return o.configErr("ID_TOKEN_MAX_AGE", err)
		}
		iat, ok := claims["iat"].(float64)
		if !ok || float64(o.ocfg.Now().Unix()) > iat+maxAge.Seconds() {
			return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Incorrect id_token: iat", nil)
		}
		nonce, _ := claims["nonce"].(string)
		if flow.Nonce == "" || subtle.ConstantTimeCompare([]byte(nonce), []byte(flow.Nonce)) != 1 {
			return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Incorrect id_token: nonce", nil)
		}
		// Kept for RP-initiated logout (id_token_hint).
		s.SessionSet(o.cfg.Name+"_id_token", idToken)
	}
	resp[IDTokenClaimsKey] = claims
	return nil
}

func claimsOf(response map[string]any) map[string]any {
	c, _ := response[IDTokenClaimsKey].(map[string]any)
	return c
}

// userData GETs the UserInfo endpoint (when there is one); its sub, when
// present, must equal the ID token's.
func (o *OIDC) userData(ctx context.Context, s socialauth.Strategy, accessToken string, response map[string]any) (map[string]any, error) {
	if o.ocfg.UserData != nil {
		return o.ocfg.UserData(ctx, s, accessToken, response)
	}
	ep, err := o.Endpoints(ctx, s)
	if err != nil {
		return nil, err
	}
	if ep.UserInfoURL == "" {
		return nil, nil
	}
	info, err := o.GetJSON(ctx, s, ep.UserInfoURL, accessToken)
	if err != nil {
		return nil, err
	}
	if sub, has := info["sub"]; has {
		if claims := claimsOf(response); claims != nil && sub != claims["sub"] {
			return nil, socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Invalid UserInfo sub", nil)
		}
	}
	delete(info, IDTokenClaimsKey)
	return info, nil
}

// details reads USERNAME_KEY, EMAIL_KEY, FIRST_NAME_KEY, LAST_NAME_KEY and
// FULLNAME_KEY from the response, falling back to the ID-token claims.
func (o *OIDC) details(response map[string]any) socialauth.Details {
	if o.ocfg.Details != nil {
		return o.ocfg.Details(response)
	}
	claims := claimsOf(response)
	get := func(setting, def string) string {
		k, err := o.ocfg.Settings.String(o.cfg.Name, setting, def)
		if err != nil || k == "" {
			k = def
		}
		if v := StringOf(response[k]); v != "" {
			return v
		}
		return StringOf(claims[k])
	}
	full, first, last := UserNames(get("FULLNAME_KEY", "name"), get("FIRST_NAME_KEY", "given_name"), get("LAST_NAME_KEY", "family_name"))
	return socialauth.Details{
		"username":   get("USERNAME_KEY", "preferred_username"),
		"email":      get("EMAIL_KEY", "email"),
		"fullname":   full,
		"first_name": first,
		"last_name":  last,
	}
}

// UserID returns the ID token's sub when ID_KEY is "sub"; else as OAuth2.
func (o *OIDC) UserID(s socialauth.Strategy, details socialauth.Details, response map[string]any) (string, error) {
	if o.idKey(s) == "sub" {
		if sub, _ := claimsOf(response)["sub"].(string); sub != "" {
			return sub, nil
		}
	}
	return o.OAuth2.UserID(s, details, response)
}

// moreExtraData stores the identity context that later refreshes must match,
// and keeps the claims themselves out of the extra data.
func (o *OIDC) moreExtraData(_ string, response map[string]any, _ socialauth.Details, extra map[string]any) {
	delete(extra, IDTokenClaimsKey)
	claims := claimsOf(response)
	if claims == nil {
		return
	}
	ctx := map[string]any{"iss": claims["iss"], "sub": claims["sub"], "aud": claims["aud"]}
	for _, k := range []string{"azp", "auth_time", "nonce"} {
		if v, ok := claims[k]; ok {
			ctx[k] = v
		}
	}
	extra[IDTokenContextKey] = ctx
}

// validateRefresh: an ID token returned on refresh must be about the same
// identity as the login's (iss, sub, aud, azp; auth_time and nonce when
// present). Without a stored context the uid must be the sub.
func (o *OIDC) validateRefresh(_ context.Context, _ socialauth.Strategy, social *socialauth.UserSocialAuth, resp map[string]any) error {
	claims := claimsOf(resp)
	if claims == nil {
		return nil
	}
	fail := func() error {
		return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "refreshed id_token does not match the original identity; reauthentication required", nil)
	}
	stored, ok := social.ExtraData[IDTokenContextKey].(map[string]any)
	if !ok {
		if o.IDKey() != "sub" || claims["sub"] != social.UID {
			return fail()
		}
		return nil
	}
	if claims["iss"] != stored["iss"] || claims["sub"] != stored["sub"] {
		return fail()
	}
	if !sameAudience(claims["aud"], stored["aud"]) {
		return fail()
	}
	azpNew, hasNew := claims["azp"]
	azpOld, hasOld := stored["azp"]
	if hasNew != hasOld || azpNew != azpOld {
		return fail()
	}
	for _, k := range []string{"auth_time", "nonce"} {
		if v, ok := claims[k]; ok {
			if old, had := stored[k]; had && StringOf(old) != StringOf(v) {
				return fail()
			}
		}
	}
	return nil
}

func audSet(v any) map[string]bool {
	out := map[string]bool{}
	switch t := v.(type) {
	case string:
		out[t] = true
	case []any:
		for _, x := range t {
			if s, ok := x.(string); ok {
				out[s] = true
			}
		}
	case []string:
		for _, s := range t {
			out[s] = true
		}
	}
	return out
}

func sameAudience(a, b any) bool {
	as, bs := audSet(a), audSet(b)
	if len(as) != len(bs) || len(as) == 0 {
		return false
	}
	for k := range as {
		if !bs[k] {
			return false
		}
	}
	return true
}

// LogoutURL is the provider's end_session URL for RP-initiated logout, with
// the id_token_hint kept at login, the client_id, a fresh state and a
// post_logout_redirect_uri (the request's "next", else the
// LOGOUT_REDIRECT_URL setting) that passes the same checks as "next":
// relative paths, or hosts in ALLOWED_REDIRECT_HOSTS / the app's own host.
// It returns "" when the provider has no end_session endpoint.
func (o *OIDC) LogoutURL(ctx context.Context, s socialauth.Strategy) (string, error) {
	end, err := o.setting(s, "END_SESSION_URL", "")
	if err != nil {
		return "", err
	}
	if end == "" {
		p, err := o.discoveryProvider(s)
		if err != nil || p == nil {
			return "", err
		}
		cfg, err := p.Config(ctx)
		if err != nil {
			return "", o.discoveryErr(err)
		}
		end = cfg.EndSessionEndpoint
	}
	if end == "" {
		return "", nil
	}
	if !absoluteHTTP(end) {
		return "", socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "invalid end_session endpoint", nil)
	}
	key, _, err := o.KeyAndSecret(s)
	if err != nil {
		return "", err
	}
	params := url.Values{"client_id": {key}}
	if v, ok := s.SessionPop(o.cfg.Name + "_id_token"); ok {
		if hint, _ := v.(string); hint != "" {
			params.Set("id_token_hint", hint)
		}
	}
	target := s.RequestData().Get("next")
	if target == "" {
		if target, err = o.setting(s, "LOGOUT_REDIRECT_URL", ""); err != nil {
			return "", err
		}
	}
	if target != "" {
		clean, err := o.sanitizeLogoutRedirect(s, target)
		if err != nil {
			return "", err
		}
		params.Set("post_logout_redirect_uri", clean)
		state := randomToken(32)
		s.SessionSet(o.cfg.Name+"_logout_state", state)
		params.Set("state", state)
	}
	return addQueryValues(end, params), nil
}

// sanitizeLogoutRedirect checks target like "next" and makes it absolute.
func (o *OIDC) sanitizeLogoutRedirect(s socialauth.Strategy, target string) (string, error) {
	hosts, err := s.Settings().StringList(o.cfg.Name, "ALLOWED_REDIRECT_HOSTS", nil)
	if err != nil {
		return "", o.configErr("ALLOWED_REDIRECT_HOSTS", err)
	}
	if u, err := url.Parse(s.AbsoluteURI("/")); err == nil && u.Host != "" {
		hosts = append(hosts, u.Host)
	}
	clean, err := redirect.Policy{AllowedHosts: hosts}.Sanitize(target)
	if err != nil {
		return "", &socialauth.Error{Code: socialauth.CodeAuthInvalidParameter, Backend: o.cfg.Name, Param: "post_logout_redirect_uri"}
	}
	if strings.HasPrefix(clean, "/") {
		clean = s.AbsoluteURI(clean)
	}
	return clean, nil
}

// headerAlg returns the alg of a compact JWS header ("" when unreadable).
// Only called on a token whose signature has been verified.
func headerAlg(token string) string {
	h, _, ok := strings.Cut(token, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(h)
	if err != nil {
		return ""
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(raw, &hdr) != nil {
		return ""
	}
	return hdr.Alg
}

// atHashOK checks an OpenID at_hash: the left half of the hash of the access
// token, with the hash of the ID token's algorithm, base64url encoded.
func atHashOK(alg, accessToken, atHash string) bool {
	var sum []byte
	switch alg {
	case "RS256", "PS256", "ES256", "HS256":
		h := sha256.Sum256([]byte(accessToken))
		sum = h[:]
	case "RS384", "PS384", "ES384", "HS384":
		h := sha512.Sum384([]byte(accessToken))
		sum = h[:]
	case "RS512", "PS512", "ES512", "HS512", "EdDSA":
		h := sha512.Sum512([]byte(accessToken))
		sum = h[:]
	default:
		return false
	}
	want := base64.RawURLEncoding.EncodeToString(sum[:len(sum)/2])
	return subtle.ConstantTimeCompare([]byte(want), []byte(atHash)) == 1
}
