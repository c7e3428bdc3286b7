package edx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
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

// Options configure an EdXOAuth2 backend. Every field is optional.
type Options struct {
	// Logger receives the backend's log lines (the session cleanup INFO line,
	// the insecure-mode WARNING). nil: the strategy's logger at request time,
	// and nothing at construction.
	Logger *slog.Logger
	// HTTPClient fetches the provider configuration and the JWKS. nil: the
	// strategy's client of the first request that needs them (with a 5 s
	// timeout when it has none). Token requests always use the strategy's
	// client, as the base does.
	HTTPClient *http.Client
	// Now is the clock (default time.Now).
	Now func() time.Time
	// CleanupRecorder is told, exactly once per Start that gets as far as
	// checking the session, whether a session cleanup was required (upstream's
	// session_cleanup.logout_required custom attribute).
	CleanupRecorder func(required bool)
	// CurrentUser returns the user logged in on the strategy's session, or
	// nil (Service.CurrentUser fits). When nil, Users is used.
	CurrentUser func(ctx context.Context, s socialauth.Strategy) (*socialauth.User, error)
	// Users loads the user whose id the session holds under
	// socialauth.SessionUserID when CurrentUser is nil. When both are nil, a
	// session holding a user id counts as logged in by user 'unknown'.
	Users socialauth.UserStorage
	// Settings are checked at construction for the insecure setting (so
	// its warning comes at start-up) and answer calls made without a
	// strategy. Within a request the strategy's settings are used. Pass the
	// settings your strategies use; nil means none.
	Settings *settings.Settings
}

// EdXOAuth2 is the edx-oauth2 backend (upstream's auth_backends.backends.
// EdXOAuth2) on the OAuth2 base. Build it with New. It is safe for
// concurrent use; settings are read from the strategy of each request, and
// the provider configuration, JWKS and verifiers are cached per URL_ROOT
// for the life of the backend.
type EdXOAuth2 struct {
	*backends.OAuth2

	opts   Options
	logger *slog.Logger // never nil; discards when Options.Logger is nil
	now    func() time.Time

	mu        sync.Mutex
	providers map[providerKey]*providerEntry
	verifiers map[verifierKey]*verifierEntry
	warned    bool // the insecure-mode warning was logged
}

var (
	_ socialauth.Backend     = (*EdXOAuth2)(nil)
	_ socialauth.LogoutURLer = (*EdXOAuth2)(nil)
	_ socialauth.Refresher   = (*EdXOAuth2)(nil)
)

// New returns the edx-oauth2 backend. It does no I/O. When opts.Settings
// turn token verification off, a WARNING is logged here.
func New(opts Options) (*EdXOAuth2, error) {
	b := &EdXOAuth2{
		opts:      opts,
		logger:    opts.Logger,
		now:       opts.Now,
		providers: map[providerKey]*providerEntry{},
		verifiers: map[verifierKey]*verifierEntry{},
	}
	if b.logger == nil {
		b.logger = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	b.OAuth2 = backends.NewOAuth2(backends.OAuth2Config{
		Name:              Name,
		EndpointsFunc:     b.endpoints,
		DefaultScope:      DefaultScope(),
		IDKey:             IDKey,
		ExtraData:         ExtraDataFields(),
		AccessTokenMethod: http.MethodPost,
		ClientAuth:        backends.ClientAuthForm,
		ExtraTokenParams:  url.Values{"token_type": {"jwt"}},
		RedirectState:     true,
		VerifyToken:       b.verifyToken,
		Details:           UserDetails,
		MoreExtraData:     moreExtraData,
		Settings:          opts.Settings,
		Now:               b.now,
	})
	if opts.Settings != nil {
		insecure, err := insecureSkip(opts.Settings)
		if err != nil {
			return nil, err
		}
		if insecure {
			b.warnInsecure(context.Background(), b.logger)
		}
	}
	return b, nil
}

// log returns the logger for a request.
func (b *EdXOAuth2) log(s socialauth.Strategy) *slog.Logger {
	if b.opts.Logger != nil || s == nil {
		return b.logger
	}
	return s.Logger()
}

func configErr(setting string, err error) error {
	return socialauth.NewError(socialauth.CodeImproperlyConfigured, Name, "setting "+setting, err)
}

// root reads a URL root setting: trimmed of trailing slashes; "" when unset,
// nil or empty. A value that is not an absolute http(s) URL without
// userinfo, query or fragment is ImproperlyConfigured.
func root(s socialauth.Strategy, name string) (string, error) {
	v, err := s.Settings().String(Name, name, "")
	if err != nil {
		return "", configErr(name, err)
	}
	v = strings.TrimRight(strings.TrimSpace(v), "/")
	if v == "" {
		return "", nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.Fragment != "" || strings.ContainsFunc(v, isUnsafeURLRune) {
		return "", socialauth.NewError(socialauth.CodeImproperlyConfigured, Name, "setting "+name+" is not an absolute http(s) URL", nil)
	}
	return v, nil
}

func isUnsafeURLRune(r rune) bool { return r <= 0x20 || r == 0x7f || r == '\\' }

// URLRoot is the URL_ROOT setting: the LMS root reachable from this server.
// Unset is ImproperlyConfigured.
func (b *EdXOAuth2) URLRoot(s socialauth.Strategy) (string, error) {
	r, err := root(s, "URL_ROOT")
	if err != nil {
		return "", err
	}
	if r == "" {
		return "", socialauth.NewError(socialauth.CodeImproperlyConfigured, Name, "setting URL_ROOT is not set", nil)
	}
	return r, nil
}

// PublicOrInternalURLRoot is PUBLIC_URL_ROOT when set and non-empty, else
// URL_ROOT (upstream's get_public_or_internal_url_root).
func (b *EdXOAuth2) PublicOrInternalURLRoot(s socialauth.Strategy) (string, error) {
	pub, err := root(s, "PUBLIC_URL_ROOT")
	if err != nil {
		return "", err
	}
	if pub != "" {
		return pub, nil
	}
	return b.URLRoot(s)
}

// AuthorizationURL is {PUBLIC_URL_ROOT or URL_ROOT}/oauth2/authorize.
func (b *EdXOAuth2) AuthorizationURL(s socialauth.Strategy) (string, error) {
	r, err := b.PublicOrInternalURLRoot(s)
	if err != nil {
		return "", err
	}
	return r + "/oauth2/authorize", nil
}

// AccessTokenURL is {URL_ROOT}/oauth2/access_token: always the internal root,
// the token request being server to server.
func (b *EdXOAuth2) AccessTokenURL(s socialauth.Strategy) (string, error) {
	r, err := b.URLRoot(s)
	if err != nil {
		return "", err
	}
	return r + "/oauth2/access_token", nil
}

// EndSessionURL is {PUBLIC_URL_ROOT or URL_ROOT}/logout.
func (b *EdXOAuth2) EndSessionURL(s socialauth.Strategy) (string, error) {
	r, err := b.PublicOrInternalURLRoot(s)
	if err != nil {
		return "", err
	}
	return r + "/logout", nil
}

// LogoutURL is upstream's logout_url: EndSessionURL, plus
// ?client_id={KEY}&redirect_url={LOGOUT_REDIRECT_URL} when a logout redirect
// is configured (SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL, then
// SOCIAL_AUTH_LOGOUT_REDIRECT_URL, then LOGOUT_REDIRECT_URL). Ordinary
// values appear as upstream writes them, unencoded; only the characters
// that could end or corrupt the parameter are percent-encoded (see
// QueryValueEscape).
func (b *EdXOAuth2) LogoutURL(_ context.Context, s socialauth.Strategy) (string, error) {
	end, err := b.EndSessionURL(s)
	if err != nil {
		return "", err
	}
	redirect, err := s.Settings().String(Name, "LOGOUT_REDIRECT_URL", "")
	if err != nil {
		return "", configErr("LOGOUT_REDIRECT_URL", err)
	}
	if redirect == "" {
		return end, nil
	}
	key, err := s.Settings().String(Name, "KEY", "")
	if err != nil {
		return "", configErr("KEY", err)
	}
	return end + "?client_id=" + QueryValueEscape(key) + "&redirect_url=" + QueryValueEscape(redirect), nil
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

// endpoints computes the provider URLs from the request's settings.
func (b *EdXOAuth2) endpoints(ctx context.Context, s socialauth.Strategy) (backends.Endpoints, error) {
	authz, err := b.AuthorizationURL(s)
	if err != nil {
		return backends.Endpoints{}, err
	}
	token, err := b.AccessTokenURL(s)
	if err != nil {
		return backends.Endpoints{}, err
	}
	ep := backends.Endpoints{AuthorizationURL: authz, AccessTokenURL: token}
	// The LMS does not send RFC 9207's iss; when a callback does carry one it
	// must be the issuer the access token is checked against. Resolving it
	// may need the (cached) provider configuration, so only then.
	if _, has := s.RequestData()["iss"]; has {
		iss, err := b.expectedIssuer(ctx, s)
		if err != nil {
			return backends.Endpoints{}, err
		}
		ep.Issuer = iss
	}
	return ep, nil
}

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
		b.log(s).InfoContext(ctx, fmt.Sprintf(SessionCleanupMessage, username))
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
