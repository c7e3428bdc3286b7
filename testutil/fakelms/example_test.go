package fakelms_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"golang.org/x/oauth2"

	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// An app's login test against the fake LMS: authorize (auto-approved, no HTML page), exchange the
// code with PKCE and token_type=jwt, verify the JWT against the JWKS, then assert what was sent.
// In a real test, fakelms.NewServer(t, opts) replaces New + httptest.NewServer + SetBaseURL + Close.
func Example() {
	ctx := context.Background()
	redirect := "http://127.0.0.1:8000/complete/edx-oauth2/"
	lms, err := fakelms.New(fakelms.Options{Clients: []fakelms.Client{{
		ID: "demo-client", Secret: "demo-secret", RedirectURIs: []string{redirect},
	}}})
	if err != nil {
		panic(err)
	}
	srv := httptest.NewServer(lms.Handler())
	defer srv.Close()
	lms.SetBaseURL(srv.URL)
	lms.AutoApprove("jsmith")

	conf := &oauth2.Config{
		ClientID: "demo-client", ClientSecret: "demo-secret", RedirectURL: redirect,
		Scopes: []string{"user_id", "profile", "email"},
		Endpoint: oauth2.Endpoint{
			AuthURL:   lms.URL() + "/oauth2/authorize",
			TokenURL:  lms.URL() + "/oauth2/access_token",
			AuthStyle: oauth2.AuthStyleInParams,
		},
	}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier))

	// The browser's part: the LMS redirects straight back to the app's callback.
	browser := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(authURL)
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	callback, _ := url.Parse(resp.Header.Get("Location"))
	fmt.Println("callback state:", callback.Query().Get("state"))

	// The app's part: exchange the code and verify the JWT access token.
	tok, err := conf.Exchange(ctx, callback.Query().Get("code"),
		oauth2.VerifierOption(verifier), oauth2.SetAuthURLParam("token_type", "jwt"))
	if err != nil {
		panic(err)
	}
	keys, err := jwk.Fetch(ctx, lms.URL()+"/oauth2/jwks.json")
	if err != nil {
		panic(err)
	}
	payload, err := jws.Verify([]byte(tok.AccessToken), jws.WithKeySet(keys))
	if err != nil {
		panic(err)
	}
	var claims struct {
		Username string `json:"preferred_username"`
		UserID   string `json:"user_id"`
		Name     string `json:"name"`
	}
	_ = json.Unmarshal(payload, &claims)
	fmt.Println("token type:", tok.Type())
	fmt.Printf("claims: %+v\n", claims)

	sent := lms.TokenRequests()[0].Form
	fmt.Println("sent token_type:", sent.Get("token_type"), "verifier sent:", sent.Get("code_verifier") == verifier)
	fmt.Printf("calls: %+v\n", lms.Calls())
	// Output:
	// callback state: state-1
	// token type: JWT
	// claims: {Username:jsmith UserID:1 Name:Joe Smith}
	// sent token_type: jwt verifier sent: true
	// calls: {Authorize:1 Token:1 UserInfo:0 JWKS:1 Discovery:0 Revoke:0 Logout:0}
}

// The shape of an app test: NewServer starts the LMS on 127.0.0.1 and closes it with the test; the
// app's redirect URI is registered once the app's own test server exists.
func ExampleNewServer() {
	testLogin := func(t *testing.T) {
		lms := fakelms.NewServer(t, fakelms.Options{})
		app := httptest.NewServer(http.NotFoundHandler()) // the app under test, configured with lms.URL()
		t.Cleanup(app.Close)
		if err := lms.AddClient(fakelms.Client{
			ID: "a-key", Secret: "a-secret-key",
			RedirectURIs: []string{app.URL + "/complete/edx-oauth2/"},
		}); err != nil {
			t.Fatal(err)
		}
		lms.AutoApprove("jsmith")
		// … drive app.URL+"/login/edx-oauth2/" with a cookie-jar client, then assert:
		if got := lms.TokenRequests(); len(got) != 1 || got[0].Form.Get("token_type") != "jwt" {
			t.Errorf("token requests = %+v", got)
		}
	}
	_ = testLogin
}
