// Package views holds the net/http handlers of a sign-in (login, complete,
// disconnect, logout) and Routes, which mounts them on an app's
// http.ServeMux: the Go counterpart of edx-auth-backends' oauth2_urlpatterns
// (EdxOAuth2LoginView, EdxOAuth2LogoutView and social-app-django's begin,
// complete and disconnect views).
//
// Every handler reads and writes the session through the strategy, so it
// must run inside scs's LoadAndSave middleware: Routes wraps each route when
// Config.Sessions is set; otherwise the app wraps its mux itself.
package views

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/sessionrotate"
)

// DefaultBackend is the backend of the login and logout views when
// Config.DefaultBackend is empty.
const DefaultBackend = "edx-oauth2"

// StrategyFactory gives the strategy of a request; *strategies.HTTP
// implements it.
type StrategyFactory interface {
	Strategy(r *http.Request) socialauth.Strategy
}

// Config configures the views.
type Config struct {
	// Service runs the actions (required).
	Service *socialauth.Service
	// Strategies gives each request its strategy (required).
	Strategies StrategyFactory
	// Sessions, when set, makes Routes wrap every route in
	// Sessions.LoadAndSave. Leave it nil when the app already wraps the mux
	// (wrapping twice would load the session twice).
	Sessions *scs.SessionManager
	// Logger receives the views' logs (nil: discarded).
	Logger *slog.Logger
	// DefaultBackend is the backend of the login and logout views ("" means
	// "edx-oauth2").
	DefaultBackend string
	// LogoutHandler, when set, replaces the logout view in Routes (build it
	// by wrapping Views.LogoutView or with Views.LogoutViewWith).
	LogoutHandler http.Handler
}

// Views holds the handlers for one mount prefix.
type Views struct {
	cfg    Config
	prefix string
	logger *slog.Logger
}

// New validates cfg and returns the views for routes under prefix ("" or a
// path such as "/auth"; a trailing slash is dropped).
func New(prefix string, cfg Config) (*Views, error) {
	if cfg.Service == nil || cfg.Strategies == nil {
		return nil, &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Msg: "views.Config.Service and Strategies are required"}
	}
	p, err := cleanPrefix(prefix)
	if err != nil {
		return nil, err
	}
	if cfg.DefaultBackend == "" {
		cfg.DefaultBackend = DefaultBackend
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Views{cfg: cfg, prefix: p, logger: logger}, nil
}

func cleanPrefix(prefix string) (string, error) {
	p := strings.TrimRight(prefix, "/")
	if p == "" {
		return "", nil
	}
	bad := !strings.HasPrefix(p, "/") || strings.ContainsAny(p, "{}?#\\ \t\r\n") || strings.Contains(p, "//")
	if !bad {
		for _, seg := range strings.Split(p[1:], "/") {
			if seg == "." || seg == ".." {
				bad = true
			}
		}
	}
	if bad {
		return "", &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Msg: "views: the route prefix must be a clean absolute path such as /auth"}
	}
	return p, nil
}

// Routes mounts the views on mux under prefix (Go 1.22 patterns):
//
//	GET  {prefix}/login/                                   LoginView
//	     {prefix}/logout/                    (any method)  LogoutView or Config.LogoutHandler
//	GET, POST {prefix}/login/{backend}/                    AuthView
//	GET, POST {prefix}/complete/{backend}/                 CompleteView
//	POST {prefix}/disconnect/{backend}/                    DisconnectView
//	POST {prefix}/disconnect/{backend}/{association_id}/   DisconnectView
//
// Each path matches exactly (the trailing slash included). Other methods get
// the mux's 405. When Config.Sessions is set every route is wrapped in its
// LoadAndSave.
func Routes(mux *http.ServeMux, prefix string, cfg Config) error {
	v, err := New(prefix, cfg)
	if err != nil {
		return err
	}
	v.Register(mux)
	return nil
}

// Register mounts the views on mux as Routes describes.
func (v *Views) Register(mux *http.ServeMux) {
	wrap := func(h http.Handler) http.Handler {
		if v.cfg.Sessions != nil {
			return v.cfg.Sessions.LoadAndSave(h)
		}
		return h
	}
	logout := v.cfg.LogoutHandler
	if logout == nil {
		logout = v.LogoutView()
	}
	p := v.prefix
	mux.Handle("GET "+p+"/login/{$}", wrap(v.LoginView()))
	mux.Handle(p+"/logout/{$}", wrap(logout))
	auth := wrap(v.AuthView())
	mux.Handle("GET "+p+"/login/{backend}/{$}", auth)
	mux.Handle("POST "+p+"/login/{backend}/{$}", auth)
	complete := wrap(v.CompleteView())
	if v.cfg.Sessions != nil {
		complete = v.rotating(complete)
	}
	mux.Handle("GET "+p+"/complete/{backend}/{$}", complete)
	mux.Handle("POST "+p+"/complete/{backend}/{$}", complete)
	disconnect := wrap(v.DisconnectView())
	mux.Handle("POST "+p+"/disconnect/{backend}/{$}", disconnect)
	mux.Handle("POST "+p+"/disconnect/{backend}/{association_id}/{$}", disconnect)
}

// rotating gives each request of h (wrapped in LoadAndSave) a
// sessionrotate.Rotation, so that the session-id rotation of a login costs
// the session store one write (the old row renamed at the commit) instead of
// a delete and an insert, and deletes the old id itself if the request ends
// without that commit.
func (v *Views) rotating(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, rot := sessionrotate.With(r.Context())
		defer func() {
			if err := rot.Finish(ctx); err != nil {
				v.logger.ErrorContext(ctx, "socialauth: deleting the rotated session id failed", "error", err)
			}
		}()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Prefix returns the mount prefix ("" or a path without a trailing slash).
func (v *Views) Prefix() string { return v.prefix }

// BeginPath returns the path of the login route of backend.
func (v *Views) BeginPath(backend string) string {
	return v.prefix + "/login/" + url.PathEscape(backend) + "/"
}

// LoginView is EdxOAuth2LoginView: a 302 to the default backend's login
// route, keeping the whole raw query string (/login/?next=/test/ →
// /login/edx-oauth2/?next=/test/).
func (v *Views) LoginView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := v.BeginPath(v.cfg.DefaultBackend)
		if r.URL.RawQuery != "" {
			target += "?" + r.URL.RawQuery
		}
		redirect(w, target)
	})
}

// AuthView starts a login with the {backend} of the path (social-app-django's
// begin view, Service.Begin).
func (v *Views) AuthView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backend := r.PathValue("backend")
		st := v.cfg.Strategies.Strategy(r)
		resp, err := v.cfg.Service.Begin(r.Context(), st, backend)
		v.answer(w, r, st, backend, resp, err)
	})
}

// CompleteView finishes a login with the {backend} of the path
// (social-app-django's complete view, Service.Complete). Providers may GET
// or POST (form_post) the callback. Every answer carries
// Referrer-Policy: no-referrer, so the code and state in its URL never leak
// to the next page's requests.
func (v *Views) CompleteView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
		backend := r.PathValue("backend")
		st := v.cfg.Strategies.Strategy(r)
		resp, err := v.cfg.Service.Complete(r.Context(), st, backend)
		v.answer(w, r, st, backend, resp, err)
	})
}

// DisconnectView removes the logged-in user's association(s) with the
// {backend} of the path, or only {association_id} when the path has one
// (social-app-django's disconnect views, Service.Disconnect).
//
// It is mounted for POST only. As Django's csrf_protect, it refuses (403) a
// request that is not provably same-origin: Sec-Fetch-Site must be
// "same-origin" when the browser sends it; else the Origin header, else the
// Referer's origin, must equal the service's public origin (the configured
// base URL, https when REDIRECT_IS_HTTPS); a request with none of the three
// is refused. An anonymous request gets a 302 to LOGIN_URL?next=<path> when
// that setting is set, else 401.
func (v *Views) DisconnectView() http.Handler {
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
		st := v.cfg.Strategies.Strategy(r)
		if !sameOrigin(r, st) {
			v.logger.WarnContext(r.Context(), "socialauth: cross-origin disconnect refused", "code", "csrf_failed")
			plain(w, http.StatusForbidden)
			return
		}
		if _, err := v.cfg.Service.Backends().Lookup(backend); err != nil {
			v.fail(w, r, st, backend, err)
			return
		}
		user, err := v.cfg.Service.CurrentUser(r.Context(), st)
		if err != nil {
			v.fail(w, r, st, backend, err)
			return
		}
		if user == nil {
			v.loginRequired(w, r, st, backend)
			return
		}
		resp, err := v.cfg.Service.Disconnect(r.Context(), st, backend, id)
		v.answer(w, r, st, backend, resp, err)
	})
}

// loginRequired is Django's login_required: LOGIN_URL?next=<path>, or 401.
func (v *Views) loginRequired(w http.ResponseWriter, r *http.Request, st socialauth.Strategy, backend string) {
	loginURL, err := st.Settings().String(backend, "LOGIN_URL", "")
	if err != nil {
		v.logger.Warn("socialauth: malformed setting", "setting", "LOGIN_URL", "error", err)
	}
	if loginURL == "" {
		w.Header().Set("WWW-Authenticate", `Session realm="socialauth"`)
		plain(w, http.StatusUnauthorized)
		return
	}
	sep := "?"
	if strings.Contains(loginURL, "?") {
		sep = "&"
	}
	redirect(w, loginURL+sep+"next="+url.QueryEscape(r.URL.Path))
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

// answer serves resp, or the error answer.
func (v *Views) answer(w http.ResponseWriter, r *http.Request, st socialauth.Strategy, backend string, resp *socialauth.Response, err error) {
	if err == nil && resp == nil {
		err = errors.New("views: the action returned neither a response nor an error")
	}
	if err != nil {
		v.fail(w, r, st, backend, err)
		return
	}
	resp.ServeHTTP(w, r)
}

func (v *Views) fail(w http.ResponseWriter, r *http.Request, st socialauth.Strategy, backend string, err error) {
	errorResponse(w, r, st, backend, err, v.logger)
}

// LogoutRedirect returns where the logout view sends the browser once the
// session is flushed; user is who was logged in (nil for an anonymous
// request). It is the EdxOAuth2LogoutView.url override point.
type LogoutRedirect func(ctx context.Context, st socialauth.Strategy, user *socialauth.User) (string, error)

// LogoutView is EdxOAuth2LogoutView with the default redirect
// (Views.ProviderLogoutURL): see LogoutViewWith.
func (v *Views) LogoutView() http.Handler { return v.LogoutViewWith(v.ProviderLogoutURL) }

// LogoutViewWith is the logout view with its redirect replaced, the
// equivalent of subclassing EdxOAuth2LogoutView and overriding url. On any
// method it remembers the logged-in user, logs out (Service.Logout: partial
// dropped, session flushed); then with ?no_redirect=<non-empty> (query only,
// even for POST) it answers an empty 200; else a 302 to where redirectTo
// says. The request's own next is not followed. No X-Frame-Options header is
// set, so the provider may load the view in an iframe for single sign-out.
func (v *Views) LogoutViewWith(redirectTo LogoutRedirect) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		st := v.cfg.Strategies.Strategy(r)
		user, err := v.cfg.Service.CurrentUser(ctx, st)
		if err != nil {
			v.logger.WarnContext(ctx, "socialauth: logout could not read the user", "error", err)
			user = nil
		}
		noRedirect := r.URL.Query().Get("no_redirect") != ""
		// The provider's logout URL is built before the flush: a backend may
		// need what the session holds (an OpenID Connect id_token_hint).
		var target string
		var targetErr error
		if !noRedirect {
			target, targetErr = redirectTo(ctx, st, user)
		}
		if err := v.cfg.Service.Logout(ctx, st); err != nil {
			v.fail(w, r, st, "", err)
			return
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
			v.fail(w, r, st, v.cfg.DefaultBackend, targetErr)
			return
		}
		if target == "" {
			target = "/"
		}
		redirect(w, target)
	})
}

// ProviderLogoutURL is the logout view's default redirect: the LogoutURL of
// the backend the user signed in with (else the default backend's) (edx-oauth2: {PUBLIC_URL_ROOT or URL_ROOT}/logout,
// plus ?client_id=…&redirect_url=… when LOGOUT_REDIRECT_URL is set); when
// the backend is missing, has no logout URL or fails to build one (logged),
// LOGIN_REDIRECT_URL, else "/".
func (v *Views) ProviderLogoutURL(ctx context.Context, st socialauth.Strategy, _ *socialauth.User) (string, error) {
	name := v.cfg.DefaultBackend
	// The backend the user signed in with, when the app has several.
	if b, ok := st.SessionGet(socialauth.SessionUserBackend); ok {
		if n, _ := b.(string); n != "" {
			if _, err := v.cfg.Service.Backends().Lookup(n); err == nil {
				name = n
			}
		}
	}
	b, err := v.cfg.Service.Backends().Lookup(name)
	if err != nil {
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
	target, err := st.Settings().String(name, "LOGIN_REDIRECT_URL", "")
	if err != nil {
		v.logger.WarnContext(ctx, "socialauth: malformed setting", "setting", "LOGIN_REDIRECT_URL", "error", err)
		target = ""
	}
	if target == "" {
		target = "/"
	}
	return target, nil
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
