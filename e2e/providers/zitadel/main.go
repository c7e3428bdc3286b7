// Command zitadel-op is a small OpenID provider built from zitadel/oidc v3's
// op package, for socialauth's real-provider tests (cmd/demo
// realprovider_test.go). It serves, on loopback only:
//
//   - the OpenID endpoints of pkg/op (discovery, /authorize, /oauth/token,
//     /userinfo, /keys, /end_session, /revoke, /oauth/introspect);
//   - an HTML login form at /login for the users of users.json, with single
//     sign-on: a signed-in browser is not asked for its password again (the
//     ID token keeps the first auth_time) unless the request says
//     prompt=login or its max_age has passed;
//   - POST /test/clients, which registers a client (JSON: client_id,
//     client_secret, redirect_uris, post_logout_redirect_uris,
//     token_endpoint_auth_method); only loopback callers are served.
//
// Every client must use PKCE (S256) and the token-endpoint authentication
// method it was registered with (client_secret_basic or client_secret_post).
package main

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html/template"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

//go:embed users.json
var usersJSON []byte

const sessionCookie = "zop_session"

func main() {
	addr := flag.String("addr", "127.0.0.1:9998", "listen address (loopback)")
	issuer := flag.String("issuer", "", "issuer (default http://<addr>)")
	flag.Parse()
	if *issuer == "" {
		*issuer = "http://" + *addr
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(*addr, *issuer, logger); err != nil {
		logger.Error("zitadel-op stopped", "error", err)
		os.Exit(1)
	}
}

func run(addr, issuer string, logger *slog.Logger) error {
	var users []*user
	if err := json.Unmarshal(usersJSON, &users); err != nil {
		return fmt.Errorf("users.json: %w", err)
	}
	s, err := newStorage(users)
	if err != nil {
		return err
	}
	handler, err := newHandler(s, issuer, logger)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	if tcp, ok := ln.Addr().(*net.TCPAddr); !ok || !tcp.IP.IsLoopback() {
		ln.Close()
		return fmt.Errorf("refusing to listen on %s: loopback only", ln.Addr())
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("zitadel-op listening", "addr", ln.Addr().String(), "issuer", issuer)
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newHandler(s *storage, issuer string, logger *slog.Logger) (http.Handler, error) {
	provider, err := op.NewProvider(&op.Config{
		CryptoKey:                sha256.Sum256([]byte(randomID())),
		DefaultLogoutRedirectURI: "/logged-out",
		CodeMethodS256:           true,
		AuthMethodPost:           true,
	}, s, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, err
	}
	l := &loginUI{s: s, callback: op.AuthCallbackURL(provider), logger: logger}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", l.form)
	mux.Handle("POST /login", op.NewIssuerInterceptor(provider.IssuerFromRequest).HandlerFunc(l.submit))
	mux.HandleFunc("GET /logged-out", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("signed out\n"))
	})
	mux.HandleFunc("POST /test/clients", func(w http.ResponseWriter, r *http.Request) { registerClient(s, w, r) })
	mux.Handle(provider.EndSessionEndpoint().Relative(), endSession(s, provider))
	mux.Handle(provider.TokenEndpoint().Relative(), enforceAuthMethod(s, provider))
	mux.Handle("/", provider)
	return mux, nil
}

// loginUI is the provider's login page.
type loginUI struct {
	s        *storage
	callback func(context.Context, string) string
	logger   *slog.Logger
}

var loginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>zitadel-op sign in</title></head><body>
<h1>Sign in</h1>
{{if .Error}}<p id="error">{{.Error}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<label>Username <input id="username" name="username" value=""></label>
<label>Password <input id="password" name="password" type="password"></label>
<button type="submit">Sign in</button>
</form></body></html>
`))

func renderLogin(w http.ResponseWriter, status int, id, msg string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = loginPage.Execute(w, struct{ ID, Error string }{id, msg})
}

// form completes the request from the browser's session when single sign-on
// applies, else shows the form.
func (l *loginUI) form(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("authRequestID")
	req, ok := l.s.authRequest(id)
	if !ok {
		http.Error(w, "unknown authorization request", http.StatusBadRequest)
		return
	}
	if c, err := r.Cookie(sessionCookie); err == nil && !req.wantsPrompt(oidc.PromptLogin) {
		if sess, ok := l.s.session(c.Value); ok && (req.maxAge == nil || time.Since(sess.authTime) <= *req.maxAge) {
			if err := l.s.completeAuthRequest(id, sess.userID, sess.authTime); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			l.logger.Info("single sign-on", "user", sess.userID, "client", req.clientID)
			http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
			return
		}
	}
	if req.wantsPrompt(oidc.PromptNone) {
		http.Error(w, "login_required", http.StatusBadRequest)
		return
	}
	renderLogin(w, http.StatusOK, id, "")
}

// submit checks the password, starts a browser session and completes the
// authorization request.
func (l *loginUI) submit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("id")
	if _, ok := l.s.authRequest(id); !ok {
		http.Error(w, "unknown authorization request", http.StatusBadRequest)
		return
	}
	u, ok := l.s.checkPassword(r.PostForm.Get("username"), r.PostForm.Get("password"))
	if !ok {
		l.logger.Info("wrong username or password")
		renderLogin(w, http.StatusUnauthorized, id, "Wrong username or password.")
		return
	}
	now := time.Now().Truncate(time.Second)
	if c, err := r.Cookie(sessionCookie); err == nil {
		l.s.endSession(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: l.s.newSession(u.ID, now), Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode})
	if err := l.s.completeAuthRequest(id, u.ID, now); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	l.logger.Info("signed in", "user", u.ID)
	http.Redirect(w, r, l.callback(r.Context(), id), http.StatusFound)
}

// endSession runs the provider's end_session endpoint and, when it accepted
// the request (a redirect), also ends the browser's session.
func endSession(s *storage, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, onHeader: func(status int) {
			if status != http.StatusFound {
				return
			}
			if c, err := r.Cookie(sessionCookie); err == nil {
				s.endSession(c.Value)
			}
			http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1})
		}}
		next.ServeHTTP(rec, r)
	})
}

type statusRecorder struct {
	http.ResponseWriter
	onHeader func(int)
	wrote    bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.wrote {
		r.wrote = true
		r.onHeader(status)
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	return r.ResponseWriter.Write(b)
}

// enforceAuthMethod refuses a token request whose client authenticates
// otherwise than it was registered to (pkg/op accepts either).
func enforceAuthMethod(s *storage, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			tokenError(w, "invalid_request", "cannot parse form")
			return
		}
		basicID, _, basic := r.BasicAuth()
		post := r.PostForm.Get("client_secret") != ""
		clientID := r.PostForm.Get("client_id")
		if basic {
			// RFC 6749 §2.3.1: form-encoded inside the header.
			if id, err := urlUnescape(basicID); err == nil {
				clientID = id
			}
		}
		c, ok := s.clientByID(clientID)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		switch {
		case basic && post:
			tokenError(w, "invalid_request", "more than one client authentication method")
			return
		case c.authMethod == oidc.AuthMethodBasic && !basic,
			c.authMethod == oidc.AuthMethodPost && !post:
			tokenError(w, "invalid_client", "client must authenticate with "+string(c.authMethod))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func tokenError(w http.ResponseWriter, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusBadRequest
	if code == "invalid_client" {
		status = http.StatusUnauthorized
		w.Header().Set("WWW-Authenticate", `Basic realm="token"`)
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// clientRegistration is the body of POST /test/clients.
type clientRegistration struct {
	ClientID               string   `json:"client_id"`
	ClientSecret           string   `json:"client_secret"`
	RedirectURIs           []string `json:"redirect_uris"`
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris"`
	AuthMethod             string   `json:"token_endpoint_auth_method"`
}

// registerClient serves POST /test/clients to loopback callers only.
func registerClient(s *storage, w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	var reg clientRegistration
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&reg); err != nil {
		http.Error(w, "bad JSON: "+err.Error(), http.StatusBadRequest)
		return
	}
	method := oidc.AuthMethod(reg.AuthMethod)
	if method == "" {
		method = oidc.AuthMethodBasic
	}
	if reg.ClientID == "" || reg.ClientSecret == "" || len(reg.RedirectURIs) == 0 ||
		(method != oidc.AuthMethodBasic && method != oidc.AuthMethodPost) {
		http.Error(w, "client_id, client_secret, redirect_uris required; token_endpoint_auth_method client_secret_basic or client_secret_post",
			http.StatusBadRequest)
		return
	}
	s.addClient(&client{id: reg.ClientID, secret: reg.ClientSecret, redirectURIs: reg.RedirectURIs,
		postLogoutURIs: reg.PostLogoutRedirectURIs, authMethod: method, requirePKCE: true})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	_ = json.NewEncoder(w).Encode(map[string]string{"client_id": reg.ClientID})
}
