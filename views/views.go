// Package views holds the net/http handlers of a sign-in (login, complete,
// disconnect, logout) as a route table any router mounts: the Go counterpart
// of edx-auth-backends' oauth2_urlpatterns (EdxOAuth2LoginView,
// EdxOAuth2LogoutView and social-app-django's begin, complete and disconnect
// views). It also has the middleware an app puts in front of its own pages:
// RequireLogin, LoadUser, and CurrentUser to read who is signed in.
//
//	v, err := views.New("/auth", views.Config{Service: svc, HTTP: strategies.HTTPConfig{
//		SessionStore: store.SessionStore(), BaseURL: "https://example.com"}})
//	v.Mount(mux)                                   // net/http
//	for _, rt := range v.Routes() {                // chi, or any router
//		r.Method(rt.Method, rt.Pattern, rt.Handler) // ("" Method: r.Handle)
//	}
//	mux.Handle("/courses/", v.RequireLogin(courses))
//
// Every handler loads the session itself (the strategy's LoadAndSave) unless
// the request already carries it, so the app may wrap its whole mux in the
// same middleware (LoadSession), or not. With strategies.SealedStore
// (HTTPConfig.SessionCookieKeys) the app's own pages must load the session
// through LoadSession, not through the scs manager's LoadAndSave, which
// cannot save a session kept in its cookie.
package views

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/strategies"
)

// StrategyFactory gives the strategy of a request; *strategies.HTTP and
// *Views implement it.
type StrategyFactory interface {
	Strategy(r *http.Request) socialauth.Strategy
}

// Config configures the views.
type Config struct {
	// Service runs the actions (required).
	Service *socialauth.Service
	// HTTP configures the net/http strategy the views build (Sessions or
	// SessionStore, BaseURL, RedirectIsHTTPS, Logger; see
	// strategies.HTTPConfigFrom to read REDIRECT_IS_HTTPS from settings).
	// Its Prefix is the prefix given to New: leave it empty. Unused when
	// Strategies is set.
	HTTP strategies.HTTPConfig
	// Strategies, when set, replaces the net/http strategy (tests, another
	// web layer): it must put the mount prefix in its CallbackURL itself.
	// When it has a Sessions() *scs.SessionManager method (as
	// *strategies.HTTP has), the routes load that manager's session.
	Strategies StrategyFactory
	// DefaultBackend is the backend of the login and logout routes and of
	// RequireLogin. It may be left empty when the Service serves exactly
	// one backend.
	DefaultBackend string
	// Logger receives the views' logs (nil: discarded).
	Logger *slog.Logger
	// LogoutRedirect, when set, replaces where the logout route sends the
	// browser once the session is flushed (EdxOAuth2LogoutView.url). nil:
	// for a backend with RP-initiated logout (socialauth.RPInitiatedLogouter,
	// the OpenID Connect base) whose provider has an end_session endpoint,
	// that endpoint with the return route {prefix}/logout/{backend}/return/
	// as post_logout_redirect_uri and a state the return route checks (see
	// docs/logout.md); else the provider's logout URL of the backend the
	// user signed in with (else the default backend's), else that backend's
	// LoginRedirectURL (LOGIN_REDIRECT_URL), else "/".
	LogoutRedirect LogoutRedirect
}

// Route is one route of the views, for any router: Method is GET or POST,
// or "" for any method; Pattern is the whole path, prefix included, with the
// wildcards {backend} and {association_id} (the syntax of both
// http.ServeMux and chi), to be matched exactly, its trailing slash
// included. Handler loads the session and reads the wildcards with
// r.PathValue; under a router that does not set them (chi does, as
// ServeMux), it takes them from the end of the request's path.
type Route struct {
	Method  string
	Pattern string
	Handler http.Handler
}

// Views holds the handlers for one mount prefix.
type Views struct {
	svc            *socialauth.Service
	strategies     StrategyFactory
	sessions       *scs.SessionManager // nil: the app loads the session
	loadAndSave    func(http.Handler) http.Handler
	defaultBackend string
	prefix         string
	logger         *slog.Logger
	logoutTo       LogoutRedirect
	rpLogout       bool // the default logout redirect: RP-initiated logout where the backend has it
	routes         []Route
	handler        *http.ServeMux
}

// New validates cfg and returns the views for routes under prefix ("" or a
// clean absolute path such as "/auth"; a trailing slash is dropped). Unless
// cfg.Strategies is set it builds the net/http strategy from cfg.HTTP with
// that prefix, so that the OAuth redirect_uri is BaseURL + prefix +
// "/complete/<backend>/". Every error is ImproperlyConfigured and names
// what is wrong.
func New(prefix string, cfg Config) (*Views, error) {
	if cfg.Service == nil {
		return nil, configErr("views.Config.Service is required")
	}
	p, err := cleanPrefix(prefix)
	if err != nil {
		return nil, err
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	v := &Views{svc: cfg.Service, strategies: cfg.Strategies, prefix: p, logger: logger}
	if v.strategies == nil {
		hc := cfg.HTTP
		if hc.Prefix != "" {
			if hp, err := cleanPrefix(hc.Prefix); err != nil || hp != p {
				return nil, configErr("views.Config.HTTP.Prefix differs from the prefix given to views.New: leave it empty")
			}
		}
		hc.Prefix = p
		if hc.Logger == nil {
			hc.Logger = logger
		}
		h, err := strategies.NewHTTP(hc)
		if err != nil {
			return nil, err
		}
		v.strategies = h
	}
	if s, ok := v.strategies.(interface{ Sessions() *scs.SessionManager }); ok {
		v.sessions = s.Sessions()
		v.loadAndSave = v.sessions.LoadAndSave
		// The strategy's own middleware, when it has one: it seals
		// anonymous sessions into their cookie (strategies.SealedStore).
		if l, ok := v.strategies.(interface {
			LoadAndSave(http.Handler) http.Handler
		}); ok {
			v.loadAndSave = l.LoadAndSave
		}
	}
	if v.defaultBackend, err = defaultBackend(cfg.Service, cfg.DefaultBackend); err != nil {
		return nil, err
	}
	v.logoutTo = cfg.LogoutRedirect
	if v.logoutTo == nil {
		v.logoutTo = v.providerLogoutURL
		v.rpLogout = true
	}
	v.routes = v.buildRoutes()
	v.handler = http.NewServeMux()
	v.Mount(v.handler)
	return v, nil
}

// CallbackURL is backend's redirect_uri as the provider must know it (the
// URL to register there): the base URL, the prefix and
// "/complete/<backend>/". It is "" when Config.Strategies was given a
// factory without a CallbackURL method.
func (v *Views) CallbackURL(backend string) string {
	if c, ok := v.strategies.(interface{ CallbackURL(string) string }); ok {
		return c.CallbackURL(backend)
	}
	return ""
}

func configErr(msg string) error {
	return &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Msg: msg}
}

// defaultBackend checks name, or picks the only backend the service serves.
func defaultBackend(svc *socialauth.Service, name string) (string, error) {
	if name != "" {
		if _, ok := svc.Config(name); !ok {
			return "", configErr("views.Config.DefaultBackend " + strconv.Quote(name) + " is not a backend of the Service")
		}
		return name, nil
	}
	served := svc.BackendNames()
	if len(served) != 1 {
		return "", configErr("views.Config.DefaultBackend is required when the Service does not serve exactly one backend")
	}
	return served[0], nil
}

func cleanPrefix(prefix string) (string, error) {
	p := strings.TrimRight(prefix, "/")
	if p == "" {
		return "", nil
	}
	bad := !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "{}?#%\\ \t\r\n") || strings.Contains(p, "//")
	if !bad {
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == "." || seg == ".." {
				bad = true
			}
		}
	}
	if bad {
		return "", configErr("views: the route prefix must be a clean absolute path such as /auth")
	}
	return p, nil
}

// buildRoutes builds the route table of Routes, each handler reading its
// path values whatever the router and loading the session.
func (v *Views) buildRoutes() []Route {
	auth, complete, disconnect := v.authView(), v.completeView(), v.disconnectView()
	table := []struct {
		method, pattern string
		h               http.Handler
	}{
		{http.MethodGet, "/login/", v.loginView()},
		{"", "/logout/", v.logoutView(v.logoutTo)},
		{http.MethodGet, "/login/{backend}/", auth},
		{http.MethodPost, "/login/{backend}/", auth},
		{http.MethodGet, "/complete/{backend}/", complete},
		{http.MethodPost, "/complete/{backend}/", complete},
		{http.MethodPost, "/disconnect/{backend}/", disconnect},
		{http.MethodPost, "/disconnect/{backend}/{association_id}/", disconnect},
		{http.MethodGet, "/logout/{backend}/return/", v.logoutReturnView()},
	}
	routes := make([]Route, 0, len(table)+1)
	for _, r := range table {
		routes = append(routes, Route{Method: r.method, Pattern: v.prefix + r.pattern,
			Handler: withPathValues(r.pattern, v.loadSession(r.h))})
	}
	// The provider calls the back-channel endpoint: no session, no cookie.
	const bcl = "/backchannel-logout/{backend}/"
	routes = append(routes, Route{Method: http.MethodPost, Pattern: v.prefix + bcl,
		Handler: withPathValues(bcl, v.backChannelLogoutView())})
	return routes
}

// Routes returns the route table (a new slice on every call):
//
//	GET       {prefix}/login/                                 302 to the default backend's login route, query kept
//	(any)     {prefix}/logout/                                flush the session, 302 to the provider's logout URL
//	GET, POST {prefix}/login/{backend}/                       Service.Begin: 302 to the provider
//	GET, POST {prefix}/complete/{backend}/                    Service.Complete: the OAuth redirect_uri
//	POST      {prefix}/disconnect/{backend}/                  Service.Disconnect, same-origin only
//	POST      {prefix}/disconnect/{backend}/{association_id}/ Service.Disconnect of one association
//	GET       {prefix}/logout/{backend}/return/               RP-initiated logout's post_logout_redirect_uri (state checked)
//	POST      {prefix}/backchannel-logout/{backend}/          Service.BackChannelLogout (OpenID Connect), no session
//
// A router mounts each Route at its Method and Pattern; the paths match
// exactly (trailing slash included) and other methods deserve a 405.
func (v *Views) Routes() []Route { return slices.Clone(v.routes) }

// Mount registers the routes on mux (each Pattern with {$}, so that it
// matches exactly; other methods get the mux's 405).
func (v *Views) Mount(mux *http.ServeMux) {
	for _, r := range v.routes {
		pattern := r.Pattern + "{$}"
		if r.Method != "" {
			pattern = r.Method + " " + pattern
		}
		mux.Handle(pattern, r.Handler)
	}
}

// Handler returns an http.Handler serving the routes (and 404 elsewhere),
// for an app that mounts them as one: it matches the whole path, prefix
// included, so do not strip the prefix in front of it.
func (v *Views) Handler() http.Handler { return v.handler }

// withPathValues sets the request's path values of pattern's wildcards when
// the router has not: from the last segments of the path, which match
// pattern's whatever the router did with the prefix.
func withPathValues(pattern string, h http.Handler) http.Handler {
	want := strings.Split(strings.Trim(pattern, "/"), "/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		missing := false
		for _, seg := range want {
			if isWildcard(seg) && r.PathValue(seg[1:len(seg)-1]) == "" {
				missing = true
			}
		}
		if missing && r.URL != nil {
			path := r.URL.EscapedPath()
			if strings.HasSuffix(path, "/") {
				got := strings.Split(strings.Trim(path, "/"), "/")
				if len(got) >= len(want) {
					got = got[len(got)-len(want):]
					values := map[string]string{}
					ok := true
					for i, seg := range want {
						if isWildcard(seg) {
							val, err := url.PathUnescape(got[i])
							if err != nil || val == "" {
								ok = false
								break
							}
							values[seg[1:len(seg)-1]] = val
						} else if got[i] != seg {
							ok = false
							break
						}
					}
					if ok {
						r = r.WithContext(r.Context())
						for k, val := range values {
							r.SetPathValue(k, val)
						}
					}
				}
			}
		}
		h.ServeHTTP(w, r)
	})
}

func isWildcard(seg string) bool {
	return len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}'
}

// LoadSession runs h inside the session, as the routes do (the session
// manager's LoadAndSave, unless the request already carries its session),
// without loading the user: for pages that read the signed-in user their
// own way, such as Service.CurrentUserWithSocialAuths with Strategy(r).
func (v *Views) LoadSession(h http.Handler) http.Handler { return v.loadSession(h) }

// loadSession runs h inside the session manager's LoadAndSave, unless the
// request already carries its session (the app wrapped its mux).
func (v *Views) loadSession(h http.Handler) http.Handler {
	if v.sessions == nil {
		return h
	}
	loaded := v.loadAndSave(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strategies.SessionLoaded(v.sessions, r.Context()) {
			h.ServeHTTP(w, r)
			return
		}
		loaded.ServeHTTP(w, r)
	})
}

// SignedInUser returns the active user signed in to r's session and their
// associations ordered by id, or a nil user when nobody is: for pages that
// show the signed-in user and need nothing else of the session (an API's
// "who am I"), served without LoadSession. Over the GORM session store it
// is one statement, the session row read with its user
// (strategies.HTTP.SignedInUser); the session is not loaded, so nothing of
// it can be read or changed. Where that cannot answer (another store, a
// manager whose idle timeout scs keeps itself, a session stored before
// owners were recorded) the session is loaded and
// the user read as Service.CurrentUserWithSocialAuths does (that session
// is not saved: an idle timeout kept by scs itself is not moved; serve the
// page behind LoadSession for that); behind LoadSession, RequireLogin or
// LoadUser it reads the loaded session.
func (v *Views) SignedInUser(r *http.Request) (*socialauth.User, []*socialauth.UserSocialAuth, error) {
	ctx := r.Context()
	if v.sessions == nil || strategies.SessionLoaded(v.sessions, ctx) {
		return v.svc.CurrentUserWithSocialAuths(ctx, v.strategies.Strategy(r))
	}
	if f, ok := v.strategies.(interface {
		SignedInUser(*http.Request) (*socialauth.User, []*socialauth.UserSocialAuth, bool, error)
	}); ok {
		user, socials, answered, err := f.SignedInUser(r)
		if err != nil || answered {
			return user, socials, err
		}
	}
	var token string
	if c, err := r.Cookie(v.sessions.Cookie.Name); err == nil {
		token = c.Value
	}
	loaded, err := v.sessions.Load(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	return v.svc.CurrentUserWithSocialAuths(loaded, v.strategies.Strategy(r.WithContext(loaded)))
}

// Strategy returns the strategy of r (the views' StrategyFactory).
func (v *Views) Strategy(r *http.Request) socialauth.Strategy { return v.strategies.Strategy(r) }

// Sessions returns the session manager the routes load (nil when the
// strategy has none the views know of).
func (v *Views) Sessions() *scs.SessionManager { return v.sessions }

// Prefix returns the mount prefix ("" or a path without a trailing slash).
func (v *Views) Prefix() string { return v.prefix }

// DefaultBackend returns the backend of the login and logout routes.
func (v *Views) DefaultBackend() string { return v.defaultBackend }

// BeginPath returns the path of backend's login route as the router sees
// it: prefix + "/login/<backend>/" (a base URL's path, stripped by the
// proxy, is not included).
func (v *Views) BeginPath(backend string) string {
	return v.prefix + "/login/" + url.PathEscape(backend) + "/"
}

// LoginPath returns the path of the login route (the default backend's),
// as BeginPath does.
func (v *Views) LoginPath() string { return v.prefix + "/login/" }

// publicPath returns the path (and query) the browser uses for the app's
// path p: p under the base URL's path, if it has one (a service behind a
// reverse proxy that strips that path).
func publicPath(st socialauth.Strategy, p string) string {
	u, err := url.Parse(st.AbsoluteURI("/"))
	if err != nil {
		return p
	}
	return strings.TrimSuffix(u.EscapedPath(), "/") + p
}

// loginView is EdxOAuth2LoginView: a 302 to the default backend's login
// route, keeping the whole raw query string (/login/?next=/test/ →
// /login/edx-oauth2/?next=/test/). It may not be framed (denyFraming).
func (v *Views) loginView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		denyFraming(w.Header())
		target := publicPath(v.strategies.Strategy(r), v.BeginPath(v.defaultBackend))
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		redirect(w, target)
	})
}

// authView starts a login with the {backend} of the path (social-app-django's
// begin view, Service.Begin). None of its answers may be framed
// (denyFraming).
func (v *Views) authView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		denyFraming(w.Header())
		backend := r.PathValue("backend")
		st := v.strategies.Strategy(r)
		resp, err := v.svc.Begin(r.Context(), st, backend)
		v.answer(w, r, backend, resp, err)
	})
}

// completeView finishes a login with the {backend} of the path
// (social-app-django's complete view, Service.Complete). Providers may GET
// or POST (form_post) the callback; a form_post that arrives without the
// session cookie is re-POSTed from the service's origin for a backend that
// declares it (relayFormPost). Every answer carries
// Referrer-Policy: no-referrer, so the code and state in its URL never leak
// to the next page's requests, and may not be framed (denyFraming): the
// success, a page a paused pipeline shows, and every error answer.
func (v *Views) completeView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
		denyFraming(w.Header())
		backend := r.PathValue("backend")
		if v.relayFormPost(w, r, backend) {
			return
		}
		st := v.strategies.Strategy(r)
		resp, err := v.svc.Complete(r.Context(), st, backend)
		v.answer(w, r, backend, resp, err)
	})
}

// disconnectView removes the logged-in user's association(s) with the
// {backend} of the path, or only {association_id} when the path has one
// (social-app-django's disconnect views, Service.Disconnect).
//
// It is mounted for POST only. As Django's csrf_protect, it refuses (403) a
// request that is not provably same-origin: Sec-Fetch-Site must be
// "same-origin" when the browser sends it; else the Origin header, else the
// Referer's origin, must equal the service's public origin (the configured
// base URL's scheme and host); a request with none of the three is refused.
// An anonymous request gets a 302 to the backend's LoginURL?next=<path>
// when it is set, else 401.
func (v *Views) disconnectView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backend := r.PathValue("backend")
		var id int64
		if raw := r.PathValue("association_id"); raw != "" {
			n, err := strconv.ParseInt(raw, 10, 64)
			if err != nil || n <= 0 || strconv.FormatInt(n, 10) != raw {
				// Django's <int:association_id> would not match: 404.
				plain(w, http.StatusNotFound)
				return
			}
			id = n
		}
		st := v.strategies.Strategy(r)
		if !sameOrigin(r, st) {
			v.logger.WarnContext(r.Context(), "socialauth: cross-origin disconnect refused", "code", "csrf_failed")
			plain(w, http.StatusForbidden)
			return
		}
		cfg, ok := v.svc.Config(backend)
		if !ok {
			v.fail(w, r, backend, &socialauth.Error{Code: socialauth.CodeMissingBackend, Backend: backend})
			return
		}
		user, err := v.svc.CurrentUser(r.Context(), st)
		if err != nil {
			v.fail(w, r, backend, err)
			return
		}
		if user == nil {
			loginRequired(w, cfg.LoginURL, publicPath(st, r.URL.Path))
			return
		}
		resp, err := v.svc.Disconnect(r.Context(), st, backend, id)
		v.answer(w, r, backend, resp, err)
	})
}

// loginRequired is Django's login_required: loginURL?next=<next>, or 401
// when loginURL is empty.
func loginRequired(w http.ResponseWriter, loginURL, next string) {
	if loginURL == "" {
		w.Header().Set("WWW-Authenticate", `Session realm="socialauth"`)
		plain(w, http.StatusUnauthorized)
		return
	}
	sep := "?"
	if strings.Contains(loginURL, "?") {
		sep = "&"
	}
	redirect(w, loginURL+sep+"next="+url.QueryEscape(next))
}

// sameOrigin implements the disconnect view's CSRF rule.
func sameOrigin(r *http.Request, st socialauth.Strategy) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin":
		return true
	case "":
	default: // same-site, cross-site, none
		return false
	}
	self, err := url.Parse(st.AbsoluteURI("/"))
	if err != nil || self.Host == "" {
		return false
	}
	want := strings.ToLower(self.Scheme + "://" + self.Host)
	if o := r.Header.Get("Origin"); o != "" {
		return strings.ToLower(o) == want
	}
	if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || u.Host == "" || u.User != nil {
			return false
		}
		return strings.ToLower(u.Scheme+"://"+u.Host) == want
	}
	return false
}

// answer serves resp, or the error answer. The anti-framing headers already
// set on w (denyFraming) survive a response that sets its own: its
// Content-Security-Policy is sent next to frame-ancestors 'none' (a browser
// enforces every policy it gets), and X-Frame-Options stays DENY.
func (v *Views) answer(w http.ResponseWriter, r *http.Request, backend string, resp *socialauth.Response, err error) {
	if err == nil && resp == nil {
		err = errors.New("views: the action returned neither a response nor an error")
	}
	if err != nil {
		v.fail(w, r, backend, err)
		return
	}
	if h := w.Header(); h.Get("X-Frame-Options") != "" && len(resp.Header) > 0 {
		c := *resp
		c.Header = resp.Header.Clone()
		if csp := c.Header.Values("Content-Security-Policy"); len(csp) > 0 {
			c.Header["Content-Security-Policy"] = append(slices.Clone(csp), frameAncestorsNone)
		}
		c.Header.Set("X-Frame-Options", "DENY")
		resp = &c
	}
	resp.ServeHTTP(w, r)
}

// frameAncestorsNone is the Content-Security-Policy that forbids framing.
const frameAncestorsNone = "frame-ancestors 'none'"

// denyFraming forbids any site to frame the answer (clickjacking a sign-in):
// X-Frame-Options: DENY for old browsers, Content-Security-Policy:
// frame-ancestors 'none' for the others. The login, begin and complete
// views set it on every answer; the logout view does not (edX single
// sign-out loads each service's /logout/ in an iframe).
func denyFraming(h http.Header) {
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", frameAncestorsNone)
}

func (v *Views) fail(w http.ResponseWriter, r *http.Request, backend string, err error) {
	v.ErrorResponse(w, r, backend, err)
}

// LogoutRedirect returns where the logout view sends the browser once the
// session is flushed; user is who was logged in (nil for an anonymous
// request). It is the EdxOAuth2LogoutView.url override point.
type LogoutRedirect func(ctx context.Context, st socialauth.Strategy, user *socialauth.User) (string, error)

// logoutView is EdxOAuth2LogoutView, redirecting where redirectTo says. On any
// method it remembers the logged-in user, logs out (Service.Logout: partial
// dropped, session flushed); then with ?no_redirect=<non-empty> (query only,
// even for POST) it answers an empty 200; else a 302 to where redirectTo
// says. The request's own next is not followed. Neither X-Frame-Options nor
// a frame-ancestors policy is set: edX single sign-out loads each service's
// /logout/ in an iframe of the LMS's logout page, and a framing ban would
// leave the user signed in here (upstream's LogoutViewTestMixin asserts the
// header is absent).
func (v *Views) logoutView(redirectTo LogoutRedirect) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		st := v.strategies.Strategy(r)
		user, err := v.svc.CurrentUser(ctx, st)
		if err != nil {
			v.logger.WarnContext(ctx, "socialauth: logout could not read the user", "error", err)
			user = nil
		}
		noRedirect := r.URL.Query().Get("no_redirect") != ""
		// The provider's logout URL is built before the flush: a backend may
		// need what the session holds (an OpenID Connect id_token_hint).
		var target string
		var targetErr error
		var pending *pendingLogout
		if !noRedirect {
			if v.rpLogout {
				target, pending, targetErr = v.endSessionURL(ctx, st)
			}
			if pending == nil && targetErr == nil {
				target, targetErr = redirectTo(ctx, st, user)
			}
		}
		if err := v.svc.Logout(ctx, st); err != nil {
			v.fail(w, r, v.defaultBackend, err)
			return
		}
		if pending != nil {
			// In the fresh session: the return route checks the state.
			st.SessionSet(logoutReturnKey(pending.backend), map[string]string{"state": pending.state})
		}
		if user != nil {
			v.logger.InfoContext(ctx, "socialauth: logged out", "user_id", user.ID)
		}
		if noRedirect {
			h := w.Header()
			h.Set("Cache-Control", "no-store")
			h.Set("Content-Type", "text/html; charset=utf-8")
			w.WriteHeader(http.StatusOK)
			return
		}
		if targetErr != nil {
			v.fail(w, r, v.defaultBackend, targetErr)
			return
		}
		if target == "" {
			target = "/"
		}
		redirect(w, target)
	})
}

// providerLogoutURL is the logout view's default redirect: the LogoutURL of
// the backend the user signed in with (else the default backend's)
// (edx-oauth2: {PUBLIC_URL_ROOT or URL_ROOT}/logout, plus
// ?client_id=…&redirect_url=… when LOGOUT_REDIRECT_URL is set); when the
// backend has no logout URL or fails to build one (logged), that backend's
// LoginRedirectURL (LOGIN_REDIRECT_URL), else "/".
func (v *Views) providerLogoutURL(ctx context.Context, st socialauth.Strategy, _ *socialauth.User) (string, error) {
	name := v.defaultBackend
	// The backend the user signed in with, when the app has several.
	if b, ok := st.SessionGet(socialauth.SessionUserBackend); ok {
		if n, _ := b.(string); n != "" {
			if _, served := v.svc.Config(n); served {
				name = n
			}
		}
	}
	b, ok := v.svc.Backend(name)
	if !ok {
		v.logger.WarnContext(ctx, "socialauth: logout backend not registered", "backend", name)
	} else if lu, ok := b.(socialauth.LogoutURLer); ok {
		target, err := lu.LogoutURL(ctx, st)
		switch {
		case err != nil:
			v.logger.ErrorContext(ctx, "socialauth: provider logout URL failed", "backend", name,
				"code", errorCode(err), "error", err)
		case target != "":
			return target, nil
		}
	}
	if cfg, ok := v.svc.Config(name); ok && cfg.LoginRedirectURL != "" {
		return cfg.LoginRedirectURL, nil
	}
	return "/", nil
}

// redirect answers a private 302.
func redirect(w http.ResponseWriter, target string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Location", target)
	w.WriteHeader(http.StatusFound)
}

// plain answers status with its fixed status text.
func plain(w http.ResponseWriter, status int) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
}
