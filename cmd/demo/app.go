package main

import (
	"context"
	"encoding/json"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/views"
	"github.com/socialauth-go/socialauth/views/edxsso"
)

// app serves the demo's own pages: /, /me and /healthz.
type app struct {
	sso    *edxsso.SSO
	logger *slog.Logger
	// lmsURL is the embedded fake LMS's URL, "" when a real LMS is used.
	lmsURL string
	// ping checks the database for /healthz.
	ping func(ctx context.Context) error
	// page is the template of /.
	page *template.Template
}

// routes mounts the socialauth views and the app's pages on mux.
func (a *app) routes(mux *http.ServeMux) {
	a.sso.Mount(mux)
	// / and /me read the signed-in user with their associations and
	// nothing else of the session (currentUser): one statement.
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("GET /me", a.me)
	mux.Handle("GET /me/sessions", a.sso.RequireLogin(http.HandlerFunc(a.sessionsPage)))
	mux.Handle("POST /me/sessions", a.sso.RequireLogin(http.HandlerFunc(a.endSessions)))
	mux.HandleFunc("GET /healthz", a.healthz)
}

// currentUser returns the signed-in, active user and their associations
// (nil when anonymous): the session row read with them in one statement
// (views.Views.SignedInUser), the session itself not loaded. The answer
// depends on the session cookie (Vary).
func (a *app) currentUser(w http.ResponseWriter, r *http.Request) (*socialauth.User, []*socialauth.UserSocialAuth, error) {
	w.Header().Add("Vary", "Cookie")
	return a.sso.SignedInUser(r)
}

// meSocial is one association in /me: never a token.
type meSocial struct {
	Provider string `json:"provider"`
	UID      string `json:"uid"`
	// UserID is the provider's user id (extra_data["user_id"], the LMS's
	// numeric id), null when the provider sent none.
	UserID any `json:"user_id"`
}

// meUser is the /me answer.
type meUser struct {
	ID          any        `json:"id"`
	Username    string     `json:"username"`
	Email       string     `json:"email"`
	FirstName   string     `json:"first_name"`
	LastName    string     `json:"last_name"`
	IsStaff     bool       `json:"is_staff"`
	IsSuperuser bool       `json:"is_superuser"`
	Social      []meSocial `json:"social"`
}

// numberOrString gives a decimal integer as a JSON number and anything else
// as it is.
func numberOrString(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		if n, err := strconv.ParseInt(x, 10, 64); err == nil && strconv.FormatInt(n, 10) == x {
			return n
		}
		return x
	case float64:
		if x == float64(int64(x)) {
			return int64(x)
		}
		return x
	case json.Number:
		if n, err := x.Int64(); err == nil {
			return n
		}
		return x.String()
	case int, int64, int32:
		return x
	}
	return nil
}

func newMe(u *socialauth.User, socials []*socialauth.UserSocialAuth) meUser {
	m := meUser{
		ID: numberOrString(u.ID), Username: u.Username, Email: u.Email,
		FirstName: u.FirstName, LastName: u.LastName,
		IsStaff: u.IsStaff, IsSuperuser: u.IsSuperuser,
		Social: make([]meSocial, 0, len(socials)),
	}
	for _, s := range socials {
		m.Social = append(m.Social, meSocial{Provider: s.Provider, UID: s.UID, UserID: numberOrString(s.ExtraData["user_id"])})
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// me answers the signed-in user as JSON, or 401.
func (a *app) me(w http.ResponseWriter, r *http.Request) {
	u, socials, err := a.currentUser(w, r)
	if err != nil {
		a.logger.ErrorContext(r.Context(), "demo: /me failed", "error", err)
		writeJSON(w, socialauth.HTTPStatus(err), map[string]string{"error": "unavailable"})
		return
	}
	if u == nil {
		w.Header().Set("WWW-Authenticate", `Session realm="socialauth-demo"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "not_authenticated", "login_url": "/login/"})
		return
	}
	writeJSON(w, http.StatusOK, newMe(u, socials))
}

// healthz reports whether the database answers.
func (a *app) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.ping(ctx); err != nil {
		a.logger.WarnContext(r.Context(), "demo: health check failed", "error", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// knownErrorCode reports whether code is one the views put in
// LOGIN_ERROR_URL?error=<code>, so the page shows only codes it knows and
// never reflects other request text.
func knownErrorCode(code string) bool {
	if code == views.CodeServerError || code == views.CodeTimeout || code == "csrf_failed" {
		return true
	}
	if code == "" || len(code) > 40 || strings.Trim(code, "abcdefghijklmnopqrstuvwxyz_") != "" {
		return false
	}
	err := &socialauth.Error{Code: socialauth.Code(code)}
	// Unknown codes get the generic message.
	return err.Error() != "Authentication error"
}

type homeBackend struct{ Name, LoginURL string }

type homeData struct {
	User     *socialauth.User
	FullName string
	Social   []meSocial
	Backends []homeBackend
	Error    string
	LMSURL   string
}

// home is the demo's page: who is signed in, sign-in and sign-out links,
// the registered backends. html/template escapes every value.
func (a *app) home(w http.ResponseWriter, r *http.Request) {
	u, socials, err := a.currentUser(w, r)
	if err != nil {
		a.logger.ErrorContext(r.Context(), "demo: / failed", "error", err)
		http.Error(w, http.StatusText(socialauth.HTTPStatus(err)), socialauth.HTTPStatus(err))
		return
	}
	d := homeData{User: u, LMSURL: a.lmsURL}
	if u != nil {
		d.Social = newMe(u, socials).Social
		d.FullName = strings.TrimSpace(u.FirstName + " " + u.LastName)
	}
	for _, name := range a.sso.Service.BackendNames() {
		d.Backends = append(d.Backends, homeBackend{Name: name, LoginURL: a.sso.BeginPath(name) + "?next=/"})
	}
	if code := r.URL.Query().Get("error"); code != "" && knownErrorCode(code) {
		d.Error = code
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	if err := a.page.Execute(w, d); err != nil {
		a.logger.WarnContext(r.Context(), "demo: rendering / failed", "error", err)
	}
}

// homePage parses the template of /.
func homePage() *template.Template { return template.Must(template.New("home").Parse(homeHTML)) }

const homeHTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>socialauth demo</title>
<style>
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: #f4f6f8; color: #1d2733; margin: 0; }
main { max-width: 40rem; margin: 3rem auto; background: #fff; border-radius: 10px; padding: 2rem 2.5rem; box-shadow: 0 2px 12px rgba(0,0,0,.08); }
h1 { margin-top: 0; font-size: 1.6rem; }
.status { font-size: 1.15rem; margin: 1.2rem 0; }
.button { display: inline-block; padding: .55rem 1.1rem; border-radius: 6px; background: #0b5cad; color: #fff; text-decoration: none; font-weight: 600; margin-right: .5rem; }
.button.secondary { background: #e8edf2; color: #1d2733; }
.error { background: #fdecea; color: #8a1c12; padding: .6rem .9rem; border-radius: 6px; }
table { border-collapse: collapse; margin: 1rem 0; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e7eb; }
th { font-weight: 600; color: #4a5866; }
footer, .hint { color: #5c6b79; font-size: .9rem; }
code { background: #eef1f4; padding: .1rem .3rem; border-radius: 4px; }
</style>
</head>
<body>
<main>
<h1>socialauth demo</h1>
<p class="hint">A small Go web service protected by edX single sign-on.</p>
{{with .Error}}<p class="error" id="error">Sign-in failed: <code>{{.}}</code></p>{{end}}
{{with .User}}
<p class="status" id="status">Signed in as <strong id="username">{{.Username}}</strong>{{with $.FullName}} <span id="fullname">({{.}})</span>{{end}}.</p>
<table>
<tr><th>Email</th><td id="email">{{.Email}}</td></tr>
<tr><th>Staff</th><td>{{.IsStaff}}</td></tr>
<tr><th>Superuser</th><td>{{.IsSuperuser}}</td></tr>
</table>
{{if $.Social}}<table id="social">
<tr><th>Provider</th><th>UID</th><th>Provider user id</th></tr>
{{range $.Social}}<tr><td>{{.Provider}}</td><td>{{.UID}}</td><td>{{if .UserID}}{{.UserID}}{{else}}&ndash;{{end}}</td></tr>
{{end}}</table>{{end}}
<p><a class="button" id="signout" href="/logout/">Sign out</a> <a class="button secondary" href="/me/sessions">Your sessions</a> <a class="button secondary" href="/me">/me (JSON)</a></p>
{{else}}
<p class="status" id="status">You are not signed in.</p>
<p><a class="button" id="signin" href="/login/?next=/">Sign in</a></p>
{{end}}
<h2>Sign in with</h2>
<ul id="backends">
{{range .Backends}}<li><a class="backend" href="{{.LoginURL}}">{{.Name}}</a></li>
{{end}}</ul>
{{with .LMSURL}}<p class="hint">Signing in goes to the embedded fake LMS at <code>{{.}}</code>: any username works.</p>{{end}}
<footer><a href="/me">/me</a> &middot; <a href="/healthz">/healthz</a></footer>
</main>
</body>
</html>
`
