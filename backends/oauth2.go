package backends

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/sync/singleflight"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// OAuth2 is the OAuth2 base backend (upstream's BaseOAuth2 with PKCE). Build
// it with NewOAuth2; it implements socialauth.Backend, Refresher and Revoker.
// Its configuration is fixed at construction: it reads no setting
// afterwards. It is safe for concurrent use and keeps no per-user state: the
// flow lives in the session.
type OAuth2 struct {
	cfg     OAuth2Config
	client  *http.Client // cfg.HTTPClient with the timeout, never following redirects
	used    socialauth.NonceStorage
	log     *slog.Logger
	refresh singleflight.Group
}

var (
	_ socialauth.Backend   = (*OAuth2)(nil)
	_ socialauth.Refresher = (*OAuth2)(nil)
	_ socialauth.Revoker   = (*OAuth2)(nil)

	_ socialauth.CallbackDetector = (*OAuth2)(nil)
)

// NewOAuth2 validates cfg and returns its backend; cfg is copied. A missing
// Name or Key, a set endpoint URL that is not absolute http(s) (or a missing
// authorization or token URL without EndpointsFunc), a bad token method or a
// negative duration is a *socialauth.Error with CodeImproperlyConfigured
// naming the setting (SOCIAL_AUTH_<NAME>_KEY, …). It does no I/O.
func NewOAuth2(cfg OAuth2Config) (*OAuth2, error) {
	if cfg.Name == "" {
		return nil, errNoName()
	}
	r := (*settings.Settings)(nil).Reader(cfg.Name)
	validateOAuth2(r, &cfg, cfg.EndpointsFunc == nil)
	if err := r.Err(); err != nil {
		return nil, configError(cfg.Name, err)
	}
	return newOAuth2(cfg), nil
}

// newOAuth2 fills the defaults of a validated cfg.
func newOAuth2(cfg OAuth2Config) *OAuth2 {
	if cfg.ScopeSeparator == "" {
		cfg.ScopeSeparator = " "
	}
	if cfg.IDKey == "" {
		cfg.IDKey = "id"
	}
	if cfg.StateTTL == 0 {
		cfg.StateTTL = DefaultStateTTL
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.UserAgent == "" {
		cfg.UserAgent = DefaultUserAgent
	}
	if cfg.MaxResponseBytes <= 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if cfg.AccessTokenMethod == "" {
		cfg.AccessTokenMethod = http.MethodPost
	}
	cfg.AccessTokenMethod = strings.ToUpper(cfg.AccessTokenMethod)
	if cfg.RevokeTokenMethod == "" {
		cfg.RevokeTokenMethod = http.MethodPost
	}
	cfg.RevokeTokenMethod = strings.ToUpper(cfg.RevokeTokenMethod)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.clone()
	var c http.Client
	if cfg.HTTPClient != nil {
		c = *cfg.HTTPClient
	}
	c.Timeout = cfg.Timeout
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	used := cfg.UsedStates
	if used == nil {
		used = &usedInProcess{ttl: cfg.StateTTL, now: cfg.Now, seen: map[socialauth.Nonce]time.Time{}}
	}
	return &OAuth2{cfg: cfg, client: &c, used: used, log: cfg.Logger}
}

// Name returns the backend name.
func (o *OAuth2) Name() string { return o.cfg.Name }

// Config returns a copy of the backend's configuration, defaults filled.
func (o *OAuth2) Config() OAuth2Config { return o.cfg.clone() }

// clone copies c with its own slices and maps, so neither the caller's
// value nor the backend's can change the other.
func (c OAuth2Config) clone() OAuth2Config {
	c.Scope = slices.Clone(c.Scope)
	c.DefaultScope = slices.Clone(c.DefaultScope)
	c.ExtraData = slices.Clone(c.ExtraData)
	c.AllowedAuthExtraArgs = slices.Clone(c.AllowedAuthExtraArgs)
	c.AuthExtraArguments = maps.Clone(c.AuthExtraArguments)
	c.ExtraTokenParams = cloneValues(c.ExtraTokenParams)
	c.CallbackParams = slices.Clone(c.CallbackParams)
	c.SecretExtraData = slices.Clone(c.SecretExtraData)
	return c
}

// SecretExtraData returns OAuth2Config.SecretExtraData: the backend's
// secret members of the extra data beyond socialauth.DefaultSecretMembers.
func (o *OAuth2) SecretExtraData() []string { return slices.Clone(o.cfg.SecretExtraData) }

var _ socialauth.SecretDeclarer = (*OAuth2)(nil)

// Logger returns the backend's logger (never nil).
func (o *OAuth2) Logger() *slog.Logger { return o.log }

// HTTPClient returns the client the backend calls the provider with: the
// configured one with the backend's timeout, never following redirects.
// Concrete backends use it for their own provider calls (discovery).
func (o *OAuth2) HTTPClient() *http.Client { return o.client }

func (o *OAuth2) now() time.Time { return o.cfg.Now() }

// Endpoints returns the provider URLs: the configured ones, or
// EndpointsFunc's answer.
func (o *OAuth2) Endpoints(ctx context.Context) (Endpoints, error) {
	if o.cfg.EndpointsFunc != nil {
		return o.cfg.EndpointsFunc(ctx)
	}
	return o.cfg.Endpoints, nil
}

// Scope returns the configured scope followed by the default scope (unless
// IgnoreDefaultScope), as upstream's get_scope.
func (o *OAuth2) Scope() []string {
	scope := slices.Clone(o.cfg.Scope)
	if !o.cfg.IgnoreDefaultScope {
		scope = append(scope, o.cfg.DefaultScope...)
	}
	return scope
}

// protectedParams may never come from AUTH_EXTRA_ARGUMENTS or AuthParams
// overriding what the base sets.
var protectedParams = []string{
	"client_id", "redirect_uri", "response_type", "state", "scope",
	"code_challenge", "code_challenge_method", "nonce",
}

// authExtraArguments is upstream's auth_extra_arguments: AuthExtraArguments,
// where the login request may override only keys that are already present
// and allowed (AllowedAuthExtraArgs). Protocol parameters are dropped.
func (o *OAuth2) authExtraArguments(s socialauth.Strategy) url.Values {
	data := s.RequestData()
	out := url.Values{}
	for k, v := range o.cfg.AuthExtraArguments {
		if slices.Contains(protectedParams, k) {
			continue
		}
		if slices.Contains(o.cfg.AllowedAuthExtraArgs, k) {
			if rv := data.Get(k); rv != "" && !strings.ContainsFunc(rv, isControl) && len(rv) <= 1024 {
				v = rv
			}
		}
		out.Set(k, v)
	}
	return out
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

// AuthURL builds the authorization URL and adds the new flow to the
// session's pending flows of this backend (at most MaxPendingFlows, the
// oldest dropped first). The redirect_uri is
// the strategy's CallbackURL for this backend (where the app mounted the
// complete route).
func (o *OAuth2) AuthURL(ctx context.Context, s socialauth.Strategy) (string, error) {
	ep, err := o.Endpoints(ctx)
	if err != nil {
		return "", err
	}
	if !absoluteHTTP(ep.AuthorizationURL) {
		return "", socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "no valid authorization URL", nil)
	}
	flow := &Flow{Backend: o.cfg.Name, State: randomToken(32), Created: o.now()}
	flow.RedirectURI = s.CallbackURL(o.cfg.Name)
	if o.cfg.RedirectState {
		flow.RedirectURI = addQuery(flow.RedirectURI, "redirect_state", flow.State)
	}
	if !o.cfg.PKCEDisabled {
		flow.Verifier = oauth2.GenerateVerifier()
	}
	params := url.Values{}
	if o.cfg.AuthParams != nil {
		if err := o.cfg.AuthParams(ctx, o, s, flow, params); err != nil {
			return "", err
		}
	}
	for k, vs := range o.authExtraArguments(s) {
		if _, set := params[k]; !set {
			params[k] = vs
		}
	}
	if scope := o.Scope(); len(scope) > 0 {
		params.Set("scope", strings.Join(scope, o.cfg.ScopeSeparator))
	}
	conf := oauth2.Config{ClientID: o.cfg.Key, RedirectURL: flow.RedirectURI, Endpoint: oauth2.Endpoint{AuthURL: ep.AuthorizationURL}}
	opts := make([]oauth2.AuthCodeOption, 0, len(params)+2)
	for _, k := range sortedKeys(params) {
		if k == "state" || k == "client_id" || k == "redirect_uri" || k == "response_type" {
			continue
		}
		opts = append(opts, oauth2.SetAuthURLParam(k, params.Get(k)))
	}
	if flow.Verifier != "" {
		opts = append(opts, oauth2.S256ChallengeOption(flow.Verifier))
	}
	authURL := conf.AuthCodeURL(flow.State, opts...)
	o.keepFlow(s, flow)
	return authURL, nil
}

// IsCallback reports whether data is a provider callback: it carries a
// state (socialauth.CallbackDetector).
func (o *OAuth2) IsCallback(data url.Values) bool { return data.Get("state") != "" }

// Complete handles the provider's callback: the callback is parsed (a
// duplicated parameter is refused), the pending flow its state names is
// redeemed once (takeFlow), then the iss response parameter and the code
// are checked — all locally — and only then is the code exchanged. A
// callback that names no pending flow consumes nothing. It returns the token
// response merged with the user data.
func (o *OAuth2) Complete(ctx context.Context, s socialauth.Strategy) (map[string]any, error) {
	resp, _, err := o.complete(ctx, s)
	return resp, err
}

// complete is Complete, also returning the flow it consumed.
func (o *OAuth2) complete(ctx context.Context, s socialauth.Strategy) (map[string]any, *Flow, error) {
	// A malformed callback, or one whose state names no pending flow,
	// consumes nothing: the sign-ins in progress in this session go on.
	cb, err := ParseCallback(o.cfg.Name, s.RequestData(), o.cfg.RedirectState)
	if err != nil {
		return nil, nil, err
	}
	if cb.Error != "" || cb.Denied {
		// The provider ended this flow (access denied, …): drop it.
		if _, id, ok := o.findFlow(s, cb.State); ok {
			o.dropFlow(s, id)
		}
		return nil, nil, providerError(o.cfg.Name, cb.Error, cb.Denied)
	}
	flow, err := o.takeFlow(ctx, s, cb.State)
	if err != nil {
		return nil, nil, err
	}
	ep, err := o.Endpoints(ctx)
	if err != nil {
		return nil, nil, err
	}
	if err := o.checkIss(ctx, ep, cb); err != nil {
		return nil, nil, err
	}
	if cb.Code == "" {
		return nil, nil, socialauth.MissingParameter(o.cfg.Name, "code")
	}
	resp, err := o.Exchange(ctx, ep, flow, cb.Code)
	if err != nil {
		return nil, nil, err
	}
	if o.cfg.TokenResponse != nil {
		if err := o.cfg.TokenResponse(ctx, o, flow, resp); err != nil {
			return nil, nil, err
		}
	}
	access, _ := resp["access_token"].(string)
	out, err := o.DoAuth(ctx, access, resp)
	if err != nil {
		return nil, nil, err
	}
	keepCallbackParams(o.cfg.CallbackParams, s.RequestData(), out)
	return out, flow, nil
}

// checkIss applies RFC 9207: when the provider declares the iss response
// parameter it must be present, and whenever it is present it must equal the
// expected issuer exactly (Endpoints.Issuer, else IssuerFunc's). A sent iss
// that cannot be compared (no issuer known) is refused as well: it means the
// response comes from elsewhere.
func (o *OAuth2) checkIss(ctx context.Context, ep Endpoints, cb Callback) error {
	if !cb.HasIss {
		if ep.IssParameterSupported {
			return socialauth.MissingParameter(o.cfg.Name, "iss")
		}
		return nil
	}
	issuer := ep.Issuer
	if issuer == "" && o.cfg.IssuerFunc != nil {
		var err error
		if issuer, err = o.cfg.IssuerFunc(ctx); err != nil {
			return err
		}
	}
	if issuer == "" || cb.Iss != issuer {
		return socialauth.NewError(socialauth.CodeAuthForbidden, o.cfg.Name, "iss response parameter does not match the issuer", nil)
	}
	return nil
}

// Exchange trades the authorization code for tokens (RFC 6749 4.1.3), with
// the flow's redirect_uri and PKCE verifier (never a value from the
// callback), and checks the answer for an OAuth error, an access token and
// a token type (see tokenRequest).
func (o *OAuth2) Exchange(ctx context.Context, ep Endpoints, flow *Flow, code string) (map[string]any, error) {
	params := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {flow.RedirectURI},
	}
	if flow.Verifier != "" {
		params.Set("code_verifier", flow.Verifier)
	}
	return o.tokenRequest(ctx, ep, ep.AccessTokenURL, params)
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
// and the backend's extra parameters, and checks the answer: an OAuth error
// is mapped (providerError); a missing, null, empty or non-string
// access_token, or a token_type other than Bearer or JWT (case-insensitive;
// absent tolerated), is an AuthUnknownError (502).
func (o *OAuth2) tokenRequest(ctx context.Context, ep Endpoints, endpoint string, params url.Values) (map[string]any, error) {
	if !absoluteHTTP(endpoint) {
		return nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "no valid token URL", nil)
	}
	for k, vs := range o.cfg.ExtraTokenParams {
		if _, set := params[k]; !set {
			params[k] = slices.Clone(vs)
		}
	}
	secret, err := o.clientSecret(ctx)
	if err != nil {
		return nil, err
	}
	basic := o.clientAuth(ep) == ClientAuthBasic
	if !basic {
		params.Set("client_id", o.cfg.Key)
		params.Set("client_secret", secret)
	}
	var req *http.Request
	if o.cfg.AccessTokenMethod == http.MethodGet {
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, addQueryValues(endpoint, params), nil)
	} else {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(params.Encode()))
		if req != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if err != nil {
		return nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "invalid token URL", nil)
	}
	if basic {
		req.SetBasicAuth(url.QueryEscape(o.cfg.Key), url.QueryEscape(secret))
	}
	resp, err := o.DoJSON(ctx, req)
	if err != nil {
		return nil, err
	}
	if e, ok := resp["error"]; ok && e != nil && e != "" {
		code, _ := e.(string)
		return nil, providerError(o.cfg.Name, code, false)
	}
	if err := checkTokenResponse(o.cfg.Name, resp); err != nil {
		return nil, err
	}
	return resp, nil
}

// checkTokenResponse refuses a token response (RFC 6749 §5.1) whose
// access_token is missing, null, empty or not a string, or whose token_type
// is anything but Bearer or JWT (case-insensitive; edX answers JWT to
// token_type=jwt): an AuthUnknownError, 502, since the provider answered
// something unusable. A missing or null token_type is tolerated, as many
// providers omit it. Neither value appears in the error.
func checkTokenResponse(backend string, resp map[string]any) error {
	if at, ok := resp["access_token"].(string); !ok || at == "" {
		return socialauth.NewError(socialauth.CodeAuthUnknownError, backend, "missing or invalid access_token in token response", nil)
	}
	switch tt := resp["token_type"].(type) {
	case nil:
	case string:
		if !strings.EqualFold(tt, "Bearer") && !strings.EqualFold(tt, "JWT") {
			return socialauth.NewError(socialauth.CodeAuthUnknownError, backend, "unsupported token_type in token response", nil)
		}
	default:
		return socialauth.NewError(socialauth.CodeAuthUnknownError, backend, "invalid token_type in token response", nil)
	}
	return nil
}

// DoAuth completes a login from an access token: the token is verified
// (VerifyToken), the user data fetched (UserData, else a GET of
// Endpoints.UserInfoURL with the bearer token) and merged over response. It
// is also the entry point for an access token obtained elsewhere (the
// mobile "I already have a token" login); response may then be nil.
func (o *OAuth2) DoAuth(ctx context.Context, accessToken string, response map[string]any) (map[string]any, error) {
	if accessToken == "" {
		return nil, socialauth.MissingParameter(o.cfg.Name, "access_token")
	}
	out := make(map[string]any, len(response)+8)
	for k, v := range response {
		out[k] = v
	}
	if o.cfg.VerifyToken != nil {
		claims, err := o.cfg.VerifyToken(ctx, o, accessToken, out)
		if err != nil {
			return nil, err
		}
		for k, v := range claims {
			out[k] = v
		}
	}
	data, err := o.userData(ctx, accessToken, out)
	if err != nil {
		return nil, err
	}
	for k, v := range data {
		out[k] = v
	}
	if _, ok := out["access_token"]; !ok {
		out["access_token"] = accessToken
	}
	return out, nil
}

// userData is the UserData hook, else the UserInfo endpoint, else nothing.
func (o *OAuth2) userData(ctx context.Context, accessToken string, response map[string]any) (map[string]any, error) {
	if o.cfg.UserData != nil {
		return o.cfg.UserData(ctx, o, accessToken, response)
	}
	ep, err := o.Endpoints(ctx)
	if err != nil || ep.UserInfoURL == "" {
		return nil, err
	}
	return o.GetJSON(ctx, ep.UserInfoURL, accessToken)
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

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
