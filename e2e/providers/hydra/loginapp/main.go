// Command loginapp is the login-and-consent app of the Ory Hydra instance
// that socialauth's real-provider tests sign in against (cmd/demo
// realprovider_test.go). It uses only the standard library and Hydra's admin
// API:
//
//   - GET /login shows a password form for the users of users.json, or
//     accepts at once when Hydra says the browser is already signed in
//     (skip); POST /login checks the password and accepts the login
//     (remembered, so Hydra's session gives single sign-on);
//   - GET /consent accepts every requested scope, with the user's profile
//     and email in the ID token;
//   - GET /logout accepts the logout request (RP-initiated logout).
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"
)

type user struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	Password   string `json:"password"`
	Email      string `json:"email"`
	GivenName  string `json:"given_name"`
	FamilyName string `json:"family_name"`
}

func main() {
	addr := flag.String("addr", "127.0.0.1:4446", "listen address (loopback)")
	admin := flag.String("admin", "http://127.0.0.1:4445", "Hydra's admin URL")
	usersFile := flag.String("users", "users.json", "the users (JSON)")
	flag.Parse()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, *admin, *usersFile, logger); err != nil {
		logger.Error("loginapp stopped", "error", err)
		os.Exit(1)
	}
}

func run(addr, admin, usersFile string, logger *slog.Logger) error {
	raw, err := os.ReadFile(usersFile)
	if err != nil {
		return err
	}
	var users []user
	if err := json.Unmarshal(raw, &users); err != nil {
		return fmt.Errorf("%s: %w", usersFile, err)
	}
	a := &app{admin: admin, users: users, logger: logger,
		client: &http.Client{Timeout: 30 * time.Second}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", a.loginForm)
	mux.HandleFunc("POST /login", a.loginSubmit)
	mux.HandleFunc("GET /consent", a.consent)
	mux.HandleFunc("GET /logout", a.logout)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("refusing to listen on %s: loopback only", ln.Addr())
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("loginapp listening", "addr", ln.Addr().String(), "admin", admin)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type app struct {
	admin  string
	users  []user
	client *http.Client
	logger *slog.Logger
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>Hydra sign in</title></head><body>
<h1>Sign in</h1>
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="challenge" value="{{.Challenge}}">
<label>Username <input id="username" name="username" value=""></label>
<label>Password <input id="password" name="password" type="password"></label>
<button type="submit">Sign in</button>
</form></body></html>
`))

func renderLogin(w http.ResponseWriter, status int, challenge, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct{ Challenge, Error string }{challenge, msg})
}

// call sends a request to Hydra's admin API and decodes its JSON answer.
func (a *app) call(ctx context.Context, method, path, param, challenge string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	u := a.admin + path + "?" + url.Values{param: {challenge}}.Encode()
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

type redirectTo struct {
	RedirectTo string `json:"redirect_to"`
}

func (a *app) fail(w http.ResponseWriter, err error) {
	a.logger.Warn("hydra admin call failed", "error", err)
	http.Error(w, err.Error(), http.StatusBadGateway)
}

func (a *app) loginForm(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("login_challenge")
	var lr struct {
		Skip    bool   `json:"skip"`
		Subject string `json:"subject"`
	}
	if err := a.call(r.Context(), http.MethodGet, "/admin/oauth2/auth/requests/login", "login_challenge", challenge, nil, &lr); err != nil {
		a.fail(w, err)
		return
	}
	if lr.Skip {
		// Hydra knows this browser: single sign-on.
		a.acceptLogin(w, r, challenge, lr.Subject)
		return
	}
	renderLogin(w, http.StatusOK, challenge, "")
}

func (a *app) loginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	challenge := r.PostForm.Get("challenge")
	for _, u := range a.users {
		if u.Username == r.PostForm.Get("username") && u.Password == r.PostForm.Get("password") {
			a.acceptLogin(w, r, challenge, u.ID)
			return
		}
	}
	a.logger.Info("wrong username or password")
	renderLogin(w, http.StatusUnauthorized, challenge, "Wrong username or password.")
}

func (a *app) acceptLogin(w http.ResponseWriter, r *http.Request, challenge, subject string) {
	var to redirectTo
	body := map[string]any{"subject": subject, "remember": true, "remember_for": 3600}
	if err := a.call(r.Context(), http.MethodPut, "/admin/oauth2/auth/requests/login/accept", "login_challenge", challenge, body, &to); err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, to.RedirectTo, http.StatusFound)
}

func (a *app) userByID(id string) (user, bool) {
	for _, u := range a.users {
		if u.ID == id {
			return u, true
		}
	}
	return user{}, false
}

func (a *app) consent(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("consent_challenge")
	var cr struct {
		Subject                      string   `json:"subject"`
		RequestedScope               []string `json:"requested_scope"`
		RequestedAccessTokenAudience []string `json:"requested_access_token_audience"`
	}
	if err := a.call(r.Context(), http.MethodGet, "/admin/oauth2/auth/requests/consent", "consent_challenge", challenge, nil, &cr); err != nil {
		a.fail(w, err)
		return
	}
	u, ok := a.userByID(cr.Subject)
	if !ok {
		http.Error(w, "unknown subject", http.StatusBadRequest)
		return
	}
	claims := map[string]any{}
	for _, s := range cr.RequestedScope {
		switch s {
		case "email":
			claims["email"], claims["email_verified"] = u.Email, true
		case "profile":
			claims["preferred_username"] = u.Username
			claims["given_name"], claims["family_name"] = u.GivenName, u.FamilyName
			claims["name"] = u.GivenName + " " + u.FamilyName
		}
	}
	body := map[string]any{
		"grant_scope":                 cr.RequestedScope,
		"grant_access_token_audience": cr.RequestedAccessTokenAudience,
		"remember":                    true,
		"remember_for":                3600,
		"session":                     map[string]any{"id_token": claims, "access_token": map[string]any{}},
	}
	var to redirectTo
	if err := a.call(r.Context(), http.MethodPut, "/admin/oauth2/auth/requests/consent/accept", "consent_challenge", challenge, body, &to); err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, to.RedirectTo, http.StatusFound)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	challenge := r.URL.Query().Get("logout_challenge")
	var to redirectTo
	if err := a.call(r.Context(), http.MethodPut, "/admin/oauth2/auth/requests/logout/accept", "logout_challenge", challenge, nil, &to); err != nil {
		a.fail(w, err)
		return
	}
	http.Redirect(w, r, to.RedirectTo, http.StatusFound)
}
