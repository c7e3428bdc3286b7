// Package strategies holds the Strategy implementations: the net/http
// strategy (sessions through github.com/alexedwards/scs/v2) and the edX
// strategy defaults.
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
	"github.com/socialauth-go/socialauth/internal/sessionrotate"
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
	// DefaultHTTPTimeout is the timeout of the HTTP client used when
	// HTTPConfig.HTTPClient is nil (backends apply their own timeout too).
	DefaultHTTPTimeout = 10 * time.Second
)

// ErrNoSession is returned by SessionRotate and SessionFlush when the
// request's context carries no scs session: the handler was not wrapped by
// SessionManager.LoadAndSave. It is an ImproperlyConfigured error.
var ErrNoSession = &socialauth.Error{Code: socialauth.CodeImproperlyConfigured,
	Msg: "no session in the request context: wrap the handler with SessionManager.LoadAndSave"}

// HTTPConfig configures the net/http strategy.
type HTTPConfig struct {
	// Sessions is the session manager (required). NewSessionManager builds
	// one with the right cookie settings and codec.
	Sessions *scs.SessionManager
	// Settings are the app's settings (nil: none).
	Settings *settings.Settings
	// BaseURL is the public base URL of the service, such as
	// http://127.0.0.1:8000 (required). Absolute URIs (the OAuth redirect_uri,
	// the host of the redirect allow-list) come from it, never from the
	// request's Host header.
	BaseURL string
	// Logger receives the strategy's logs (nil: discarded).
	Logger *slog.Logger
	// HTTPClient is the client for calls to providers (nil: a client with
	// DefaultHTTPTimeout).
	HTTPClient *http.Client
}

// HTTP is the net/http strategy factory: one per app instance, safe for
// concurrent use. Strategy(r) gives the per-request socialauth.Strategy.
type HTTP struct {
	sessions *scs.SessionManager
	settings *settings.Settings
	baseURL  string // scheme://host[:port], no trailing slash
	logger   *slog.Logger
	client   *http.Client
}

// NewHTTP validates cfg and returns the strategy factory.
//
// BaseURL must be an absolute http or https URL with a host and no path (a
// lone "/" is allowed), query, fragment or userinfo. Sessions must not use
// scs's default gob codec, which cannot store the map[string]string values
// the OAuth2 backends keep in the session: use NewSessionManager, or set
// Codec to SessionCodec{}.
func NewHTTP(cfg HTTPConfig) (*HTTP, error) {
	if cfg.Sessions == nil {
		return nil, configErr("HTTPConfig.Sessions is required")
	}
	switch cfg.Sessions.Codec.(type) {
	case scs.GobCodec, *scs.GobCodec:
		return nil, configErr("HTTPConfig.Sessions uses scs.GobCodec, which cannot store map[string]string values: use strategies.NewSessionManager or Codec: strategies.SessionCodec{}")
	case nil:
		return nil, configErr("HTTPConfig.Sessions has no Codec: use strategies.NewSessionManager")
	}
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	h := &HTTP{sessions: cfg.Sessions, settings: cfg.Settings, baseURL: base, logger: cfg.Logger, client: cfg.HTTPClient}
	if h.settings == nil {
		h.settings = settings.New()
	}
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.client == nil {
		h.client = &http.Client{Timeout: DefaultHTTPTimeout}
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
	case u.Path != "" && u.Path != "/", u.RawPath != "":
		return "", bad("must not have a path (mount routes with a prefix instead)")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#"):
		return "", bad("must not have a query or fragment")
	}
	for _, c := range u.Port() {
		if c < '0' || c > '9' {
			return "", bad("has a malformed port")
		}
	}
	return u.Scheme + "://" + u.Host, nil
}

// NewSessionManager returns an scs session manager configured for sign-in:
// cookie "sessionid", HttpOnly, SameSite=Lax (the provider's callback is a
// top-level GET navigation, which Lax lets through), Secure when secure is
// true (pass the REDIRECT_IS_HTTPS setting), path "/", a
// DefaultSessionLifetime absolute lifetime, a DefaultSessionIdleTimeout idle
// timeout, and the SessionCodec. store is the session store, such as the
// GORM store's SessionStore() or scs's memstore in tests.
func NewSessionManager(store scs.Store, secure bool) *scs.SessionManager {
	m := scs.New()
	m.Store = store
	m.Codec = SessionCodec{}
	m.Lifetime = DefaultSessionLifetime
	m.IdleTimeout = DefaultSessionIdleTimeout
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

// Settings returns the app's settings.
func (h *HTTP) Settings() *settings.Settings { return h.settings }

// BaseURL returns the normalised public base URL (scheme://host[:port]).
func (h *HTTP) BaseURL() string { return h.baseURL }

// Strategy returns the strategy of one request. Its session is the scs
// session loaded into r's context, so the handler serving r must be wrapped
// by Sessions().LoadAndSave (package views does it when given the manager).
// Without one, session reads find nothing, writes are dropped with an error
// log, and SessionRotate and SessionFlush return ErrNoSession.
func (h *HTTP) Strategy(r *http.Request) socialauth.Strategy {
	return &httpStrategy{h: h, req: r, loaded: sessionLoaded(h.sessions, r.Context())}
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

// Settings returns the app's settings.
func (s *httpStrategy) Settings() *settings.Settings { return s.h.settings }

// Logger returns the logger (never nil).
func (s *httpStrategy) Logger() *slog.Logger { return s.h.logger }

// Request returns the request being served.
func (s *httpStrategy) Request() *http.Request { return s.req }

// HTTPClient returns the client for provider calls.
func (s *httpStrategy) HTTPClient() *http.Client { return s.h.client }

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

// SessionRotate gives the session a new token, keeping its data; the old
// token is deleted from the store. Under the views, a store that supports it
// (storage.SessionStore) deletes the old token in the same write that
// commits the new one, at the end of the request.
func (s *httpStrategy) SessionRotate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if !s.loaded {
		return ErrNoSession
	}
	rot := sessionrotate.From(s.ctx())
	rot.Arm()
	defer rot.Disarm()
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

// AbsoluteURI joins path to the configured base URL (an absolute http(s)
// URL is returned as is); with REDIRECT_IS_HTTPS on, an http:// scheme
// becomes https://.
func (s *httpStrategy) AbsoluteURI(path string) string {
	var uri string
	lower := strings.ToLower(path)
	switch {
	case strings.HasPrefix(lower, "http://"), strings.HasPrefix(lower, "https://"):
		uri = path
	case strings.HasPrefix(path, "/"):
		uri = s.h.baseURL + path
	default:
		uri = s.h.baseURL + "/" + path
	}
	on, err := s.h.settings.Bool("", "REDIRECT_IS_HTTPS", false)
	if err != nil {
		s.h.logger.Warn("socialauth: malformed setting", "setting", "REDIRECT_IS_HTTPS", "error", err)
	}
	if on && strings.HasPrefix(strings.ToLower(uri), "http://") {
		uri = "https://" + uri[len("http://"):]
	}
	return uri
}

// RandomString returns n characters of [A-Za-z0-9] from crypto/rand.
func (s *httpStrategy) RandomString(n int) string { return socialauth.RandomString(n) }

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
