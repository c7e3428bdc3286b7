package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// newLogger builds the demo's logger: text or JSON on w, at level, with a
// last line of defence that masks attributes whose key names a secret (no
// package is meant to log one; this keeps a future mistake out of the logs).
func newLogger(w io.Writer, level slog.Level, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: redactAttr}
	switch strings.ToLower(strings.TrimSpace(format)) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format: %q is not one of text, json", format)
}

// isSecretKey reports whether an attribute key names a secret. ("code" is
// not in the list: socialauth logs error codes under it, never OAuth codes.)
func isSecretKey(key string) bool {
	switch strings.ToLower(key) {
	case "secret", "client_secret", "password", "access_token", "refresh_token", "id_token", "token",
		"code_verifier", "verifier", "authorization", "cookie", "set-cookie", "session", "session_id",
		"sessionid", "session_token", "hmac_key", "jws_hmac_signing_key":
		return true
	}
	return false
}

// redactAttr is the ReplaceAttr of the demo's handlers.
func redactAttr(_ []string, a slog.Attr) slog.Attr {
	if isSecretKey(a.Key) {
		return slog.String(a.Key, "[redacted]")
	}
	return a
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// accessLog logs one line per request: method, path, status, duration. The
// query string is never logged: on /complete/ it holds the authorization
// code and state.
func accessLog(logger *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		logger.Log(r.Context(), level, "http request",
			"method", r.Method, "path", r.URL.Path, "status", status,
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
	})
}
