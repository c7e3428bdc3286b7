package fakelms

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// One key for the whole test binary keeps the tests fast; tests that need fresh keys rotate.
var testKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

const (
	testClientID     = "a-key"
	testClientSecret = "a-secret-key"
	testRedirect     = "http://127.0.0.1:8000/complete/edx-oauth2/"
	testVerifier     = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r-wW1gFWFOEjXk"
)

// testChallengeS is the S256 challenge of testVerifier.
var testChallengeS = s256(testVerifier)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Now().Truncate(time.Second)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func testOptions() Options {
	return Options{
		Clients: []Client{{
			ID: testClientID, Secret: testClientSecret, RedirectURIs: []string{testRedirect},
			LogoutRedirectHosts: []string{"app.example.com", "localhost:9000"},
		}},
		Key: testKey(),
	}
}

func newTestLMS(t *testing.T, mutate func(*Options)) *LMS {
	t.Helper()
	opts := testOptions()
	if mutate != nil {
		mutate(&opts)
	}
	return NewServer(t, opts)
}

// noRedirect is a loopback client that returns redirects instead of following them.
func noRedirect() *http.Client {
	return &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func authorizeURL(l *LMS, extra url.Values) string {
	q := url.Values{
		"client_id":     {testClientID},
		"redirect_uri":  {testRedirect},
		"response_type": {"code"},
		"state":         {"st-123"},
		"scope":         {"user_id profile email"},
	}
	for k, v := range extra {
		if v == nil {
			q.Del(k) // an explicit nil drops a default parameter
			continue
		}
		q[k] = v
	}
	return l.URL() + "/oauth2/authorize?" + q.Encode()
}

// getCode runs an auto-approved authorization and returns the callback query.
func getCode(t *testing.T, l *LMS, extra url.Values) url.Values {
	t.Helper()
	l.AutoApprove("jsmith")
	resp, err := noRedirect().Get(authorizeURL(l, extra))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize status = %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

type tokenResult struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func postForm(t *testing.T, endpoint string, form url.Values, basicUser, basicPass string) tokenResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basicUser != "" {
		req.SetBasicAuth(url.QueryEscape(basicUser), url.QueryEscape(basicPass))
	}
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := tokenResult{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	if len(b) > 0 {
		_ = json.Unmarshal(b, &res.body)
	}
	return res
}

func exchange(t *testing.T, l *LMS, code string, extra url.Values) tokenResult {
	t.Helper()
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {testRedirect},
		"client_id":     {testClientID},
		"client_secret": {testClientSecret},
		"token_type":    {"jwt"},
	}
	for k, v := range extra {
		if v == nil {
			form.Del(k)
			continue
		}
		form[k] = v
	}
	return postForm(t, l.URL()+"/oauth2/access_token", form, "", "")
}

func getJSON(t *testing.T, endpoint, bearer string) tokenResult {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := noRedirect().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	res := tokenResult{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &res.body)
	return res
}

func fetchJWKS(t *testing.T, l *LMS) jwk.Set {
	t.Helper()
	res := getJSON(t, l.URL()+"/oauth2/jwks.json", "")
	if res.status != http.StatusOK {
		t.Fatalf("jwks status = %d", res.status)
	}
	set, err := jwk.Parse([]byte(res.raw))
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// verify checks a token's signature against the LMS's JWKS (algorithm pinned by the JWK, kid
// required) and returns its header alg/kid and claims.
func verify(t *testing.T, l *LMS, token string) (alg, kid string, claims map[string]any) {
	t.Helper()
	msg, err := jws.Parse([]byte(token))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	payload, err := jws.Verify([]byte(token), jws.WithKeySet(fetchJWKS(t, l), jws.WithRequireKid(true)))
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	h := msg.Signatures()[0].ProtectedHeaders()
	return h.Algorithm().String(), h.KeyID(), claims
}

func s256(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
