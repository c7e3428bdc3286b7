package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// The real-provider tests sign users in through the demo's generic oidc
// backend against OpenID providers that nobody here wrote, started on
// loopback by .ci/services (e2e/providers/*/service.sh). Each provider is
// described by a realProvider; runRealProvider and runRealProviderTwoTabs
// are the same for all of them. See docs/testing.md.

// Environment variables printed by the providers' service.sh.
const (
	envZitadelIssuer = "SOCIALAUTH_TEST_ZITADEL_ISSUER"
	envHydraIssuer   = "SOCIALAUTH_TEST_HYDRA_ISSUER"
	envHydraAdmin    = "SOCIALAUTH_TEST_HYDRA_ADMIN"
	envHydraUsers    = "SOCIALAUTH_TEST_HYDRA_USERS"
)

// realProvider is one third-party OpenID provider under test.
type realProvider struct {
	name string
	// issuer is exactly the issuer of the provider's discovery document,
	// given to the demo as SOCIAL_AUTH_OIDC_OIDC_ENDPOINT.
	issuer string
	// users maps the usernames alice and bob to their passwords.
	users map[string]providerUser
	// register creates a client at the provider.
	register func(t *testing.T, c providerClient)
	// olderTabRefused is true when a second pending sign-in in the same
	// browser invalidates the first at the provider.
	olderTabRefused bool
}

type providerUser struct {
	Username string `json:"username"`
	Password string `json:"password"`
	Email    string `json:"email"`
}

// providerClient is a client registered at a provider for one demo.
type providerClient struct {
	ID, Secret    string
	RedirectURI   string
	PostLogoutURI string
	AuthMethod    string // client_secret_basic or client_secret_post
}

// readUsers reads a users.json of e2e/providers: a list of users with
// username, password and email.
func readUsers(t *testing.T, path string) map[string]providerUser {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("users of the provider: %v", err)
	}
	var list []providerUser
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatalf("users of the provider: %s: %v", path, err)
	}
	users := map[string]providerUser{}
	for _, u := range list {
		users[u.Username] = u
	}
	for _, name := range []string{"alice", "bob"} {
		if users[name].Password == "" {
			t.Fatalf("%s has no user %s with a password", path, name)
		}
	}
	return users
}

// postJSON POSTs v as JSON to u and fails the test unless the answer is 2xx.
func postJSON(t *testing.T, u string, v any) {
	t.Helper()
	body, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", u, err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", u, resp.StatusCode, answer)
	}
}

// zitadelProvider is e2e/providers/zitadel: zitadel/oidc v3's OpenID
// provider with our in-memory storage and login form.
func zitadelProvider(t *testing.T) realProvider {
	issuer := dbtest.Service(t, envZitadelIssuer)
	return realProvider{
		name:   "zitadel",
		issuer: issuer,
		users:  readUsers(t, filepath.Join("..", "..", "e2e", "providers", "zitadel", "users.json")),
		register: func(t *testing.T, c providerClient) {
			postJSON(t, strings.TrimRight(issuer, "/")+"/test/clients", map[string]any{
				"client_id": c.ID, "client_secret": c.Secret,
				"redirect_uris":              []string{c.RedirectURI},
				"post_logout_redirect_uris":  []string{c.PostLogoutURI},
				"token_endpoint_auth_method": c.AuthMethod,
			})
		},
	}
}

// hydraProvider is e2e/providers/hydra: Ory Hydra v2 with our login and
// consent app; clients are created through Hydra's admin API.
func hydraProvider(t *testing.T) realProvider {
	issuer := dbtest.Service(t, envHydraIssuer)
	admin := dbtest.Service(t, envHydraAdmin)
	users := dbtest.Service(t, envHydraUsers)
	return realProvider{
		name:   "hydra",
		issuer: issuer,
		users:  readUsers(t, users),
		register: func(t *testing.T, c providerClient) {
			postJSON(t, strings.TrimRight(admin, "/")+"/admin/clients", map[string]any{
				"client_id": c.ID, "client_secret": c.Secret,
				"redirect_uris":              []string{c.RedirectURI},
				"post_logout_redirect_uris":  []string{c.PostLogoutURI},
				"token_endpoint_auth_method": c.AuthMethod,
				"grant_types":                []string{"authorization_code", "refresh_token"},
				"response_types":             []string{"code"},
				"scope":                      "openid profile email offline_access",
			})
		},
		// ory/hydra#3757: a new login challenge in the same browser replaces
		// the login CSRF cookie of the older one, whose completion Hydra then
		// refuses (request_forbidden, "The CSRF value from the token does
		// not match…", sent to our callback), whichever tab finishes first.
		olderTabRefused: true,
	}
}

func TestRealProviderZitadel(t *testing.T) { runRealProvider(t, zitadelProvider(t)) }
func TestRealProviderHydra(t *testing.T)   { runRealProvider(t, hydraProvider(t)) }

func TestRealProviderZitadelTwoTabs(t *testing.T) { runRealProviderTwoTabs(t, zitadelProvider(t)) }
func TestRealProviderHydraTwoTabs(t *testing.T)   { runRealProviderTwoTabs(t, hydraProvider(t)) }

// clientSeq makes client ids unique across tests and runs (the providers
// outlive the tests).
var clientSeq atomic.Int64

// realDemo is a demo whose oidc backend is a client of a real provider.
type realDemo struct {
	*demo
	p      realProvider
	client providerClient
	dbURL  string
}

// startRealDemo starts a demo with a new client of p, registered with
// method and secret; demoMethod is what the demo is told to use (normally
// method). extra adds settings of the demo.
func startRealDemo(t *testing.T, p realProvider, method, demoMethod, secret string, extra map[string]string) *realDemo {
	t.Helper()
	dbURL := "sqlite:" + filepath.Join(t.TempDir(), "demo.db")
	id := fmt.Sprintf("socialauth-%s-%d-%d", strings.ReplaceAll(strings.ToLower(t.Name()), "/", "-"), time.Now().UnixNano(), clientSeq.Add(1))
	env := map[string]string{
		EnvDatabaseURL:                                dbURL,
		"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT":              p.issuer,
		"SOCIAL_AUTH_OIDC_KEY":                        id,
		"SOCIAL_AUTH_OIDC_SECRET":                     secret,
		"SOCIAL_AUTH_OIDC_TOKEN_ENDPOINT_AUTH_METHOD": demoMethod,
	}
	for k, v := range extra {
		env[k] = v
	}
	d := startDemo(t, env)
	c := providerClient{ID: id, Secret: secret, RedirectURI: d.BaseURL + "/complete/oidc/",
		PostLogoutURI: d.BaseURL + "/logout/oidc/return/", AuthMethod: method}
	p.register(t, c)
	return &realDemo{demo: d, p: p, client: c, dbURL: dbURL}
}

// signIns counts the sign-ins the demo logged.
func (d *realDemo) signIns() int { return strings.Count(d.logs.String(), `msg="demo: signed in"`) }

// isPasswordForm tells whether p is a provider's login form.
func isPasswordForm(p page) bool {
	return strings.Contains(p.body, `id="username"`) && strings.Contains(p.body, `id="password"`)
}

// submitPassword fills the provider's login form p with username and
// password and posts it with c (the browser's client when nil).
func submitPassword(b *browser, p page, username, password string, c *http.Client) page {
	b.t.Helper()
	action, form := signInForm(b.t, p)
	form.Set("username", username)
	form.Set("password", password)
	return b.postForm(action, form, c)
}

// signIn starts a sign-in at the demo (next=/me) and, when the provider
// asks for a password, gives user's. It returns the final page and whether
// the password form was shown.
func (d *realDemo) signIn(b *browser, user string) (page, bool) {
	b.t.Helper()
	p := b.get(d.BaseURL + "/login/oidc/?next=/me")
	if !isPasswordForm(p) {
		return p, false
	}
	u := d.p.users[user]
	return submitPassword(b, p, u.Username, u.Password, nil), true
}

// mustBeSignedIn checks that p is the demo's /me for user and returns it.
func (d *realDemo) mustBeSignedIn(t *testing.T, b *browser, p page, user string) map[string]any {
	t.Helper()
	if p.status != http.StatusOK || p.url.Path != "/me" || !strings.HasPrefix(p.url.String(), d.BaseURL) {
		t.Fatalf("sign-in as %s ended on %d %s, want %s/me\n%s\nlogs:\n%s", user, p.status, p.url, d.BaseURL, p.body, d.logs)
	}
	status, me := b.me(d.BaseURL)
	if status != http.StatusOK {
		t.Fatalf("/me = %d after signing in as %s", status, user)
	}
	if me["email"] != d.p.users[user].Email || !strings.HasPrefix(fmt.Sprint(me["username"]), user) {
		t.Fatalf("/me = %v, want %s (%s)", me, user, d.p.users[user].Email)
	}
	social, _ := me["social"].([]any)
	if len(social) != 1 || social[0].(map[string]any)["provider"] != "oidc" {
		t.Fatalf("/me social = %v, want one oidc association", me["social"])
	}
	return me
}

func uidOf(me map[string]any) string {
	return fmt.Sprint(me["social"].([]any)[0].(map[string]any)["uid"])
}

// authTime reads the auth_time of the last ID token the demo accepted for
// uid (kept in the association's extra data), in Unix seconds.
func (d *realDemo) authTime(t *testing.T, uid string) int64 {
	t.Helper()
	store, err := storage.Open(t.Context(), d.dbURL, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	social, err := store.GetSocialAuth(t.Context(), "oidc", uid)
	if err != nil {
		t.Fatal(err)
	}
	idctx, _ := social.ExtraData[backends.IDTokenContextKey].(map[string]any)
	at, err := strconv.ParseFloat(fmt.Sprint(idctx["auth_time"]), 64)
	if err != nil || at <= 0 {
		t.Fatalf("the ID token of %s carried no auth_time: %v", uid, social.ExtraData)
	}
	return int64(at)
}

// keepSession saves the demo's session cookie in b's jar and returns a
// function that puts it back: every demo listens on 127.0.0.1, and cookies
// do not tell ports apart, so signing in to another demo replaces it.
func (d *realDemo) keepSession(b *browser) func() {
	u, err := url.Parse(d.BaseURL + "/")
	if err != nil {
		b.t.Fatal(err)
	}
	saved := b.c.Jar.Cookies(u)
	return func() { b.c.Jar.SetCookies(u, saved) }
}

// untilCallback returns a client of b's jar that stops before the demo's
// callback: its last answer is the provider's redirect to the callback.
func (d *realDemo) untilCallback(b *browser) *http.Client {
	return &http.Client{Jar: b.c.Jar, Timeout: 30 * time.Second,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if strings.HasPrefix(req.URL.String(), d.client.RedirectURI) {
				return http.ErrUseLastResponse
			}
			b.mu.Lock()
			b.visits = append(b.visits, req.URL)
			b.mu.Unlock()
			if len(via) > 10 {
				return errors.New("too many redirects")
			}
			return nil
		}}
}

// callbackFrom returns the callback URL p (an answer of untilCallback)
// redirects to.
func (d *realDemo) callbackFrom(t *testing.T, p page) *url.URL {
	t.Helper()
	loc := p.header.Get("Location")
	if p.status/100 != 3 || !strings.HasPrefix(loc, d.client.RedirectURI) {
		t.Fatalf("the provider answered %d %q, want a redirect to %s\n%s", p.status, loc, d.client.RedirectURI, p.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// discover reads the provider's discovery document.
func discover(t *testing.T, issuer string) map[string]any {
	t.Helper()
	resp, err := http.Get(strings.TrimRight(issuer, "/") + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	defer resp.Body.Close()
	var doc map[string]any
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&doc) != nil {
		t.Fatalf("discovery: %d, not a JSON document", resp.StatusCode)
	}
	return doc
}

const (
	methodBasic = "client_secret_basic"
	methodPost  = "client_secret_post"
	// awkwardSecret has every character that form- and Basic-encoding of
	// client credentials must escape (RFC 6749 §2.3.1).
	awkwardSecret = "s3cr+t/with%25 odd:chars=&?x"
)

// runRealProvider is the proof against one real provider.
func runRealProvider(t *testing.T, p realProvider) {
	doc := discover(t, p.issuer)
	if doc["issuer"] != p.issuer {
		t.Fatalf("the provider's issuer is %q, the test was given %q", doc["issuer"], p.issuer)
	}
	authzEndpoint, _ := doc["authorization_endpoint"].(string)
	endSession, _ := doc["end_session_endpoint"].(string)
	if authzEndpoint == "" || endSession == "" {
		t.Fatalf("discovery lacks authorization_endpoint or end_session_endpoint: %v", doc)
	}

	d := startRealDemo(t, p, methodBasic, methodBasic, "plain-secret-"+fmt.Sprint(time.Now().UnixNano()), nil)
	b := newBrowser(t)

	// First login: discovery, the provider's form, PKCE, the token request
	// (client_secret_basic), the ID token and /me.
	landed, asked := d.signIn(b, "alice")
	if !asked {
		t.Fatalf("the first sign-in did not show the provider's password form: %d %s\n%s", landed.status, landed.url, landed.body)
	}
	alice := d.mustBeSignedIn(t, b, landed, "alice")
	aliceUID := uidOf(alice)
	firstAuthTime := d.authTime(t, aliceUID)
	sentPKCE := false
	for _, u := range b.visited() {
		if strings.HasPrefix(u.String(), authzEndpoint) && u.Query().Get("client_id") == d.client.ID {
			q := u.Query()
			if q.Get("code_challenge") != "" && q.Get("code_challenge_method") == "S256" {
				sentPKCE = true
			}
		}
	}
	if !sentPKCE {
		t.Errorf("the authorization request did not carry an S256 code_challenge: %v", b.visited())
	}

	t.Run("SSORelogin", func(t *testing.T) {
		// Sign out of the demo only: the provider still knows the browser.
		if p := b.get(d.BaseURL + "/logout/?no_redirect=1"); p.status != http.StatusOK {
			t.Fatalf("local sign-out: %d", p.status)
		}
		if status, _ := b.me(d.BaseURL); status != http.StatusUnauthorized {
			t.Fatalf("/me after local sign-out = %d, want 401", status)
		}
		before := d.signIns()
		time.Sleep(1100 * time.Millisecond) // a new password check would move auth_time
		landed, asked := d.signIn(b, "alice")
		if asked {
			t.Fatalf("single sign-on asked for the password again")
		}
		me := d.mustBeSignedIn(t, b, landed, "alice")
		if me["id"] != alice["id"] || uidOf(me) != aliceUID {
			t.Errorf("SSO signed in %v, want the same account %v", me, alice)
		}
		if got := d.authTime(t, aliceUID); got != firstAuthTime {
			t.Errorf("auth_time after SSO = %d, want the first login's %d", got, firstAuthTime)
		}
		if got := d.signIns() - before; got != 1 {
			t.Errorf("%d sign-ins logged, want 1", got)
		}
	})

	t.Run("PromptLoginAndMaxAge", func(t *testing.T) {
		// Other clients of the same provider, in the same browser (still
		// signed in there): PROMPT=login and an old enough MAX_AGE make the
		// provider ask for the password again, a generous MAX_AGE does not.
		defer d.keepSession(b)()
		again := startRealDemo(t, p, methodBasic, methodBasic, awkwardSecret, map[string]string{"SOCIAL_AUTH_OIDC_PROMPT": "login"})
		landed, asked := again.signIn(b, "alice")
		if !asked {
			t.Fatalf("prompt=login did not make the provider ask for the password")
		}
		me := again.mustBeSignedIn(t, b, landed, "alice")
		if got := again.authTime(t, uidOf(me)); got <= firstAuthTime {
			t.Errorf("auth_time after prompt=login = %d, want later than the first login's %d", got, firstAuthTime)
		}
		generous := startRealDemo(t, p, methodBasic, methodBasic, awkwardSecret, map[string]string{"SOCIAL_AUTH_OIDC_MAX_AGE": "3600"})
		landed, asked = generous.signIn(b, "alice")
		if asked {
			t.Errorf("max_age=3600 asked for the password an instant after it was typed")
		}
		generous.mustBeSignedIn(t, b, landed, "alice")
		time.Sleep(2100 * time.Millisecond)
		strict := startRealDemo(t, p, methodBasic, methodBasic, awkwardSecret, map[string]string{"SOCIAL_AUTH_OIDC_MAX_AGE": "1"})
		landed, asked = strict.signIn(b, "alice")
		if !asked {
			t.Fatalf("max_age=1, two seconds after the password, did not ask for it again")
		}
		strict.mustBeSignedIn(t, b, landed, "alice")
	})

	t.Run("RPInitiatedLogout", func(t *testing.T) {
		n := len(b.visited())
		back := b.get(d.BaseURL + "/logout/?next=/")
		if back.status != http.StatusOK || !strings.HasPrefix(back.url.String(), d.BaseURL+"/") || back.url.Path != "/" {
			t.Fatalf("logout ended on %d %s, want the demo's home page\n%s", back.status, back.url, back.body)
		}
		var hint url.Values
		for _, u := range b.visited()[n:] {
			if strings.HasPrefix(u.String(), endSession) && u.Query().Get("id_token_hint") != "" {
				hint = u.Query()
				break
			}
		}
		// post_logout_redirect_uri is the views' return route, which checks
		// the state and then sends the browser to LOGOUT_REDIRECT_URL or /.
		if hint == nil || hint.Get("id_token_hint") == "" || hint.Get("post_logout_redirect_uri") != d.BaseURL+"/logout/oidc/return/" || hint.Get("state") == "" {
			t.Fatalf("logout did not go through %s with an id_token_hint and the post-logout URI: %v", endSession, b.visited()[n:])
		}
		if status, _ := b.me(d.BaseURL); status != http.StatusUnauthorized {
			t.Errorf("/me after logout = %d, want 401", status)
		}
		// The provider's session is over too: the password is asked again.
		p := b.get(d.BaseURL + "/login/oidc/?next=/me")
		if !isPasswordForm(p) {
			t.Fatalf("after RP-initiated logout the provider did not ask for a password: %d %s", p.status, p.url)
		}
	})

	t.Run("ReturningLogin", func(t *testing.T) {
		landed, asked := d.signIn(b, "alice")
		if !asked {
			t.Fatalf("no password form after logout")
		}
		me := d.mustBeSignedIn(t, b, landed, "alice")
		if me["id"] != alice["id"] || uidOf(me) != aliceUID {
			t.Errorf("returning alice is %v, want the same account as before %v", me, alice)
		}
		b.get(d.BaseURL + "/logout/?next=/")
	})

	t.Run("SecondUser", func(t *testing.T) {
		landed, asked := d.signIn(b, "bob")
		if !asked {
			t.Fatalf("bob was not asked for a password")
		}
		me := d.mustBeSignedIn(t, b, landed, "bob")
		if me["id"] == alice["id"] || uidOf(me) == aliceUID {
			t.Errorf("bob got alice's account: %v", me)
		}
		b.get(d.BaseURL + "/logout/?next=/")
	})

	t.Run("WrongPassword", func(t *testing.T) {
		before := d.signIns()
		b := newBrowser(t)
		form := b.get(d.BaseURL + "/login/oidc/?next=/me")
		if !isPasswordForm(form) {
			t.Fatalf("no password form: %d %s", form.status, form.url)
		}
		p := submitPassword(b, form, "alice", d.p.users["alice"].Password+"-wrong", nil)
		if strings.HasPrefix(p.url.String(), d.BaseURL) || !isPasswordForm(p) {
			t.Errorf("a wrong password ended on %d %s, want the provider's form again", p.status, p.url)
		}
		if status, _ := b.me(d.BaseURL); status != http.StatusUnauthorized {
			t.Errorf("/me after a wrong password = %d, want 401", status)
		}
		if d.signIns() != before {
			t.Errorf("a wrong password signed someone in")
		}
	})

	t.Run("ReplayedCallback", func(t *testing.T) {
		b := newBrowser(t)
		form := b.get(d.BaseURL + "/login/oidc/?next=/me")
		if !isPasswordForm(form) {
			t.Fatalf("no password form: %d %s", form.status, form.url)
		}
		callback := d.callbackFrom(t, submitPassword(b, form, "alice", d.p.users["alice"].Password, d.untilCallback(b)))
		before := d.signIns()
		first := b.getNoFollow(callback.String())
		if first.status != http.StatusFound || first.header.Get("Location") != "/me" {
			t.Fatalf("the callback answered %d %q, want a redirect to /me\nlogs:\n%s", first.status, first.header.Get("Location"), d.logs)
		}
		for name, br := range map[string]*browser{"same browser": b, "another browser": newBrowser(t)} {
			again := br.getNoFollow(callback.String())
			if again.status < 400 || again.status >= 500 {
				t.Errorf("%s: the replayed callback answered %d, want a 4xx", name, again.status)
			}
		}
		if got := d.signIns() - before; got != 1 {
			t.Errorf("%d sign-ins for one callback delivered three times, want 1", got)
		}
		if status, me := b.me(d.BaseURL); status != http.StatusOK || uidOf(me) != aliceUID {
			t.Errorf("/me after the replays = %d %v, want alice still signed in", status, me)
		}
	})

	t.Run("PKCERequiredByProvider", func(t *testing.T) {
		// The same client, asking without a code_challenge: the provider
		// refuses (before or after the password), so the demo's sign-ins
		// above prove that it sends one.
		b := newBrowser(t)
		q := url.Values{"client_id": {d.client.ID}, "redirect_uri": {d.client.RedirectURI},
			"response_type": {"code"}, "scope": {"openid email profile"},
			"state": {"state-without-pkce-0123456789"}, "nonce": {"nonce-without-pkce-0123456789"}}
		sep := "?"
		if strings.Contains(authzEndpoint, "?") {
			sep = "&"
		}
		stop := d.untilCallback(b)
		req, err := http.NewRequest(http.MethodGet, authzEndpoint+sep+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		pg := b.do(req, stop)
		if isPasswordForm(pg) {
			pg = submitPassword(b, pg, "alice", d.p.users["alice"].Password, stop)
		}
		back := d.callbackFrom(t, pg).Query()
		if back.Get("code") != "" || back.Get("error") == "" {
			t.Fatalf("an authorization request without PKCE came back with %v, want an error and no code", back)
		}
		t.Logf("%s refused the request without PKCE: error=%s", p.name, back.Get("error"))

		// And the demo with PKCE turned off (USE_PKCE=false) signs nobody in.
		off := startRealDemo(t, p, methodBasic, methodBasic, awkwardSecret, map[string]string{"SOCIAL_AUTH_OIDC_USE_PKCE": "false"})
		ob := newBrowser(t)
		landed, _ := off.signIn(ob, "alice")
		if status, _ := ob.me(off.BaseURL); landed.status < 400 || status != http.StatusUnauthorized || off.signIns() != 0 {
			t.Errorf("without PKCE the sign-in ended on %d %s and /me is %d, want a refusal", landed.status, landed.url, status)
		}
	})

	t.Run("TokenEndpointAuthMethods", func(t *testing.T) {
		for _, method := range []string{methodBasic, methodPost} {
			t.Run(method, func(t *testing.T) {
				d := startRealDemo(t, p, method, method, awkwardSecret, nil)
				b := newBrowser(t)
				landed, _ := d.signIn(b, "alice")
				d.mustBeSignedIn(t, b, landed, "alice")
			})
		}
		// The provider enforces the registered method: a demo using the
		// other one is refused at the token endpoint, so the successes above
		// prove that each method is really used.
		t.Run("mismatch", func(t *testing.T) {
			d := startRealDemo(t, p, methodBasic, methodPost, awkwardSecret, nil)
			b := newBrowser(t)
			landed, _ := d.signIn(b, "alice")
			if landed.status < 400 {
				t.Errorf("client_secret_post for a client_secret_basic client ended on %d %s, want an error", landed.status, landed.url)
			}
			if status, _ := b.me(d.BaseURL); status != http.StatusUnauthorized || d.signIns() != 0 {
				t.Errorf("signed in with the wrong token-endpoint authentication method")
			}
		})
	})
}

// runRealProviderTwoTabs starts two sign-ins in one browser (two tabs) and
// completes them in either order.
func runRealProviderTwoTabs(t *testing.T, p realProvider) {
	for _, order := range []string{"older first", "newer first"} {
		t.Run(strings.ReplaceAll(order, " ", "_"), func(t *testing.T) {
			d := startRealDemo(t, p, methodBasic, methodBasic, awkwardSecret, nil)
			b := newBrowser(t)
			alice := d.p.users["alice"]
			older := b.get(d.BaseURL + "/login/oidc/?next=/me")
			newer := b.get(d.BaseURL + "/login/oidc/?next=/")
			if !isPasswordForm(older) || !isPasswordForm(newer) {
				t.Fatalf("two tabs did not both show the password form: %d %s, %d %s", older.status, older.url, newer.status, newer.url)
			}
			tabs := []struct {
				name string
				form page
				next string
			}{{"older", older, "/me"}, {"newer", newer, "/"}}
			if order == "newer first" {
				tabs[0], tabs[1] = tabs[1], tabs[0]
			}
			for _, tab := range tabs {
				landed := submitPassword(b, tab.form, alice.Username, alice.Password, nil)
				// The demo answers the tab's callback with the session's
				// "next", which (as upstream) the later of the two login
				// requests wrote: "/" for both tabs.
				ok := landed.status == http.StatusOK && strings.HasPrefix(landed.url.String(), d.BaseURL+"/") &&
					(landed.url.Path == tab.next || landed.url.Path == "/")
				want := !(tab.name == "older" && p.olderTabRefused)
				if ok != want {
					t.Errorf("%s tab ended on %d %s; signed in = %v, want %v\n%s", tab.name, landed.status, landed.url, ok, want, landed.body)
				}
				if !ok {
					t.Logf("%s refused the %s tab as expected: %d %s", p.name, tab.name, landed.status, landed.url)
				}
			}
			status, me := b.me(d.BaseURL)
			if status != http.StatusOK || me["email"] != alice.Email {
				t.Fatalf("/me after both tabs = %d %v, want alice", status, me)
			}
			want := 2
			if p.olderTabRefused {
				want = 1
			}
			if got := d.signIns(); got != want {
				t.Errorf("%d sign-ins logged, want %d", got, want)
			}
		})
	}
}
