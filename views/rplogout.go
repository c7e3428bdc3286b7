package views

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"

	"github.com/socialauth-go/socialauth"
)

// pendingLogout is an RP-initiated logout under way: the state the return
// route expects.
type pendingLogout struct {
	backend, state string
}

// logoutReturnKey is the session key of a pending RP-initiated logout.
func logoutReturnKey(backend string) string { return "_logout_return_" + backend }

// LogoutReturnPath returns the path of backend's RP-initiated logout
// return route: prefix + "/logout/<backend>/return/". Its absolute URL
// (the base URL joined with it) is the post_logout_redirect_uri to
// register at the provider.
func (v *Views) LogoutReturnPath(backend string) string {
	return v.prefix + "/logout/" + url.PathEscape(backend) + "/return/"
}

// logoutBackend is the backend the session signed in with, when the
// service serves it, else the default backend.
func (v *Views) logoutBackend(st socialauth.Strategy) string {
	if b, ok := st.SessionGet(socialauth.SessionUserBackend); ok {
		if n, _ := b.(string); n != "" {
			if _, served := v.svc.Config(n); served {
				return n
			}
		}
	}
	return v.defaultBackend
}

// endSessionURL is the default logout redirect for a backend with
// RP-initiated logout: its end_session URL with the return route and a
// fresh state. pending is nil (and the other redirect applies) when the
// backend has none.
func (v *Views) endSessionURL(ctx context.Context, st socialauth.Strategy) (string, *pendingLogout, error) {
	name := v.logoutBackend(st)
	b, ok := v.svc.Backend(name)
	if !ok {
		return "", nil, nil
	}
	rp, ok := b.(socialauth.RPInitiatedLogouter)
	if !ok {
		return "", nil, nil
	}
	p := &pendingLogout{backend: name, state: socialauth.RandomString(32)}
	target, err := rp.EndSessionURL(ctx, st, st.AbsoluteURI(v.LogoutReturnPath(name)), p.state)
	if err != nil {
		v.logger.ErrorContext(ctx, "socialauth: provider end_session URL failed", "backend", name,
			"code", errorCode(err), "error", err)
		return "", nil, nil
	}
	if target == "" {
		return "", nil, nil
	}
	return target, p, nil
}

// logoutReturnView is the post_logout_redirect_uri of RP-initiated logout
// for the {backend} of the path: the provider sends the browser back here
// with the state the logout view kept in the session; it is single use
// (taken out of the session whatever the outcome). A missing or different
// state is AuthStateForbidden (the error answer); a matching one a 302 to
// the backend's LOGOUT_REDIRECT_URL (when the redirect policy allows it),
// else "/": as the logout view, it never follows a redirect parameter of
// the request. It may not be framed.
func (v *Views) logoutReturnView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		denyFraming(w.Header())
		w.Header().Set("Referrer-Policy", "no-referrer")
		backend := r.PathValue("backend")
		rp, ok := v.rpBackend(backend)
		if !ok {
			v.fail(w, r, backend, &socialauth.Error{Code: socialauth.CodeMissingBackend, Backend: backend})
			return
		}
		st := v.strategies.Strategy(r)
		raw, _ := st.SessionPop(logoutReturnKey(backend))
		pending, _ := raw.(map[string]string)
		got := r.URL.Query().Get("state")
		want := pending["state"]
		if want == "" || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			v.fail(w, r, backend, &socialauth.Error{Code: socialauth.CodeAuthStateForbidden, Backend: backend,
				Msg: "logout state missing or wrong"})
			return
		}
		if clean, ok := v.svc.SafeRedirect(st, backend, rp.PostLogoutRedirect()); ok {
			redirect(w, clean)
			return
		}
		redirect(w, "/")
	})
}

// rpBackend returns the served backend name's RP-initiated logout.
func (v *Views) rpBackend(name string) (socialauth.RPInitiatedLogouter, bool) {
	b, ok := v.svc.Backend(name)
	if !ok {
		return nil, false
	}
	rp, ok := b.(socialauth.RPInitiatedLogouter)
	return rp, ok
}

// SameOrigin reports whether r is provably same-origin, by the rule the
// disconnect view applies (Sec-Fetch-Site, else Origin, else Referer,
// against the service's public origin; none of the three is not): for an
// app's own state-changing POST, such as a "sign out everywhere" button.
func (v *Views) SameOrigin(r *http.Request) bool {
	return sameOrigin(r, v.strategies.Strategy(r))
}
