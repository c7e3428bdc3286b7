package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// sharedDatabase returns the DATABASE_URL of a fresh database of target
// ("sqlite" or "postgres") for demos that share it. PostgreSQL needs
// SOCIALAUTH_TEST_POSTGRES_DSN: the test is skipped without it, and fails
// under CI=true.
func sharedDatabase(t *testing.T, target string) string {
	t.Helper()
	if target == "sqlite" {
		return "sqlite:" + filepath.Join(t.TempDir(), "shared.db")
	}
	dsn := strings.TrimSpace(os.Getenv(dbtest.EnvPostgres))
	if dsn == "" {
		if os.Getenv(dbtest.EnvCI) == "true" {
			t.Fatalf("CI=true but %s is not set", dbtest.EnvPostgres)
		}
		t.Skipf("two demo instances on one PostgreSQL database need %s (bash .ci/services starts one: eval \"$(bash .ci/services --env)\")", dbtest.EnvPostgres)
	}
	return dbtest.Fresh(t, dbtest.Target{Name: dbtest.Postgres, DSN: dsn})
}

// lmsTokenRequests counts the token requests the embedded fake LMS of d
// answered (it logs each one, issued or refused).
func lmsTokenRequests(d *demo) int {
	return strings.Count(d.logs.String(), `msg="fakelms: token: `)
}

// warmUp opens n/2 idle connections of client to each URL.
func warmUp(t *testing.T, client *http.Client, n int, urls ...string) {
	t.Helper()
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := client.Get(urls[i%len(urls)])
			if err != nil {
				t.Errorf("warm-up: %v", err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
}

// TestTwoInstancesConcurrentCallback is issue 11's proof with two demo
// processes on one PostgreSQL database behind one public base URL, both
// using the first one's embedded fake LMS: a sign-in started on instance A
// gets its genuine callback from the LMS, and that callback is delivered 20
// times at once with the same session cookie, half to A and half to B.
// Exactly one token request reaches the LMS, exactly one delivery signs in,
// the others are refused with a 4xx (never a 5xx), and the database holds
// one user and one association. SQLite (one file, two stores) runs too.
func TestTwoInstancesConcurrentCallback(t *testing.T) {
	for _, target := range []string{"sqlite", "postgres"} {
		t.Run(target, func(t *testing.T) {
			dbURL := sharedDatabase(t, target)
			const key, secret = "shared-client", "shared-secret-9f8e7d"
			a := startDemo(t, map[string]string{EnvDatabaseURL: dbURL,
				"SOCIAL_AUTH_EDX_OAUTH2_KEY": key, "SOCIAL_AUTH_EDX_OAUTH2_SECRET": secret})
			b := startDemo(t, map[string]string{EnvDatabaseURL: dbURL,
				"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": a.LMSURL,
				"SOCIAL_AUTH_EDX_OAUTH2_KEY":      key, "SOCIAL_AUTH_EDX_OAUTH2_SECRET": secret,
				"BASE_URL": a.BaseURL})
			if b.LMSURL != "" {
				t.Fatalf("instance B runs its own LMS at %s; both must use A's", b.LMSURL)
			}
			aAddr := strings.TrimPrefix(a.ListenURL, "http://")
			bAddr := listenAddrFromLogs(t, b)
			fail := func(format string, args ...any) {
				t.Helper()
				t.Fatalf(format+"\nlogs of A:\n%s\nlogs of B:\n%s", append(args, a.logs, b.logs)...)
			}

			// Start on A, sign in at the LMS, keep its redirect: the genuine callback.
			br := newBrowser(t)
			action, form := signInForm(t, br.get(a.BaseURL+"/login/edx-oauth2/?next=/me"))
			form.Set("username", "carol")
			p := br.postForm(action, form, br.noRedirects())
			callback, err := url.Parse(p.header.Get("Location"))
			if p.status != http.StatusFound || err != nil || callback.Path != "/complete/edx-oauth2/" ||
				callback.Query().Get("code") == "" || callback.Query().Get("state") == "" {
				fail("LMS answered %d %q, want a redirect to the callback with a code and a state", p.status, p.header.Get("Location"))
			}
			session := br.cookie(a.BaseURL, "sessionid")
			if session == "" {
				fail("no session cookie after starting the sign-in")
			}
			if n := lmsTokenRequests(a) + lmsTokenRequests(b); n != 0 {
				fail("%d token requests before the callback", n)
			}

			// 20 deliveries at once, one session cookie, split between A and B.
			const n = 20
			type answer struct {
				instance string
				status   int
				location string
				cookie   string
				body     string
				err      error
			}
			answers := make([]answer, n)
			// Connections are opened beforehand, so that the deliveries
			// reach the instances together.
			client := &http.Client{Timeout: 30 * time.Second,
				Transport:     &http.Transport{MaxIdleConnsPerHost: n},
				CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			warmUp(t, client, n, "http://"+aAddr+"/healthz", "http://"+bAddr+"/healthz")
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					u := *callback
					answers[i].instance = "A"
					u.Host = aAddr
					if i%2 == 1 {
						answers[i].instance = "B"
						u.Host = bAddr
					}
					req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, u.String(), nil)
					if err != nil {
						answers[i].err = err
						return
					}
					req.AddCookie(&http.Cookie{Name: "sessionid", Value: session})
					<-start
					resp, err := client.Do(req)
					if err != nil {
						answers[i].err = err
						return
					}
					defer resp.Body.Close()
					body, _ := io.ReadAll(resp.Body)
					answers[i].status, answers[i].location, answers[i].body = resp.StatusCode, resp.Header.Get("Location"), string(body)
					for _, c := range resp.Cookies() {
						if c.Name == "sessionid" {
							answers[i].cookie = c.Value
						}
					}
				}()
			}
			close(start)
			wg.Wait()

			var winners []answer
			statuses := map[string]int{}
			for i, ans := range answers {
				if ans.err != nil {
					t.Errorf("delivery %d (%s): %v", i, ans.instance, ans.err)
					continue
				}
				statuses[fmt.Sprintf("%s %d", ans.instance, ans.status)]++
				switch {
				case ans.status == http.StatusFound && ans.location == "/me":
					winners = append(winners, ans)
				case ans.status >= 400 && ans.status < 500:
				default:
					t.Errorf("delivery %d (%s) = %d %q, want a sign-in (302 /me) or a 4xx refusal\n%s", i, ans.instance, ans.status, ans.location, ans.body)
				}
			}
			var summary []string
			for k, v := range statuses {
				summary = append(summary, fmt.Sprintf("%s ×%d", k, v))
			}
			sort.Strings(summary)
			t.Logf("answers: %s", strings.Join(summary, ", "))
			// How many got as far as the redemption in the shared nonce table
			// (the others found the flow already gone from the session).
			t.Logf("refused at the redemption (state already used): %d", strings.Count(a.logs.String()+b.logs.String(), "state already used"))
			if len(winners) != 1 {
				fail("%d deliveries signed in, want exactly 1 (answers: %s)", len(winners), strings.Join(summary, ", "))
			}
			if got := lmsTokenRequests(a) + lmsTokenRequests(b); got != 1 {
				fail("the LMS received %d token requests for one code, want exactly 1", got)
			}
			if lmsTokenRequests(b) != 0 {
				t.Errorf("B's own embedded LMS was used")
			}
			if got := strings.Count(a.logs.String()+b.logs.String(), `msg="demo: signed in"`); got != 1 {
				t.Errorf("the demos logged %d sign-ins, want 1", got)
			}

			// One user, one association in the shared database.
			store, err := storage.Open(t.Context(), dbURL, storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var users, socials int64
			if err := store.DB().Table(storage.TableUsers).Count(&users).Error; err != nil {
				t.Fatal(err)
			}
			if err := store.DB().Table(storage.TableSocialAuth).Count(&socials).Error; err != nil {
				t.Fatal(err)
			}
			if users != 1 || socials != 1 {
				t.Errorf("the database holds %d users and %d associations, want 1 and 1", users, socials)
			}

			// The winner's (rotated) session is carol's on both instances.
			if winners[0].cookie == "" || winners[0].cookie == session {
				t.Errorf("the sign-in did not rotate the session id")
			}
			for _, base := range []string{"http://" + aAddr, "http://" + bAddr} {
				req, _ := http.NewRequest(http.MethodGet, base+"/me", nil)
				req.AddCookie(&http.Cookie{Name: "sessionid", Value: winners[0].cookie})
				resp, err := client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"username":"carol"`) {
					t.Errorf("%s/me with the new session = %d %s, want carol", base, resp.StatusCode, body)
				}
			}
		})
	}
}
