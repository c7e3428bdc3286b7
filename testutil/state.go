package testutil

import (
	"log/slog"
	"maps"
	"net/url"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// StateOption configures NewState.
type StateOption func(*stateConfig)

type stateConfig struct {
	backend  socialauth.Backend
	store    socialauth.Storage
	strategy socialauth.Strategy
	logger   *slog.Logger
	request  url.Values
	edit     []func(*socialauth.State)
}

// WithBackend sets the backend (default: a zero FakeBackend, named "fake").
func WithBackend(b socialauth.Backend) StateOption { return func(c *stateConfig) { c.backend = b } }

// WithStorage sets the storage (default: NewStore()).
func WithStorage(s socialauth.Storage) StateOption { return func(c *stateConfig) { c.store = s } }

// WithStrategy sets the strategy (default: NewStrategy).
func WithStrategy(s socialauth.Strategy) StateOption { return func(c *stateConfig) { c.strategy = s } }

// WithLogger sets State.Logger (default: one that discards).
func WithLogger(l *slog.Logger) StateOption { return func(c *stateConfig) { c.logger = l } }

// WithRequestData sets the request data, on the default strategy as well as
// on State.Request.
func WithRequestData(v url.Values) StateOption {
	return func(c *stateConfig) { c.request = cloneValues(v) }
}

// WithResponse sets State.Response.
func WithResponse(r map[string]any) StateOption {
	return edit(func(st *socialauth.State) { st.Response = deepCopyMap(r) })
}

// WithDetails sets State.Details.
func WithDetails(d socialauth.Details) StateOption {
	return edit(func(st *socialauth.State) { st.Details = socialauth.Details(deepCopyMap(d)) })
}

// WithUID sets State.UID.
func WithUID(uid string) StateOption { return edit(func(st *socialauth.State) { st.UID = uid }) }

// WithUser sets State.User (a copy).
func WithUser(u *socialauth.User) StateOption {
	return edit(func(st *socialauth.State) { st.User = u.Clone() })
}

// WithSocial sets State.Social (a copy).
func WithSocial(sa *socialauth.UserSocialAuth) StateOption {
	return edit(func(st *socialauth.State) {
		if sa != nil {
			st.Social = cloneSocial(sa)
		}
	})
}

// WithState applies f to the built state (for any other field).
func WithState(f func(*socialauth.State)) StateOption { return edit(f) }

func edit(f func(*socialauth.State)) StateOption {
	return func(c *stateConfig) { c.edit = append(c.edit, f) }
}

// NewState builds a pipeline state for step tests: a FakeBackend, a MemStore
// and a test Strategy unless given, Request set from the strategy's request
// data, Response and Details empty.
func NewState(t testing.TB, opts ...StateOption) *socialauth.State {
	t.Helper()
	var c stateConfig
	for _, o := range opts {
		o(&c)
	}
	if c.backend == nil {
		c.backend = &FakeBackend{}
	}
	if c.store == nil {
		c.store = NewStore()
	}
	if c.strategy == nil {
		s := NewStrategy(StrategyOptions{})
		if c.request != nil {
			s.SetRequestData(c.request)
		}
		c.strategy = s
	}
	st := &socialauth.State{
		Strategy: c.strategy,
		Backend:  c.backend,
		Storage:  c.store,
		Logger:   c.logger,
		Request:  c.strategy.RequestData(),
		Response: map[string]any{},
		Details:  socialauth.Details{},
	}
	if c.request != nil {
		st.Request = cloneValues(c.request)
	}
	for _, f := range c.edit {
		f(st)
	}
	return st
}

// BuildStep builds step for backend with the settings m, as a Service does
// once at construction (Step.New), failing the test on error. A step
// without New is returned as it is.
func BuildStep(t testing.TB, step socialauth.Step, backend string, m settings.Map) socialauth.StepFunc {
	t.Helper()
	if step.New == nil {
		return step.Func
	}
	f, err := step.New(backend, settings.New(maps.Clone(m)))
	if err != nil {
		t.Fatalf("building step %s: %v", step.Name, err)
	}
	return f
}
