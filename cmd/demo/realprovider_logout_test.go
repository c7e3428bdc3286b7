package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/strategies"
)

// TestRealProviderHydraBackChannelLogout is the proof of OpenID Connect
// Back-Channel Logout against Ory Hydra v2.3.0 (which sends logout tokens
// without exp): two demo instances share one PostgreSQL database and one
// Hydra client, whose backchannel_logout_uri is instance A's endpoint.
// alice signs in at both instances (one Hydra login session: one sid);
// bob signs in at A in another browser. alice signs out at Hydra
// (RP-initiated, through A): Hydra POSTs a logout token to A, and alice's
// session at B is gone too, while bob's stays.
func TestRealProviderHydraBackChannelLogout(t *testing.T) {
	p := hydraProvider(t)
	doc := discover(t, p.issuer)
	if doc["backchannel_logout_supported"] != true {
		t.Fatalf("Hydra does not advertise back-channel logout: %v", doc["backchannel_logout_supported"])
	}
	dbURL := sharedDatabase(t, "postgres")
	id := fmt.Sprintf("socialauth-bcl-%d-%d", time.Now().UnixNano(), clientSeq.Add(1))
	const secret = "bcl-secret-0123456789"
	env := func() map[string]string {
		return map[string]string{
			EnvDatabaseURL:                   dbURL,
			"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT": p.issuer,
			"SOCIAL_AUTH_OIDC_KEY":           id,
			"SOCIAL_AUTH_OIDC_SECRET":        secret,
		}
	}
	a, b := startDemo(t, env()), startDemo(t, env())
	postJSON(t, strings.TrimRight(dbtest.Service(t, envHydraAdmin), "/")+"/admin/clients", map[string]any{
		"client_id": id, "client_secret": secret,
		"redirect_uris":                       []string{a.BaseURL + "/complete/oidc/", b.BaseURL + "/complete/oidc/"},
		"post_logout_redirect_uris":           []string{a.BaseURL + "/logout/oidc/return/", b.BaseURL + "/logout/oidc/return/"},
		"backchannel_logout_uri":              a.BaseURL + "/backchannel-logout/oidc/",
		"backchannel_logout_session_required": true,
		"token_endpoint_auth_method":          methodBasic,
		"grant_types":                         []string{"authorization_code"},
		"response_types":                      []string{"code"},
		"scope":                               "openid profile email",
	})
	client := providerClient{ID: id, Secret: secret, RedirectURI: a.BaseURL + "/complete/oidc/", AuthMethod: methodBasic}
	da := &realDemo{demo: a, p: p, client: client, dbURL: dbURL}
	db := &realDemo{demo: b, p: p, client: client, dbURL: dbURL}

	// alice at A (password), then at B (Hydra remembers her: no password
	// or a second one, either way the same Hydra login session).
	alice := newBrowser(t)
	landed, _ := da.signIn(alice, "alice")
	da.mustBeSignedIn(t, alice, landed, "alice")
	restoreA := da.keepSession(alice)
	// The demos share the database and cookies do not tell ports apart: B
	// would take A's session as its own (and rotate it away at sign-in).
	// Drop the demo's cookie, keep Hydra's (the same login session).
	forgetDemoSession(t, alice, b.BaseURL)
	landed, _ = db.signIn(alice, "alice")
	db.mustBeSignedIn(t, alice, landed, "alice")
	restoreB := db.keepSession(alice)

	if len(sessionsOf(t, alice, b.BaseURL)) != 2 {
		t.Fatalf("alice has not two sessions after signing in at A and B")
	}

	bob := newBrowser(t)
	landed, _ = da.signIn(bob, "bob")
	da.mustBeSignedIn(t, bob, landed, "bob")

	// Sign out at Hydra, RP-initiated through A.
	restoreA()
	n := len(alice.visited())
	back := alice.get(a.BaseURL + "/logout/")
	if back.status != http.StatusOK || back.url.Path != "/" || !strings.HasPrefix(back.url.String(), a.BaseURL) {
		t.Fatalf("logout at A ended on %d %s, want A's home page\n%s", back.status, back.url, back.body)
	}
	sawEndSession := false
	for _, u := range alice.visited()[n:] {
		if strings.HasPrefix(u.String(), fmt.Sprint(doc["end_session_endpoint"])) {
			sawEndSession = true
		}
	}
	if !sawEndSession {
		t.Fatalf("the logout did not go through Hydra's end_session_endpoint: %v", alice.visited()[n:])
	}

	// alice's session at B ends through Hydra's back-channel call to A.
	restoreB()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, _ := alice.me(b.BaseURL)
		if status == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("alice is still signed in at B 20 s after signing out at Hydra\nA's logs:\n%s", a.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if !strings.Contains(a.logs.String(), "back-channel logout done") {
		t.Errorf("A logged no back-channel logout:\n%s", a.logs)
	}
	if status, _ := bob.me(a.BaseURL); status != http.StatusOK {
		t.Errorf("bob's session ended with alice's: /me = %d", status)
	}
	if status, _ := bob.me(b.BaseURL); status != http.StatusOK {
		t.Errorf("bob's session is not valid at B: /me = %d", status)
	}
}

// forgetDemoSession removes the demo's session cookie from b's jar.
func forgetDemoSession(t *testing.T, b *browser, base string) {
	t.Helper()
	u, err := url.Parse(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: strategies.SessionCookieName, Value: "", Path: "/", MaxAge: -1}})
}

// sessionsOf reads the rows of the demo's /me/sessions page.
func sessionsOf(t *testing.T, b *browser, base string) []string {
	t.Helper()
	p := b.get(base + "/me/sessions")
	if p.status != http.StatusOK {
		t.Fatalf("/me/sessions: %d", p.status)
	}
	return strings.Split(p.body, `<tr class="session">`)[1:]
}
