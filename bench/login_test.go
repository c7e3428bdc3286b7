package bench

import (
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/socialauth-go/socialauth/internal/dbtest"
)

// Statement budgets of one login through the real complete handler (the
// session store's statements are counted and reported separately).
//
// Both include the redemption of the sign-in flow (one INSERT … ON
// CONFLICT DO NOTHING into the nonce table, so that a flow is redeemed once
// across instances; issue 11) and the UPDATE of auth_user.last_login that
// every sign-in makes (Django's login(); issue 13): a returning login is the
// redemption, the association read with its user, the extra data read and
// update, and last_login; a first login is the redemption, reads the
// association and the username, inserts the user and the association,
// reads (SQLite: not) and updates the extra data, and sets last_login.
const (
	maxReturningStatements = 5
	maxFirstStatements     = 8
	// maxSessionStatements: save the new session. The pending sign-in
	// came in its sealed cookie, so nothing is loaded, and nothing is
	// deleted at rotation (stored pre-login sessions cost 3: load, delete
	// the old token, save the new one).
	maxSessionStatements = 1
)

// sqlLog records the SQL text of every statement, for failure messages.
type sqlLog struct {
	mu    sync.Mutex
	lines []string
}

func logStatements(tb testing.TB, db *gorm.DB) *sqlLog {
	tb.Helper()
	l := &sqlLog{}
	rec := func(tx *gorm.DB) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.lines = append(l.lines, tx.Statement.SQL.String())
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("*").Register("bench:log", rec),
		cb.Query().After("*").Register("bench:log", rec),
		cb.Update().After("*").Register("bench:log", rec),
		cb.Delete().After("*").Register("bench:log", rec),
		cb.Row().After("*").Register("bench:log", rec),
		cb.Raw().After("*").Register("bench:log", rec),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return l
}

func (l *sqlLog) take() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := "  " + strings.Join(l.lines, "\n  ")
	l.lines = nil
	return out
}

// TestStatementsPerLogin counts the SQL statements of one login through the
// complete handler: a first login at most 7, a returning user at most 4, on
// every available database. The session store's statements are counted
// apart (they are scs's, whichever store the app picks) and bounded too.
func TestStatementsPerLogin(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			r := newRig(t, rigOptions{target: &target})
			count := countStatements(t, r.db)
			sql := logStatements(t, r.db)
			r.login(t) // the provider configuration and keys are fetched here

			for _, tc := range []struct {
				name   string
				prefix string
				max    int64
			}{
				{"first", uniquePrefix(t), maxFirstStatements},
				{"returning", "", maxReturningStatements},
			} {
				p := r.mint(t, 1, tc.prefix)[0]
				count.reset()
				sql.take()
				r.complete(t, p)
				got := count.load()
				t.Logf("%s login: %d statements + %d of the session store", tc.name, got.login, got.sessions)
				if got.login > tc.max || got.sessions > maxSessionStatements {
					t.Errorf("%s login ran %d statements (want ≤ %d) and %d session-store statements (want ≤ %d):\n%s",
						tc.name, got.login, tc.max, got.sessions, maxSessionStatements, sql.take())
				}
			}
		})
	}
}

// TestNoProviderFetchesInSteadyState: once the first login has fetched the
// provider configuration and the JWKS, further logins make exactly one call
// to the LMS's server-to-server endpoints: the token request.
func TestNoProviderFetchesInSteadyState(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.login(t)
	if c := r.lms.Calls(); c.Discovery != 1 || c.JWKS != 1 {
		t.Fatalf("first login: %d discovery and %d JWKS fetches, want 1 and 1", c.Discovery, c.JWKS)
	}
	const n = 20
	logins := r.mint(t, n, "")
	r.lms.ResetCalls()
	for _, p := range logins {
		r.complete(t, p)
	}
	c := r.lms.Calls()
	if c.Discovery != 0 || c.JWKS != 0 || c.Token != n || c.UserInfo != 0 {
		t.Errorf("%d logins in steady state: calls %+v, want %d token requests and nothing else", n, c, n)
	}
}

// connTrace is a RoundTripper that records, per request path, whether the
// connection was reused (httptrace GotConnInfo.Reused).
type connTrace struct {
	next http.RoundTripper

	mu     sync.Mutex
	reused map[string][]bool
}

func (c *connTrace) RoundTrip(req *http.Request) (*http.Response, error) {
	path := req.URL.Path
	trace := &httptrace.ClientTrace{GotConn: func(info httptrace.GotConnInfo) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.reused[path] = append(c.reused[path], info.Reused)
	}}
	return c.next.RoundTrip(req.WithContext(httptrace.WithClientTrace(req.Context(), trace)))
}

func (c *connTrace) take(path string) []bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.reused[path]
	c.reused = map[string][]bool{}
	return out
}

// TestTokenRequestReusesConnection: in steady state the complete handler's
// token request goes over a kept-alive connection to the LMS.
func TestTokenRequestReusesConnection(t *testing.T) {
	tr := &connTrace{reused: map[string][]bool{}}
	r := newRig(t, rigOptions{transport: func(next http.RoundTripper) http.RoundTripper {
		tr.next = next
		return tr
	}})
	r.login(t)
	const n = 10
	logins := r.mint(t, n, "")
	tr.take("")
	for _, p := range logins {
		r.complete(t, p)
	}
	got := tr.take("/oauth2/access_token")
	if len(got) != n {
		t.Fatalf("%d token requests traced, want %d", len(got), n)
	}
	for i, reused := range got {
		if !reused {
			t.Errorf("token request %d opened a new connection", i)
		}
	}
}
