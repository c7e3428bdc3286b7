package testutil

import (
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
	settings settings.Map
	request  url.Values
	edit     []func(*socialauth.State)
}

// WithBackend sets the backend (default: a zero FakeBackend, named "fake").
func WithBackend(b socialauth.Backend) StateOption { return func(c *stateConfig) { c.backend = b } }

// WithStorage sets the storage (default: NewStore()).
func WithStorage(s socialauth.Storage) StateOption { return func(c *stateConfig) { c.store = s } }

// WithStrategy sets the strategy (default: NewStrategy with WithSettings' map).
func WithStrategy(s socialauth.Strategy) StateOption { return func(c *stateConfig) { c.strategy = s } }

// WithSettings gives the default strategy these settings; ignored when
// WithStrategy is used.
func WithSettings(m settings.Map) StateOption {
	return func(c *stateConfig) { c.settings = maps.Clone(m) }
}

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
// data, Logger from the strategy, Response and Details empty.
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
		s := NewStrategy(StrategyOptions{Settings: settings.New(c.settings)})
		if c.request != nil {
			s.SetRequestData(c.request)
		}
		c.strategy = s
	}
	st := &socialauth.State{
		Strategy: c.strategy,
		Backend:  c.backend,
		Storage:  c.store,
		Logger:   c.strategy.Logger(),
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
