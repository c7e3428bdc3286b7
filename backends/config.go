package backends

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/discovery"
	"github.com/socialauth-go/socialauth/settings"
)

// ClientAuth is how the client authenticates at the token endpoint.
type ClientAuth int

const (
	// ClientAuthDefault is ClientAuthForm in an OAuth2Config and "not
	// decided" in Endpoints (the config's choice applies).
	ClientAuthDefault ClientAuth = iota
	// ClientAuthForm sends client_id and client_secret in the form body
	// (client_secret_post, upstream's default).
	ClientAuthForm
	// ClientAuthBasic sends them as HTTP Basic, each form-urlencoded first as
	// RFC 6749 2.3.1 asks (client_secret_basic).
	ClientAuthBasic
)

// ExtraDataField is one EXTRA_DATA entry: response[Name] (else details[Name],
// else details[Alias]) stored under Alias (Name when Alias is empty);
// DiscardIfEmpty skips empty values (upstream's 3-tuple with True), so that
// a value stored earlier survives an answer without it.
type ExtraDataField struct {
	Name, Alias    string
	DiscardIfEmpty bool
}

// Endpoints are a provider's URLs. Empty ones are not used.
type Endpoints struct {
	AuthorizationURL string
	AccessTokenURL   string
	// RefreshURL defaults to AccessTokenURL.
	RefreshURL string
	RevokeURL  string
	// UserInfoURL, when set and the config has no UserData hook, is fetched
	// by the base with "Authorization: Bearer <access token>" and merged
	// over the token response.
	UserInfoURL string
	// Issuer is the expected RFC 9207 iss response parameter (and, for
	// OpenID Connect, the ID-token issuer).
	Issuer string
	// IssParameterSupported makes the iss response parameter required
	// (the provider declared it: authorization_response_iss_parameter_supported).
	IssParameterSupported bool
	// ClientAuth, when not ClientAuthDefault, overrides the config's client
	// authentication (OIDC decides it from discovery).
	ClientAuth ClientAuth
}

// OAuth2Config describes a concrete OAuth2 backend, read once: NewOAuth2
// validates it and the backend never reads a setting afterwards. Fill it in
// code, or start from code defaults and let OAuth2ConfigFrom lay the
// Django-style settings (SOCIAL_AUTH_<NAME>_KEY, …) over them. Name and Key
// are required, and the authorization and token URLs unless EndpointsFunc is
// set; every hook is optional.
type OAuth2Config struct {
	// Name is the backend name: the provider stored in UserSocialAuth, the
	// URL segment and the setting prefix (my-idp → SOCIAL_AUTH_MY_IDP_*).
	Name string

	// Key and Secret are the client credentials (KEY, SECRET). Key is
	// required.
	Key, Secret string

	// Endpoints, when the URLs are fixed. The AUTHORIZATION_URL,
	// ACCESS_TOKEN_URL, REFRESH_TOKEN_URL, REVOKE_TOKEN_URL and USERINFO_URL
	// settings override them, as upstream. Set URLs must be absolute http(s).
	Endpoints Endpoints
	// EndpointsFunc computes the endpoints when they are not known at
	// construction (discovery). When set, the base uses its answer and not
	// Endpoints (which the function may consult: it holds the URL settings).
	// It may be called on every request: cache what it fetches.
	EndpointsFunc func(ctx context.Context) (Endpoints, error)
	// IssuerFunc resolves the expected issuer when a callback carries the
	// RFC 9207 iss parameter and the endpoints name none: a backend that
	// learns its issuer from discovery fetches it only then.
	IssuerFunc func(ctx context.Context) (string, error)

	// Scope is sent before DefaultScope (the SCOPE setting).
	Scope []string
	// DefaultScope is the backend's own scope, sent after Scope unless
	// IgnoreDefaultScope (IGNORE_DEFAULT_SCOPE).
	DefaultScope       []string
	IgnoreDefaultScope bool
	// ScopeSeparator joins the scope (default " "; GitHub uses ",").
	ScopeSeparator string

	// IDKey is the key of the uid in details or response (default "id";
	// the ID_KEY setting).
	IDKey string
	// ExtraData lists what to keep in UserSocialAuth.ExtraData; the
	// EXTRA_DATA setting adds to it. access_token, and refresh_token,
	// expires_in and token_type when the response has them, are always kept.
	ExtraData []ExtraDataField
	// GetAllExtraData keeps every response key (GET_ALL_EXTRA_DATA).
	GetAllExtraData bool
	// SecretExtraData names the members of the extra data that are secrets
	// beyond socialauth.DefaultSecretMembers (access_token, refresh_token,
	// id_token): a store with field encryption keys stores them encrypted.
	// The backend reports them as a socialauth.SecretDeclarer.
	SecretExtraData []string

	// AccessTokenMethod is POST (default) or GET (ACCESS_TOKEN_METHOD).
	AccessTokenMethod string
	// RevokeTokenMethod is POST (default), GET or DELETE.
	RevokeTokenMethod string
	// ClientAuth chooses form or Basic client authentication.
	ClientAuth ClientAuth
	// ExtraTokenParams are added to the token request (edX: token_type=jwt).
	// They never replace the protocol parameters.
	ExtraTokenParams url.Values

	// AuthExtraArguments are added to the authorization request
	// (AUTH_EXTRA_ARGUMENTS). Protocol parameters are never replaced.
	AuthExtraArguments map[string]string
	// AllowedAuthExtraArgs are the AuthExtraArguments keys whose value the
	// login request may override (the
	// AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST setting adds to them).
	AllowedAuthExtraArgs []string

	// PKCEDisabled turns PKCE (S256) off for providers that reject it
	// (USE_PKCE=false).
	PKCEDisabled bool
	// RedirectState adds ?redirect_state=<state> to the redirect_uri
	// (upstream's REDIRECT_STATE, on by default there), for a provider whose
	// registered redirect URI needs it. Off by default here: a state inside
	// the redirect_uri leaks through Referer headers and access logs (RFC
	// 9700 §4.2.4) and breaks strict redirect-URI matching; the state
	// parameter alone carries it (setting REDIRECT_STATE).
	RedirectState bool
	// StateTTL bounds the time between Start and the callback (default
	// DefaultStateTTL; STATE_TTL).
	StateTTL time.Duration

	// Timeout bounds each call to the provider (default DefaultTimeout;
	// REQUESTS_TIMEOUT, else the legacy URLOPEN_TIMEOUT).
	Timeout time.Duration
	// UserAgent is sent with each call (default DefaultUserAgent;
	// USER_AGENT).
	UserAgent string
	// MaxResponseBytes bounds provider responses (default
	// DefaultMaxResponseBytes).
	MaxResponseBytes int64
	// HTTPClient makes the calls to the provider (nil: a default client).
	// It is copied: the backend sets its own Timeout and never follows
	// redirects, so that credentials are never re-sent elsewhere.
	HTTPClient *http.Client
	// UsedStates records each redeemed sign-in flow, so that a flow is
	// redeemed once even when its callback arrives many times at once, at
	// several instances: give the store they share (the GORM store and
	// MemStore are NonceStorages). nil: a record in this process, enough
	// for a single instance.
	UsedStates socialauth.NonceStorage
	// Logger receives the backend's log lines (nil: discarded).
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time

	// AuthParams adds parameters to the authorization request (OIDC adds the
	// nonce). flow is the flow being started (its Nonce may be set here).
	AuthParams func(ctx context.Context, b *OAuth2, s socialauth.Strategy, flow *Flow, params url.Values) error
	// TokenResponse checks a token response before the user data is fetched:
	// after the code exchange (flow set) and after a refresh (flow nil).
	// OIDC validates the ID token here.
	TokenResponse func(ctx context.Context, b *OAuth2, flow *Flow, response map[string]any) error
	// VerifyToken verifies the access token itself (edX: a JWT) and returns
	// claims to merge into the response. It runs on every login, including
	// DoAuth with a token obtained elsewhere.
	VerifyToken func(ctx context.Context, b *OAuth2, accessToken string, response map[string]any) (map[string]any, error)
	// UserData fetches the user's data; it is merged over the token
	// response. When nil and Endpoints.UserInfoURL is set, the base GETs
	// that URL with the bearer token (b.GetJSON) instead.
	UserData func(ctx context.Context, b *OAuth2, accessToken string, response map[string]any) (map[string]any, error)
	// Details maps the provider response to user details (default: the
	// username, email, fullname/name, first_name, last_name keys).
	Details func(response map[string]any) socialauth.Details
	// MoreExtraData adds backend-specific values to the extra data.
	MoreExtraData func(uid string, response map[string]any, details socialauth.Details, extra map[string]any)
	// ValidateRefresh checks a refresh response against the association it
	// refreshes (OIDC: same subject). It runs before anything is stored.
	ValidateRefresh func(ctx context.Context, b *OAuth2, social *socialauth.UserSocialAuth, response map[string]any) error
	// OnRefresh tells the application that an association's tokens were
	// refreshed and stored.
	OnRefresh func(ctx context.Context, b *OAuth2, social *socialauth.UserSocialAuth)

	// ClientSecretFunc, when set, gives the client secret of each token,
	// refresh and revocation request instead of Secret (Apple's is a
	// short-lived signed JWT: see NewJWTClientSecret).
	ClientSecretFunc func(ctx context.Context) (string, error)
	// CallbackParams name callback parameters copied into the response,
	// as text, when the provider sends them there and nowhere else (Apple's
	// user, POSTed once, on the first sign-in). They are not verified: use
	// them for display values only.
	CallbackParams []string
	// FormPost declares that the provider returns with response_mode=form_post
	// (a cross-site POST to the complete route): the views then re-POST a
	// callback that arrived without the session cookie (see FormPoster).
	FormPost bool
}

// OIDCConfig describes an OpenID Connect backend, read once like
// OAuth2Config. OIDCConfigFrom(s, OIDCConfig{}) is the generic "oidc"
// backend configured by SOCIAL_AUTH_OIDC_OIDC_ENDPOINT, _KEY and _SECRET.
type OIDCConfig struct {
	// OAuth2 is the protocol configuration. Its defaults differ: Name
	// "oidc", DefaultScope openid profile email, IDKey "sub", ExtraData
	// id_token, refresh_token, expires_in and sub (as id). Its endpoint URLs
	// override discovery's. Its hooks run after the OIDC ones (AuthParams,
	// TokenResponse, VerifyToken, MoreExtraData, ValidateRefresh), or
	// replace them (UserData replaces the UserInfo request, Details the
	// default mapping).
	OAuth2 OAuth2Config

	// Endpoint is the issuer base URL; discovery is
	// {Endpoint}/.well-known/openid-configuration (OIDC_ENDPOINT). Without
	// it, the authorization and token URLs, JWKSURI and IDTokenIssuer are
	// required.
	Endpoint string
	// JWKSURI is the ID-token key set, instead of discovery's (JWKS_URI).
	JWKSURI string
	// IDTokenIssuer is the expected ID-token issuer, instead of discovery's
	// (ID_TOKEN_ISSUER).
	IDTokenIssuer string
	// IDTokenIssuerAliases are other exact spellings an ID token's iss may
	// use for the same issuer (Google: accounts.google.com).
	IDTokenIssuerAliases []string
	// EndSessionURL is the RP-initiated logout endpoint, instead of
	// discovery's (END_SESSION_URL).
	EndSessionURL string
	// TokenEndpointAuthMethod is client_secret_basic, client_secret_post,
	// or "" to decide from discovery (TOKEN_ENDPOINT_AUTH_METHOD).
	TokenEndpointAuthMethod string

	// Algorithms narrows the ID-token algorithms (JWT_ALGORITHMS). An ID
	// token's alg must be among the provider's
	// id_token_signing_alg_values_supported (RS256 when its discovery
	// document names none) and, when Algorithms is set, among these; without
	// discovery, among these (default RS256). "none" and HMAC algorithms are
	// refused.
	Algorithms []string
	// Leeway is the clock skew allowed on exp/nbf/iat (default
	// DefaultJWTLeeway; JWT_LEEWAY, where 0 means none); negative is none.
	Leeway time.Duration
	// Audience lists the client ids an ID token's aud (and azp) may name
	// (AUDIENCE; default the KEY alone): Apple's web service id next to an
	// iOS bundle id.
	Audience []string
	// IDTokenMaxAge is how old an ID token's iat may be at login (default
	// DefaultIDTokenMaxAge; ID_TOKEN_MAX_AGE).
	IDTokenMaxAge time.Duration

	// Optional OpenID request parameters, validated at construction:
	// Display (DISPLAY: page, popup, touch or wap), Prompt (PROMPT: none,
	// login, consent, select_account, space separated), MaxAge (MAX_AGE,
	// nil: not sent), UILocales, IDTokenHint, LoginHint, ACRValues
	// (UI_LOCALES, ID_TOKEN_HINT, LOGIN_HINT, ACR_VALUES; "" : not sent).
	Display, Prompt                              string
	MaxAge                                       *int
	UILocales, IDTokenHint, LoginHint, ACRValues string

	// The response keys of the user details, falling back to the ID-token
	// claims (USERNAME_KEY preferred_username, EMAIL_KEY email,
	// FIRST_NAME_KEY given_name, LAST_NAME_KEY family_name, FULLNAME_KEY
	// name).
	UsernameKey, EmailKey, FirstNameKey, LastNameKey, FullNameKey string

	// LogoutRedirectURL is the post_logout_redirect_uri when the logout
	// request has no "next" (LOGOUT_REDIRECT_URL); AllowedRedirectHosts are
	// the hosts it may name besides the app's own (ALLOWED_REDIRECT_HOSTS).
	LogoutRedirectURL    string
	AllowedRedirectHosts []string

	// Discovery tunes the discovery and JWKS cache (TTLs, refetch cooldown).
	// Its HTTPClient, Logger and Now default to the OAuth2 config's.
	Discovery discovery.Options
}

// OAuth2ConfigFrom lays the settings of cfg.Name over cfg (the code
// defaults) and returns the result, with the upstream names and lookup order
// (SOCIAL_AUTH_<NAME>_<SETTING>, SOCIAL_AUTH_<SETTING>, <SETTING>): KEY,
// SECRET, the endpoint URLs, SCOPE, IGNORE_DEFAULT_SCOPE, ID_KEY,
// EXTRA_DATA, GET_ALL_EXTRA_DATA, ACCESS_TOKEN_METHOD, AUTH_EXTRA_ARGUMENTS,
// AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST, USE_PKCE, REDIRECT_STATE, STATE_TTL,
// REQUESTS_TIMEOUT (or URLOPEN_TIMEOUT) and USER_AGENT. Every missing or
// malformed setting is reported, each naming its key, in one
// *socialauth.Error with CodeImproperlyConfigured. A nil s reads as empty.
func OAuth2ConfigFrom(s *settings.Settings, cfg OAuth2Config) (OAuth2Config, error) {
	if cfg.Name == "" {
		return OAuth2Config{}, errNoName()
	}
	r := s.Reader(cfg.Name)
	readOAuth2(r, &cfg)
	validateOAuth2(r, &cfg, cfg.EndpointsFunc == nil)
	if err := r.Err(); err != nil {
		return OAuth2Config{}, configError(cfg.Name, err)
	}
	return cfg, nil
}

// OIDCConfigFrom lays the settings of the backend over cfg: those of
// OAuth2ConfigFrom, and OIDC_ENDPOINT, JWKS_URI, ID_TOKEN_ISSUER,
// END_SESSION_URL, TOKEN_ENDPOINT_AUTH_METHOD, JWT_ALGORITHMS, JWT_LEEWAY,
// ID_TOKEN_MAX_AGE, DISPLAY, PROMPT, MAX_AGE, UI_LOCALES, ID_TOKEN_HINT,
// LOGIN_HINT, ACR_VALUES, USERNAME_KEY, EMAIL_KEY, FIRST_NAME_KEY,
// LAST_NAME_KEY, FULLNAME_KEY, LOGOUT_REDIRECT_URL and
// ALLOWED_REDIRECT_HOSTS. The OIDC defaults (name "oidc", scope, ID key,
// extra data) apply first. Errors are as OAuth2ConfigFrom's.
func OIDCConfigFrom(s *settings.Settings, cfg OIDCConfig) (OIDCConfig, error) {
	cfg = oidcDefaults(cfg)
	r := s.Reader(cfg.OAuth2.Name)
	readOAuth2(r, &cfg.OAuth2)
	cfg.Endpoint = r.String("OIDC_ENDPOINT", cfg.Endpoint)
	cfg.JWKSURI = r.String("JWKS_URI", cfg.JWKSURI)
	cfg.IDTokenIssuer = r.String("ID_TOKEN_ISSUER", cfg.IDTokenIssuer)
	cfg.EndSessionURL = r.String("END_SESSION_URL", cfg.EndSessionURL)
	cfg.TokenEndpointAuthMethod = r.String("TOKEN_ENDPOINT_AUTH_METHOD", cfg.TokenEndpointAuthMethod)
	cfg.Algorithms = r.StringList("JWT_ALGORITHMS", cfg.Algorithms)
	if r.IsSet("JWT_LEEWAY") {
		if cfg.Leeway = r.Duration("JWT_LEEWAY", cfg.Leeway); cfg.Leeway == 0 {
			cfg.Leeway = -1 // JWT_LEEWAY=0: none
		}
	}
	cfg.IDTokenMaxAge = r.Duration("ID_TOKEN_MAX_AGE", cfg.IDTokenMaxAge)
	cfg.Audience = r.StringList("AUDIENCE", cfg.Audience)
	cfg.Display = r.String("DISPLAY", cfg.Display)
	cfg.Prompt = r.String("PROMPT", cfg.Prompt)
	if r.IsSet("MAX_AGE") {
		n := r.Int("MAX_AGE", 0)
		cfg.MaxAge = &n
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{
		{"UI_LOCALES", &cfg.UILocales}, {"ID_TOKEN_HINT", &cfg.IDTokenHint},
		{"LOGIN_HINT", &cfg.LoginHint}, {"ACR_VALUES", &cfg.ACRValues},
	} {
		if r.IsSet(p.name) {
			if *p.dst = r.String(p.name, ""); strings.TrimSpace(*p.dst) == "" {
				r.Invalid(p.name, "must not be empty")
			}
		}
	}
	for _, k := range []struct {
		name string
		dst  *string
	}{
		{"USERNAME_KEY", &cfg.UsernameKey}, {"EMAIL_KEY", &cfg.EmailKey},
		{"FIRST_NAME_KEY", &cfg.FirstNameKey}, {"LAST_NAME_KEY", &cfg.LastNameKey},
		{"FULLNAME_KEY", &cfg.FullNameKey},
	} {
		*k.dst = r.String(k.name, *k.dst)
	}
	cfg.LogoutRedirectURL = r.String("LOGOUT_REDIRECT_URL", cfg.LogoutRedirectURL)
	cfg.AllowedRedirectHosts = r.StringList("ALLOWED_REDIRECT_HOSTS", cfg.AllowedRedirectHosts)
	validateOAuth2(r, &cfg.OAuth2, false)
	validateOIDC(r, &cfg)
	if err := r.Err(); err != nil {
		return OIDCConfig{}, configError(cfg.OAuth2.Name, err)
	}
	return cfg, nil
}

func errNoName() error {
	return &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Msg: "backend config has no Name"}
}

// configError wraps the settings errors of backend (each names its key).
func configError(backend string, err error) error {
	return &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: backend, Err: err}
}

// readOAuth2 lays r's settings over c.
func readOAuth2(r *settings.Reader, c *OAuth2Config) {
	c.Key = r.String("KEY", c.Key)
	c.Secret = r.String("SECRET", c.Secret)
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"AUTHORIZATION_URL", &c.Endpoints.AuthorizationURL},
		{"ACCESS_TOKEN_URL", &c.Endpoints.AccessTokenURL},
		{"REFRESH_TOKEN_URL", &c.Endpoints.RefreshURL},
		{"REVOKE_TOKEN_URL", &c.Endpoints.RevokeURL},
		{"USERINFO_URL", &c.Endpoints.UserInfoURL},
	} {
		*f.dst = strings.TrimSpace(r.String(f.name, *f.dst))
	}
	c.Scope = r.StringList("SCOPE", c.Scope)
	c.IgnoreDefaultScope = r.Bool("IGNORE_DEFAULT_SCOPE", c.IgnoreDefaultScope)
	if k := r.String("ID_KEY", ""); k != "" {
		c.IDKey = k
	}
	c.ExtraData = append(slices.Clone(c.ExtraData), readExtraData(r)...)
	c.GetAllExtraData = r.Bool("GET_ALL_EXTRA_DATA", c.GetAllExtraData)
	c.AccessTokenMethod = r.String("ACCESS_TOKEN_METHOD", c.AccessTokenMethod)
	c.AuthExtraArguments = r.StringMap("AUTH_EXTRA_ARGUMENTS", c.AuthExtraArguments)
	c.AllowedAuthExtraArgs = append(slices.Clone(c.AllowedAuthExtraArgs),
		r.StringList("AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST", nil)...)
	c.PKCEDisabled = !r.Bool("USE_PKCE", !c.PKCEDisabled)
	c.RedirectState = r.Bool("REDIRECT_STATE", c.RedirectState)
	c.StateTTL = r.Duration("STATE_TTL", c.StateTTL)
	timeout := "REQUESTS_TIMEOUT"
	if !r.IsSet(timeout) {
		timeout = "URLOPEN_TIMEOUT"
	}
	c.Timeout = r.Duration(timeout, c.Timeout)
	c.UserAgent = r.String("USER_AGENT", c.UserAgent)
}

// validateOAuth2 records what is wrong with c under the setting that would
// set it, so that a config written in code fails as a bad setting does.
// requireURLs: the authorization and token URLs must be set.
func validateOAuth2(r *settings.Reader, c *OAuth2Config, requireURLs bool) {
	if strings.TrimSpace(c.Key) == "" {
		r.Missing("KEY")
	}
	for _, f := range []struct {
		name, url string
		required  bool
	}{
		{"AUTHORIZATION_URL", c.Endpoints.AuthorizationURL, requireURLs},
		{"ACCESS_TOKEN_URL", c.Endpoints.AccessTokenURL, requireURLs},
		{"REFRESH_TOKEN_URL", c.Endpoints.RefreshURL, false},
		{"REVOKE_TOKEN_URL", c.Endpoints.RevokeURL, false},
		{"USERINFO_URL", c.Endpoints.UserInfoURL, false},
	} {
		switch {
		case f.url == "" && f.required:
			r.Missing(f.name)
		case f.url != "":
			if reason := settings.CheckAbsoluteURL(f.url); reason != "" {
				r.Invalid(f.name, reason)
			}
		}
	}
	switch strings.ToUpper(c.AccessTokenMethod) {
	case "", http.MethodGet, http.MethodPost:
	default:
		r.Invalid("ACCESS_TOKEN_METHOD", "must be GET or POST")
	}
	switch strings.ToUpper(c.RevokeTokenMethod) {
	case "", http.MethodGet, http.MethodPost, http.MethodDelete:
	default:
		r.Invalid("REVOKE_TOKEN_METHOD", "must be GET, POST or DELETE")
	}
	for i, f := range c.ExtraData {
		if f.Name == "" {
			r.Invalid("EXTRA_DATA", fmt.Sprintf("entry %d has no name", i))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"STATE_TTL", c.StateTTL}, {"REQUESTS_TIMEOUT", c.Timeout}} {
		if d.v < 0 {
			r.Invalid(d.name, "must not be negative")
		}
	}
}

// readExtraData reads the EXTRA_DATA setting: a list whose entries are
// "name", ["name"], ["name", "alias"] or ["name", "alias", discardIfEmpty];
// a string "name:alias" is accepted too, and a comma-separated string of
// those. A malformed entry is an error naming EXTRA_DATA.
func readExtraData(r *settings.Reader) []ExtraDataField {
	v, _, ok := r.Settings().Lookup(r.Backend(), "EXTRA_DATA")
	if !ok || v == nil {
		return nil
	}
	var out []ExtraDataField
	bad := func(i int) {
		r.Invalid("EXTRA_DATA", fmt.Sprintf("entry %d: want name, [name, alias] or [name, alias, discard_if_empty]", i))
	}
	add := func(i int, e any) {
		switch t := e.(type) {
		case string:
			name, alias, _ := strings.Cut(t, ":")
			if name == "" {
				bad(i)
				return
			}
			out = append(out, ExtraDataField{Name: name, Alias: alias})
		case []string:
			if len(t) < 1 || len(t) > 2 || t[0] == "" {
				bad(i)
				return
			}
			f := ExtraDataField{Name: t[0]}
			if len(t) == 2 {
				f.Alias = t[1]
			}
			out = append(out, f)
		case []any:
			if len(t) < 1 || len(t) > 3 {
				bad(i)
				return
			}
			name, ok := t[0].(string)
			if !ok || name == "" {
				bad(i)
				return
			}
			f := ExtraDataField{Name: name}
			if len(t) >= 2 {
				if f.Alias, ok = t[1].(string); !ok {
					bad(i)
					return
				}
			}
			if len(t) == 3 {
				if f.DiscardIfEmpty, ok = t[2].(bool); !ok {
					bad(i)
					return
				}
			}
			out = append(out, f)
		default:
			bad(i)
		}
	}
	switch t := v.(type) {
	case []string:
		for i, e := range t {
			add(i, e)
		}
	case []any:
		for i, e := range t {
			add(i, e)
		}
	case string:
		for i, e := range strings.Split(t, ",") {
			if e = strings.TrimSpace(e); e != "" {
				add(i, e)
			}
		}
	default:
		r.Invalid("EXTRA_DATA", "want a list of entries")
	}
	return out
}

// oidcDefaults fills the OpenID Connect defaults of cfg.
func oidcDefaults(cfg OIDCConfig) OIDCConfig {
	c := &cfg.OAuth2
	if c.Name == "" {
		c.Name = "oidc"
	}
	if c.DefaultScope == nil {
		c.DefaultScope = []string{"openid", "profile", "email"}
	}
	if c.IDKey == "" {
		c.IDKey = "sub"
	}
	if c.ExtraData == nil {
		c.ExtraData = []ExtraDataField{
			{Name: "id_token"}, {Name: "refresh_token"}, {Name: "expires_in"}, {Name: "sub", Alias: "id"},
		}
	}
	if cfg.Leeway == 0 {
		cfg.Leeway = DefaultJWTLeeway
	}
	if cfg.IDTokenMaxAge == 0 {
		cfg.IDTokenMaxAge = DefaultIDTokenMaxAge
	}
	def := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	def(&cfg.UsernameKey, "preferred_username")
	def(&cfg.EmailKey, "email")
	def(&cfg.FirstNameKey, "given_name")
	def(&cfg.LastNameKey, "family_name")
	def(&cfg.FullNameKey, "name")
	return cfg
}

// validateOIDC records what is wrong with the OpenID part of cfg under the
// setting that would set it.
func validateOIDC(r *settings.Reader, cfg *OIDCConfig) {
	ep := cfg.OAuth2.Endpoints
	if cfg.Endpoint == "" {
		// Without discovery, everything it would give is required.
		for _, f := range []struct{ name, v string }{
			{"AUTHORIZATION_URL", ep.AuthorizationURL}, {"ACCESS_TOKEN_URL", ep.AccessTokenURL},
			{"JWKS_URI", cfg.JWKSURI}, {"ID_TOKEN_ISSUER", cfg.IDTokenIssuer},
		} {
			if f.v == "" {
				r.Invalid("OIDC_ENDPOINT", "is required unless "+r.Key(f.name)+" and the other discovered URLs are set")
				break
			}
		}
	}
	for _, f := range []struct{ name, v string }{
		{"OIDC_ENDPOINT", cfg.Endpoint}, {"JWKS_URI", cfg.JWKSURI}, {"END_SESSION_URL", cfg.EndSessionURL},
	} {
		if f.v != "" {
			if reason := settings.CheckAbsoluteURL(f.v); reason != "" {
				r.Invalid(f.name, reason)
			}
		}
	}
	switch cfg.TokenEndpointAuthMethod {
	case "", "client_secret_basic", "client_secret_post":
	default:
		r.Invalid("TOKEN_ENDPOINT_AUTH_METHOD", "must be client_secret_basic or client_secret_post")
	}
	for _, a := range cfg.Algorithms {
		if !asymmetricAlg(a) {
			r.Invalid("JWT_ALGORITHMS", "only asymmetric algorithms (RS*, PS*, ES*, EdDSA) are allowed")
			break
		}
	}
	if cfg.IDTokenMaxAge < 0 {
		r.Invalid("ID_TOKEN_MAX_AGE", "must not be negative")
	}
	if cfg.Display != "" && !slices.Contains([]string{"page", "popup", "touch", "wap"}, cfg.Display) {
		r.Invalid("DISPLAY", "must be page, popup, touch or wap")
	}
	for _, p := range strings.Fields(cfg.Prompt) {
		if !slices.Contains([]string{"none", "login", "consent", "select_account"}, p) {
			r.Invalid("PROMPT", "values must be none, login, consent or select_account")
			break
		}
	}
	if cfg.Prompt != "" && strings.TrimSpace(cfg.Prompt) == "" {
		r.Invalid("PROMPT", "must not be blank")
	}
	if cfg.MaxAge != nil && *cfg.MaxAge < 0 {
		r.Invalid("MAX_AGE", "must not be negative")
	}
}
