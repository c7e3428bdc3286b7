package socialauth

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth/internal/redirect"
	"github.com/socialauth-go/socialauth/signals"
)

// Session keys written by the actions.
const (
	// SessionUserID holds the id of the logged-in user (Django's key).
	SessionUserID = "_auth_user_id"
	// SessionUserBackend holds the backend the user logged in with.
	SessionUserBackend = "_auth_user_backend"
	// SessionLastLoginBackend is upstream's social_auth_last_login_backend.
	SessionLastLoginBackend = "social_auth_last_login_backend"
	// SessionPartialToken is upstream's partial_pipeline_token.
	SessionPartialToken = "partial_pipeline_token"
	// SessionPartialBinding is a per-session random value a partial must
	// carry to be resumed in this session.
	SessionPartialBinding = "partial_pipeline_binding"
	// RedirectFieldName is the request parameter and session key of the
	// post-login destination.
	RedirectFieldName = "next"
	// PartialTokenParam is the request parameter that names a partial.
	PartialTokenParam = "partial_token"
)

// AuthCompleted is the payload of the auth_complete signal, sent after every
// completed login.
type AuthCompleted struct {
	Backend string
	User    *User
	// State is the pipeline's final state (details, uid, social, is_new …).
	State *State
}

// Options configure a Service.
type Options struct {
	Storage  Storage   // required
	Backends *Registry // required
	Steps    *Steps    // required: pipeline.NewSteps() has the defaults
	Logger   *slog.Logger
	Now      func() time.Time
}

// Service runs the actions of a login (Begin, Complete, Disconnect, Logout)
// for one app instance: its storage, backends, pipeline steps and signals.
// It holds no request state and is safe for concurrent use.
type Service struct {
	storage      Storage
	backends     *Registry
	steps        *Steps
	logger       *slog.Logger
	now          func() time.Time
	authComplete *signals.Signal[AuthCompleted]
}

// New builds a Service.
func New(opts Options) (*Service, error) {
	if opts.Storage == nil || opts.Backends == nil || opts.Steps == nil {
		return nil, &Error{Code: CodeImproperlyConfigured, Msg: "Options.Storage, Backends and Steps are required"}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Service{
		storage:      opts.Storage,
		backends:     opts.Backends,
		steps:        opts.Steps,
		logger:       logger,
		now:          now,
		authComplete: signals.New[AuthCompleted]("auth_complete", logger),
	}, nil
}

// AuthComplete is the auth_complete signal: connect a receiver to hear of
// every completed login. A receiver's error or panic never breaks the login.
func (s *Service) AuthComplete() *signals.Signal[AuthCompleted] { return s.authComplete }

// Backends returns the registry.
func (s *Service) Backends() *Registry { return s.backends }

// Storage returns the store.
func (s *Service) Storage() Storage { return s.storage }

// Steps returns the step registry.
func (s *Service) Steps() *Steps { return s.steps }

// Logger returns the service's logger.
func (s *Service) Logger() *slog.Logger { return s.logger }

// CurrentUser returns the logged-in, active user of the session, or nil.
func (s *Service) CurrentUser(ctx context.Context, st Strategy) (*User, error) {
	v, ok := st.SessionGet(SessionUserID)
	if !ok {
		return nil, nil
	}
	id, _ := v.(string)
	if id == "" {
		return nil, nil
	}
	u, err := s.storage.GetUser(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if !u.IsActive {
		return nil, nil
	}
	return u, nil
}

// Begin starts a login with the named backend (upstream's do_auth): it keeps
// FIELDS_STORED_IN_SESSION and the sanitized `next` in the session and
// returns the backend's redirect to the provider.
func (s *Service) Begin(ctx context.Context, st Strategy, backendName string) (*Response, error) {
	b, err := s.backends.Lookup(backendName)
	if err != nil {
		return nil, err
	}
	cfg := st.Settings()
	data := st.RequestData()
	fields, err := cfg.StringList(backendName, "FIELDS_STORED_IN_SESSION", nil)
	if err != nil {
		return nil, configError(backendName, err)
	}
	for _, f := range fields {
		if vs, ok := data[f]; ok && len(vs) > 0 {
			st.SessionSet(f, vs[0])
		} else {
			st.SessionPop(f)
		}
	}
	if next := data.Get(RedirectFieldName); next != "" {
		if clean, ok := s.sanitize(st, backendName, next); ok {
			st.SessionSet(RedirectFieldName, clean)
		} else {
			st.SessionPop(RedirectFieldName)
			st.Logger().Info("socialauth: unsafe next dropped", "backend", backendName)
		}
	} else {
		st.SessionPop(RedirectFieldName)
	}
	return b.Start(ctx, st)
}

// Complete finishes a login (upstream's do_complete): it resumes a partial
// pipeline this session owns, else lets the backend complete the callback;
// runs the pipeline in one storage transaction; logs the user in (new
// session id), sends auth_complete and redirects to NEW_USER_REDIRECT_URL,
// the sanitized `next` or LOGIN_REDIRECT_URL.
//
// On any error nothing is written but the consumption of the single-use
// state or partial, and the session is not authenticated.
func (s *Service) Complete(ctx context.Context, st Strategy, backendName string) (*Response, error) {
	b, err := s.backends.Lookup(backendName)
	if err != nil {
		return nil, err
	}
	loggedIn, err := s.CurrentUser(ctx, st)
	if err != nil {
		return nil, err
	}
	names, err := st.Settings().StringList(backendName, "PIPELINE", DefaultAuthPipeline())
	if err != nil {
		return nil, configError(backendName, err)
	}
	steps, err := s.steps.Resolve(names)
	if err != nil {
		return nil, err
	}

	start, resumed, err := s.resumePartial(ctx, st, b, loggedIn)
	if err != nil {
		return nil, err
	}
	var state *State
	if resumed != nil {
		state = resumed
	} else {
		response, err := b.Complete(ctx, st)
		if err != nil {
			return nil, err
		}
		state = &State{Response: response, User: loggedIn}
	}
	state.Strategy, state.Backend, state.Logger = st, b, st.Logger()
	state.Request = st.RequestData()
	if state.Details == nil {
		state.Details = Details{}
	}

	final, resp, err := s.runInTransaction(ctx, state, steps, start)
	if err != nil {
		return nil, err
	}
	if resp != nil {
		return resp, nil
	}
	return s.login(ctx, st, b, loggedIn, final)
}

// login ends a successful pipeline: the session becomes authenticated and
// the browser is sent on.
func (s *Service) login(ctx context.Context, st Strategy, b Backend, loggedIn *User, final *State) (*Response, error) {
	name := b.Name()
	cfg := st.Settings()
	user := final.User
	if user == nil {
		return nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "the pipeline returned no user"}
	}
	if !user.IsActive {
		allow, err := cfg.Bool("", "ALLOW_INACTIVE_USERS_LOGIN", false)
		if err != nil {
			return nil, configError(name, err)
		}
		if !allow {
			if u, _ := cfg.String(name, "INACTIVE_USER_URL", ""); u != "" {
				if clean, ok := s.sanitize(st, name, u); ok {
					return Redirect(clean), nil
				}
			}
			return nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "inactive user"}
		}
	}
	if err := st.SessionRotate(ctx); err != nil {
		return nil, err
	}
	st.SessionSet(SessionUserID, user.ID)
	st.SessionSet(SessionUserBackend, name)
	st.SessionSet(SessionLastLoginBackend, name)
	s.authComplete.Send(ctx, name, AuthCompleted{Backend: name, User: user, State: final})

	next, _ := st.SessionPop(RedirectFieldName)
	redirectValue, _ := next.(string)
	var candidates []string
	switch {
	case loggedIn != nil:
		candidates = []string{redirectValue, s.setting(st, name, "NEW_ASSOCIATION_REDIRECT_URL"), s.setting(st, name, "LOGIN_REDIRECT_URL")}
	case final.IsNew:
		candidates = []string{s.setting(st, name, "NEW_USER_REDIRECT_URL"), redirectValue, s.setting(st, name, "LOGIN_REDIRECT_URL")}
	default:
		candidates = []string{redirectValue, s.setting(st, name, "LOGIN_REDIRECT_URL")}
	}
	target := ""
	for _, c := range candidates {
		if c != "" {
			target = c
			break
		}
	}
	if redirectValue != "" && target != redirectValue {
		target = addQuery(target, RedirectFieldName, redirectValue)
	}
	if clean, ok := s.sanitize(st, name, target); ok {
		return Redirect(clean), nil
	}
	if clean, ok := s.sanitize(st, name, s.setting(st, name, "LOGIN_REDIRECT_URL")); ok {
		return Redirect(clean), nil
	}
	return Redirect("/"), nil
}

// Disconnect removes the logged-in user's association(s) with a backend
// (upstream's do_disconnect): all of them, or only associationID when it is
// not 0. It refuses to remove the user's last way to log in.
func (s *Service) Disconnect(ctx context.Context, st Strategy, backendName string, associationID int64) (*Response, error) {
	b, err := s.backends.Lookup(backendName)
	if err != nil {
		return nil, err
	}
	user, err := s.CurrentUser(ctx, st)
	if err != nil {
		return nil, err
	}
	if user == nil {
		return nil, &Error{Code: CodeAuthForbidden, Backend: backendName, Msg: "login required"}
	}
	names, err := st.Settings().StringList(backendName, "DISCONNECT_PIPELINE", DefaultDisconnectPipeline())
	if err != nil {
		return nil, configError(backendName, err)
	}
	steps, err := s.steps.Resolve(names)
	if err != nil {
		return nil, err
	}
	state := &State{Strategy: st, Backend: b, Logger: st.Logger(), Request: st.RequestData(),
		User: user, AssociationID: associationID, Details: Details{}}
	_, resp, err := s.runInTransaction(ctx, state, steps, 0)
	if err != nil {
		return nil, err
	}
	if resp != nil {
		return resp, nil
	}
	for _, c := range []string{st.RequestData().Get(RedirectFieldName), s.setting(st, backendName, "DISCONNECT_REDIRECT_URL"), s.setting(st, backendName, "LOGIN_REDIRECT_URL")} {
		if c == "" {
			continue
		}
		if clean, ok := s.sanitize(st, backendName, c); ok {
			return Redirect(clean), nil
		}
	}
	return Redirect("/"), nil
}

// Logout ends the session: any partial pipeline it owns is dropped and the
// session is flushed (a new, empty session follows).
func (s *Service) Logout(ctx context.Context, st Strategy) error {
	if v, ok := st.SessionPop(SessionPartialToken); ok {
		if tok, _ := v.(string); tok != "" {
			if _, err := s.storage.DeletePartial(ctx, tok); err != nil {
				st.Logger().Warn("socialauth: dropping partial at logout failed", "error", err)
			}
		}
	}
	return st.SessionFlush(ctx)
}

// setting reads a string setting, treating a malformed value as unset (it is
// logged: the URL settings must not break a login that already succeeded).
func (s *Service) setting(st Strategy, backend, name string) string {
	v, err := st.Settings().String(backend, name, "")
	if err != nil {
		st.Logger().Warn("socialauth: malformed setting", "setting", name, "error", err)
		return ""
	}
	return v
}

// sanitize applies the one redirect policy: same-origin paths, or absolute
// URLs on the app's own public host or ALLOWED_REDIRECT_HOSTS.
func (s *Service) sanitize(st Strategy, backend, target string) (string, bool) {
	if target == "" {
		return "", false
	}
	cfg := st.Settings()
	if on, err := cfg.Bool(backend, "SANITIZE_REDIRECTS", true); err == nil && !on {
		return target, true
	}
	hosts, _ := cfg.StringList(backend, "ALLOWED_REDIRECT_HOSTS", nil)
	if u, err := url.Parse(st.AbsoluteURI("/")); err == nil && u.Host != "" {
		hosts = append(hosts, u.Host)
	}
	schemes, _ := cfg.StringList(backend, "ALLOWED_REDIRECT_SCHEMES", nil)
	clean, err := redirect.Policy{AllowedHosts: hosts, AllowedSchemes: schemes}.Sanitize(target)
	if err != nil {
		return "", false
	}
	return clean, true
}

func addQuery(target, key, value string) string {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + key + "=" + url.QueryEscape(value)
}

func configError(backend string, err error) error {
	return &Error{Code: CodeImproperlyConfigured, Backend: backend, Err: err}
}
