package testutil

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/socialauth-go/socialauth"
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
	BaseURL string   // public base URL; "" means DefaultBaseURL
	Prefix  string   // where the routes are mounted ("" or a path such as /auth)
	Session *Session // nil: a new session
}

// Strategy is a socialauth.Strategy for tests: an in-memory Session, and the
// request set with WithRequest or request data set with SetRequestData.
type Strategy struct {
	baseURL string
	prefix  string
	session *Session

	mu      sync.Mutex
	req     *http.Request
	data    url.Values // set by SetRequestData, or parsed from req once
	hasData bool
}

var _ socialauth.Strategy = (*Strategy)(nil)

// NewStrategy returns a strategy with no request.
func NewStrategy(opts StrategyOptions) *Strategy {
	s := &Strategy{baseURL: opts.BaseURL, prefix: strings.TrimRight(opts.Prefix, "/"), session: opts.Session}
	if s.baseURL == "" {
		s.baseURL = DefaultBaseURL
	}
	s.baseURL = strings.TrimRight(s.baseURL, "/")
	if s.session == nil {
		s.session = NewSession()
	}
	return s
}

// WithRequest returns a strategy for the next request r: same base URL,
// prefix and session; request data read from r.
func (s *Strategy) WithRequest(r *http.Request) *Strategy {
	return &Strategy{baseURL: s.baseURL, prefix: s.prefix, session: s.session, req: r}
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

// AbsoluteURI joins path to the base URL (an absolute http(s) URL is kept).
func (s *Strategy) AbsoluteURI(path string) string {
	switch {
	case strings.HasPrefix(path, "http://"), strings.HasPrefix(path, "https://"):
		return path
	case strings.HasPrefix(path, "/"):
		return s.baseURL + path
	}
	return s.baseURL + "/" + path
}

// CallbackURL is {base URL}{prefix}/complete/{backend}/.
func (s *Strategy) CallbackURL(backend string) string {
	return s.baseURL + s.prefix + "/complete/" + url.PathEscape(backend) + "/"
}

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
