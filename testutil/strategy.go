package testutil

import (
	"context"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// DefaultBaseURL is the public base URL of a Strategy built without one
// (Django's test client host).
const DefaultBaseURL = "http://testserver"

// Session is an in-memory session shared by the strategies of successive
// requests of one browser. Safe for concurrent use.
type Session struct {
	mu      sync.Mutex
	id      string
	values  map[string]any
	rotated int
	flushed int
}

// NewSession returns an empty session with a fresh id.
func NewSession() *Session {
	return &Session{id: socialauth.RandomString(32), values: map[string]any{}}
}

// ID returns the current session id.
func (s *Session) ID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id
}

// Rotate gives the session a new id and keeps its values.
func (s *Session) Rotate() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id = socialauth.RandomString(32)
	s.rotated++
}

// Flush removes every value and gives the session a new id.
func (s *Session) Flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id = socialauth.RandomString(32)
	s.values = map[string]any{}
	s.flushed++
}

// Rotations and Flushes count the calls of Rotate and Flush.
func (s *Session) Rotations() int { s.mu.Lock(); defer s.mu.Unlock(); return s.rotated }

// Flushes counts the calls of Flush.
func (s *Session) Flushes() int { s.mu.Lock(); defer s.mu.Unlock(); return s.flushed }

// Get returns a copy of a value.
func (s *Session) Get(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	return deepCopy(v), ok
}

// Set stores a copy of value.
func (s *Session) Set(key string, value any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.values[key] = deepCopy(value)
}

// Pop removes a value and returns it.
func (s *Session) Pop(key string) (any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.values[key]
	delete(s.values, key)
	return v, ok
}

// Values returns a copy of all values.
func (s *Session) Values() map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return deepCopyMap(s.values)
}

// StrategyOptions configure NewStrategy. Every field is optional.
type StrategyOptions struct {
	Settings   *settings.Settings // nil: no settings
	BaseURL    string             // public base URL; "" means DefaultBaseURL
	Logger     *slog.Logger       // nil: discard
	HTTPClient *http.Client       // nil: a new client with no timeout
	Session    *Session           // nil: a new session
}

// Strategy is a socialauth.Strategy for tests: settings from a
// *settings.Settings, an in-memory Session, and the request set with
// WithRequest or request data set with SetRequestData.
type Strategy struct {
	settings *settings.Settings
	baseURL  string
	logger   *slog.Logger
	client   *http.Client
	session  *Session

	mu      sync.Mutex
	req     *http.Request
	data    url.Values // set by SetRequestData, or parsed from req once
	hasData bool
}

var _ socialauth.Strategy = (*Strategy)(nil)

// NewStrategy returns a strategy with no request.
func NewStrategy(opts StrategyOptions) *Strategy {
	s := &Strategy{settings: opts.Settings, baseURL: opts.BaseURL, logger: opts.Logger,
		client: opts.HTTPClient, session: opts.Session}
	if s.settings == nil {
		s.settings = settings.New()
	}
	if s.baseURL == "" {
		s.baseURL = DefaultBaseURL
	}
	s.baseURL = strings.TrimRight(s.baseURL, "/")
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	if s.client == nil {
		s.client = &http.Client{}
	}
	if s.session == nil {
		s.session = NewSession()
	}
	return s
}

// WithRequest returns a strategy for the next request r: same settings,
// logger, client and session; request data read from r.
func (s *Strategy) WithRequest(r *http.Request) *Strategy {
	return &Strategy{settings: s.settings, baseURL: s.baseURL, logger: s.logger,
		client: s.client, session: s.session, req: r}
}

// SetRequestData replaces the request data (query and form) seen by
// RequestData.
func (s *Strategy) SetRequestData(v url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.data = cloneValues(v)
	s.hasData = true
}

// Session returns the strategy's session.
func (s *Strategy) Session() *Session { return s.session }

// Settings returns the settings.
func (s *Strategy) Settings() *settings.Settings { return s.settings }

// Logger returns the logger (never nil).
func (s *Strategy) Logger() *slog.Logger { return s.logger }

// Request returns the request given to WithRequest, or nil.
func (s *Strategy) Request() *http.Request { return s.req }

// RequestData returns a copy of the request data: the POST form values of
// each key first, then its query values; or what SetRequestData set.
func (s *Strategy) RequestData() url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.hasData {
		s.data = url.Values{}
		if s.req != nil {
			if s.req.PostForm == nil && s.req.Body != nil {
				_ = s.req.ParseForm() // a malformed body leaves the form empty
			}
			for k, vs := range s.req.PostForm {
				s.data[k] = append(s.data[k], vs...)
			}
			if s.req.URL != nil {
				for k, vs := range s.req.URL.Query() {
					s.data[k] = append(s.data[k], vs...)
				}
			}
		}
		s.hasData = true
	}
	return cloneValues(s.data)
}

// SessionGet returns a session value.
func (s *Strategy) SessionGet(key string) (any, bool) { return s.session.Get(key) }

// SessionSet stores a session value.
func (s *Strategy) SessionSet(key string, value any) { s.session.Set(key, value) }

// SessionPop removes a session value.
func (s *Strategy) SessionPop(key string) (any, bool) { return s.session.Pop(key) }

// SessionRotate rotates the session id.
func (s *Strategy) SessionRotate(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.session.Rotate()
	return nil
}

// SessionFlush empties the session.
func (s *Strategy) SessionFlush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.session.Flush()
	return nil
}

// AbsoluteURI joins path to the base URL (an absolute http(s) URL is kept),
// then, when the REDIRECT_IS_HTTPS setting is on, turns a leading http://
// into https:// (upstream replaces every "http://" in the string; only the
// scheme is rewritten here).
func (s *Strategy) AbsoluteURI(path string) string {
	var uri string
	switch {
	case strings.HasPrefix(path, "http://"), strings.HasPrefix(path, "https://"):
		uri = path
	case strings.HasPrefix(path, "/"):
		uri = s.baseURL + path
	default:
		uri = s.baseURL + "/" + path
	}
	if on, _ := s.settings.Bool("", "REDIRECT_IS_HTTPS", false); on && strings.HasPrefix(uri, "http://") {
		uri = "https://" + strings.TrimPrefix(uri, "http://")
	}
	return uri
}

// RandomString returns n characters of [A-Za-z0-9] from crypto/rand.
func (s *Strategy) RandomString(n int) string { return socialauth.RandomString(n) }

// HTTPClient returns the client for provider calls.
func (s *Strategy) HTTPClient() *http.Client { return s.client }

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return url.Values{}
	}
	out := make(url.Values, len(v))
	for k, vs := range maps.All(v) {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
