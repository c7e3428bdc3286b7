package main

import (
	"html/template"
	"net/http"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/views"
)

// sessionsData is what /me/sessions shows.
type sessionsData struct {
	User     *socialauth.User
	Sessions []sessionRow
}

type sessionRow struct {
	ID, Backend       string
	Created, LastSeen string
	Current           bool
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "–"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// sessionsPage lists the signed-in user's sessions, on every instance
// sharing the database (Service.Sessions), with a "sign out everywhere"
// button.
func (a *app) sessionsPage(w http.ResponseWriter, r *http.Request) {
	u := views.CurrentUser(r)
	list, err := a.sso.Service.Sessions(r.Context(), u.ID)
	if err != nil {
		a.logger.ErrorContext(r.Context(), "demo: /me/sessions failed", "error", err)
		http.Error(w, http.StatusText(socialauth.HTTPStatus(err)), socialauth.HTTPStatus(err))
		return
	}
	current := ""
	if m := a.sso.Sessions(); m != nil {
		if tok := m.Token(r.Context()); tok != "" {
			current = storage.SessionID(tok)
		}
	}
	d := sessionsData{User: u}
	for _, s := range list {
		d.Sessions = append(d.Sessions, sessionRow{ID: s.ID, Backend: s.Backend, Created: formatTime(s.Created),
			LastSeen: formatTime(s.LastSeen), Current: s.ID == current})
	}
	pageHeaders(w)
	if err := sessionsTemplate.Execute(w, d); err != nil {
		a.logger.WarnContext(r.Context(), "demo: rendering /me/sessions failed", "error", err)
	}
}

// endSessions is "sign out everywhere": every session of the user ends
// (Service.EndSessions), this one included (Service.Logout), then / . The
// POST must be same-origin (views.SameOrigin), as the disconnect view's.
func (a *app) endSessions(w http.ResponseWriter, r *http.Request) {
	if !a.sso.SameOrigin(r) {
		a.logger.WarnContext(r.Context(), "demo: cross-origin sign out everywhere refused", "code", "csrf_failed")
		http.Error(w, http.StatusText(http.StatusForbidden), http.StatusForbidden)
		return
	}
	u := views.CurrentUser(r)
	if _, err := a.sso.Service.EndSessions(r.Context(), u.ID); err != nil {
		a.logger.ErrorContext(r.Context(), "demo: sign out everywhere failed", "error", err)
		http.Error(w, http.StatusText(socialauth.HTTPStatus(err)), socialauth.HTTPStatus(err))
		return
	}
	if err := a.sso.Service.Logout(r.Context(), a.sso.Strategy(r)); err != nil {
		a.logger.WarnContext(r.Context(), "demo: logout after sign out everywhere failed", "error", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// pageHeaders are the headers of the demo's HTML pages.
func pageHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
}

var sessionsTemplate = template.Must(template.New("sessions").Parse(`<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Your sessions | socialauth demo</title>
<style>
body { font-family: system-ui, sans-serif; background: #f4f6f8; color: #1d2733; margin: 0; }
main { max-width: 44rem; margin: 3rem auto; background: #fff; border-radius: 10px; padding: 2rem 2.5rem; }
table { border-collapse: collapse; margin: 1rem 0; width: 100%; }
th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #e3e7eb; }
button { padding: .55rem 1.1rem; border-radius: 6px; background: #ad1b0b; color: #fff; border: 0; font-weight: 600; }
</style></head>
<body><main>
<h1>Your sessions</h1>
<p>Signed in as <strong>{{.User.Username}}</strong>. These are the sessions of your account, on every instance of this service.</p>
<table id="sessions">
<tr><th>Session</th><th>Signed in with</th><th>Since</th><th>Last active</th><th></th></tr>
{{range .Sessions}}<tr class="session"><td><code>{{printf "%.8s" .ID}}</code></td><td>{{.Backend}}</td><td>{{.Created}}</td><td>{{.LastSeen}}</td><td>{{if .Current}}this browser{{end}}</td></tr>
{{end}}</table>
<form method="post" action="/me/sessions"><button id="signout-everywhere" type="submit">Sign out everywhere</button></form>
<p><a href="/">Back</a></p>
</main></body></html>
`))
