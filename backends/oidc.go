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

// OIDC is the OpenID Connect base backend: OAuth2 plus discovery, JWKS, ID
// token validation, UserInfo and RP-initiated logout. It implements
// socialauth.Backend, Refresher, Revoker and LogoutURLer. Its discovery
// provider and ID-token verifier are built once, by NewOIDC (as go-oidc's
// NewProvider and Provider.Verifier); the documents they need are fetched
// on first use and cached.
//
// Its detail keys (UserDetails, unless OAuth2Config.Details replaces the
// mapping): username, email, fullname, first_name and last_name, read from
// the response and else from the ID token's claims named by USERNAME_KEY
// (preferred_username), EMAIL_KEY (email), FULLNAME_KEY (name),
// FIRST_NAME_KEY (given_name) and LAST_NAME_KEY (family_name).
type OIDC struct {
	*OAuth2
	ocfg OIDCConfig
	user OAuth2Config // the hooks of OIDCConfig.OAuth2, run after the OIDC ones

	discovery *discovery.Provider // nil without Endpoint
	verifier  *jwtverify.Verifier
	// logoutVerifier is verifier's twin for back-channel logout tokens: the
	// same keys, algorithms, issuer and audience, but a missing exp is
	// allowed (Ory Hydra sends none; the age is bounded by iat instead).
	logoutVerifier *jwtverify.Verifier
}

var (
	_ socialauth.LogoutURLer         = (*OIDC)(nil)
	_ socialauth.BackChannelLogouter = (*OIDC)(nil)
	_ socialauth.RPInitiatedLogouter = (*OIDC)(nil)
)

// NewOIDC validates cfg and returns its backend; cfg is copied. Errors are
// as NewOAuth2's, plus OIDC_ENDPOINT (required unless every URL discovery
// would give is set), JWT_ALGORITHMS, TOKEN_ENDPOINT_AUTH_METHOD, DISPLAY,
// PROMPT, MAX_AGE. It does no I/O: discovery and keys are fetched when
// first needed.
func NewOIDC(cfg OIDCConfig) (*OIDC, error) {
	cfg = oidcDefaults(cfg)
	name := cfg.OAuth2.Name
	r := (*settings.Settings)(nil).Reader(name)
	validateOAuth2(r, &cfg.OAuth2, false)
	validateOIDC(r, &cfg)
	if err := r.Err(); err != nil {
		return nil, configError(name, err)
	}
	o := &OIDC{ocfg: cfg, user: cfg.OAuth2}
	base := cfg.OAuth2
	base.EndpointsFunc = o.endpoints
	base.AuthParams = o.authParams
	base.TokenResponse = o.tokenResponse
	base.VerifyToken = o.verifyToken
	base.UserData = o.userData
	base.Details = o.details
	base.MoreExtraData = o.moreExtraData
	base.ValidateRefresh = o.validateRefresh
	o.OAuth2 = newOAuth2(base)

	opts := cfg.Discovery
	if opts.HTTPClient == nil {
		opts.HTTPClient = o.HTTPClient()
	}
	if opts.Logger == nil {
		opts.Logger = o.Logger()
	}
	if opts.Now == nil {
		opts.Now = o.cfg.Now
	}
	if opts.Issuer == "" && cfg.IDTokenIssuer == "" {
		// Discovery §4.3: the document must name the issuer it was asked
		// for, exactly, whatever redirects led to it.
		opts.Issuer = cfg.Endpoint
	}
	if cfg.Endpoint != "" {
		o.discovery = discovery.New(strings.TrimRight(cfg.Endpoint, "/")+"/.well-known/openid-configuration", opts)
	}
	var keys jwtverify.KeySource = o.discovery
	if cfg.JWKSURI != "" {
		keys = discovery.NewStatic(cfg.JWKSURI, opts)
	}
	algs := make([]jwa.SignatureAlgorithm, 0, len(cfg.Algorithms))
	for _, n := range cfg.Algorithms {
		algs = append(algs, jwa.SignatureAlgorithm(n))
	}
	vopts := jwtverify.Options{
		Keys: keys, Algorithms: algs, AlgorithmsFunc: o.idTokenAlgorithms,
		Issuer: cfg.IDTokenIssuer, IssuerFunc: o.discoveredIssuer, IssuerAliases: cfg.IDTokenIssuerAliases,
		Audience: o.audience(), Leeway: cfg.Leeway, Now: o.cfg.Now,
	}
	v, err := jwtverify.New(vopts)
	if err != nil {
		r.Invalid("JWT_ALGORITHMS", "not a usable allow-list")
		return nil, configError(name, r.Err())
	}
	o.verifier = v
	vopts.InsecureAllowMissingExp = true
	vopts.Audience = []string{o.cfg.Key} // §2.4: a logout token's aud is the client id
	if o.logoutVerifier, err = jwtverify.New(vopts); err != nil {
		r.Invalid("JWT_ALGORITHMS", "not a usable allow-list")
		return nil, configError(name, r.Err())
	}
	return o, nil
}

// Config returns a copy of the backend's OpenID configuration, defaults
// filled.
func (o *OIDC) Config() OIDCConfig {
	c := o.ocfg
	c.OAuth2 = o.OAuth2.Config()
	u := o.user
	c.OAuth2.EndpointsFunc, c.OAuth2.IssuerFunc = u.EndpointsFunc, u.IssuerFunc
	c.OAuth2.AuthParams, c.OAuth2.TokenResponse, c.OAuth2.VerifyToken = u.AuthParams, u.TokenResponse, u.VerifyToken
	c.OAuth2.UserData, c.OAuth2.Details, c.OAuth2.MoreExtraData = u.UserData, u.Details, u.MoreExtraData
	c.OAuth2.ValidateRefresh = u.ValidateRefresh
	return c
}

// audience is the client ids an ID token may be for: Audience, else the
// KEY.
func (o *OIDC) audience() []string {
	if len(o.ocfg.Audience) > 0 {
		return slices.Clone(o.ocfg.Audience)
	}
	return []string{o.cfg.Key}
}

// asymmetricAlg reports whether an ID token may be signed with alg.
func asymmetricAlg(alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA":
		return true
	}
	return false
}

// idTokenAlgorithms is the provider's id_token_signing_alg_values_supported
// (RS256 when the document has none), intersected by the verifier with
// JWT_ALGORITHMS when that is set. Without discovery it is JWT_ALGORITHMS,
// else RS256.
func (o *OIDC) idTokenAlgorithms(ctx context.Context) ([]jwa.SignatureAlgorithm, error) {
	names := o.ocfg.Algorithms
	if o.discovery != nil {
		cfg, err := o.discoveryConfig(ctx)
		if err != nil {
			return nil, err
		}
		names = cfg.IDTokenSigningAlgs
	}
	if len(names) == 0 {
		names = []string{"RS256"}
	}
	algs := make([]jwa.SignatureAlgorithm, 0, len(names))
	for _, n := range names {
		algs = append(algs, jwa.SignatureAlgorithm(n))
	}
	return algs, nil
}

// discoveryConfig is the provider's discovery document (nil without
// Endpoint), fetched once and cached.
func (o *OIDC) discoveryConfig(ctx context.Context) (*discovery.Config, error) {
	if o.discovery == nil {
		return nil, nil
	}
	cfg, err := o.discovery.Config(ctx)
	if err != nil {
		return nil, o.discoveryErr(err)
	}
	return cfg, nil
}

// discoveredIssuer is the ID-token issuer when IDTokenIssuer is not set.
func (o *OIDC) discoveredIssuer(ctx context.Context) (string, error) {
	cfg, err := o.discoveryConfig(ctx)
	if err != nil {
		return "", err
	}
	if cfg == nil || cfg.Issuer == "" {
		return "", socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "OpenID discovery names no issuer", nil)
	}
	return cfg.Issuer, nil
}

func (o *OIDC) discoveryErr(err error) error {
	var se *socialauth.Error
	switch {
	case errors.As(err, &se):
		return err
	case errors.Is(err, discovery.ErrUnreachable):
		return socialauth.NewError(socialauth.CodeAuthUnreachableProvider, o.cfg.Name, "OpenID discovery failed", err)
	}
	return socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "OpenID discovery failed", err)
}

// endpoints resolves the provider URLs: a configured one wins, else
// discovery (upstream's get_setting_config).
func (o *OIDC) endpoints(ctx context.Context) (Endpoints, error) {
	ep := o.user.Endpoints
	ep.Issuer = o.ocfg.IDTokenIssuer
	cfg, err := o.discoveryConfig(ctx)
	if err != nil {
		return Endpoints{}, err
	}
	if cfg != nil {
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
	switch o.ocfg.TokenEndpointAuthMethod {
	case "client_secret_basic":
		ep.ClientAuth = ClientAuthBasic
	case "client_secret_post":
		ep.ClientAuth = ClientAuthForm
	default:
		// Upstream: Basic unless discovery lists methods without it.
		ep.ClientAuth = ClientAuthBasic
		if cfg != nil {
			if methods, ok := cfg.Raw["token_endpoint_auth_methods_supported"].([]any); ok && len(methods) > 0 &&
				!slices.Contains(methods, any("client_secret_basic")) {
				ep.ClientAuth = ClientAuthForm
			}
		}
	}
	return ep, nil
}

// authParams adds the per-flow nonce and the optional OpenID request
// parameters (Display, Prompt, MaxAge, UILocales, IDTokenHint, LoginHint,
// ACRValues; validated at construction), then runs the config's AuthParams.
func (o *OIDC) authParams(ctx context.Context, b *OAuth2, s socialauth.Strategy, flow *Flow, params url.Values) error {
	flow.Nonce = randomToken(32)
	params.Set("nonce", flow.Nonce)
	c := &o.ocfg
	if c.Display != "" {
		params.Set("display", c.Display)
	}
	if p := strings.Fields(c.Prompt); len(p) > 0 {
		params.Set("prompt", strings.Join(p, " "))
	}
	if c.MaxAge != nil {
		params.Set("max_age", strconv.Itoa(*c.MaxAge))
	}
	for _, p := range []struct{ param, v string }{
		{"ui_locales", c.UILocales}, {"id_token_hint", c.IDTokenHint},
		{"login_hint", c.LoginHint}, {"acr_values", c.ACRValues},
	} {
		if p.v != "" {
			params.Set(p.param, p.v)
		}
	}
	if o.user.AuthParams != nil {
		return o.user.AuthParams(ctx, b, s, flow, params)
	}
	return nil
}

// VerifyIDToken checks an ID token's signature (algorithm allow-list, key
// from the JWKS), iss, aud, azp, exp/nbf/iat and, when present, at_hash
// against accessToken. It does not check the nonce or the token's age: that
// is the login's job (tokenResponse). Errors are AuthTokenError, or
// AuthUnreachableProvider when the keys could not be fetched.
func (o *OIDC) VerifyIDToken(ctx context.Context, idToken, accessToken string) (map[string]any, error) {
	claims, err := o.verifier.Verify(ctx, idToken)
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
	if azp, ok := claims["azp"]; ok {
		if s, _ := azp.(string); !slices.Contains(o.audience(), s) {
			return nil, bad("azp")
		}
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
// (flow set) the ID token must be there, fresh (IDTokenMaxAge) and carry
// this flow's nonce; on refresh (flow nil) an ID token, if any, is verified
// the same way without the nonce and age checks. Then the config's
// TokenResponse runs.
func (o *OIDC) tokenResponse(ctx context.Context, b *OAuth2, flow *Flow, resp map[string]any) error {
	if err := o.checkTokenResponse(ctx, flow, resp); err != nil {
		return err
	}
	if o.user.TokenResponse != nil {
		return o.user.TokenResponse(ctx, b, flow, resp)
	}
	return nil
}

func (o *OIDC) checkTokenResponse(ctx context.Context, flow *Flow, resp map[string]any) error {
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
	claims, err := o.VerifyIDToken(ctx, idToken, access)
	if err != nil {
		return err
	}
	if flow != nil {
		iat, ok := jwtverify.NumericDate(claims["iat"])
		if !ok || float64(o.now().Unix()) > iat+o.ocfg.IDTokenMaxAge.Seconds() {
			return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Incorrect id_token: iat", nil)
		}
		if err := o.checkAuthTime(claims); err != nil {
			return err
		}
		nonce, _ := claims["nonce"].(string)
		if flow.Nonce == "" || subtle.ConstantTimeCompare([]byte(nonce), []byte(flow.Nonce)) != 1 {
			return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Incorrect id_token: nonce", nil)
		}
	}
	resp[IDTokenClaimsKey] = claims
	return nil
}

// checkAuthTime applies MAX_AGE to a login's ID token (OpenID Connect Core
// §3.1.2.1 and §3.1.3.7 step 13; upstream sends max_age but never checks
// the answer): when MAX_AGE is set the token must carry auth_time, not in
// the future, and the user must have authenticated at the provider at most
// MAX_AGE seconds ago (JWT_LEEWAY allowed both ways). Without MAX_AGE,
// auth_time is not checked.
func (o *OIDC) checkAuthTime(claims map[string]any) error {
	if o.ocfg.MaxAge == nil {
		return nil
	}
	leeway := max(o.ocfg.Leeway, 0).Seconds()
	now := float64(o.now().Unix())
	at, ok := jwtverify.NumericDate(claims["auth_time"])
	if !ok || at > now+leeway || now > at+float64(*o.ocfg.MaxAge)+leeway {
		return socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "Incorrect id_token: auth_time", nil)
	}
	return nil
}

// Complete is OAuth2's, keeping the login's ID token in the session for
// RP-initiated logout (id_token_hint).
func (o *OIDC) Complete(ctx context.Context, s socialauth.Strategy) (map[string]any, error) {
	resp, _, err := o.complete(ctx, s)
	if err != nil {
		return nil, err
	}
	if idToken, _ := resp["id_token"].(string); idToken != "" {
		s.SessionSet(o.cfg.Name+"_id_token", idToken)
	}
	// The provider's session id, which a back-channel logout token may
	// name: recorded with the session when the sign-in completes.
	if sid, _ := claimsOf(resp)["sid"].(string); sid != "" && len(sid) <= maxSIDLength {
		s.SessionSet(socialauth.SessionProviderSID, sid)
	} else {
		s.SessionPop(socialauth.SessionProviderSID)
	}
	return resp, nil
}

func (o *OIDC) verifyToken(ctx context.Context, b *OAuth2, accessToken string, response map[string]any) (map[string]any, error) {
	if o.user.VerifyToken != nil {
		return o.user.VerifyToken(ctx, b, accessToken, response)
	}
	return nil, nil
}

func claimsOf(response map[string]any) map[string]any {
	c, _ := response[IDTokenClaimsKey].(map[string]any)
	return c
}

// userData GETs the UserInfo endpoint (when there is one); its sub, when
// present, must equal the ID token's. The config's UserData replaces it.
func (o *OIDC) userData(ctx context.Context, b *OAuth2, accessToken string, response map[string]any) (map[string]any, error) {
	if o.user.UserData != nil {
		return o.user.UserData(ctx, b, accessToken, response)
	}
	ep, err := o.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	if ep.UserInfoURL == "" {
		return nil, nil
	}
	info, err := o.GetJSON(ctx, ep.UserInfoURL, accessToken)
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

// details reads the UsernameKey, EmailKey, FirstNameKey, LastNameKey and
// FullNameKey keys of the response, falling back to the ID-token claims.
// The config's Details replaces it.
func (o *OIDC) details(response map[string]any) socialauth.Details {
	if o.user.Details != nil {
		return o.user.Details(response)
	}
	claims := claimsOf(response)
	get := func(k string) string {
		if v := StringOf(response[k]); v != "" {
			return v
		}
		return StringOf(claims[k])
	}
	c := &o.ocfg
	full, first, last := UserNames(get(c.FullNameKey), get(c.FirstNameKey), get(c.LastNameKey))
	return socialauth.Details{
		"username":   get(c.UsernameKey),
		"email":      get(c.EmailKey),
		"fullname":   full,
		"first_name": first,
		"last_name":  last,
	}
}

// UserID returns the ID token's sub when the ID key is "sub"; else as OAuth2.
func (o *OIDC) UserID(details socialauth.Details, response map[string]any) (string, error) {
	if o.IDKey() == "sub" {
		if sub, _ := claimsOf(response)["sub"].(string); sub != "" {
			return sub, nil
		}
	}
	return o.OAuth2.UserID(details, response)
}

// moreExtraData stores the identity context that later refreshes must match,
// and keeps the claims themselves out of the extra data.
func (o *OIDC) moreExtraData(uid string, response map[string]any, details socialauth.Details, extra map[string]any) {
	delete(extra, IDTokenClaimsKey)
	if claims := claimsOf(response); claims != nil {
		extra[IDTokenContextKey] = identityContext(claims)
	}
	if o.user.MoreExtraData != nil {
		o.user.MoreExtraData(uid, response, details, extra)
	}
}

// identityContext is what a refreshed ID token must match.
func identityContext(claims map[string]any) map[string]any {
	ctx := map[string]any{"iss": claims["iss"], "sub": claims["sub"], "aud": claims["aud"]}
	for _, k := range []string{"azp", "auth_time", "nonce"} {
		if v, ok := claims[k]; ok {
			ctx[k] = v
		}
	}
	return ctx
}

// validateRefresh: an ID token returned on refresh must be about the same
// identity as the login's (iss, sub, aud, azp; auth_time and nonce when
// present). Without a stored context the uid must be the sub. Then the
// config's ValidateRefresh runs.
func (o *OIDC) validateRefresh(ctx context.Context, b *OAuth2, social *socialauth.UserSocialAuth, resp map[string]any) error {
	if err := o.sameIdentity(social, resp); err != nil {
		return err
	}
	if o.user.ValidateRefresh != nil {
		return o.user.ValidateRefresh(ctx, b, social, resp)
	}
	return nil
}

func (o *OIDC) sameIdentity(social *socialauth.UserSocialAuth, resp map[string]any) error {
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
// post_logout_redirect_uri (the request's "next", else LogoutRedirectURL)
// that passes the same checks as "next": relative paths, or hosts in
// AllowedRedirectHosts / the app's own host. It returns "" when the
// provider has no end_session endpoint.
func (o *OIDC) LogoutURL(ctx context.Context, s socialauth.Strategy) (string, error) {
	end := o.ocfg.EndSessionURL
	if end == "" {
		cfg, err := o.discoveryConfig(ctx)
		if err != nil || cfg == nil {
			return "", err
		}
		end = cfg.EndSessionEndpoint
	}
	if end == "" {
		return "", nil
	}
	if !absoluteHTTP(end) {
		return "", socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "invalid end_session endpoint", nil)
	}
	params := url.Values{"client_id": {o.cfg.Key}}
	if v, ok := s.SessionPop(o.cfg.Name + "_id_token"); ok {
		if hint, _ := v.(string); hint != "" {
			params.Set("id_token_hint", hint)
		}
	}
	target := s.RequestData().Get("next")
	if target == "" {
		target = o.ocfg.LogoutRedirectURL
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

// EndSessionURL is the provider's end_session URL for RP-initiated logout
// through the views (socialauth.RPInitiatedLogouter): the id_token_hint
// kept at sign-in (taken out of the session), the client_id, the given
// post_logout_redirect_uri (the views' return route, which the provider
// must have registered) and state. It returns "" when the provider has no
// end_session endpoint.
func (o *OIDC) EndSessionURL(ctx context.Context, s socialauth.Strategy, postLogoutRedirectURI, state string) (string, error) {
	end := o.ocfg.EndSessionURL
	if end == "" {
		cfg, err := o.discoveryConfig(ctx)
		if err != nil || cfg == nil {
			return "", err
		}
		end = cfg.EndSessionEndpoint
	}
	if end == "" {
		return "", nil
	}
	if !absoluteHTTP(end) {
		return "", socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "invalid end_session endpoint", nil)
	}
	params := url.Values{"client_id": {o.cfg.Key}}
	if v, ok := s.SessionPop(o.cfg.Name + "_id_token"); ok {
		if hint, _ := v.(string); hint != "" {
			params.Set("id_token_hint", hint)
		}
	}
	if postLogoutRedirectURI != "" {
		params.Set("post_logout_redirect_uri", postLogoutRedirectURI)
		params.Set("state", state)
	}
	return addQueryValues(end, params), nil
}

// PostLogoutRedirect is LOGOUT_REDIRECT_URL.
func (o *OIDC) PostLogoutRedirect() string { return o.ocfg.LogoutRedirectURL }

// sanitizeLogoutRedirect checks target like "next" and makes it absolute.
func (o *OIDC) sanitizeLogoutRedirect(s socialauth.Strategy, target string) (string, error) {
	hosts := slices.Clone(o.ocfg.AllowedRedirectHosts)
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
