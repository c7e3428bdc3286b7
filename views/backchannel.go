package views

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"

	"github.com/socialauth-go/socialauth"
)

// maxLogoutRequestBytes bounds a back-channel logout request's body.
const maxLogoutRequestBytes = 64 << 10

// backChannelLogoutView is the OpenID Connect Back-Channel Logout 1.0
// endpoint of the {backend} of the path (Service.BackChannelLogout): the
// provider POSTs a logout_token form field; the sessions it names end on
// every instance sharing the store. It loads no session and sets no
// cookie (the caller is the provider, not a browser). Answers carry
// Cache-Control: no-store: 200 with an empty body on success; 400 with a
// JSON body {"error":"invalid_request","error_description":…} for a
// missing, malformed, refused or replayed token, with no effect; 404 for a
// backend the service does not serve; 501 for a backend without
// back-channel logout; 502/503 when the provider's keys or the store are
// unreachable.
func (v *Views) backChannelLogoutView() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		backend := r.PathValue("backend")
		ctx := r.Context()
		if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
			logoutError(w, http.StatusBadRequest, "the request must be application/x-www-form-urlencoded")
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxLogoutRequestBytes)
		if err := r.ParseForm(); err != nil {
			logoutError(w, http.StatusBadRequest, "malformed request body")
			return
		}
		if vs := r.PostForm["logout_token"]; len(vs) != 1 || vs[0] == "" {
			logoutError(w, http.StatusBadRequest, "exactly one logout_token is required")
			return
		}
		res, err := v.svc.BackChannelLogout(ctx, backend, r.PostForm.Get("logout_token"))
		if err != nil {
			var e *socialauth.Error
			code := ""
			if errors.As(err, &e) {
				code = string(e.Code)
			}
			v.logger.WarnContext(ctx, "socialauth: back-channel logout refused", "backend", backend, "code", code, "error", err)
			switch {
			case e == nil:
				logoutError(w, http.StatusServiceUnavailable, "the logout could not be completed")
			case e.Code == socialauth.CodeMissingBackend:
				logoutError(w, http.StatusNotFound, "unknown backend")
			case e.Code == socialauth.CodeImproperlyConfigured:
				logoutError(w, http.StatusNotImplemented, "back-channel logout is not available for this backend")
			case e.Code == socialauth.CodeAuthUnreachableProvider:
				logoutError(w, http.StatusBadGateway, "the provider's keys could not be fetched")
			case e.Code == socialauth.CodeStorageUnavailable:
				logoutError(w, http.StatusServiceUnavailable, "the logout could not be completed")
			default:
				logoutError(w, http.StatusBadRequest, "the logout_token was refused")
			}
			return
		}
		v.logger.InfoContext(ctx, "socialauth: back-channel logout done", "backend", backend, "sessions", res.Sessions)
		w.WriteHeader(http.StatusOK)
	})
}

// logoutError answers a back-channel logout error (§2.8).
func logoutError(w http.ResponseWriter, status int, desc string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_request", "error_description": desc})
}
