package e2e

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// hop is one document answer a tab received: a redirect or a page.
type hop struct {
	url    string
	status int64
}

// documents records what one tab asked for and got as documents, redirect
// hops included (a redirect creates no history entry, so the callback
// URL, which the demo answers with a redirect, is only seen here).
type documents struct {
	mu       sync.Mutex
	requests []string
	answers  []hop
}

// recordDocuments starts recording the document requests of ctx's tab.
func recordDocuments(t *testing.T, ctx context.Context) *documents {
	t.Helper()
	d := &documents{}
	err := chromedp.Listen(ctx, func(ev any) {
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if e.Type != network.ResourceTypeDocument {
				return
			}
			d.mu.Lock()
			if e.RedirectResponse != nil {
				d.answers = append(d.answers, hop{e.RedirectResponse.URL, e.RedirectResponse.Status})
			}
			d.requests = append(d.requests, e.Request.URL)
			d.mu.Unlock()
		case *network.EventResponseReceived:
			if e.Type != network.ResourceTypeDocument {
				return
			}
			d.mu.Lock()
			d.answers = append(d.answers, hop{e.Response.URL, e.Response.Status})
			d.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatalf("listening to the tab: %v", err)
	}
	return d
}

// serverErrors lists the 5xx answers so far.
func (d *documents) serverErrors() []hop {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []hop
	for _, h := range d.answers {
		if h.status >= 500 {
			out = append(out, h)
		}
	}
	return out
}

// at lists the answers so far whose URL path is path.
func (d *documents) at(path string) []hop {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []hop
	for _, h := range d.answers {
		if u, err := url.Parse(h.url); err == nil && u.Path == path {
			out = append(out, h)
		}
	}
	return out
}

// mark is the number of answers so far; since(mark) lists the later ones.
func (d *documents) mark() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.answers)
}

func (d *documents) since(mark int) []hop {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]hop(nil), d.answers[mark:]...)
}

const callbackPath = "/complete/edx-oauth2/"

// clickSignIn opens the demo's home page in ctx's tab and clicks "Sign in";
// it returns the fake LMS's sign-in page URL the tab reached.
func clickSignIn(t *testing.T, ctx context.Context, d *runningDemo) string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.baseURL+"/"),
		chromedp.WaitVisible(chromedp.CSS("a#signin")),
		chromedp.Click(chromedp.CSS("a#signin")),
		chromedp.WaitVisible(chromedp.CSS("input#username")),
	); err != nil {
		t.Fatalf("click sign in: %v\ndemo logs:\n%s", err, d.logs)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, d.lmsURL+"/oauth2/authorize") {
		t.Fatalf("sign in led to %s, want the fake LMS's sign-in page at %s", loc, d.lmsURL)
	}
	return loc
}

// signInAtLMS types username on the fake LMS's sign-in page of ctx's tab,
// submits, and returns the user name the demo's page then shows.
func signInAtLMS(t *testing.T, ctx context.Context, d *runningDemo, username string) string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("input#username"), username),
		chromedp.Click(chromedp.CSS("button#signin")),
		chromedp.WaitVisible(chromedp.CSS("strong#username")),
	); err != nil {
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		body, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("sign in as %s: %v (the tab is at %s: %q)\ndemo logs:\n%s", username, err, loc, body, d.logs)
	}
	shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("strong#username")))
	if err != nil {
		t.Fatal(err)
	}
	return shown
}

// signedInAs opens the home page in ctx's tab and returns the user name it
// shows ("" when signed out).
func signedInAs(t *testing.T, ctx context.Context, d *runningDemo) string {
	t.Helper()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(d.baseURL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#status")),
	); err != nil {
		t.Fatalf("open /: %v", err)
	}
	p, err := readPage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if p.status == "You are not signed in." {
		return ""
	}
	name, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("strong#username")))
	if err != nil {
		t.Fatalf("home page: %q and no user name: %v", p.status, err)
	}
	return name
}

// TestBrowserTwoTabs is issue 11's browser proof: one browser, two tabs on
// the demo, "Sign in" clicked in both (each reaches the fake LMS's sign-in
// page with its own state), then both completed, in either order: each
// tab lands signed in (no error page, no 5xx anywhere), and the user
// signed in is the one entered in the tab completed last.
//
// "one LMS user" types the same name in both tabs, as a real browser
// does (it has one session at the LMS): one account, one association.
// "two LMS users" types another name in each tab, which the fake LMS
// allows (it keeps no session).
func TestBrowserTwoTabs(t *testing.T) {
	chrome := chromiumPath(t)
	d := startDemo(t, buildDemo(t))
	for _, users := range []string{"one LMS user", "two LMS users"} {
		for _, order := range [][2]int{{1, 0}, {0, 1}} {
			t.Run(fmt.Sprintf("%s/tab %d first", users, order[0]+1), func(t *testing.T) {
				twoTabs(t, chrome, d, users == "one LMS user", order)
			})
		}
	}
}

// twoTabs runs TestBrowserTwoTabs's scenario, completing the tabs in order.
func twoTabs(t *testing.T, chrome string, d *runningDemo, oneUser bool, order [2]int) {
	tab1 := browserContext(t, chrome)
	docs1 := recordDocuments(t, tab1)
	// A second tab in the same browser (and browser context: one cookie jar).
	tab2, closeTab2 := chromedp.NewContext(tab1)
	t.Cleanup(closeTab2)
	docs2 := recordDocuments(t, tab2)
	tabs := []context.Context{tab1, tab2}
	docs := []*documents{docs1, docs2}

	states := map[string]bool{}
	for i, tab := range tabs {
		u, err := url.Parse(clickSignIn(t, tab, d))
		if err != nil {
			t.Fatal(err)
		}
		state := u.Query().Get("state")
		if state == "" || states[state] {
			t.Fatalf("tab %d's sign-in page carries state %q, want a state of its own", i+1, state)
		}
		states[state] = true
	}

	suffix := fmt.Sprintf("%d%d", order[0]+1, order[1]+1)
	names := []string{"tab1." + suffix, "tab2." + suffix}
	if oneUser {
		names = []string{"both." + suffix, "both." + suffix}
	}
	for _, i := range order {
		if shown := signInAtLMS(t, tabs[i], d, names[i]); shown != names[i] {
			t.Errorf("tab %d completed and shows %q, want %q", i+1, shown, names[i])
		}
		cbs := docs[i].at(callbackPath)
		if len(cbs) != 1 || cbs[0].status >= 400 {
			t.Errorf("tab %d's callback answers = %v, want one redirect", i+1, cbs)
		}
	}
	last := names[order[1]]
	for i, tab := range tabs {
		if got := signedInAs(t, tab, d); got != last {
			t.Errorf("tab %d's home page shows %q signed in, want %q (the tab completed last)", i+1, got, last)
		}
	}
	// The signed-in user has exactly its own association.
	if err := chromedp.Do(tab1, chromedp.Navigate(d.baseURL+"/me")); err != nil {
		t.Fatal(err)
	}
	me, err := chromedp.Run(tab1, chromedp.Text(chromedp.CSS("body")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(me, `"username":"`+last+`"`) || strings.Count(me, `"provider":"edx-oauth2"`) != 1 ||
		!strings.Contains(me, `"uid":"`+last+`"`) {
		t.Errorf("/me = %s, want %s with one edx-oauth2 association, its own", me, last)
	}
	for i, dl := range docs {
		if errs := dl.serverErrors(); len(errs) > 0 {
			t.Errorf("tab %d received server errors: %v", i+1, errs)
		}
	}
	if t.Failed() {
		t.Logf("demo logs:\n%s", d.logs)
	}
}

// TestBrowserBackAfterSignIn: after a completed sign-in, the back button
// and a reload of the spent callback URL get a clean refusal (a 4xx page,
// never a 5xx), and the user stays signed in.
func TestBrowserBackAfterSignIn(t *testing.T) {
	chrome := chromiumPath(t)
	d := startDemo(t, buildDemo(t))
	ctx := browserContext(t, chrome)
	docs := recordDocuments(t, ctx)
	const username = "grace.hopper"
	clickSignIn(t, ctx, d)
	if shown := signInAtLMS(t, ctx, d, username); shown != username {
		t.Fatalf("signed in as %q, want %q", shown, username)
	}
	var callback string
	docs.mu.Lock()
	for _, r := range docs.requests {
		if u, err := url.Parse(r); err == nil && u.Path == callbackPath && u.Query().Get("code") != "" {
			callback = r
		}
	}
	docs.mu.Unlock()
	if callback == "" {
		t.Fatalf("no callback request recorded: %v", docs.requests)
	}

	// refused checks the answers since mark: the callback refused with a
	// 4xx, no 5xx, and the user still signed in.
	refused := func(step string, mark int) {
		t.Helper()
		got := docs.since(mark)
		var cb []hop
		for _, h := range got {
			if u, err := url.Parse(h.url); err == nil && u.Path == callbackPath {
				cb = append(cb, h)
			}
			if h.status >= 500 {
				t.Errorf("%s: server error %v\ndemo logs:\n%s", step, h, d.logs)
			}
		}
		if len(cb) != 1 || cb[0].status < 400 || cb[0].status >= 500 {
			t.Errorf("%s: callback answers %v, want one 4xx refusal", step, cb)
		}
		if who := signedInAs(t, ctx, d); who != username {
			t.Errorf("%s: the home page then shows %q signed in, want %q", step, who, username)
		}
	}

	// 1. Back: the history holds the LMS's sign-in page (the callback was a
	// redirect); signing in there again sends the spent state back.
	mark := docs.mark()
	if err := chromedp.Do(ctx,
		chromedp.NavigateBack(),
		chromedp.WaitVisible(chromedp.CSS("input#username")),
	); err != nil {
		t.Fatalf("back to the LMS page: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("input#username"), username),
		chromedp.Click(chromedp.CSS("button#signin")),
		chromedp.WaitReady(chromedp.CSS("body")),
	); err != nil {
		t.Fatalf("sign in again from the page the back button shows: %v", err)
	}
	waitFor(t, ctx, func() bool { return len(docs.since(mark)) > 0 && hasPath(docs.since(mark), callbackPath) })
	refused("back, then sign in again at the LMS", mark)

	// 2. The spent callback URL itself, opened, then reached by history
	// back.
	mark = docs.mark()
	if err := chromedp.Do(ctx, chromedp.Navigate(callback)); err != nil {
		t.Fatalf("open the spent callback: %v", err)
	}
	refused("open the spent callback URL", mark)
	// The history is now [..., callback, home]: back is the callback.
	mark = docs.mark()
	if err := chromedp.Do(ctx, chromedp.NavigateBack()); err != nil {
		t.Fatalf("back to the spent callback: %v", err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(loc); err != nil || u.Path != callbackPath {
		t.Fatalf("back led to %s, want the spent callback", loc)
	}
	refused("history back to the spent callback URL", mark)
}

// hasPath reports whether one of hops is at path.
func hasPath(hops []hop, path string) bool {
	for _, h := range hops {
		if u, err := url.Parse(h.url); err == nil && u.Path == path {
			return true
		}
	}
	return false
}

// waitFor polls cond until it holds (for at most 10s).
func waitFor(t *testing.T, ctx context.Context, cond func() bool) {
	t.Helper()
	for range 200 {
		if cond() {
			return
		}
		if err := chromedp.Do(ctx, chromedp.Sleep(50*time.Millisecond)); err != nil {
			t.Fatalf("waiting: %v", err)
		}
	}
	t.Fatal("timed out waiting")
}

// TestBrowserEightTabs: one browser, "Sign in" clicked in eight tabs
// (backends.MaxPendingFlows, the most a session keeps per backend), then
// every tab completed, last opened first. The demo keeps a sign-in in
// progress sealed in its session cookie, which grows with each pending
// flow: Chromium must keep it (it drops a cookie over 4 KiB silently,
// which would fail the later callbacks), and once the first tab has
// signed in, the session moves to the store with the other tabs' flows.
// Every tab must land signed in, with no 4xx or 5xx on any callback.
func TestBrowserEightTabs(t *testing.T) {
	chrome := chromiumPath(t)
	d := startDemo(t, buildDemo(t))
	const n = 8
	first := browserContext(t, chrome)
	tabs := []context.Context{first}
	docs := []*documents{recordDocuments(t, first)} // starts the browser
	for range n - 1 {
		tab, closeTab := chromedp.NewContext(first)
		t.Cleanup(closeTab)
		tabs = append(tabs, tab)
		docs = append(docs, recordDocuments(t, tab))
	}
	for _, tab := range tabs {
		clickSignIn(t, tab, d)
	}
	for i := n - 1; i >= 0; i-- {
		name := fmt.Sprintf("tab%d.eight", i+1)
		if shown := signInAtLMS(t, tabs[i], d, name); shown != name {
			t.Errorf("tab %d completed and shows %q, want %q", i+1, shown, name)
		}
		if cbs := docs[i].at(callbackPath); len(cbs) != 1 || cbs[0].status >= 400 {
			t.Errorf("tab %d's callback answers = %v, want one redirect", i+1, cbs)
		}
		if errs := docs[i].serverErrors(); len(errs) > 0 {
			t.Errorf("tab %d received server errors: %v", i+1, errs)
		}
	}
	if got := signedInAs(t, first, d); got != "tab1.eight" {
		t.Errorf("signed in as %q, want tab1.eight (the tab completed last)", got)
	}
	if t.Failed() {
		t.Logf("demo logs:\n%s", d.logs)
	}
}
