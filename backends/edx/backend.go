package edx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/internal/discovery"
	"github.com/socialauth-go/socialauth/internal/jwtverify"
	"github.com/socialauth-go/socialauth/settings"
)

// Name is the backend name: the provider stored in UserSocialAuth, the URL
// segment (/login/edx-oauth2/) and the setting prefix SOCIAL_AUTH_EDX_OAUTH2_.
const Name = "edx-oauth2"

// IDKey is the response key of the uid (upstream's ID_KEY): the LMS username.
const IDKey = "preferred_username"

// SettingInsecureSkipTokenVerification is the one setting that turns access
// token verification off (upstream's behaviour: claims decoded, not
// verified). It is read under this exact key only, never through the
// SOCIAL_AUTH_<NAME> / <NAME> fallbacks, and a warning is logged when it is on.
const SettingInsecureSkipTokenVerification = "SOCIAL_AUTH_EDX_OAUTH2_INSECURE_SKIP_TOKEN_VERIFICATION"

// SessionCleanupMessage is the format of the INFO line start() logs when it
// logs a user out (upstream's, with the username for %s).
const SessionCleanupMessage = "OAuth start: Performing session cleanup for user '%s'"

// DefaultScope is upstream's DEFAULT_SCOPE; the OAuth2 application must be
// allowed the user_id scope.
func DefaultScope() []string { return []string{"user_id", "profile", "email"} }

// ExtraDataFields is upstream's EXTRA_DATA: user_id and refresh_token, each
// skipped when empty (so a stored value is kept). access_token, token_type,
// auth_time and expires_in are stored as well, by the base and the backend.
func ExtraDataFields() []backends.ExtraDataField {
	return []backends.ExtraDataField{
		{Name: "user_id", Alias: "user_id", DiscardIfEmpty: true},
		{Name: "refresh_token", Alias: "refresh_token", DiscardIfEmpty: true},
	}
}

// Options are the backend's constructor dependencies. Every field is
// optional.
type Options struct {
	// Logger receives the backend's log lines (the session cleanup INFO line,
	// the insecure-mode WARNING, rejected tokens). nil: Config.OAuth2.Logger,
	// else discarded.
	Logger *slog.Logger
	// HTTPClient makes every call to the LMS: the token requests, the
	// provider configuration and the JWKS. It is copied with the backend's
	// timeout (REQUESTS_TIMEOUT) and never follows redirects. nil:
	// Config.OAuth2.HTTPClient, else a default client.
	HTTPClient *http.Client
	// UsedStates records the redeemed sign-in flows, so that each is
	// redeemed once across the instances sharing it (the GORM store). nil:
	// Config.OAuth2.UsedStates, else a record in this process.
	UsedStates socialauth.NonceStorage
	// Now is the clock (nil: Config.OAuth2.Now, else time.Now).
	Now func() time.Time
	// CleanupRecorder is told, exactly once per Start that gets as far as
	// checking the session, whether a session cleanup was required (upstream's
	// session_cleanup.logout_required custom attribute).
	CleanupRecorder func(required bool)
	// CurrentUser returns the user logged in on the strategy's session, or
	// nil (Service.CurrentUser fits). When nil, Users is used.
	CurrentUser func(ctx context.Context, s socialauth.Strategy) (*socialauth.User, error)
	// Users loads the user whose id the session holds under
	// socialauth.SessionUserID when CurrentUser is nil (the store the
	// Service uses). When both are nil, a session holding a user id counts as
	// logged in by user 'unknown'.
	Users socialauth.UserStorage
}

// EdXOAuth2 is the edx-oauth2 backend (upstream's auth_backends.backends.
// EdXOAuth2) on the OAuth2 base. Build it with New. Its configuration is
// fixed at construction, with its token verifier and (in JWKS mode) its
// discovery provider, whose documents are fetched on first use and cached
// for the life of the backend. It is safe for concurrent use.
type EdXOAuth2 struct {
	*backends.OAuth2

	cfg    Config
	opts   Options
	logger *slog.Logger // never nil
	now    func() time.Time

	authorizationURL, accessTokenURL, endSessionURL, logoutURL string

	provider *discovery.Provider // nil in HMAC and insecure modes
	verifier *jwtverify.Verifier // nil in insecure mode
}

var (
	_ socialauth.Backend     = (*EdXOAuth2)(nil)
	_ socialauth.LogoutURLer = (*EdXOAuth2)(nil)
	_ socialauth.Refresher   = (*EdXOAuth2)(nil)

	_ socialauth.SessionReplacer = (*EdXOAuth2)(nil)
)

// New validates cfg and returns the edx-oauth2 backend, with its token
// verifier built once: HS512 with JWSHMACSigningKey, else the LMS's JWKS
// found through {URLRoot}/.well-known/openid-configuration. A missing or
// malformed value is a *socialauth.Error with CodeImproperlyConfigured
// naming its setting (SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT, …_KEY, …). When
// InsecureSkipTokenVerification is on, a WARNING is logged here, once. New
// does no I/O.
func New(cfg Config, opts Options) (*EdXOAuth2, error) {
	cfg.URLRoot = trimRoot(cfg.URLRoot)
	cfg.PublicURLRoot = trimRoot(cfg.PublicURLRoot)
	cfg.JWTAudience = slices.Clone(cfg.JWTAudience)
	r := (*settings.Settings)(nil).Reader(Name)
	cfg.validate(r)

	b := &EdXOAuth2{cfg: cfg, opts: opts}
	base := cfg.OAuth2
	base.Name = Name
	if opts.Logger != nil {
		base.Logger = opts.Logger
	}
	if opts.HTTPClient != nil {
		base.HTTPClient = opts.HTTPClient
	}
	if opts.UsedStates != nil {
		base.UsedStates = opts.UsedStates
	}
	if opts.Now != nil {
		base.Now = opts.Now
	}
	if base.Now == nil {
		base.Now = time.Now
	}
	public := cfg.PublicURLRoot
	if public == "" {
		public = cfg.URLRoot
	}
	b.authorizationURL = public + "/oauth2/authorize"
	b.accessTokenURL = cfg.URLRoot + "/oauth2/access_token"
	b.endSessionURL = public + "/logout"
	b.logoutURL = b.endSessionURL
	if cfg.LogoutRedirectURL != "" {
		b.logoutURL += "?client_id=" + QueryValueEscape(base.Key) + "&redirect_url=" + QueryValueEscape(cfg.LogoutRedirectURL)
	}
	// The URLs are fixed, but given as a function so that the base neither
	// requires nor reads URL settings this backend does not have.
	base.Endpoints = backends.Endpoints{}
	base.EndpointsFunc = b.endpoints
	base.IssuerFunc = b.callbackIssuer
	base.VerifyToken = b.verifyToken
	base.UserData = nil
	base.Details = UserDetails
	base.MoreExtraData = moreExtraData
	o, baseErr := backends.NewOAuth2(base)
	if err := errors.Join(r.Err(), settingsErrors(baseErr)); err != nil {
		return nil, configError(err)
	}
	b.OAuth2 = o
	b.logger = o.Logger()
	b.now = base.Now
	if err := b.buildVerifier(); err != nil {
		return nil, err
	}
	if cfg.InsecureSkipTokenVerification {
		b.logger.Warn("edx-oauth2: " + SettingInsecureSkipTokenVerification +
			" is on: JWT access tokens are NOT verified (signature, exp, iss, aud); never use this in production")
	}
	return b, nil
}

// Config returns a copy of the backend's configuration.
func (b *EdXOAuth2) Config() Config {
	c := b.cfg
	c.OAuth2 = b.OAuth2.Config()
	c.JWTAudience = slices.Clone(c.JWTAudience)
	return c
}

// URLRoot is the URL_ROOT setting: the LMS root reachable from this server.
func (b *EdXOAuth2) URLRoot() string { return b.cfg.URLRoot }

// PublicOrInternalURLRoot is PUBLIC_URL_ROOT when set and non-empty, else
// URL_ROOT (upstream's get_public_or_internal_url_root).
func (b *EdXOAuth2) PublicOrInternalURLRoot() string {
	if b.cfg.PublicURLRoot != "" {
		return b.cfg.PublicURLRoot
	}
	return b.cfg.URLRoot
}

// AuthorizationURL is {PUBLIC_URL_ROOT or URL_ROOT}/oauth2/authorize.
func (b *EdXOAuth2) AuthorizationURL() string { return b.authorizationURL }

// AccessTokenURL is {URL_ROOT}/oauth2/access_token: always the internal root,
// the token request being server to server.
func (b *EdXOAuth2) AccessTokenURL() string { return b.accessTokenURL }

// EndSessionURL is {PUBLIC_URL_ROOT or URL_ROOT}/logout.
func (b *EdXOAuth2) EndSessionURL() string { return b.endSessionURL }

// LogoutURL is upstream's logout_url: EndSessionURL, plus
// ?client_id={KEY}&redirect_url={LOGOUT_REDIRECT_URL} when a logout redirect
// is configured (SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL, then
// SOCIAL_AUTH_LOGOUT_REDIRECT_URL, then LOGOUT_REDIRECT_URL). Ordinary
// values appear as upstream writes them, unencoded; only the characters
// that could end or corrupt the parameter are percent-encoded (see
// QueryValueEscape). It is computed at construction; the request is not
// used.
func (b *EdXOAuth2) LogoutURL(context.Context, socialauth.Strategy) (string, error) {
	return b.logoutURL, nil
}

// QueryValueEscape percent-encodes the bytes of v that could not stand
// literally in a query parameter value without changing its meaning: the
// separators & ; # and +, %, space and other controls, non-ASCII bytes and
// the characters RFC 3986 does not allow in a query. Letters, digits and
// - . _ ~ ! $ ' ( ) * , = : @ / ? are kept, so an ordinary URL value reads
// exactly as upstream's unencoded one.
func QueryValueEscape(v string) string {
	const hex = "0123456789ABCDEF"
	var sb strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if keepInQueryValue(c) {
			sb.WriteByte(c)
			continue
		}
		sb.WriteByte('%')
		sb.WriteByte(hex[c>>4])
		sb.WriteByte(hex[c&0xf])
	}
	return sb.String()
}

func keepInQueryValue(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$'()*,=:@/?", c) >= 0
}

// endpoints is the base's EndpointsFunc: the LMS URLs, fixed at
// construction.
func (b *EdXOAuth2) endpoints(context.Context) (backends.Endpoints, error) {
	return backends.Endpoints{AuthorizationURL: b.authorizationURL, AccessTokenURL: b.accessTokenURL}, nil
}

// ReplacesSessionUser reports that an edX sign-in always replaces the
// session's user (socialauth.SessionReplacer): Start logs a signed-in
// session out, and a sign-in that completes after another tab signed the
// session in is a fresh sign-in too, never an LMS account connected to the
// user of the other tab.
func (b *EdXOAuth2) ReplacesSessionUser() bool { return true }

// Start begins a login (upstream's start()). When the session already
// belongs to a logged-in user, that user is logged out first: the INFO line
// SessionCleanupMessage is logged and the session is flushed (new id, no
// data), keeping only the sanitized `next` this request just stored. The
// CleanupRecorder is told once whether that was required. Then the base
// stores a new state and redirects to the LMS.
func (b *EdXOAuth2) Start(ctx context.Context, s socialauth.Strategy) (*socialauth.Response, error) {
	user, authenticated, err := b.currentUser(ctx, s)
	if err != nil {
		return nil, err
	}
	if b.opts.CleanupRecorder != nil {
		b.opts.CleanupRecorder(authenticated)
	}
	if authenticated {
		username := "unknown"
		if user != nil && user.Username != "" {
			username = user.Username
		}
		b.logger.InfoContext(ctx, fmt.Sprintf(SessionCleanupMessage, username))
		next, hasNext := s.SessionGet(socialauth.RedirectFieldName)
		if err := s.SessionFlush(ctx); err != nil {
			return nil, err
		}
		if hasNext {
			s.SessionSet(socialauth.RedirectFieldName, next)
		}
	}
	return b.OAuth2.Start(ctx, s)
}

// currentUser reports whether the strategy's session is logged in, and as
// whom.
func (b *EdXOAuth2) currentUser(ctx context.Context, s socialauth.Strategy) (*socialauth.User, bool, error) {
	if b.opts.CurrentUser != nil {
		u, err := b.opts.CurrentUser(ctx, s)
		if err != nil {
			return nil, false, err
		}
		return u, u != nil, nil
	}
	v, ok := s.SessionGet(socialauth.SessionUserID)
	id, _ := v.(string)
	if !ok || id == "" {
		return nil, false, nil
	}
	if b.opts.Users == nil {
		return nil, true, nil
	}
	u, err := b.opts.Users.GetUser(ctx, id)
	switch {
	case errors.Is(err, socialauth.ErrNotFound):
		return nil, false, nil
	case err != nil:
		return nil, false, err
	case !u.IsActive:
		return nil, false, nil
	}
	return u, true, nil
}

// moreExtraData keeps expires_in (the base's expiry helpers read it with
// auth_time).
func moreExtraData(_ string, response map[string]any, _ socialauth.Details, extra map[string]any) {
	if v, ok := response["expires_in"]; ok && v != nil {
		extra["expires_in"] = v
	}
}
