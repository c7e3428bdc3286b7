// Package strategies holds the net/http Strategy: the request, its scs
// session (github.com/alexedwards/scs/v2) and the public URLs of the
// service. It carries no configuration beyond what it needs to answer
// those: settings are read once, by HTTPConfigFrom.
package strategies

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/fieldcrypt"
	"github.com/socialauth-go/socialauth/settings"
)

// Defaults of the net/http strategy.
const (
	// SessionCookieName is Django's session cookie name, so a service moving
	// from Django keeps its cookie name.
	SessionCookieName = "sessionid"
	// DefaultSessionLifetime is the absolute lifetime of a session.
	DefaultSessionLifetime = 24 * time.Hour
	// DefaultSessionIdleTimeout ends a session unused for this long.
	DefaultSessionIdleTimeout = 2 * time.Hour
	// MaxFormBytes bounds a request body parsed for RequestData.
	MaxFormBytes = 64 << 10
)

// ErrNoSession is returned by SessionRotate and SessionFlush when the
// request's context carries no scs session: the handler was not wrapped by
// SessionManager.LoadAndSave. It is an ImproperlyConfigured error.
var ErrNoSession = &socialauth.Error{Code: socialauth.CodeImproperlyConfigured,
	Msg: "no session in the request context: wrap the handler with SessionManager.LoadAndSave"}

// HTTPConfig configures the net/http strategy.
type HTTPConfig struct {
	// Sessions is the session manager. When nil, NewHTTP builds one over
	// SessionStore with NewSessionManager, its cookie Secure exactly when
	// BaseURL is https. A manager given here must use SessionCodec and its
	// Cookie.Secure must match BaseURL's scheme.
	Sessions *scs.SessionManager
	// SessionStore is the store of the manager NewHTTP builds when Sessions
	// is nil, such as the GORM store's SessionStore().
	SessionStore scs.Store
	// BaseURL is the public base URL of the service (required): such as
	// http://127.0.0.1:8000, or https://example.com/app for a service a
	// reverse proxy serves under /app (the proxy strips /app). Absolute URIs
	// (the OAuth redirect_uri, the host of the redirect allow-list) come
	// from it, scheme included, never from the request's Host header.
	BaseURL string
	// Prefix is where the app mounts the sign-in routes ("" or a path such
	// as /auth): CallbackURL(b) is BaseURL + Prefix + "/complete/<b>/".
	// views.New sets it.
	Prefix string
	// RedirectIsHTTPS asks for https redirect URIs (the REDIRECT_IS_HTTPS
	// setting). The scheme always comes from BaseURL; true with an http
	// BaseURL is a configuration error, not a silent switch to https.
	RedirectIsHTTPS bool
	// Logger receives the strategy's logs (nil: discarded).
	Logger *slog.Logger
	// SessionCookieKeys, when set, keeps a session nobody is signed in to
	// in its cookie, sealed (see SealedStore): a pending sign-in then costs
	// the session store nothing. Each key is at least 32 bytes; the first
	// seals, every key opens; every instance needs the same keys. The
	// SESSION_COOKIE_KEYS setting (HTTPConfigFrom). With Sessions set, wrap
	// that manager's Store with NewSealedStore instead.
	SessionCookieKeys [][]byte
}

// HTTPConfigFrom returns cfg with the strategy's settings read from s, once:
// REDIRECT_IS_HTTPS (SOCIAL_AUTH_REDIRECT_IS_HTTPS, then REDIRECT_IS_HTTPS),
// when set, replaces cfg.RedirectIsHTTPS; SESSION_COOKIE_KEYS (a list of
// base64 or base64url keys of at least 32 bytes), when set, replaces
// cfg.SessionCookieKeys (an empty list: none, every session stored). A malformed value, true with an http cfg.BaseURL,
// or a bad key (named by its position, never its value) is an
// ImproperlyConfigured error naming the key.
func HTTPConfigFrom(s *settings.Settings, cfg HTTPConfig) (HTTPConfig, error) {
	r := s.Reader("")
	if r.IsSet(settingRedirectIsHTTPS) {
		cfg.RedirectIsHTTPS = r.Bool(settingRedirectIsHTTPS, cfg.RedirectIsHTTPS)
		if cfg.RedirectIsHTTPS && schemeOf(cfg.BaseURL) == "http" {
			r.Invalid(settingRedirectIsHTTPS, "is true but the base URL is http: use an https base URL, or set it to false")
		}
	}
	if r.IsSet(settingSessionCookieKeys) {
		// An empty list turns sealing off: every session is stored.
		cfg.SessionCookieKeys = nil
		if items := r.StringList(settingSessionCookieKeys, nil); len(items) > 0 {
			keys, err := fieldcrypt.ParseKeys(items)
			if err == nil {
				_, err = fieldcrypt.New(keys) // a repeated key
			}
			if err != nil {
				r.Invalid(settingSessionCookieKeys, strings.TrimPrefix(err.Error(), "fieldcrypt: "))
			}
			cfg.SessionCookieKeys = keys
		}
	}
	if err := r.Err(); err != nil {
		return HTTPConfig{}, &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Err: err}
	}
	return cfg, nil
}

const (
	settingRedirectIsHTTPS   = "REDIRECT_IS_HTTPS"
	settingSessionCookieKeys = "SESSION_COOKIE_KEYS"
)

func schemeOf(raw string) string {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	return u.Scheme
}

// HTTP is the net/http strategy factory: one per app instance (or per
// mount), safe for concurrent use. Strategy(r) gives the per-request
// socialauth.Strategy.
type HTTP struct {
	sessions *scs.SessionManager
	sealed   *SealedStore  // the manager's store when it seals anonymous sessions
	idle     time.Duration // the idle timeout a sealed session is given
	baseURL  string        // scheme://host[:port][/path], no trailing slash
	prefix   string        // "" or /path, no trailing slash
	logger   *slog.Logger
	// signedIn reads a session with its user (SignedInUser); nil when the
	// store cannot. signedInIdle keeps the idle timeout it moves.
	signedIn     SignedInFinder
	signedInIdle *IdleStore
}

// NewHTTP validates cfg and returns the strategy factory.
//
// BaseURL must be an absolute http or https URL with a host and no query,
// fragment or userinfo; it may have a clean path (no empty, "." or ".."
// segment). Prefix must be "" or such a path. RedirectIsHTTPS with an http
// BaseURL is refused. A Sessions manager must not use scs's default gob
// codec, which cannot store the map[string]string values the OAuth2
// backends keep in the session (use NewSessionManager, or set Codec to
// SessionCodec{}), and its Cookie.Secure must be true exactly when BaseURL
// is https.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	https := strings.HasPrefix(base, "https://")
	if cfg.RedirectIsHTTPS && !https {
		return nil, configErr("HTTPConfig.RedirectIsHTTPS (REDIRECT_IS_HTTPS) is true but BaseURL is http: use an https base URL, or set REDIRECT_IS_HTTPS to false")
	}
	prefix, err := cleanPrefix(cfg.Prefix)
	if err != nil {
		return nil, err
	}
	sessions := cfg.Sessions
	switch {
	case sessions == nil && cfg.SessionStore == nil:
		return nil, configErr("HTTPConfig.Sessions or HTTPConfig.SessionStore is required")
	case sessions == nil:
		sessions = NewSessionManager(cfg.SessionStore, https)
		if len(cfg.SessionCookieKeys) > 0 {
			sealed, err := NewSealedStore(sessions.Store, cfg.SessionCookieKeys)
			if err != nil {
				return nil, err
			}
			sessions.Store = sealed
		}
	case len(cfg.SessionCookieKeys) > 0:
		return nil, configErr("HTTPConfig.SessionCookieKeys (SESSION_COOKIE_KEYS) is set with HTTPConfig.Sessions: set SessionStore instead, or wrap the manager's Store with strategies.NewSealedStore")
	}
	switch sessions.Codec.(type) {
	case scs.GobCodec, *scs.GobCodec:
		return nil, configErr("HTTPConfig.Sessions uses scs.GobCodec, which cannot store map[string]string values: use strategies.NewSessionManager or Codec: strategies.SessionCodec{}")
	case nil:
		return nil, configErr("HTTPConfig.Sessions has no Codec: use strategies.NewSessionManager")
	}
	if sessions.Cookie.Secure != https {
		if https {
			return nil, configErr("HTTPConfig.Sessions.Cookie.Secure is false but BaseURL is https: the session cookie would travel in clear")
		}
		return nil, configErr("HTTPConfig.Sessions.Cookie.Secure is true but BaseURL is http: the browser would not send the session cookie back")
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &HTTP{sessions: sessions, baseURL: base, prefix: prefix, logger: logger}
	h.signedIn, h.signedInIdle = signedInFinder(sessions)
	if sealed, ok := sessions.Store.(*SealedStore); ok {
		h.sealed = sealed
		h.idle = sessions.IdleTimeout
		if is, ok := sealed.Inner().(*IdleStore); ok {
			h.idle = is.idle // the idle timeout is kept by the store
		}
	}
	return h, nil
}

func configErr(msg string) error {
	return &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Msg: msg}
}

func parseBaseURL(raw string) (string, error) {
	bad := func(why string) error {
		return configErr("HTTPConfig.BaseURL " + why)
	}
	if raw == "" {
		return "", bad("is required")
	}
	if strings.ContainsFunc(raw, func(r rune) bool { return r < 0x20 || r == 0x7f || r == ' ' || r == '\\' }) {
		return "", bad("contains spaces, backslashes or control characters")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", bad("is not a URL")
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return "", bad("must be an http or https URL")
	case u.Host == "" || u.Hostname() == "":
		return "", bad("must have a host")
	case u.User != nil:
		return "", bad("must not have userinfo")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", bad("must not have a query or fragment")
	}
	for _, c := range u.Port() {
		if c < '0' || c > '9' {
			return "", bad("has a malformed port")
		}
	}
	path, ok := cleanPath(u.EscapedPath())
	if !ok {
		return "", bad("must have a clean path (no empty, \".\" or \"..\" segment, no {, } or %2F)")
	}
	return u.Scheme + "://" + u.Host + path, nil
}

// cleanPrefix checks and normalises a mount prefix: "" or an absolute path
// such as /auth with no empty, "." or ".." segment and none of {}?#\,
// spaces or control characters; a trailing slash is dropped.
func cleanPrefix(prefix string) (string, error) {
	if prefix != "" && !strings.HasPrefix(prefix, "/") {
		return "", configErr("the route prefix must be a clean absolute path such as /auth")
	}
	if strings.ContainsAny(prefix, "?#%") {
		return "", configErr("the route prefix must be a clean absolute path such as /auth")
	}
	p, ok := cleanPath(prefix)
	if !ok {
		return "", configErr("the route prefix must be a clean absolute path such as /auth")
	}
	return p, nil
}

// cleanPath returns p without its trailing slash when it is "" or an
// absolute, escaped path without empty, "." or ".." segments, wildcard
// braces, escaped slashes, backslashes, spaces or control characters.
func cleanPath(p string) (string, bool) {
	p = strings.TrimSuffix(p, "/")
	if p == "" {
		return "", true
	}
	if !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "{}\\ ") ||
		strings.ContainsFunc(p, func(r rune) bool { return r < 0x20 || r == 0x7f }) ||
		strings.Contains(strings.ToLower(p), "%2f") {
		return "", false
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", false
		}
	}
	return p, true
}

// NewSessionManager returns an scs session manager configured for sign-in:
// cookie "sessionid", HttpOnly, SameSite=Lax (the provider's callback is a
// top-level GET navigation, which Lax lets through), Secure when secure is
// true (pass true exactly when the service's base URL is https; NewHTTP
// checks it), path "/", a DefaultSessionLifetime absolute lifetime, a
// DefaultSessionIdleTimeout idle timeout, and the SessionCodec. store is
// the session store, such as the GORM store's SessionStore() or scs's
// memstore in tests; a store that records sessions' owners (an
// OwnerCommitter, as the GORM store's) is wrapped in an OwnerStore, so that
// a signed-in session is indexed by its user and provider session; over a
// store that is an ExpiryKeeper (the GORM store's too) the idle timeout is
// kept by an IdleStore instead of scs, so that a request that leaves its
// session unchanged writes nothing (the manager's IdleTimeout is then 0).
// NewHTTP builds one itself from HTTPConfig.SessionStore.
func NewSessionManager(store scs.Store, secure bool) *scs.SessionManager {
	m := scs.New()
	m.IdleTimeout = DefaultSessionIdleTimeout
	keeper, keeps := store.(ExpiryKeeper)
	if oc, ok := store.(OwnerCommitter); ok {
		store = NewOwnerStore(oc)
	}
	if inner, ok := store.(scs.CtxStore); ok && keeps {
		// The store keeps the idle timeout: scs would otherwise re-commit
		// every session it loads.
		store = NewIdleStore(inner, keeper, m.IdleTimeout, nil)
		m.IdleTimeout = 0
	}
	m.Store = store
	m.Codec = SessionCodec{}
	m.Lifetime = DefaultSessionLifetime
	m.Cookie.Name = SessionCookieName
	m.Cookie.HttpOnly = true
	m.Cookie.SameSite = http.SameSiteLaxMode
	m.Cookie.Secure = secure
	m.Cookie.Path = "/"
	m.Cookie.Persist = true
	return m
}

// Sessions returns the session manager.
func (h *HTTP) Sessions() *scs.SessionManager { return h.sessions }

// BaseURL returns the normalised public base URL
// (scheme://host[:port][/path], no trailing slash).
func (h *HTTP) BaseURL() string { return h.baseURL }

// Prefix returns the normalised mount prefix ("" or a path without a
// trailing slash).
func (h *HTTP) Prefix() string { return h.prefix }

// CallbackURL returns the absolute URL of backend's complete route:
// BaseURL + Prefix + "/complete/<backend>/" (backend path-escaped).
func (h *HTTP) CallbackURL(backend string) string {
	return h.baseURL + h.prefix + "/complete/" + url.PathEscape(backend) + "/"
}

// Strategy returns the strategy of one request. Its session is the scs
// session loaded into r's context, so the handler serving r must be wrapped
// by Sessions().LoadAndSave (package views does it).
// Without one, session reads find nothing, writes are dropped with an error
// log, and SessionRotate and SessionFlush return ErrNoSession.
func (h *HTTP) Strategy(r *http.Request) socialauth.Strategy {
	return &httpStrategy{h: h, req: r, loaded: SessionLoaded(h.sessions, r.Context())}
}

// SessionLoaded reports whether ctx carries m's session, that is whether
// the request runs inside m.LoadAndSave.
func SessionLoaded(m *scs.SessionManager, ctx context.Context) bool {
	return sessionLoaded(m, ctx)
}

// sessionLoaded reports whether ctx carries the manager's session data (scs
// panics on access otherwise).
func sessionLoaded(m *scs.SessionManager, ctx context.Context) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	m.Status(ctx)
	return true
}

// httpStrategy is the per-request strategy.
type httpStrategy struct {
	h      *HTTP
	req    *http.Request
	loaded bool

	once sync.Once
	data url.Values
}

var _ socialauth.Strategy = (*httpStrategy)(nil)

// Request returns the request being served.
func (s *httpStrategy) Request() *http.Request { return s.req }

// RequestData merges the POST form and the query (form values first for
// each key), as upstream's request_data(merge=True). The body is read at
// most MaxFormBytes; a larger or malformed body contributes no values.
func (s *httpStrategy) RequestData() url.Values {
	s.once.Do(func() { s.data = parseRequestData(s.req, s.h.logger) })
	out := make(url.Values, len(s.data))
	for k, vs := range s.data {
		out[k] = slices.Clone(vs)
	}
	return out
}

func parseRequestData(r *http.Request, logger *slog.Logger) url.Values {
	data := url.Values{}
	if r == nil {
		return data
	}
	if r.PostForm == nil && r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(nil, r.Body, MaxFormBytes)
		if err := r.ParseForm(); err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				logger.Warn("socialauth: request body too large, form ignored", "limit", MaxFormBytes)
			} else {
				logger.Info("socialauth: malformed request form ignored")
			}
			r.PostForm = url.Values{}
		}
		// Drain what is left within the limit so the connection can be reused.
		_, _ = io.Copy(io.Discard, r.Body)
	}
	for k, vs := range r.PostForm {
		data[k] = append(data[k], vs...)
	}
	if r.URL != nil {
		q, _ := url.ParseQuery(r.URL.RawQuery) // keeps the well-formed pairs
		for k, vs := range q {
			data[k] = append(data[k], vs...)
		}
	}
	return data
}

func (s *httpStrategy) ctx() context.Context { return s.req.Context() }

// SessionGet returns a copy of a session value.
func (s *httpStrategy) SessionGet(key string) (any, bool) {
	if !s.loaded || !s.h.sessions.Exists(s.ctx(), key) {
		return nil, false
	}
	return copyValue(s.h.sessions.Get(s.ctx(), key)), true
}

// SessionSet stores a copy of value. Values must be strings, bools,
// numbers, []string or map[string]string (the Strategy contract); []any of
// strings and map[string]any of strings are converted; anything else is
// dropped with a warning naming the key and type, never the value.
func (s *httpStrategy) SessionSet(key string, value any) {
	if !s.loaded {
		s.h.logger.Error("socialauth: session write without a loaded session; wrap the handler with LoadAndSave", "key", key)
		return
	}
	v, ok := normalizeValue(value)
	if !ok {
		s.h.logger.Warn("socialauth: session value of unsupported type dropped", "key", key, "type", fmt.Sprintf("%T", value))
		return
	}
	s.h.sessions.Put(s.ctx(), key, v)
}

// SessionPop removes a session value and returns it.
func (s *httpStrategy) SessionPop(key string) (any, bool) {
	if !s.loaded || !s.h.sessions.Exists(s.ctx(), key) {
		return nil, false
	}
	return s.h.sessions.Pop(s.ctx(), key), true
}

// SessionRotate gives the session a new token, keeping its data (scs's
// RenewToken): the old token is deleted from the store now, the session is
// stored under the new one when the request commits.
func (s *httpStrategy) SessionRotate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.loaded {
		return ErrNoSession
	}
	return s.h.sessions.RenewToken(s.ctx())
}

// SessionFlush destroys the session (its data and its row in the store); a
// later write in the same request starts a fresh session with a new token.
func (s *httpStrategy) SessionFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.loaded {
		return ErrNoSession
	}
	return s.h.sessions.Destroy(s.ctx())
}

// AbsoluteURI joins path to the base URL, its path included
// (https://example.com/app + /x is https://example.com/app/x); an absolute
// http(s) URL is returned as is.
func (s *httpStrategy) AbsoluteURI(path string) string {
	lower := strings.ToLower(path)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		return path
	case strings.HasPrefix(path, "/"):
		return s.h.baseURL + path
	}
	return s.h.baseURL + "/" + path
}

// CallbackURL is the absolute URL of backend's complete route (see
// HTTP.CallbackURL).
func (s *httpStrategy) CallbackURL(backend string) string { return s.h.CallbackURL(backend) }

// normalizeValue converts value to one of the types SessionCodec stores.
func normalizeValue(value any) (any, bool) {
	switch v := value.(type) {
	case string, bool, int, int64, float64, time.Time:
		return v, true
	case int8:
		return int(v), true
	case int16:
		return int(v), true
	case int32:
		return int(v), true
	case uint8:
		return int(v), true
	case uint16:
		return int(v), true
	case uint32:
		return int64(v), true
	case float32:
		return float64(v), true
	case []string:
		return slices.Clone(v), true
	case map[string]string:
		return maps.Clone(v), true
	case []byte:
		return slices.Clone(v), true
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out = append(out, s)
		}
		return out, true
	case map[string]any:
		out := make(map[string]string, len(v))
		for k, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			out[k] = s
		}
		return out, true
	}
	return nil, false
}

// copyValue copies the mutable values (a caller changing a slice or map it
// got must not change the session behind scs's back).
func copyValue(v any) any {
	switch x := v.(type) {
	case []string:
		return slices.Clone(x)
	case map[string]string:
		return maps.Clone(x)
	case []byte:
		return slices.Clone(x)
	}
	return v
}
