package securitytest

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/strategies"
)

// Sign-in state in real browsers (issue 11), end to end through the real
// views, the net/http strategy (scs sessions in the database) and the GORM
// store, with the fake LMS as provider, on every database the environment
// runs: several pending flows per session, forged callbacks that consume
// nothing, and one redemption per flow however many times its callback
// arrives at once.

// Two tabs of one browser (one cookie jar) each start a sign-in, then both
// callbacks arrive, in either order: both complete, and the session is
// signed in after each. A real browser has one session at the LMS, so both
// tabs come back as the same LMS user.
func TestTwoTabsOneBrowser(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		for _, backend := range []string{edxName, oidcName, oauthName} {
			for _, order := range []string{"first tab first", "second tab first"} {
				t.Run(backend+"/"+order, func(t *testing.T) {
					b := e.browser()
					tab1 := b.begin(backend, nil)
					tab2 := b.begin(backend, nil)
					if tab1.Query().Get("state") == tab2.Query().Get("state") {
						t.Fatal("two sign-ins share one state")
					}
					cb1, cb2 := e.authorize(tab1), e.authorize(tab2)
					if order == "second tab first" {
						cb1, cb2 = cb2, cb1
					}
					e.genuine(t, b, cb1)
					first := b.me()
					e.genuine(t, b, cb2)
					if got := b.me(); got != first {
						t.Errorf("signed in as %q after the second tab, want %q (the LMS's one user)", got, first)
					}
					// Each callback was redeemed: a replay of either is refused.
					for _, cb := range []*url.URL{cb1, cb2} {
						e.reject(t, b, rejection{status: 400, code: socialauth.CodeAuthStateMissing, user: first},
							func() page { return b.complete(cb) })
					}
				})
			}
		}
		t.Run("two backends", func(t *testing.T) {
			// A user new to both backends: the second sign-in links its
			// backend to the account the first one made.
			e.lms.AutoApprove("two-backends")
			defer e.lms.AutoApprove("jsmith")
			b := e.browser()
			edxTab := b.begin(edxName, nil)
			lmsTab := b.begin(oauthName, nil)
			cbEdx, cbLMS := e.authorize(edxTab), e.authorize(lmsTab)
			e.genuine(t, b, cbLMS)
			e.genuine(t, b, cbEdx)
		})
	})
}

// Two tabs whose callbacks come back as two different LMS users (the LMS
// user changed between them), with an account here or new: each completes
// as a fresh sign-in (edx-oauth2 is a socialauth.SessionReplacer), so the
// last to complete is the signed-in user, and no LMS identity is ever
// attached to the other tab's account.
func TestTwoTabsTwoLMSUsers(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		defer e.lms.AutoApprove("jsmith")
		ids := map[string]string{}
		for _, who := range []string{"alice", "bob"} {
			e.lms.AutoApprove(who)
			b := e.browser()
			b.login(edxName)
			ids[who] = b.me()
		}
		for i, order := range [][2]string{{"alice", "bob"}, {"bob", "alice"}, {"new-a", "new-b"}} {
			t.Run(order[0]+" then "+order[1], func(t *testing.T) {
				b := e.browser()
				tabs := map[string]*url.URL{}
				for _, who := range order {
					au := b.begin(edxName, nil)
					e.lms.AutoApprove(who)
					tabs[who] = e.authorize(au)
				}
				e.genuine(t, b, tabs[order[0]])
				first := b.me()
				e.genuine(t, b, tabs[order[1]])
				second := b.me()
				if first == second {
					t.Fatalf("both tabs signed in as user %s: the second was attached to the first", first)
				}
				if i < 2 && (first != ids[order[0]] || second != ids[order[1]]) {
					t.Errorf("signed in as %s then %s, want %s's %s then %s's %s",
						first, second, order[0], ids[order[0]], order[1], ids[order[1]])
				}
			})
		}
		// alice, bob, new-a and new-b: one association each, none merged.
		if n := e.count(socialAuthTable); n != 4 {
			t.Errorf("%d associations, want 4 (no merge)", n)
		}
	})
}

// A double click on "Sign in": two Starts, and only the second one's
// callback comes back (the browser followed the last navigation). It
// completes; so does the first one's, should it come back later.
func TestDoubleClick(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		for _, backend := range []string{edxName, oidcName, oauthName} {
			t.Run(backend, func(t *testing.T) {
				b := e.browser()
				first := b.begin(backend, nil)
				second := b.begin(backend, nil)
				e.genuine(t, b, e.authorize(second))
				e.genuine(t, b, e.authorize(first))
			})
		}
	})
}

// Forged callbacks, which any site can make a visitor's browser load, arrive
// before the genuine one: each is refused with its typed error, without any
// token request or write, and the genuine callback then completes.
func TestForgedCallbacksConsumeNothing(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		for _, backend := range []string{edxName, oidcName, oauthName} {
			t.Run(backend, func(t *testing.T) { forgedCallbacks(t, e, backend) })
		}
	})
}

func forgedCallbacks(t *testing.T, e *env, backend string) {
	complete := "/complete/" + backend + "/"
	forbidden := rejection{status: 403, code: socialauth.CodeAuthStateForbidden}
	canceled := rejection{status: 403, code: socialauth.CodeAuthCanceled}
	invalid := rejection{status: 400, code: socialauth.CodeAuthInvalidParameter}
	type forgery struct {
		name string
		want rejection
		send func(b *browser, cb *url.URL) page
	}
	raw := func(q func(code, state string) string) func(b *browser, cb *url.URL) page {
		return func(b *browser, cb *url.URL) page {
			return b.complete(withRawQuery(cb, q(url.QueryEscape(cb.Query().Get("code")), url.QueryEscape(cb.Query().Get("state")))))
		}
	}
	forgeries := []forgery{
		{"state=wrong", forbidden, func(b *browser, _ *url.URL) page { return b.get(complete + "?state=wrong&code=forged") }},
		{"error=access_denied&state=wrong", canceled, func(b *browser, _ *url.URL) page {
			return b.get(complete + "?error=access_denied&state=wrong")
		}},
		{"error=access_denied without state", canceled, func(b *browser, _ *url.URL) page {
			return b.get(complete + "?error=access_denied")
		}},
		{"state=genuine&state=forged", invalid, raw(func(code, state string) string { return "code=" + code + "&state=" + state + "&state=forged" })},
		{"state=forged&state=genuine", invalid, raw(func(code, state string) string { return "code=" + code + "&state=forged&state=" + state })},
		{"state twice, same value", invalid, raw(func(code, state string) string { return "code=" + code + "&state=" + state + "&state=" + state })},
		{"code=genuine&code=forged", invalid, raw(func(code, state string) string { return "code=" + code + "&code=forged&state=" + state })},
		{"code=forged&code=genuine", invalid, raw(func(code, state string) string { return "code=forged&code=" + code + "&state=" + state })},
		{"state in the query, another in the form body", invalid, func(b *browser, cb *url.URL) page {
			return b.post(complete+"?"+cb.RawQuery, url.Values{"state": {"forged"}}, nil)
		}},
		{"forged state in the query, genuine in the form body", invalid, func(b *browser, cb *url.URL) page {
			return b.post(complete+"?state=forged", url.Values{"state": {cb.Query().Get("state")}, "code": {cb.Query().Get("code")}}, nil)
		}},
	}
	for _, f := range forgeries {
		t.Run(f.name, func(t *testing.T) {
			b := e.browser()
			cb := b.callbackURL(backend, nil)
			e.reject(t, b, f.want, func() page { return f.send(b, cb) })
			e.genuine(t, b, cb)
		})
	}
	t.Run("all of them, then the genuine one", func(t *testing.T) {
		b := e.browser()
		cb := b.callbackURL(backend, nil)
		for _, f := range forgeries {
			e.reject(t, b, f.want, func() page { return f.send(b, cb) })
		}
		e.genuine(t, b, cb)
	})
	t.Run("the provider's own error ends its flow only", func(t *testing.T) {
		b := e.browser()
		denied := b.begin(backend, nil)
		cb := b.callbackURL(backend, nil)
		// The LMS says access_denied for the first flow, with its state.
		e.reject(t, b, canceled, func() page {
			return b.get(complete + "?error=access_denied&state=" + url.QueryEscape(denied.Query().Get("state")))
		})
		e.genuine(t, b, cb)
	})
}

// A session keeps at most backends.MaxPendingFlows pending sign-ins per
// backend: a loop of Starts drops the oldest, whose callback is then refused
// (locally, nothing consumed), while the newest ones still complete.
func TestPendingFlowsAreBounded(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		b := e.browser()
		n := backends.MaxPendingFlows + 3
		var auths []*url.URL
		for range n {
			auths = append(auths, b.begin(oauthName, nil))
			// Starts within one second have the same age: keep them apart
			// so that "oldest" is well defined.
			e.clock.Advance(2 * time.Second)
		}
		for i := range n - backends.MaxPendingFlows {
			cb := e.authorize(auths[i])
			e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthStateForbidden}, func() page { return b.complete(cb) })
		}
		e.genuine(t, b, e.authorize(auths[n-backends.MaxPendingFlows]))
		e.genuine(t, b, e.authorize(auths[n-1]))
	})
}

// delivery is one answer to a concurrent callback delivery.
type delivery struct {
	status   int
	location string
	err      error
}

// deliver sends the callback cb at once from n goroutines, all carrying the
// same session cookie (one browser, many requests: a double submit, a
// retrying proxy, prefetching), to the instances in turn.
func deliver(t *testing.T, cookie string, cb *url.URL, n int, instances ...*env) []delivery {
	t.Helper()
	client := &http.Client{Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	out := make([]delivery, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		in := instances[i%len(instances)]
		req, err := http.NewRequest(http.MethodGet, in.srv.URL+cb.RequestURI(), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: strategies.SessionCookieName, Value: cookie})
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := client.Do(req)
			if err != nil {
				out[i] = delivery{err: err}
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			in.record(string(body))
			in.record(resp.Header.Get("Location"))
			out[i] = delivery{status: resp.StatusCode, location: resp.Header.Get("Location")}
		}()
	}
	close(start)
	wg.Wait()
	return out
}

// checkOneRedemption asserts that of the deliveries exactly one signed in
// (302 to the next page) and the others were cleanly refused (4xx, a state
// code logged), with exactly one token request (tokenCalls before) and one
// new association (assocs before).
func checkOneRedemption(t *testing.T, e *env, got []delivery, tokenCalls, assocs, mark int) {
	t.Helper()
	won := 0
	for i, d := range got {
		switch {
		case d.err != nil:
			t.Errorf("delivery %d: %v", i, d.err)
		case d.status == http.StatusFound && d.location == "/done/":
			won++
		case d.status >= 400 && d.status < 500:
		default:
			t.Errorf("delivery %d: status %d, Location %q, want a 302 to /done/ or a 4xx", i, d.status, d.location)
		}
	}
	if won != 1 {
		t.Errorf("%d deliveries signed in, want exactly 1", won)
	}
	if n := e.lms.Calls().Token - tokenCalls; n != 1 {
		t.Errorf("%d token requests for one authorization code, want exactly 1", n)
	}
	if n := e.count(socialAuthTable) - assocs; n != 1 {
		t.Errorf("%d new associations, want 1", n)
	}
	failures := 0
	for _, r := range e.logs.records(t, mark) {
		if r["msg"] != "socialauth: request failed" {
			continue
		}
		failures++
		if code := socialauth.Code(fmt.Sprint(r["code"])); !stateFamily(code) {
			t.Errorf("a refused delivery logged %s (%v), want a state refusal", code, r["error"])
		}
	}
	if failures != len(got)-1 {
		t.Errorf("%d refusals logged, want %d", failures, len(got)-1)
	}
	e.recordTokenSecrets()
}

// Twenty deliveries of one genuine callback in one browser session, at the
// same moment: the flow is redeemed once, atomically in the database (the
// nonce table), not by a read-modify-write of the session: one token
// request, one sign-in, the others refused without a 5xx, one association.
func TestConcurrentDeliveriesOneRedemption(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		for _, backend := range []string{edxName, oidcName, oauthName} {
			t.Run(backend, func(t *testing.T) {
				e.lms.AutoApprove("user-" + backend)
				defer e.lms.AutoApprove("jsmith")
				b := e.browser()
				cb := b.callbackURL(backend, nil)
				calls, assocs, mark := e.lms.Calls().Token, e.count(socialAuthTable), e.logs.Len()
				got := deliver(t, b.sessionID(), cb, 20, e)
				checkOneRedemption(t, e, got, calls, assocs, mark)
			})
		}
	})
}

// The same, with the twenty deliveries spread over two instances of the
// service sharing one database (behind one public URL): still one token
// request and one sign-in.
func TestConcurrentDeliveriesTwoInstances(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		other := e.instance(t)
		b := e.browser()
		cb := b.callbackURL(edxName, nil)
		calls, assocs, mark := e.lms.Calls().Token, e.count(socialAuthTable), e.logs.Len()
		got := deliver(t, b.sessionID(), cb, 20, e, other)
		checkOneRedemption(t, e, got, calls, assocs, mark)
	})
}

// A paused (partial) pipeline resumed by ten concurrent requests of its
// session: one goes on, the others are refused (403), none is a 5xx.
func TestConcurrentPartialResumes(t *testing.T) {
	envs(t, partialOptions(), func(t *testing.T, e *env) {
		b := e.browser()
		tok := b.pause(t)
		results := make(chan int, 10)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for range 10 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				results <- resume(b, tok, nil).status
			}()
		}
		close(start)
		wg.Wait()
		close(results)
		won, statuses := 0, []string{}
		for s := range results {
			statuses = append(statuses, fmt.Sprint(s))
			switch {
			case s == http.StatusFound:
				won++
			case s == http.StatusForbidden:
			default:
				t.Errorf("a concurrent resume answered %d, want 302 or 403", s)
			}
		}
		if won != 1 {
			t.Errorf("%d concurrent resumes went on, want 1 (statuses %s)", won, strings.Join(statuses, " "))
		}
		if n := e.count(socialAuthTable); n != 1 {
			t.Errorf("%d associations, want 1", n)
		}
		if n := e.countWhere("social_auth_partial", "token = ?", tok); n != 0 {
			t.Errorf("the partial was kept after its resume")
		}
	})
}
