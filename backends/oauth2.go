package backends

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/socialauth-go/socialauth"
)

// OAuth2 is the OAuth2 base backend (upstream's BaseOAuth2 with PKCE). Build
// it with NewOAuth2; it implements socialauth.Backend, Refresher and Revoker.
// It is safe for concurrent use and keeps no per-user state: the flow lives
// in the session.
type OAuth2 struct {
	cfg     OAuth2Config
	refresh singleflight.Group
}

var (
	_ socialauth.Backend   = (*OAuth2)(nil)
	_ socialauth.Refresher = (*OAuth2)(nil)
	_ socialauth.Revoker   = (*OAuth2)(nil)
)

// NewOAuth2 returns a backend for cfg. cfg is copied.
func NewOAuth2(cfg OAuth2Config) *OAuth2 {
	if cfg.ScopeSeparator == "" {
		cfg.ScopeSeparator = " "
	}
	if cfg.IDKey == "" {
		cfg.IDKey = "id"
	}
	if cfg.CompletePath == "" {
		cfg.CompletePath = "/complete/" + cfg.Name + "/"
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.DefaultScope = slices.Clone(cfg.DefaultScope)
	cfg.ExtraData = slices.Clone(cfg.ExtraData)
	cfg.AllowedAuthExtraArgs = slices.Clone(cfg.AllowedAuthExtraArgs)
	return &OAuth2{cfg: cfg}
}

// Name returns the backend name.
func (o *OAuth2) Name() string { return o.cfg.Name }

// Config returns a copy of the backend's configuration.
func (o *OAuth2) Config() OAuth2Config { return o.cfg }

func (o *OAuth2) now() time.Time { return o.cfg.Now() }

func (o *OAuth2) configErr(setting string, err error) error {
	return socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "setting "+setting, err)
}

// Endpoints returns the provider URLs in force for this request.
func (o *OAuth2) Endpoints(ctx context.Context, s socialauth.Strategy) (Endpoints, error) {
	if o.cfg.EndpointsFunc != nil {
		return o.cfg.EndpointsFunc(ctx, s)
	}
	ep := o.cfg.Endpoints
	set := s.Settings()
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"AUTHORIZATION_URL", &ep.AuthorizationURL},
		{"ACCESS_TOKEN_URL", &ep.AccessTokenURL},
		{"REFRESH_TOKEN_URL", &ep.RefreshURL},
		{"REVOKE_TOKEN_URL", &ep.RevokeURL},
		{"USERINFO_URL", &ep.UserInfoURL},
	} {
		if !set.IsSet(o.cfg.Name, f.name) {
			continue
		}
		v, err := set.String(o.cfg.Name, f.name, *f.dst)
		if err != nil {
			return Endpoints{}, o.configErr(f.name, err)
		}
		*f.dst = v
	}
	return ep, nil
}

// KeyAndSecret returns the KEY and SECRET settings (the client credentials).
// A missing KEY is ImproperlyConfigured.
func (o *OAuth2) KeyAndSecret(s socialauth.Strategy) (key, secret string, err error) {
	set := s.Settings()
	if key, err = set.String(o.cfg.Name, "KEY", ""); err != nil {
		return "", "", o.configErr("KEY", err)
	}
	if key == "" {
		return "", "", socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "setting KEY is empty", nil)
	}
	if secret, err = set.String(o.cfg.Name, "SECRET", ""); err != nil {
		return "", "", o.configErr("SECRET", err)
	}
	return key, secret, nil
}

// Scope returns the SCOPE setting followed by the default scope (unless
// IGNORE_DEFAULT_SCOPE), as upstream's get_scope.
func (o *OAuth2) Scope(s socialauth.Strategy) ([]string, error) {
	set := s.Settings()
	scope, err := set.StringList(o.cfg.Name, "SCOPE", nil)
	if err != nil {
		return nil, o.configErr("SCOPE", err)
	}
	ignore, err := set.Bool(o.cfg.Name, "IGNORE_DEFAULT_SCOPE", false)
	if err != nil {
		return nil, o.configErr("IGNORE_DEFAULT_SCOPE", err)
	}
	if !ignore {
		scope = append(scope, o.cfg.DefaultScope...)
	}
	return scope, nil
}

func (o *OAuth2) usePKCE(s socialauth.Strategy) (bool, error) {
	v, err := s.Settings().Bool(o.cfg.Name, "USE_PKCE", !o.cfg.PKCEDisabled)
	if err != nil {
		return false, o.configErr("USE_PKCE", err)
	}
	return v, nil
}

func (o *OAuth2) stateTTL(s socialauth.Strategy) (time.Duration, error) {
	def := o.cfg.StateTTL
	if def <= 0 {
		def = DefaultStateTTL
	}
	d, err := s.Settings().Duration(o.cfg.Name, "STATE_TTL", def)
	if err != nil {
		return 0, o.configErr("STATE_TTL", err)
	}
	if d <= 0 {
		d = def
	}
	return d, nil
}

// protectedParams may never come from AUTH_EXTRA_ARGUMENTS or AuthParams
// overriding what the base sets.
var protectedParams = []string{
	"client_id", "redirect_uri", "response_type", "state", "scope",
	"code_challenge", "code_challenge_method", "nonce",
}

// authExtraArguments is upstream's auth_extra_arguments: the
// AUTH_EXTRA_ARGUMENTS setting, where the login request may override only
// keys that are already present and allowed (by the backend or by
// AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST). Protocol parameters are dropped.
func (o *OAuth2) authExtraArguments(s socialauth.Strategy) (url.Values, error) {
	set := s.Settings()
	args, err := set.StringMap(o.cfg.Name, "AUTH_EXTRA_ARGUMENTS", nil)
	if err != nil {
		return nil, o.configErr("AUTH_EXTRA_ARGUMENTS", err)
	}
	allow, err := set.StringList(o.cfg.Name, "AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST", nil)
	if err != nil {
		return nil, o.configErr("AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST", err)
	}
	allow = append(allow, o.cfg.AllowedAuthExtraArgs...)
	data := s.RequestData()
	out := url.Values{}
	for k, v := range args {
		if slices.Contains(protectedParams, k) {
			continue
		}
		if slices.Contains(allow, k) {
			if rv := data.Get(k); rv != "" && !strings.ContainsFunc(rv, isControl) && len(rv) <= 1024 {
				v = rv
			}
		}
		out.Set(k, v)
	}
	return out, nil
}

// Start begins a login: a new single-use flow (state, PKCE verifier) is kept
// in the session and the browser is redirected to the provider.
func (o *OAuth2) Start(ctx context.Context, s socialauth.Strategy) (*socialauth.Response, error) {
	u, err := o.AuthURL(ctx, s)
	if err != nil {
		return nil, err
	}
	return socialauth.Redirect(u), nil
}

// AuthURL builds the authorization URL and stores the new flow in the
// session, replacing any earlier flow of this backend.
func (o *OAuth2) AuthURL(ctx context.Context, s socialauth.Strategy) (string, error) {
	ep, err := o.Endpoints(ctx, s)
	if err != nil {
		return "", err
	}
	if !absoluteHTTP(ep.AuthorizationURL) {
		return "", socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "no valid authorization URL", nil)
	}
	key, _, err := o.KeyAndSecret(s)
	if err != nil {
		return "", err
	}
	pkce, err := o.usePKCE(s)
	if err != nil {
		return "", err
	}
	scope, err := o.Scope(s)
	if err != nil {
		return "", err
	}
	extra, err := o.authExtraArguments(s)
	if err != nil {
		return "", err
	}
	flow := &Flow{Backend: o.cfg.Name, State: randomToken(32), Created: o.now()}
	flow.RedirectURI = s.AbsoluteURI(o.cfg.CompletePath)
	if o.cfg.RedirectState {
		flow.RedirectURI = addQuery(flow.RedirectURI, "redirect_state", flow.State)
	}
	if pkce {
		flow.Verifier = oauth2.GenerateVerifier()
	}
	params := url.Values{}
	if o.cfg.AuthParams != nil {
		if err := o.cfg.AuthParams(ctx, s, flow, params); err != nil {
			return "", err
		}
	}
	for k, vs := range extra {
		if _, set := params[k]; !set {
			params[k] = vs
		}
	}
	if len(scope) > 0 {
		params.Set("scope", strings.Join(scope, o.cfg.ScopeSeparator))
	}
	conf := oauth2.Config{ClientID: key, RedirectURL: flow.RedirectURI, Endpoint: oauth2.Endpoint{AuthURL: ep.AuthorizationURL}}
	opts := make([]oauth2.AuthCodeOption, 0, len(params)+2)
	for _, k := range sortedKeys(params) {
		if k == "state" || k == "client_id" || k == "redirect_uri" || k == "response_type" {
			continue
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, params.Get(k)))
	}
	if pkce {
		opts = append(opts, oauth2.S256ChallengeOption(flow.Verifier))
	}
	authURL := conf.AuthCodeURL(flow.State, opts...)
	s.SessionSet(SessionKey(o.cfg.Name), flow.toSession())
	return authURL, nil
}

// Complete handles the provider's callback: the flow is consumed from the
// session first (single use, on success and on failure), then the provider
// error, the state, the iss response parameter and the code are checked — all
// locally — and only then is the code exchanged. It returns the token
// response merged with the user data.
func (o *OAuth2) Complete(ctx context.Context, s socialauth.Strategy) (map[string]any, error) {
	data := s.RequestData()
	cb, perr := ParseCallback(o.cfg.Name, data, o.cfg.RedirectState)
	ttl, err := o.stateTTL(s)
	if err != nil {
		s.SessionPop(SessionKey(o.cfg.Name))
		return nil, err
	}
	if perr != nil {
		s.SessionPop(SessionKey(o.cfg.Name))
		return nil, perr
	}
	if cb.Error != "" || cb.Denied {
		s.SessionPop(SessionKey(o.cfg.Name))
		return nil, providerError(o.cfg.Name, cb.Error, cb.Denied)
	}
	flow, err := o.takeFlow(s, cb.State, ttl)
	if err != nil {
		return nil, err
	}
	ep, err := o.Endpoints(ctx, s)
	if err != nil {
		return nil, err
	}
	if err := o.checkIss(ep, cb); err != nil {
		return nil, err
	}
	if cb.Code == "" {
		return nil, socialauth.MissingParameter(o.cfg.Name, "code")
	}
	resp, err := o.Exchange(ctx, s, ep, flow, cb.Code)
	if err != nil {
		return nil, err
	}
	if o.cfg.TokenResponse != nil {
		if err := o.cfg.TokenResponse(ctx, s, flow, resp); err != nil {
			return nil, err
		}
	}
	access, _ := resp["access_token"].(string)
	return o.DoAuth(ctx, s, access, resp)
}

// checkIss applies RFC 9207: when the provider declares the iss response
// parameter it must be present, and whenever it is present it must equal the
// expected issuer exactly. A sent iss that cannot be compared (no issuer
// known) is refused as well: it means the backend is misconfigured or the
// response comes from elsewhere.
func (o *OAuth2) checkIss(ep Endpoints, cb Callback) error {
	if !cb.HasIss {
		if ep.IssParameterSupported {
			return socialauth.MissingParameter(o.cfg.Name, "iss")
		}
		return nil
	}
	if ep.Issuer == "" || cb.Iss != ep.Issuer {
		return socialauth.NewError(socialauth.CodeAuthForbidden, o.cfg.Name, "iss response parameter does not match the issuer", nil)
	}
	return nil
}

// Exchange trades the authorization code for tokens (RFC 6749 4.1.3), with
// the flow's redirect_uri and PKCE verifier (never a value from the
// callback), and checks the answer for an OAuth error and an access token.
func (o *OAuth2) Exchange(ctx context.Context, s socialauth.Strategy, ep Endpoints, flow *Flow, code string) (map[string]any, error) {
	params := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {flow.RedirectURI},
	}
	if flow.Verifier != "" {
		params.Set("code_verifier", flow.Verifier)
	}
	return o.tokenRequest(ctx, s, ep, ep.AccessTokenURL, params)
}

// clientAuth is the client authentication in force for ep.
func (o *OAuth2) clientAuth(ep Endpoints) ClientAuth {
	if ep.ClientAuth != ClientAuthDefault {
		return ep.ClientAuth
	}
	if o.cfg.ClientAuth == ClientAuthBasic {
		return ClientAuthBasic
	}
	return ClientAuthForm
}

// tokenRequest sends a token-endpoint request with client authentication
// and the backend's extra parameters, and checks the answer.
func (o *OAuth2) tokenRequest(ctx context.Context, s socialauth.Strategy, ep Endpoints, endpoint string, params url.Values) (map[string]any, error) {
	if !absoluteHTTP(endpoint) {
		return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "no valid token URL", nil)
	}
	key, secret, err := o.KeyAndSecret(s)
	if err != nil {
		return nil, err
	}
	for k, vs := range o.cfg.ExtraTokenParams {
		if _, set := params[k]; !set {
			params[k] = slices.Clone(vs)
		}
	}
	basic := o.clientAuth(ep) == ClientAuthBasic
	if !basic {
		params.Set("client_id", key)
		params.Set("client_secret", secret)
	}
	method, err := s.Settings().String(o.cfg.Name, "ACCESS_TOKEN_METHOD", o.cfg.AccessTokenMethod)
	if err != nil {
		return nil, o.configErr("ACCESS_TOKEN_METHOD", err)
	}
	var req *http.Request
	if strings.EqualFold(method, http.MethodGet) {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, addQueryValues(endpoint, params), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(params.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, o.cfg.Name, "invalid token URL", nil)
	}
	if basic {
		req.SetBasicAuth(url.QueryEscape(key), url.QueryEscape(secret))
	}
	resp, err := o.DoJSON(ctx, s, req)
	if err != nil {
		return nil, err
	}
	if e, ok := resp["error"]; ok && e != nil && e != "" {
		code, _ := e.(string)
		return nil, providerError(o.cfg.Name, code, false)
	}
	if at, _ := resp["access_token"].(string); at == "" {
		return nil, socialauth.NewError(socialauth.CodeAuthTokenError, o.cfg.Name, "missing access_token in token response", nil)
	}
	return resp, nil
}

// DoAuth completes a login from an access token: the token is verified
// (VerifyToken), the user data fetched (UserData) and merged over response.
// It is also the entry point for an access token obtained elsewhere (the
// mobile "I already have a token" login); response may then be nil.
func (o *OAuth2) DoAuth(ctx context.Context, s socialauth.Strategy, accessToken string, response map[string]any) (map[string]any, error) {
	if accessToken == "" {
		return nil, socialauth.MissingParameter(o.cfg.Name, "access_token")
	}
	out := make(map[string]any, len(response)+8)
	for k, v := range response {
		out[k] = v
	}
	if o.cfg.VerifyToken != nil {
		claims, err := o.cfg.VerifyToken(ctx, s, accessToken, out)
		if err != nil {
			return nil, err
		}
		for k, v := range claims {
			out[k] = v
		}
	}
	if o.cfg.UserData != nil {
		data, err := o.cfg.UserData(ctx, s, accessToken, out)
		if err != nil {
			return nil, err
		}
		for k, v := range data {
			out[k] = v
		}
	}
	if _, ok := out["access_token"]; !ok {
		out["access_token"] = accessToken
	}
	return out, nil
}

func absoluteHTTP(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != "" && u.User == nil
}

func addQuery(raw, k, v string) string {
	return addQueryValues(raw, url.Values{k: {v}})
}

// addQueryValues appends vals to raw's query, keeping what raw has.
func addQueryValues(raw string, vals url.Values) string {
	sep := "?"
	if strings.Contains(raw, "?") {
		sep = "&"
	}
	return raw + sep + vals.Encode()
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
