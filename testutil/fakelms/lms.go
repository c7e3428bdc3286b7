// Package fakelms is an in-process stand-in for the Open edX LMS acting as an OAuth2 / OpenID Connect
// provider (django-oauth-toolkit plus edX's JWT extension), for tests and for the demo.
//
// It serves the LMS paths the edx-oauth2 backend talks to: /oauth2/authorize (with a tiny HTML sign-in
// page), /oauth2/access_token (authorization_code and refresh_token grants, token_type=jwt for an RS512
// JWT access token with the LMS claims, PKCE, client_secret_post and client_secret_basic),
// /oauth2/user_info, /oauth2/revoke_token, /oauth2/jwks.json, /.well-known/openid-configuration and
// /logout. It can rotate signing keys, count calls, record token requests and misbehave on command
// (Fault) so that client code can be tested against provider failures. With Options.OIDC it is a
// plain OpenID provider for relying-party tests, whose ID tokens, UserInfo and discovery can be made
// to misbehave the way the OpenID Foundation's RP certification tests do (SetOIDCFaults), and whose
// key can be replaced behind the same kid (ReplaceKey).
//
// An LMS is safe for concurrent use and holds no package-level state, so a test may run several.
// New generates a 2048-bit RSA key, which costs tens of milliseconds (more under -race); pass
// Options.Key to reuse one key across many tests.
package fakelms

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Client is an OAuth2 application registered with the LMS.
type Client struct {
	// ID is the client_id.
	ID string
	// Secret is the client_secret (confidential client).
	Secret string
	// RedirectURIs are the registered redirect URIs. A redirect_uri matches one when scheme, host, port
	// and path are equal and every query parameter of the registered URI is present in it, which is
	// how django-oauth-toolkit matches; extra query parameters (social-core's redirect_state) are
	// allowed unless Options.ExactRedirectURI is set.
	RedirectURIs []string
	// LogoutRedirectHosts are hosts ("host" or "host:port") that /logout?client_id=…&redirect_url=…
	// may redirect to. The hosts of RedirectURIs are allowed too, as on the real LMS.
	LogoutRedirectHosts []string
}

// User is an LMS account.
type User struct {
	Username   string
	Email      string
	Name       string
	GivenName  string
	FamilyName string
	// UserID is the numeric LMS user id, as a string (the upstream test fixture has "1").
	UserID        string
	Administrator bool
	Superuser     bool
	// Locale, when set, is added as the "locale" claim (the real LMS does not send it; the backend maps it).
	Locale string
	// Subject is the "sub" claim; empty derives a stable 32-hex-digit id from the username.
	Subject string
	// Inactive users get email_verified=false, as on the LMS (email_verified is user.is_active).
	Inactive bool
}

// Options configure an LMS. The zero value works: no clients (add them with AddClient), the fixture
// user jsmith, issuer {base}/oauth2, audience "lms-key", one-hour tokens.
type Options struct {
	// Clients are the registered OAuth2 applications.
	Clients []Client
	// Users are the initial accounts. Empty means []User{FixtureUser()}.
	Users []User
	// Issuer is the "iss" of every token and the discovery issuer. Empty means BaseURL()+"/oauth2".
	Issuer string
	// Audience is the "aud" of JWT access tokens. Empty means "lms-key".
	Audience string
	// Strict refuses unknown usernames instead of creating them on the fly.
	Strict bool
	// TokenTTL is the access-token lifetime. Zero means one hour.
	TokenTTL time.Duration
	// CodeTTL is the authorization-code lifetime. Zero means 60 seconds (django-oauth-toolkit's default).
	CodeTTL time.Duration
	// IssParameter adds the RFC 9207 "iss" parameter to authorization responses.
	IssParameter bool
	// ExactRedirectURI requires redirect_uri to equal a registered URI byte for byte.
	ExactRedirectURI bool
	// NumericUserID sends the user_id claim as a JSON number, as the real LMS does; the default is a
	// string, as in the upstream test fixture.
	NumericUserID bool
	// PublicURL is the browser-facing root used for the authorization and end-session endpoints in
	// discovery (the backend's PUBLIC_URL_ROOT). Empty means the base URL.
	PublicURL string
	// OIDC makes the LMS a plain OpenID provider for relying-party tests: its JWKS publishes each
	// key once, under its RS256 kid (so that a one-key set exists for tokens without kid), and
	// SetOIDCFaults can make its ID tokens, UserInfo and discovery misbehave. ID tokens (RS256, with
	// nonce, at_hash and auth_time) and UserInfo are served in both modes.
	OIDC bool
	// Key is the initial signing key. Nil generates a 2048-bit RSA key.
	Key *rsa.PrivateKey
	// Logger receives request logs (never secrets). Nil discards.
	Logger *slog.Logger
	// Now is the clock for token lifetimes. Nil means time.Now.
	Now func() time.Time
}

// Calls counts requests per endpoint, faulted ones included.
type Calls struct {
	Authorize, Token, UserInfo, JWKS, Discovery, Revoke, Logout int
}

// TokenRequest is what a client sent to /oauth2/access_token. It holds secrets: tests only.
type TokenRequest struct {
	// Form is the parsed form body.
	Form url.Values
	// BasicAuth reports whether an Authorization: Basic header was sent; BasicUser and BasicPassword
	// are its decoded values.
	BasicAuth                bool
	BasicUser, BasicPassword string
	// ContentType, Accept and UserAgent are the request headers of the same names.
	ContentType, Accept, UserAgent string
}

// maxTokenRequests bounds the TokenRequests log so that load tests do not grow it without limit.
const maxTokenRequests = 1000

// ErrInvalidOptions is wrapped by New and AddClient for unusable configuration.
var ErrInvalidOptions = errors.New("fakelms: invalid options")

// LMS is a fake edX LMS OAuth2 provider. Create it with New or NewServer.
type LMS struct {
	opts   Options
	now    func() time.Time
	log    *slog.Logger
	ttl    time.Duration
	mux    *http.ServeMux
	calls  [numEndpoints]atomic.Int64
	server *httptest.Server

	mu            sync.Mutex
	base          string
	clients       map[string]Client
	users         map[string]User
	nextUserID    int
	autoApprove   string
	keys          []*signingKey // last is current
	codes         map[string]*authCode
	access        map[string]*accessToken
	refresh       map[string]*refreshToken
	faults        map[string]*Fault
	oidcFaults    OIDCFaults
	tokenRequests []TokenRequest
	sids          map[string]string // username → the sid of its ID tokens (logout_token.go)
}

// FixtureUser is the user of the upstream test fixture (auth_backends/tests/test_backends.py).
func FixtureUser() User {
	return User{
		Username:   "jsmith",
		Email:      "jsmith@example.com",
		Name:       "Joe Smith",
		GivenName:  "Joe",
		FamilyName: "Smith",
		UserID:     "1",
		Subject:    "e3bfe0e4e7c6693efba9c3a93ee7f31b",
	}
}

// New builds an LMS. Serve Handler() yourself and call SetBaseURL, or use NewServer.
func New(opts Options) (*LMS, error) {
	l := &LMS{
		opts:    opts,
		now:     opts.Now,
		log:     opts.Logger,
		ttl:     opts.TokenTTL,
		clients: map[string]Client{},
		users:   map[string]User{},
		codes:   map[string]*authCode{},
		access:  map[string]*accessToken{},
		refresh: map[string]*refreshToken{},
		faults:  map[string]*Fault{},
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.log == nil {
		l.log = slog.New(slog.DiscardHandler)
	}
	if l.ttl <= 0 {
		l.ttl = time.Hour
	}
	if l.opts.CodeTTL <= 0 {
		l.opts.CodeTTL = time.Minute
	}
	if l.opts.Audience == "" {
		l.opts.Audience = "lms-key"
	}
	if l.opts.PublicURL != "" {
		if err := checkRoot(l.opts.PublicURL); err != nil {
			return nil, fmt.Errorf("%w: PublicURL: %w", ErrInvalidOptions, err)
		}
		l.opts.PublicURL = strings.TrimRight(l.opts.PublicURL, "/")
	}
	for _, c := range opts.Clients {
		if err := l.AddClient(c); err != nil {
			return nil, err
		}
	}
	users := opts.Users
	if len(users) == 0 {
		users = []User{FixtureUser()}
	}
	for _, u := range users {
		if err := l.AddUser(u); err != nil {
			return nil, err
		}
	}
	key := opts.Key
	if key == nil {
		var err error
		if key, err = generateKey(); err != nil {
			return nil, err
		}
	}
	sk, err := newSigningKey(key)
	if err != nil {
		return nil, err
	}
	l.keys = []*signingKey{sk}
	l.mux = l.routes()
	return l, nil
}

// NewServer starts an LMS on an httptest server bound to 127.0.0.1, sets its base URL and closes it in
// t.Cleanup. It calls t.Fatal if the options are unusable.
func NewServer(t testing.TB, opts Options) *LMS {
	t.Helper()
	l, err := New(opts)
	if err != nil {
		t.Fatalf("fakelms.NewServer: %v", err)
	}
	srv := httptest.NewServer(l.Handler())
	l.server = srv
	l.SetBaseURL(srv.URL)
	t.Cleanup(srv.Close)
	return l
}

// Handler is the LMS as an http.Handler.
func (l *LMS) Handler() http.Handler { return l.mux }

// SetBaseURL tells the LMS where it is served (scheme://host[:port], no path), for the issuer, the
// discovery document and absolute URLs. Until it is set the request's Host is used.
func (l *LMS) SetBaseURL(u string) {
	l.mu.Lock()
	l.base = strings.TrimRight(u, "/")
	l.mu.Unlock()
}

// URL is the base URL (the backend's URL_ROOT), or "" when not known yet.
func (l *LMS) URL() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.base
}

// Issuer is the "iss" the LMS puts in tokens (Options.Issuer or URL()+"/oauth2").
func (l *LMS) Issuer() string {
	if l.opts.Issuer != "" {
		return l.opts.Issuer
	}
	return l.URL() + "/oauth2"
}

// Audience is the "aud" of JWT access tokens.
func (l *LMS) Audience() string { return l.opts.Audience }

// Client returns an *http.Client that reaches the server started by NewServer (nil for New).
func (l *LMS) Client() *http.Client {
	if l.server == nil {
		return nil
	}
	return l.server.Client()
}

// AddClient registers (or replaces) an OAuth2 application, e.g. once the app's test server URL is known.
func (l *LMS) AddClient(c Client) error {
	if c.ID == "" {
		return fmt.Errorf("%w: client with empty ID", ErrInvalidOptions)
	}
	for _, ru := range c.RedirectURIs {
		if _, err := parseRedirectURI(ru); err != nil {
			return fmt.Errorf("%w: client %q redirect URI: %w", ErrInvalidOptions, c.ID, err)
		}
	}
	c.RedirectURIs = append([]string(nil), c.RedirectURIs...)
	c.LogoutRedirectHosts = append([]string(nil), c.LogoutRedirectHosts...)
	l.mu.Lock()
	l.clients[c.ID] = c
	l.mu.Unlock()
	return nil
}

// AddUser registers (or replaces) an account. Empty UserID gets the next free number; other empty
// profile fields are derived from the username.
func (l *LMS) AddUser(u User) error {
	if !validUsername(u.Username) {
		return fmt.Errorf("%w: invalid username %q", ErrInvalidOptions, u.Username)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.addUserLocked(u)
	return nil
}

// User returns the account with that username.
func (l *LMS) User(username string) (User, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	u, ok := l.users[username]
	return u, ok
}

func (l *LMS) addUserLocked(u User) User {
	if u.UserID == "" {
		l.nextUserID++
		u.UserID = strconv.Itoa(l.nextUserID)
	} else if n, err := strconv.Atoi(u.UserID); err == nil && n > l.nextUserID {
		l.nextUserID = n
	}
	if u.Email == "" {
		u.Email = u.Username + "@example.com"
	}
	if u.GivenName == "" && u.FamilyName == "" && u.Name == "" {
		u.GivenName, u.FamilyName = deriveNames(u.Username)
	}
	if u.Name == "" {
		u.Name = strings.TrimSpace(u.GivenName + " " + u.FamilyName)
	}
	if u.Subject == "" {
		u.Subject = subjectFor(u.Username)
	}
	l.users[u.Username] = u
	return u
}

// AutoApprove makes GET /oauth2/authorize sign username in and redirect at once, without the HTML
// page. "" turns it off.
func (l *LMS) AutoApprove(username string) {
	l.mu.Lock()
	l.autoApprove = username
	l.mu.Unlock()
}

// Calls returns the per-endpoint request counters.
func (l *LMS) Calls() Calls {
	return Calls{
		Authorize: int(l.calls[epAuthorize].Load()),
		Token:     int(l.calls[epToken].Load()),
		UserInfo:  int(l.calls[epUserInfo].Load()),
		JWKS:      int(l.calls[epJWKS].Load()),
		Discovery: int(l.calls[epDiscovery].Load()),
		Revoke:    int(l.calls[epRevoke].Load()),
		Logout:    int(l.calls[epLogout].Load()),
	}
}

// ResetCalls zeroes the counters.
func (l *LMS) ResetCalls() {
	for i := range l.calls {
		l.calls[i].Store(0)
	}
}

// TokenRequests returns the token requests received so far (at most the last 1000), secrets included.
func (l *LMS) TokenRequests() []TokenRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]TokenRequest, len(l.tokenRequests))
	for i, tr := range l.tokenRequests {
		tr.Form = cloneValues(tr.Form)
		out[i] = tr
	}
	return out
}

// baseFor is the base URL, or one guessed from the request when SetBaseURL was never called.
func (l *LMS) baseFor(r *http.Request) string {
	if b := l.URL(); b != "" {
		return b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (l *LMS) issuerFor(r *http.Request) string {
	if l.opts.Issuer != "" {
		return l.opts.Issuer
	}
	return l.baseFor(r) + "/oauth2"
}

func (l *LMS) publicFor(r *http.Request) string {
	if l.opts.PublicURL != "" {
		return l.opts.PublicURL
	}
	return l.baseFor(r)
}

func checkRoot(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("want http(s)://host[:port]")
	}
	return nil
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
