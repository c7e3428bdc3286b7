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
// socialauth.Code of a *socialauth.Error, else CodeTimeout,
// "storage_unavailable" for socialauth.ErrConflict, or CodeServerError.
func errorCode(err error) string {
	if c := socialauth.ErrorCode(err); c != "" {
		return string(c)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return CodeTimeout
	case errors.Is(err, socialauth.ErrConflict):
		// A transaction aborted on a conflict that outlived its reruns:
		// for the user, as for HTTPStatus, the storage was unavailable.
		return string(socialauth.CodeStorageUnavailable)
	}
	return CodeServerError
}

// ErrorResponse answers a failed authentication request, the one place where
// an error becomes an HTTP answer (../shared/SECURITY.md); an app's own
// handler may use it too:
//
//   - the status is socialauth.HTTPStatus(err) and the code
//     socialauth.ErrorCode(err) (CodeServerError, CodeTimeout, or
//     storage_unavailable for socialauth.ErrConflict, for an error that is
//     not a *socialauth.Error);
//   - when backend's LoginErrorURL (the LOGIN_ERROR_URL setting, read once
//     by the Service) is not empty, a 302 to it with error=<code> added to
//     its query; except for an unknown backend (MissingBackend), which is
//     always a 404, as upstream's Http404;
//   - else the status with a short fixed text body (the status text): no
//     request text is ever reflected;
//   - always Cache-Control: no-store and X-Content-Type-Options: nosniff.
//
// The error is logged (WARN for a 4xx, ERROR for a 5xx) with its code, the
// backend and the status. backend may be "" when unknown (no redirect).
// Error texts never hold secrets (a socialauth contract), so err is logged
// as is.
func (v *Views) ErrorResponse(w http.ResponseWriter, r *http.Request, backend string, err error) {
	status := socialauth.HTTPStatus(err)
	if status < 400 {
		// A nil error reaching here is a bug of the caller; never answer 2xx.
		status = http.StatusInternalServerError
	}
	code := errorCode(err)
	missing := errors.Is(err, socialauth.CodeMissingBackend)
	if missing {
		status = http.StatusNotFound
	}
	level := slog.LevelWarn
	if status >= 500 {
		level = slog.LevelError
	}
	attrs := []any{"code", code, "status", status, "error", err}
	if backend != "" && !missing {
		attrs = append(attrs, "backend", backend)
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	v.logger.Log(ctx, level, "socialauth: request failed", attrs...)

	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	if !missing {
		// Config answers for a backend the Service serves only, never for an
		// attacker's choice of name.
		if cfg, ok := v.svc.Config(backend); ok && cfg.LoginErrorURL != "" {
			h.Set("Location", withErrorCode(cfg.LoginErrorURL, code))
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
