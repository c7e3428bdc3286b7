package backends

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// The flow store (flow.go) through Start and Complete, against the fake LMS
// on loopback: several pending sign-ins per session (add), a callback finds
// its own by state and one that names none consumes nothing (match), at
// most MaxPendingFlows kept (bound), expired ones refused (expiry), each
// redeemed once (consume-once), even by concurrent deliveries.

// authorizeAs has the LMS approve authURL as user and returns the callback.
func authorizeAs(t testing.TB, l *fakelms.LMS, user string, authURL *url.URL) *url.URL {
	t.Helper()
	l.AutoApprove(user)
	return authorize(t, l, authURL.String())
}

// stateOf is the state an authorization URL or a callback carries.
func stateOf(u *url.URL) string { return u.Query().Get("state") }

// get is a GET of the complete route with the raw query q on st's session.
func get(st *testutil.Strategy, q string) *testutil.Strategy {
	return st.WithRequest(httptest.NewRequest(http.MethodGet, "/complete/lms/?"+q, nil))
}

// copySession is another request loading the same session row: a new
// strategy over a copy of st's session values.
func copySession(st *testutil.Strategy) *testutil.Strategy {
	sess := testutil.NewSession()
	for k, v := range st.Session().Values() {
		sess.Set(k, v)
	}
	return testutil.NewStrategy(testutil.StrategyOptions{Session: sess})
}

// wantUser fails unless resp is the sign-in of user.
func wantUser(t testing.TB, resp map[string]any, err error, user string) {
	t.Helper()
	if err != nil {
		t.Fatalf("Complete for %s: %v", user, err)
	}
	if resp["preferred_username"] != user {
		t.Fatalf("signed in %v, want %s", resp["preferred_username"], user)
	}
}

// wantPending fails unless the session's pending flows of "lms" are exactly
// those of states.
func wantPending(t testing.TB, st *testutil.Strategy, states ...string) {
	t.Helper()
	got := pendingIn(t, st, "lms")
	if len(got) != len(states) {
		t.Fatalf("%d pending flows, want %d", len(got), len(states))
	}
	for _, s := range states {
		if _, ok := got[s]; !ok {
			t.Fatalf("flow of state %.8s… not pending", s)
		}
	}
}

// add: each Start keeps its own flow; both complete, in either order, each
// as the user its callback was approved for (the last to complete is the
// one signed in).
func TestFlowAdd(t *testing.T) {
	for _, reverse := range []bool{false, true} {
		name := "in order"
		if reverse {
			name = "reverse order"
		}
		t.Run(name, func(t *testing.T) {
			l := newLMS(t, fakelms.Options{})
			b := lmsOAuth2(t, l, nil, nil)
			st := newStrategy()
			au1, au2 := start(t, b, st), start(t, b, st) // two tabs, one session
			if stateOf(au1) == stateOf(au2) {
				t.Fatal("two Starts gave one state")
			}
			wantPending(t, st, stateOf(au1), stateOf(au2))
			for _, f := range pendingIn(t, st, "lms") {
				if len(f.Verifier) < 43 || f.RedirectURI != testutil.DefaultBaseURL+"/complete/lms/" || f.Created == 0 {
					t.Errorf("pending flow lacks its own verifier, redirect URI or time: %+v", f)
				}
			}
			type tab struct {
				cb   *url.URL
				user string
			}
			tabs := []tab{{authorizeAs(t, l, "alice", au1), "alice"}, {authorizeAs(t, l, "bob", au2), "bob"}}
			if reverse {
				tabs[0], tabs[1] = tabs[1], tabs[0]
			}
			resp, err := callback(b, st, tabs[0].cb)
			wantUser(t, resp, err, tabs[0].user)
			wantPending(t, st, stateOf(tabs[1].cb))
			resp, err = callback(b, st, tabs[1].cb)
			wantUser(t, resp, err, tabs[1].user)
			wantPending(t, st)
			if _, ok := st.SessionGet(SessionKey("lms")); ok {
				t.Error("an empty map of flows left in the session")
			}
			if n := l.Calls().Token; n != 2 {
				t.Errorf("token requests = %d, want 2", n)
			}
		})
	}

	t.Run("two backends", func(t *testing.T) {
		l := newLMS(t, fakelms.Options{})
		b := lmsOAuth2(t, l, nil, nil)
		other := lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.Name = "other" })
		st := newStrategy()
		cb1 := authorizeAs(t, l, "alice", start(t, b, st))
		cb2 := authorizeAs(t, l, "bob", start(t, other, st))
		resp, err := callback(other, st, cb2)
		wantUser(t, resp, err, "bob")
		resp, err = callback(b, st, cb1)
		wantUser(t, resp, err, "alice")
	})
}

// match: a callback that matches no pending flow gets its typed error,
// makes no provider call and consumes nothing; the genuine callback that
// follows completes.
func TestFlowMatch(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, nil)
	other := randomToken(32)
	tests := []struct {
		name string
		// req is the failing request, given the genuine state and code.
		req    func(state, code string) *http.Request
		want   socialauth.Code
		param  string // the parameter an AuthInvalidParameter names
		status int
	}{
		{name: "wrong", req: func(s, c string) *http.Request { return getq("state=" + other + "&code=" + c) },
			want: socialauth.CodeAuthStateForbidden, status: http.StatusForbidden},
		{name: "truncated", req: func(s, c string) *http.Request { return getq("state=" + s[:len(s)-1] + "&code=" + c) },
			want: socialauth.CodeAuthStateForbidden, status: http.StatusForbidden},
		{name: "extended by one char", req: func(s, c string) *http.Request { return getq("state=" + s + "A&code=" + c) },
			want: socialauth.CodeAuthStateForbidden, status: http.StatusForbidden},
		{name: "empty", req: func(s, c string) *http.Request { return getq("state=&code=" + c) },
			want: socialauth.CodeAuthMissingParameter, status: http.StatusBadRequest},
		{name: "absent", req: func(s, c string) *http.Request { return getq("code=" + c) },
			want: socialauth.CodeAuthMissingParameter, status: http.StatusBadRequest},
		{name: "duplicated, genuine first", req: func(s, c string) *http.Request { return getq("state=" + s + "&state=" + other + "&code=" + c) },
			want: socialauth.CodeAuthInvalidParameter, param: "state", status: http.StatusBadRequest},
		{name: "duplicated, genuine last", req: func(s, c string) *http.Request { return getq("state=" + other + "&state=" + s + "&code=" + c) },
			want: socialauth.CodeAuthInvalidParameter, param: "state", status: http.StatusBadRequest},
		{name: "duplicated, same value", req: func(s, c string) *http.Request { return getq("state=" + s + "&state=" + s + "&code=" + c) },
			want: socialauth.CodeAuthInvalidParameter, param: "state", status: http.StatusBadRequest},
		{name: "genuine in the query, another in the form", req: func(s, c string) *http.Request {
			return post("state="+s+"&code="+c, "state="+other)
		}, want: socialauth.CodeAuthInvalidParameter, param: "state", status: http.StatusBadRequest},
		{name: "another in the query, genuine in the form", req: func(s, c string) *http.Request {
			return post("state="+other, "state="+s+"&code="+c)
		}, want: socialauth.CodeAuthInvalidParameter, param: "state", status: http.StatusBadRequest},
		{name: "error= with a wrong state", req: func(s, c string) *http.Request { return getq("error=access_denied&state=" + other) },
			want: socialauth.CodeAuthCanceled, status: http.StatusForbidden},
		{name: "error= with no state", req: func(s, c string) *http.Request { return getq("error=server_error") },
			want: socialauth.CodeAuthFailed, status: http.StatusForbidden},
		{name: "error= with the state duplicated", req: func(s, c string) *http.Request {
			return getq("error=access_denied&state=" + s + "&state=" + s)
		}, want: socialauth.CodeAuthInvalidParameter, param: "state", status: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := newStrategy()
			au := start(t, b, st)
			second := start(t, b, st) // another tab: it must stay pending too
			cb := authorizeAs(t, l, "jsmith", au)
			state, code := stateOf(cb), url.QueryEscape(cb.Query().Get("code"))
			before := l.Calls()

			_, err := b.Complete(context.Background(), st.WithRequest(tt.req(state, code)))
			wantCode(t, err, tt.want)
			if got := socialauth.HTTPStatus(err); got != tt.status {
				t.Errorf("status = %d, want %d", got, tt.status)
			}
			if tt.param != "" {
				if e := err.(*socialauth.Error); e.Param != tt.param {
					t.Errorf("Param = %q, want %q", e.Param, tt.param)
				}
			}
			if strings.Contains(err.Error(), state) || strings.Contains(err.Error(), other) {
				t.Errorf("error reflects a state: %v", err)
			}
			if after := l.Calls(); after.Token != before.Token || after.UserInfo != before.UserInfo {
				t.Errorf("provider called: %+v → %+v", before, after)
			}
			wantPending(t, st, state, stateOf(second))

			resp, err := callback(b, st, cb)
			wantUser(t, resp, err, "jsmith")
			if n := l.Calls().Token - before.Token; n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
			wantPending(t, st, stateOf(second))
		})
	}
}

func getq(q string) *http.Request {
	return httptest.NewRequest(http.MethodGet, "/complete/lms/?"+q, nil)
}

func post(q, form string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/complete/lms/?"+q, strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// An error= callback whose state names a pending flow ends that flow only.
func TestFlowErrorCallbackDropsItsFlowOnly(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, nil)
	st := newStrategy()
	au1, au2 := start(t, b, st), start(t, b, st)
	cb1, cb2 := authorizeAs(t, l, "alice", au1), authorizeAs(t, l, "bob", au2)

	_, err := b.Complete(context.Background(), get(st, "error=access_denied&state="+stateOf(au1)))
	wantCode(t, err, socialauth.CodeAuthCanceled)
	wantPending(t, st, stateOf(au2))
	// The ended flow's code is refused (another flow is pending: forbidden).
	_, err = callback(b, st, cb1)
	wantCode(t, err, socialauth.CodeAuthStateForbidden)
	if n := l.Calls().Token; n != 0 {
		t.Errorf("token requests = %d, want 0", n)
	}
	resp, err := callback(b, st, cb2)
	wantUser(t, resp, err, "bob")
}

// bound: MaxPendingFlows+3 Starts keep MaxPendingFlows flows, the oldest
// dropped first: the oldest states are refused, the newest complete.
func TestFlowBound(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	clock := &fixedClock{t: time.Now()}
	b := lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.Now = clock.Now })
	st := newStrategy()
	const extra = 3
	var cbs []*url.URL
	for range MaxPendingFlows + extra {
		cbs = append(cbs, authorizeAs(t, l, "jsmith", start(t, b, st)))
		// Starts a millisecond apart (a loop of login requests): the
		// oldest must still be the ones dropped.
		clock.Add(time.Millisecond)
	}
	var newest []string
	for _, cb := range cbs[extra:] {
		newest = append(newest, stateOf(cb))
	}
	wantPending(t, st, newest...)
	for _, cb := range cbs[:extra] {
		_, err := callback(b, st, cb)
		wantCode(t, err, socialauth.CodeAuthStateForbidden)
	}
	if n := l.Calls().Token; n != 0 {
		t.Fatalf("token requests = %d for dropped flows", n)
	}
	for i, cb := range cbs[extra:] {
		resp, err := callback(b, st, cb)
		wantUser(t, resp, err, "jsmith")
		wantPending(t, st, newest[i+1:]...)
	}
	if n := l.Calls().Token; n != MaxPendingFlows {
		t.Errorf("token requests = %d, want %d", n, MaxPendingFlows)
	}
}

// expiry: an expired flow is refused with AuthStateMissing and dropped; the
// others are unaffected. Expired flows are also dropped at each Start.
func TestFlowExpiry(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	clock := &fixedClock{t: time.Now()}
	b := lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.Now = clock.Now })

	t.Run("refused and dropped", func(t *testing.T) {
		st := newStrategy()
		old := authorizeAs(t, l, "alice", start(t, b, st))
		clock.Add(DefaultStateTTL / 2)
		fresh := authorizeAs(t, l, "bob", start(t, b, st))
		clock.Add(DefaultStateTTL/2 + time.Second) // old is past the TTL, fresh is not
		before := l.Calls().Token
		_, err := callback(b, st, old)
		wantCode(t, err, socialauth.CodeAuthStateMissing)
		if l.Calls().Token != before {
			t.Error("an expired flow reached the token endpoint")
		}
		wantPending(t, st, stateOf(fresh))
		resp, err := callback(b, st, fresh)
		wantUser(t, resp, err, "bob")
	})

	t.Run("dropped at Start", func(t *testing.T) {
		st := newStrategy()
		old := authorizeAs(t, l, "alice", start(t, b, st))
		clock.Add(DefaultStateTTL + time.Second)
		fresh := start(t, b, st)
		wantPending(t, st, stateOf(fresh))
		// The dropped flow's callback names none of the pending flows.
		_, err := callback(b, st, old)
		wantCode(t, err, socialauth.CodeAuthStateForbidden)
	})
}

// consume-once: a callback delivered twice completes once, with one token
// request; the second delivery is AuthStateMissing, "state already used"
// when its session still holds the flow (a request that loaded the session
// before the first one finished).
func TestFlowConsumeOnce(t *testing.T) {
	for _, tc := range []struct {
		name string
		used socialauth.NonceStorage
	}{{"in-process UsedStates", nil}, {"MemStore UsedStates", testutil.NewStore()}} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLMS(t, fakelms.Options{})
			b := lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.UsedStates = tc.used })
			st := newStrategy()
			cb := authorizeAs(t, l, "jsmith", start(t, b, st))
			stale := copySession(st)

			resp, err := callback(b, st, cb)
			wantUser(t, resp, err, "jsmith")
			_, err = callback(b, st, cb) // the same session, replayed
			wantCode(t, err, socialauth.CodeAuthStateMissing)
			_, err = callback(b, stale, cb) // a copy still holding the flow
			wantCode(t, err, socialauth.CodeAuthStateMissing)
			if e := err.(*socialauth.Error); !strings.Contains(e.Msg, "already used") {
				t.Errorf("Msg = %q, want \"state already used\"", e.Msg)
			}
			if socialauth.HTTPStatus(err) != http.StatusBadRequest {
				t.Errorf("status = %d, want 400", socialauth.HTTPStatus(err))
			}
			if n := l.Calls().Token; n != 1 {
				t.Errorf("token requests = %d, want 1", n)
			}
		})
	}
}

// A duplicated code is refused before any provider call, whatever the order
// and even with equal values; it consumes nothing.
func TestFlowDuplicatedCode(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, nil)
	for _, tc := range []struct {
		name string
		req  func(state, code string) *http.Request
	}{
		{"genuine first", func(s, c string) *http.Request { return getq("state=" + s + "&code=" + c + "&code=forged") }},
		{"genuine last", func(s, c string) *http.Request { return getq("state=" + s + "&code=forged&code=" + c) }},
		{"same value", func(s, c string) *http.Request { return getq("state=" + s + "&code=" + c + "&code=" + c) }},
		{"query and form", func(s, c string) *http.Request { return post("state="+s+"&code="+c, "code=forged") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := newStrategy()
			cb := authorizeAs(t, l, "jsmith", start(t, b, st))
			before := l.Calls().Token
			_, err := b.Complete(context.Background(), st.WithRequest(tc.req(stateOf(cb), url.QueryEscape(cb.Query().Get("code")))))
			wantCode(t, err, socialauth.CodeAuthInvalidParameter)
			if e := err.(*socialauth.Error); e.Param != "code" {
				t.Errorf("Param = %q, want code", e.Param)
			}
			if l.Calls().Token != before {
				t.Error("token endpoint called for a duplicated code")
			}
			wantPending(t, st, stateOf(cb))
			resp, err := callback(b, st, cb)
			wantUser(t, resp, err, "jsmith")
		})
	}
}

// Twenty deliveries of one genuine callback at once, in one session (each
// request with its own copy of the session's values, as requests loading
// one session row have): exactly one token request, one success, nineteen
// AuthStateMissing — with the in-process record, with a shared store, and
// at two instances sharing the store.
func TestFlowConcurrentDeliveries(t *testing.T) {
	const n = 20
	for _, tc := range []struct {
		name      string
		used      socialauth.NonceStorage
		instances int
	}{
		{"in-process UsedStates", nil, 1},
		{"MemStore UsedStates", testutil.NewStore(), 1},
		{"two instances sharing a MemStore", testutil.NewStore(), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := newLMS(t, fakelms.Options{})
			var bs []*OAuth2
			for range tc.instances {
				bs = append(bs, lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.UsedStates = tc.used }))
			}
			st := newStrategy()
			cb := authorizeAs(t, l, "jsmith", start(t, bs[0], st))
			sts := make([]*testutil.Strategy, n)
			for i := range sts {
				sts[i] = copySession(st).WithRequest(httptest.NewRequest(http.MethodGet, cb.String(), nil))
			}
			var (
				wg      sync.WaitGroup
				mu      sync.Mutex
				ok      int
				missing int
				others  []error
			)
			begin := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-begin
					_, err := bs[i%len(bs)].Complete(context.Background(), sts[i])
					mu.Lock()
					defer mu.Unlock()
					var e *socialauth.Error
					switch {
					case err == nil:
						ok++
					case errors.As(err, &e) && e.Code == socialauth.CodeAuthStateMissing && socialauth.HTTPStatus(err) == http.StatusBadRequest:
						missing++
					default:
						others = append(others, err)
					}
				}()
			}
			close(begin)
			wg.Wait()
			if ok != 1 || missing != n-1 || len(others) != 0 {
				t.Errorf("successes %d, AuthStateMissing %d, other errors %v; want 1, %d, none", ok, missing, others, n-1)
			}
			if got := l.Calls().Token; got != 1 {
				t.Errorf("token requests = %d, want exactly 1", got)
			}
		})
	}
}
