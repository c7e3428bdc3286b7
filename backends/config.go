package backends

import (
	"context"
	"net/url"
	"time"

	"github.com/socialauth-go/socialauth"
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
// DiscardIfEmpty skips empty values (upstream's 3-tuple with True).
type ExtraDataField struct {
	Name, Alias    string
	DiscardIfEmpty bool
}

// Endpoints are a provider's URLs. Empty ones are not used.
type Endpoints struct {
	AuthorizationURL string
	AccessTokenURL   string
	// RefreshURL defaults to AccessTokenURL.
	RefreshURL  string
	RevokeURL   string
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

// OAuth2Config describes a concrete OAuth2 backend. Only Name and the
// endpoints are required; every hook is optional.
type OAuth2Config struct {
	// Name is the backend name: the provider stored in UserSocialAuth, the
	// URL segment and the setting prefix (my-idp → SOCIAL_AUTH_MY_IDP_*).
	Name string

	// Endpoints, when the URLs are fixed. The AUTHORIZATION_URL,
	// ACCESS_TOKEN_URL, REFRESH_TOKEN_URL, REVOKE_TOKEN_URL and USERINFO_URL
	// settings override them, as upstream.
	Endpoints Endpoints
	// EndpointsFunc computes the endpoints per request (from settings, from
	// discovery). When set, Endpoints and the URL settings are not read.
	EndpointsFunc func(ctx context.Context, s socialauth.Strategy) (Endpoints, error)

	// DefaultScope is sent after the SCOPE setting unless IGNORE_DEFAULT_SCOPE.
	DefaultScope []string
	// ScopeSeparator joins the scope (default " "; GitHub uses ",").
	ScopeSeparator string
	// IDKey is the key of the uid in details or response (default "id");
	// the ID_KEY setting overrides it.
	IDKey string
	// ExtraData lists what to keep in UserSocialAuth.ExtraData; the
	// EXTRA_DATA setting adds to it.
	ExtraData []ExtraDataField
	// AccessTokenMethod is POST (default) or GET (setting ACCESS_TOKEN_METHOD).
	AccessTokenMethod string
	// RevokeTokenMethod is POST (default), GET or DELETE.
	RevokeTokenMethod string
	// ClientAuth chooses form or Basic client authentication.
	ClientAuth ClientAuth
	// ExtraTokenParams are added to the token request (edX: token_type=jwt).
	// They never replace the protocol parameters.
	ExtraTokenParams url.Values
	// AllowedAuthExtraArgs are the AUTH_EXTRA_ARGUMENTS keys whose value the
	// login request may override (with the
	// AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST setting).
	AllowedAuthExtraArgs []string
	// PKCEDisabled turns PKCE (S256) off for providers that reject it; the
	// USE_PKCE setting overrides it.
	PKCEDisabled bool
	// RedirectState adds ?redirect_state=<state> to the redirect_uri
	// (upstream's REDIRECT_STATE). Off by default: it breaks strict
	// redirect-URI matching.
	RedirectState bool
	// CompletePath is the callback path (default "/complete/<name>/"), made
	// absolute by the strategy (REDIRECT_IS_HTTPS honoured).
	CompletePath string
	// StateTTL bounds the time between Start and the callback (default
	// DefaultStateTTL; the STATE_TTL setting overrides it).
	StateTTL time.Duration
	// MaxResponseBytes bounds provider responses (default 1 MiB).
	MaxResponseBytes int64

	// AuthParams adds parameters to the authorization request (OIDC adds the
	// nonce). flow is the flow being started (its Nonce may be set here).
	AuthParams func(ctx context.Context, s socialauth.Strategy, flow *Flow, params url.Values) error
	// TokenResponse checks a token response before the user data is fetched:
	// after the code exchange (flow set) and after a refresh (flow nil).
	// OIDC validates the ID token here.
	TokenResponse func(ctx context.Context, s socialauth.Strategy, flow *Flow, response map[string]any) error
	// VerifyToken verifies the access token itself (edX: a JWT) and returns
	// claims to merge into the response. It runs on every login, including
	// DoAuth with a token obtained elsewhere.
	VerifyToken func(ctx context.Context, s socialauth.Strategy, accessToken string, response map[string]any) (map[string]any, error)
	// UserData fetches the user's data; it is merged over the token response.
	UserData func(ctx context.Context, s socialauth.Strategy, accessToken string, response map[string]any) (map[string]any, error)
	// Details maps the provider response to user details (default: the
	// username, email, name, first_name, last_name keys of the response).
	Details func(response map[string]any) socialauth.Details
	// MoreExtraData adds backend-specific values to the extra data.
	MoreExtraData func(uid string, response map[string]any, details socialauth.Details, extra map[string]any)
	// ValidateRefresh checks a refresh response against the association it
	// refreshes (OIDC: same subject). It runs before anything is stored.
	ValidateRefresh func(ctx context.Context, s socialauth.Strategy, social *socialauth.UserSocialAuth, response map[string]any) error
	// OnRefresh tells the application that an association's tokens were
	// refreshed and stored.
	OnRefresh func(ctx context.Context, s socialauth.Strategy, social *socialauth.UserSocialAuth)

	// Settings are the fallback for calls made without a Strategy (a nil
	// one): within a request the strategy's settings answer ID_KEY,
	// EXTRA_DATA, GET_ALL_EXTRA_DATA and the rest.
	Settings *settings.Settings
	// Now is the clock (default time.Now).
	Now func() time.Time
}
