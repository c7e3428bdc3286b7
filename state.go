package socialauth

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"sync"

	"github.com/socialauth-go/socialauth/settings"
)

// State is the one typed value a pipeline runs over: upstream's kwargs dict,
// with a field for each key the default steps share and Values for the rest.
type State struct {
	Strategy Strategy
	Backend  Backend
	// Storage is bound to the pipeline's transaction: steps write through it.
	Storage Storage
	Logger  *slog.Logger

	// Request is the request data of the current HTTP request. On a resumed
	// partial it is the new request's data; it never overwrites stored state.
	Request url.Values
	// Response is the provider response (token response merged with user data).
	Response map[string]any

	Details        Details
	UID            string
	User           *User // the user being logged in (or the logged-in user, on entry)
	Social         *UserSocialAuth
	IsNew          bool
	NewAssociation bool
	Username       string

	// Disconnect pipeline values.
	AssociationID int64
	Entries       []*UserSocialAuth

	// Values holds step-specific values. They must be JSON-safe (strings,
	// numbers, bools, nil, []any, map[string]any) to survive a partial.
	Values map[string]any

	// Index is the index of the running step in the pipeline.
	Index int

	partialToken string
}

// Get returns a step-specific value.
func (st *State) Get(key string) (any, bool) {
	v, ok := st.Values[key]
	return v, ok
}

// Set stores a step-specific value.
func (st *State) Set(key string, v any) {
	if st.Values == nil {
		st.Values = map[string]any{}
	}
	st.Values[key] = v
}

// PartialToken returns the token the partial will be saved under if the
// running partial step pauses, so the step can put it in a link or an email
// (upstream's current_partial.token).
func (st *State) PartialToken() string {
	if st.partialToken == "" {
		st.partialToken = RandomString(32)
	}
	return st.partialToken
}

// StepFunc is one pipeline step. It reads and updates st and returns:
//   - nil, nil to continue;
//   - a response to stop the pipeline and send it (a Partial step pauses:
//     its state is saved and the same step runs again on resume);
//   - an error (an *Error, usually) to fail the login.
type StepFunc func(ctx context.Context, st *State) (*Response, error)

// Step is a named pipeline step. Names are upstream's dotted paths
// (social_core.pipeline.social_auth.social_details) so that pipelines keep
// their Python configuration.
type Step struct {
	Name string
	// Func runs the step. A step that reads settings sets New instead.
	Func StepFunc
	// New, when set, builds the step's function for one backend from the
	// settings, once, when the Service is built: a malformed setting stops
	// start-up with an error naming it. It wins over Func.
	New func(backend string, s *settings.Settings) (StepFunc, error)
	// Partial makes a response pause the pipeline instead of ending it.
	Partial bool
}

// Steps is a per-instance registry of steps by name. Safe for concurrent use.
type Steps struct {
	mu    sync.RWMutex
	steps map[string]Step
}

// NewSteps returns an empty step registry; pipeline.NewSteps returns one with
// the default steps registered.
func NewSteps() *Steps { return &Steps{steps: map[string]Step{}} }

// Register adds or replaces steps by name.
func (r *Steps) Register(steps ...Step) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range steps {
		r.steps[s.Name] = s
	}
}

// Lookup returns the step registered under name.
func (r *Steps) Lookup(name string) (Step, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	s, ok := r.steps[name]
	return s, ok
}

// Names lists the registered step names, sorted.
func (r *Steps) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.steps))
	for n := range r.steps {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Resolve turns a list of step names into steps; an unknown name is an
// ImproperlyConfigured error naming it.
func (r *Steps) Resolve(names []string) ([]Step, error) {
	out := make([]Step, 0, len(names))
	r.mu.RLock()
	defer r.mu.RUnlock()
	for _, n := range names {
		s, ok := r.steps[n]
		if !ok {
			return nil, &Error{Code: CodeImproperlyConfigured, Msg: fmt.Sprintf("unknown pipeline step %q", n)}
		}
		out = append(out, s)
	}
	return out, nil
}

// Build resolves names and builds each step for backend from s (see
// Step.New). The steps returned have Func set and New nil.
func (r *Steps) Build(names []string, backend string, s *settings.Settings) ([]Step, error) {
	steps, err := r.Resolve(names)
	if err != nil {
		return nil, err
	}
	for i, step := range steps {
		if step.New == nil {
			continue
		}
		f, err := step.New(backend, s)
		if err != nil {
			return nil, &Error{Code: CodeImproperlyConfigured, Backend: backend, Msg: "pipeline step " + step.Name, Err: err}
		}
		steps[i].Func, steps[i].New = f, nil
	}
	for _, step := range steps {
		if step.Func == nil {
			return nil, &Error{Code: CodeImproperlyConfigured, Backend: backend, Msg: "pipeline step " + step.Name + " has no function"}
		}
	}
	return steps, nil
}

// DefaultAuthPipeline returns social-core's DEFAULT_AUTH_PIPELINE, by name.
func DefaultAuthPipeline() []string {
	return []string{
		"social_core.pipeline.social_auth.social_details",
		"social_core.pipeline.social_auth.social_uid",
		"social_core.pipeline.social_auth.auth_allowed",
		"social_core.pipeline.social_auth.social_user",
		"social_core.pipeline.user.get_username",
		"social_core.pipeline.user.create_user",
		"social_core.pipeline.social_auth.associate_user",
		"social_core.pipeline.social_auth.load_extra_data",
		"social_core.pipeline.user.user_details",
	}
}

// DefaultDisconnectPipeline returns social-core's DEFAULT_DISCONNECT_PIPELINE.
func DefaultDisconnectPipeline() []string {
	return []string{
		"social_core.pipeline.disconnect.allowed_to_disconnect",
		"social_core.pipeline.disconnect.get_entries",
		"social_core.pipeline.disconnect.revoke_tokens",
		"social_core.pipeline.disconnect.disconnect",
	}
}

// BackendName is the running backend's name ("" when none is set).
func (st *State) BackendName() string {
	if st.Backend == nil {
		return ""
	}
	return st.Backend.Name()
}

// Log is the logger for the running step: the state's, else one that
// discards.
func (st *State) Log() *slog.Logger {
	if st.Logger != nil {
		return st.Logger
	}
	return slog.New(slog.DiscardHandler)
}
