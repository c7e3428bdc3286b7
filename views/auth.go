package views

import (
	"context"
	"net/http"

	"github.com/socialauth-go/socialauth"
)

type userKey struct{}

// UserFrom returns the signed-in user that RequireLogin or LoadUser put in
// ctx, or nil.
func UserFrom(ctx context.Context) *socialauth.User {
	u, _ := ctx.Value(userKey{}).(*socialauth.User)
	return u
}

// CurrentUser returns the signed-in user of a request served behind
// RequireLogin or LoadUser, or nil.
func CurrentUser(r *http.Request) *socialauth.User { return UserFrom(r.Context()) }

// RequireLogin lets through the requests of a signed-in, active user, with
// the user in the request's context (CurrentUser, UserFrom). Anyone else
// gets, for a GET or HEAD, a 302 to the sign-in: the default backend's
// LoginURL (LOGIN_URL) when set, else the views' login route, with
// ?next=<the request's path and query>; for any other method, a 401. It
// loads the session as the routes do, so next runs inside it.
func (v *Views) RequireLogin(next http.Handler) http.Handler {
	return v.withUser(next, true)
}

// LoadUser puts the signed-in user, if any, in the request's context
// (CurrentUser, UserFrom) and lets every request through: for pages that
// show a signed-in user something else. It loads the session as the routes
// do.
func (v *Views) LoadUser(next http.Handler) http.Handler {
	return v.withUser(next, false)
}

func (v *Views) withUser(next http.Handler, required bool) http.Handler {
	return v.loadSession(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		st := v.strategies.Strategy(r)
		user, err := v.svc.CurrentUser(r.Context(), st)
		if err != nil {
			v.fail(w, r, v.defaultBackend, err)
			return
		}
		if user != nil {
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey{}, user)))
			return
		}
		if !required {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			loginRequired(w, "", "")
			return
		}
		login := publicPath(st, v.LoginPath())
		if cfg, ok := v.svc.Config(v.defaultBackend); ok && cfg.LoginURL != "" {
			login = cfg.LoginURL
		}
		loginRequired(w, login, publicPath(st, r.URL.RequestURI()))
	}))
}
