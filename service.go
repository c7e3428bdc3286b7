package socialauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth/internal/redirect"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/signals"
)

// Session keys written by the actions.
const (
	// SessionUserID holds the id of the logged-in user (Django's key).
	SessionUserID = "_auth_user_id"
	// SessionUserBackend holds the backend the user logged in with.
	SessionUserBackend = "_auth_user_backend"
	// SessionProviderSID holds the provider's session id of the sign-in (an
	// OpenID Connect ID token's sid claim), which back-channel logout names.
	SessionProviderSID = "_auth_provider_sid"
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
	Backends []Backend // required: the backends served, one per name
	Steps    *Steps    // required: pipeline.NewSteps() has the defaults
	// Settings are read once, in New, for each backend: ConfigFrom, and the
	// settings of every step of its pipelines (nil: no settings).
	Settings *settings.Settings
	// Configs, when it has an entry for a backend, is that backend's Config
	// in code; the settings are then not read for it (steps still are).
	Configs map[string]Config
	Logger  *slog.Logger
	Now     func() time.Time
}

// Service runs the actions of a login (Begin, Complete, Disconnect, Logout)
// for one app instance: its storage, backends, pipeline steps and signals.
// Its configuration is read and checked once, by New. It holds no request
// state and is safe for concurrent use. A multi-tenant app builds one
// Service per tenant and picks one per request.
type Service struct {
	storage      Storage
	served       map[string]*served
	names        []string // sorted
	logger       *slog.Logger
	now          func() time.Time
	authComplete *signals.Signal[AuthCompleted]
}

// served is one backend with its configuration and built pipelines.
type served struct {
	backend    Backend
	cfg        Config
	pipeline   []Step
	disconnect []Step
}

// New builds a Service. It reads the configuration of every registered
// backend and builds its pipelines: a malformed setting or an unknown step
// name is an ImproperlyConfigured error naming it.
func New(opts Options) (*Service, error) {
	if opts.Storage == nil || len(opts.Backends) == 0 || opts.Steps == nil {
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
	s := &Service{
		storage:      opts.Storage,
		served:       map[string]*served{},
		logger:       logger,
		now:          now,
		authComplete: signals.New[AuthCompleted]("auth_complete", logger),
	}
	var errs []error
	for _, b := range opts.Backends {
		name := b.Name()
		if _, dup := s.served[name]; dup || name == "" {
			errs = append(errs, &Error{Code: CodeImproperlyConfigured, Backend: name,
				Msg: "Options.Backends: every backend needs a name of its own"})
			continue
		}
		if !validBackendName(name) {
			errs = append(errs, &Error{Code: CodeImproperlyConfigured, Backend: name,
				Msg: fmt.Sprintf("Options.Backends: a backend name is at most %d letters, digits, '-', '_' or '.' (it is stored in the provider column and is a URL path segment)", MaxBackendNameLength)})
			s.served[name] = nil
			continue
		}
		sv, err := build(b, opts)
		if err != nil {
			errs = append(errs, err)
			s.served[name] = nil
			continue
		}
		s.served[name] = sv
		s.names = append(s.names, name)
	}
	slices.Sort(s.names)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

func build(b Backend, opts Options) (*served, error) {
	name := b.Name()
	cfg, ok := opts.Configs[name]
	if !ok {
		var err error
		if cfg, err = ConfigFrom(opts.Settings, name); err != nil {
			return nil, err
		}
	}
	if cfg.PartialPipelineTTL <= 0 {
		cfg.PartialPipelineTTL = DefaultPartialTTL
	}
	if err := unknownSteps(opts, name, ok, cfg); err != nil {
		return nil, err
	}
	pipeline, err := opts.Steps.Build(cfg.Pipeline, name, opts.Settings)
	if err != nil {
		return nil, withBackend(err, name)
	}
	disconnect, err := opts.Steps.Build(cfg.DisconnectPipeline, name, opts.Settings)
	if err != nil {
		return nil, withBackend(err, name)
	}
	return &served{backend: b, cfg: cfg, pipeline: pipeline, disconnect: disconnect}, nil
}

// unknownSteps reports every step name of cfg's pipelines that opts.Steps
// does not know, naming the setting that listed it (or the Config field,
// for a Config given in code).
func unknownSteps(opts Options, name string, inCode bool, cfg Config) error {
	r := opts.Settings.Reader(name)
	for _, p := range []struct {
		setting, field string
		names          []string
	}{
		{"PIPELINE", "Pipeline", cfg.Pipeline},
		{"DISCONNECT_PIPELINE", "DisconnectPipeline", cfg.DisconnectPipeline},
	} {
		for _, step := range p.names {
			if _, known := opts.Steps.Lookup(step); known {
				continue
			}
			if inCode {
				return &Error{Code: CodeImproperlyConfigured, Backend: name,
					Msg: fmt.Sprintf("Options.Configs[%q].%s names an unknown step %q", name, p.field, step)}
			}
			r.Invalid(p.setting, fmt.Sprintf("names an unknown pipeline step %q", step))
		}
	}
	if err := r.Err(); err != nil {
		return configError(name, err)
	}
	return nil
}

func withBackend(err error, name string) error {
	var e *Error
	if errors.As(err, &e) && e.Backend == "" {
		c := *e
		c.Backend = name
		return &c
	}
	return err
}

// lookup returns what the service serves under name (MissingBackend).
func (s *Service) lookup(name string) (*served, error) {
	sv := s.served[name]
	if sv == nil {
		return nil, &Error{Code: CodeMissingBackend, Backend: name}
	}
	return sv, nil
}

// Backend returns the backend the service serves under name.
func (s *Service) Backend(name string) (Backend, bool) {
	if sv := s.served[name]; sv != nil {
		return sv.backend, true
	}
	return nil, false
}

// BackendNames lists the names of the backends served, sorted (for a
// sign-in page).
func (s *Service) BackendNames() []string { return slices.Clone(s.names) }

// Config returns the configuration the service uses for backend.
func (s *Service) Config(backend string) (Config, bool) {
	sv := s.served[backend]
	if sv == nil {
		return Config{}, false
	}
	return sv.cfg, true
}

// AuthComplete is the auth_complete signal: connect a receiver to hear of
// every completed login. A receiver's error or panic never breaks the login.
func (s *Service) AuthComplete() *signals.Signal[AuthCompleted] { return s.authComplete }

// Storage returns the store.
func (s *Service) Storage() Storage { return s.storage }

// Logger returns the service's logger.
func (s *Service) Logger() *slog.Logger { return s.logger }

// CurrentUser returns the logged-in, active user of the session, or nil.
func (s *Service) CurrentUser(ctx context.Context, st Strategy) (*User, error) {
	id := sessionUserID(st)
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

// CurrentUserWithSocialAuths is CurrentUser with the user's associations,
// ordered by id, for a page that shows them: one query when the Storage is
// a UserSocialAuthsGetter, else GetUser then GetSocialAuthsForUser. A nil
// user (anonymous, or no longer active) comes with no associations.
func (s *Service) CurrentUserWithSocialAuths(ctx context.Context, st Strategy) (*User, []*UserSocialAuth, error) {
	id := sessionUserID(st)
	if id == "" {
		return nil, nil, nil
	}
	if g, ok := s.storage.(UserSocialAuthsGetter); ok {
		u, socials, err := g.GetUserWithSocialAuths(ctx, id)
		if errors.Is(err, ErrNotFound) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, err
		}
		return u, socials, nil
	}
	u, err := s.CurrentUser(ctx, st)
	if err != nil || u == nil {
		return nil, nil, err
	}
	socials, err := s.storage.GetSocialAuthsForUser(ctx, u.ID, "", 0)
	if err != nil {
		return nil, nil, err
	}
	return u, socials, nil
}

// sessionUserID is the id of the user signed in to the session ("" when
// none).
func sessionUserID(st Strategy) string {
	v, _ := st.SessionGet(SessionUserID)
	id, _ := v.(string)
	return id
}

// Begin starts a login with the named backend (upstream's do_auth): it keeps
// FIELDS_STORED_IN_SESSION and the sanitized `next` in the session and
// returns the backend's redirect to the provider.
func (s *Service) Begin(ctx context.Context, st Strategy, backendName string) (*Response, error) {
	sv, err := s.lookup(backendName)
	if err != nil {
		return nil, err
	}
	data := st.RequestData()
	for _, f := range sv.cfg.FieldsStoredInSession {
		if vs, ok := data[f]; ok && len(vs) > 0 {
			st.SessionSet(f, vs[0])
		} else {
			st.SessionPop(f)
		}
	}
	if next := data.Get(RedirectFieldName); next != "" {
		if clean, ok := s.sanitize(st, sv, next); ok {
			st.SessionSet(RedirectFieldName, clean)
		} else {
			st.SessionPop(RedirectFieldName)
			s.logger.InfoContext(ctx, "socialauth: unsafe next dropped", "backend", backendName)
		}
	} else {
		st.SessionPop(RedirectFieldName)
	}
	return sv.backend.Start(ctx, st)
}

// Complete finishes a login (upstream's do_complete): it resumes a partial
// pipeline this session owns, else lets the backend complete the callback;
// runs the pipeline in one storage transaction (run again from the same
// state, in a new transaction, once after a unique-key collision and up to
// three runs in all when the database aborts it on a conflict, ErrConflict);
// logs the user in (new
// session id), sends auth_complete and redirects to NEW_USER_REDIRECT_URL,
// the sanitized `next` or LOGIN_REDIRECT_URL.
//
// On any error nothing is written but the consumption of the single-use
// state or partial, and the session is not authenticated.
func (s *Service) Complete(ctx context.Context, st Strategy, backendName string) (*Response, error) {
	sv, err := s.lookup(backendName)
	if err != nil {
		return nil, err
	}
	loggedIn, err := s.CurrentUser(ctx, st)
	if err != nil {
		return nil, err
	}
	if r, ok := sv.backend.(SessionReplacer); ok && r.ReplacesSessionUser() {
		loggedIn = nil // a fresh sign-in: never an account connected to the session's user
	}
	start, resumed, err := s.resumePartial(ctx, st, sv, loggedIn)
	if err != nil {
		return nil, err
	}
	var state *State
	if resumed != nil {
		state = resumed
	} else {
		response, err := sv.backend.Complete(ctx, st)
		if err != nil {
			return nil, err
		}
		s.dropAbandonedPartial(ctx, st)
		state = &State{Response: response, User: loggedIn}
	}
	state.Strategy, state.Backend, state.Logger = st, sv.backend, s.logger
	state.Request = st.RequestData()
	if state.Details == nil {
		state.Details = Details{}
	}

	final, resp, err := s.runInTransaction(ctx, state, sv.pipeline, start)
	if err != nil {
		return nil, err
	}
	if resp != nil {
		return resp, nil
	}
	return s.login(ctx, st, sv, loggedIn, final)
}

// login ends a successful pipeline: the session becomes authenticated and
// the browser is sent on.
func (s *Service) login(ctx context.Context, st Strategy, sv *served, loggedIn *User, final *State) (*Response, error) {
	name := sv.backend.Name()
	cfg := &sv.cfg
	user := final.User
	if user == nil {
		return nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "the pipeline returned no user"}
	}
	if !user.IsActive && !cfg.AllowInactiveUsersLogin {
		if clean, ok := s.sanitize(st, sv, cfg.InactiveUserURL); ok {
			return Redirect(clean), nil
		}
		return nil, &Error{Code: CodeAuthForbidden, Backend: name, Msg: "inactive user"}
	}
	// As Django's login(): last_login at every sign-in (a no-op on a user
	// table without that column).
	user.LastLogin = s.now()
	if err := s.storage.UpdateUser(ctx, user, []string{"last_login"}); err != nil {
		return nil, err
	}
	if err := st.SessionRotate(ctx); err != nil {
		return nil, err
	}
	st.SessionSet(SessionUserID, user.ID)
	st.SessionSet(SessionUserBackend, name)
	st.SessionSet(SessionLastLoginBackend, name)
	if _, ok := sv.backend.(BackChannelLogouter); !ok {
		// Only a back-channel backend records the provider's session id
		// (its Complete): none from an earlier sign-in may stay.
		st.SessionPop(SessionProviderSID)
	}
	s.authComplete.Send(ctx, name, AuthCompleted{Backend: name, User: user, State: final})

	next, _ := st.SessionPop(RedirectFieldName)
	redirectValue, _ := next.(string)
	var candidates []string
	switch {
	case loggedIn != nil:
		candidates = []string{redirectValue, cfg.NewAssociationRedirectURL, cfg.LoginRedirectURL}
	case final.IsNew:
		candidates = []string{cfg.NewUserRedirectURL, redirectValue, cfg.LoginRedirectURL}
	default:
		candidates = []string{redirectValue, cfg.LoginRedirectURL}
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
	if clean, ok := s.sanitize(st, sv, target); ok {
		return Redirect(clean), nil
	}
	if clean, ok := s.sanitize(st, sv, cfg.LoginRedirectURL); ok {
		return Redirect(clean), nil
	}
	return Redirect("/"), nil
}

// Disconnect removes the logged-in user's association(s) with a backend
// (upstream's do_disconnect): all of them, or only associationID when it is
// not 0. It refuses to remove the user's last way to log in.
func (s *Service) Disconnect(ctx context.Context, st Strategy, backendName string, associationID int64) (*Response, error) {
	sv, err := s.lookup(backendName)
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
	state := &State{Strategy: st, Backend: sv.backend, Logger: s.logger, Request: st.RequestData(),
		User: user, AssociationID: associationID, Details: Details{}}
	_, resp, err := s.runInTransaction(ctx, state, sv.disconnect, 0)
	if err != nil {
		return nil, err
	}
	if resp != nil {
		return resp, nil
	}
	for _, c := range []string{st.RequestData().Get(RedirectFieldName), sv.cfg.DisconnectRedirectURL, sv.cfg.LoginRedirectURL} {
		if clean, ok := s.sanitize(st, sv, c); ok {
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
				s.logger.WarnContext(ctx, "socialauth: dropping partial at logout failed", "error", err)
			}
		}
	}
	return st.SessionFlush(ctx)
}

// SafeRedirect applies backend's redirect policy to target: it returns the
// cleaned target and true when target is a same-origin path or an absolute
// URL on the app's own public host or ALLOWED_REDIRECT_HOSTS.
func (s *Service) SafeRedirect(st Strategy, backend, target string) (string, bool) {
	sv, err := s.lookup(backend)
	if err != nil {
		return "", false
	}
	return s.sanitize(st, sv, target)
}

// sanitize applies the one redirect policy: same-origin paths, or absolute
// URLs on the app's own public host or ALLOWED_REDIRECT_HOSTS.
func (s *Service) sanitize(st Strategy, sv *served, target string) (string, bool) {
	if target == "" {
		return "", false
	}
	if !sv.cfg.SanitizeRedirects {
		return target, true
	}
	hosts := sv.cfg.AllowedRedirectHosts
	if u, err := url.Parse(st.AbsoluteURI("/")); err == nil && u.Host != "" {
		hosts = append(slices.Clip(hosts), u.Host)
	}
	clean, err := redirect.Policy{AllowedHosts: hosts, AllowedSchemes: sv.cfg.AllowedRedirectSchemes}.Sanitize(target)
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

// MaxBackendNameLength is the longest backend name New accepts, in bytes:
// the width of the provider column (social-app-django's max_length=32), so
// a longer name stops start-up instead of failing the first sign-in.
const MaxBackendNameLength = 32

// validBackendName reports whether name fits the provider column and a URL
// path segment as is: 1 to MaxBackendNameLength ASCII letters, digits, '-',
// '_' or '.' (every upstream backend name does).
func validBackendName(name string) bool {
	if name == "" || len(name) > MaxBackendNameLength || name == "." || name == ".." {
		return false
	}
	for _, c := range []byte(name) {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}
