package views

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"

	"github.com/socialauth-go/socialauth"
)

// Codes put in LOGIN_ERROR_URL?error=<code> for errors that are not a
// *socialauth.Error.
const (
	// CodeServerError is the code of an unexpected (500) failure.
	CodeServerError = "server_error"
	// CodeTimeout is the code of a deadline exceeded outside a provider call.
	CodeTimeout = "timeout"
)

// errorCode returns the code of err for a URL or a log line: the
// socialauth.Code of a *socialauth.Error, else CodeTimeout or
// CodeServerError.
func errorCode(err error) string {
	if c := socialauth.ErrorCode(err); c != "" {
		return string(c)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return CodeTimeout
	}
	return CodeServerError
}

// ErrorResponse answers a failed authentication request, the one place where
// an error becomes an HTTP answer (../shared/SECURITY.md):
//
//   - the status is socialauth.HTTPStatus(err) and the code
//     socialauth.ErrorCode(err) (CodeServerError or CodeTimeout for an error
//     that is not a *socialauth.Error);
//   - when the LOGIN_ERROR_URL setting (looked up for backend first, so
//     SOCIAL_AUTH_<BACKEND>_LOGIN_ERROR_URL, SOCIAL_AUTH_LOGIN_ERROR_URL,
//     LOGIN_ERROR_URL) is set and non-empty, a 302 to it with error=<code>
//     added to its query; except for an unknown backend (MissingBackend),
//     which is always a 404, as upstream's Http404;
//   - else the status with a short fixed text body (the status text): no
//     request text is ever reflected;
//   - always Cache-Control: no-store and X-Content-Type-Options: nosniff.
//
// The error is logged (WARN for a 4xx, ERROR for a 5xx) with its code, the
// backend and the status. st may be nil (no settings: no redirect); backend
// may be "" when unknown. Error texts never hold secrets (a socialauth
// contract), so err is logged as is.
func ErrorResponse(w http.ResponseWriter, r *http.Request, st socialauth.Strategy, backend string, err error) {
	errorResponse(w, r, st, backend, err, nil)
}

func errorResponse(w http.ResponseWriter, r *http.Request, st socialauth.Strategy, backend string, err error, logger *slog.Logger) {
	status := socialauth.HTTPStatus(err)
	if status < 400 {
		// A nil error reaching here is a bug of the caller; never answer 2xx.
		status = http.StatusInternalServerError
	}
	code := errorCode(err)
	missing := errors.Is(err, socialauth.ErrMissingBackend)
	if missing {
		status = http.StatusNotFound
	}
	if logger == nil && st != nil {
		logger = st.Logger()
	}
	if logger != nil {
		level := slog.LevelWarn
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []any{"code", code, "status", status, "error", err}
		if backend != "" && !missing {
			attrs = append(attrs, "backend", backend)
		}
		var ctx context.Context = context.Background()
		if r != nil {
			ctx = r.Context()
		}
		logger.Log(ctx, level, "socialauth: request failed", attrs...)
	}

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if !missing && st != nil {
		// Every error but MissingBackend comes after a successful backend
		// lookup, so backend names a registered backend here, never an
		// attacker's choice of SOCIAL_AUTH_<NAME>_LOGIN_ERROR_URL.
		target, serr := st.Settings().String(backend, "LOGIN_ERROR_URL", "")
		if serr != nil && logger != nil {
			logger.Warn("socialauth: malformed setting", "setting", "LOGIN_ERROR_URL", "error", serr)
		}
		if target != "" {
			h.Set("Location", withErrorCode(target, code))
			w.WriteHeader(http.StatusFound)
			return
		}
	}
	h.Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(http.StatusText(status) + "\n"))
}

// withErrorCode appends error=<code> to target's query, before any fragment.
func withErrorCode(target, code string) string {
	frag := ""
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target, frag = target[:i], target[i:]
	}
	sep := "?"
	switch {
	case strings.HasSuffix(target, "?") || strings.HasSuffix(target, "&"):
		sep = ""
	case strings.Contains(target, "?"):
		sep = "&"
	}
	return target + sep + "error=" + url.QueryEscape(code) + frag
}
