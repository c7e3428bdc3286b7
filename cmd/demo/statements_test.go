package main

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/socialauth-go/socialauth/internal/dbtest"
)

// statementLog records the SQL of every statement GORM runs on a database
// (BEGIN and COMMIT are not run through GORM's callbacks and are not
// recorded; a SAVEPOINT would be).
type statementLog struct {
	mu   sync.Mutex
	sqls []string
}

func recordStatements(t *testing.T, db *gorm.DB) *statementLog {
	t.Helper()
	l := &statementLog{}
	name := fmt.Sprintf("demo-test:statements:%p", l)
	record := func(tx *gorm.DB) {
		l.mu.Lock()
		l.sqls = append(l.sqls, tx.Statement.SQL.String())
		l.mu.Unlock()
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("*").Register(name, record),
		cb.Query().After("*").Register(name, record),
		cb.Update().After("*").Register(name, record),
		cb.Delete().After("*").Register(name, record),
		cb.Row().After("*").Register(name, record),
		cb.Raw().After("*").Register(name, record),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return l
}

// take returns the statements recorded since the last take.
func (l *statementLog) take() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := l.sqls
	l.sqls = nil
	return out
}

// signInCounts is the number of statements each request of a sign-in ran.
type signInCounts struct {
	Login, Complete, Me int
}

func (c signInCounts) total() int { return c.Login + c.Complete + c.Me }

// statementBudget is what a database may spend: a first sign-in (a new
// user), a returning one (a known user, from a browser with no session)
// and a /me of a signed-in user.
type statementBudget struct {
	first, returning signInCounts
	me               int
}

// TestStatementsPerSignIn counts the SQL statements (sessions included,
// BEGIN and COMMIT not) each request of a complete browser-like sign-in
// runs through the demo over loopback: login start → LMS authorize →
// complete → /me, for a first sign-in and a returning one, then /me of the
// signed-in user. Each count must stay within its budget, so a change that
// adds a round trip fails here. SQLite always; PostgreSQL and MariaDB when
// their test DSNs are set (required under CI=true).
func TestStatementsPerSignIn(t *testing.T) {
	targets := []struct {
		name, target, env string
		budget            statementBudget
	}{
		{"sqlite", dbtest.SQLite, "", statementBudget{
			first: signInCounts{Login: 0, Complete: 8, Me: 1}, returning: signInCounts{Login: 0, Complete: 5, Me: 1}, me: 1}},
		{"postgres", dbtest.Postgres, dbtest.EnvPostgres, statementBudget{
			first: signInCounts{Login: 0, Complete: 8, Me: 1}, returning: signInCounts{Login: 0, Complete: 5, Me: 1}, me: 1}},
		{"mysql", dbtest.MySQL, dbtest.EnvMySQL, statementBudget{
			first: signInCounts{Login: 0, Complete: 8, Me: 1}, returning: signInCounts{Login: 0, Complete: 6, Me: 1}, me: 1}},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dbURL := targetDatabaseURL(t, tg.target, tg.env, "statements.db")
			d := startDemo(t, map[string]string{EnvDatabaseURL: dbURL})
			log := recordStatements(t, d.Store.DB())

			first := countSignIn(t, d, log, "ada")
			returning := countSignIn(t, d, log, "ada")
			b := newBrowser(t)
			countSignInWith(t, d, log, b, "grace")
			if p := b.getNoFollow(d.BaseURL + "/me"); p.status != http.StatusOK || !strings.Contains(p.body, `"username":"grace"`) {
				t.Fatalf("/me of a signed-in user = %d %s", p.status, p.body)
			}
			me := log.take()

			t.Logf("statements per request: first %+v = %d, returning %+v = %d, /me %d",
				first, first.total(), returning, returning.total(), len(me))
			check := func(what string, got, budget int) {
				t.Helper()
				if got > budget {
					t.Errorf("%s ran %d statements, budget %d", what, got, budget)
				}
			}
			check("first sign-in: login start", first.Login, tg.budget.first.Login)
			check("first sign-in: complete", first.Complete, tg.budget.first.Complete)
			check("first sign-in: /me", first.Me, tg.budget.first.Me)
			check("first sign-in", first.total(), tg.budget.first.total())
			check("returning sign-in: login start", returning.Login, tg.budget.returning.Login)
			check("returning sign-in: complete", returning.Complete, tg.budget.returning.Complete)
			check("returning sign-in: /me", returning.Me, tg.budget.returning.Me)
			check("returning sign-in", returning.total(), tg.budget.returning.total())
			check("/me of a signed-in user", len(me), tg.budget.me)
			if t.Failed() || testing.Verbose() {
				t.Logf("/me statements:\n  %s", strings.Join(me, "\n  "))
			}
		})
	}
}

// countSignIn signs username in from a new browser and counts the
// statements of each of the demo's requests.
func countSignIn(t *testing.T, d *demo, log *statementLog, username string) signInCounts {
	t.Helper()
	return countSignInWith(t, d, log, newBrowser(t), username)
}

// countSignInWith signs username in with b, one request at a time (the
// demo commits a request's session before it answers, so the statements
// recorded between two answers are the first one's).
func countSignInWith(t *testing.T, d *demo, log *statementLog, b *browser, username string) signInCounts {
	t.Helper()
	var c signInCounts
	detail := func(what string, sqls []string) int {
		if testing.Verbose() {
			t.Logf("%s %s: %d statements\n  %s", username, what, len(sqls), strings.Join(sqls, "\n  "))
		}
		return len(sqls)
	}
	log.take()
	start := b.getNoFollow(d.BaseURL + "/login/edx-oauth2/?next=/me")
	if start.status != http.StatusFound {
		t.Fatalf("login start = %d %s", start.status, start.body)
	}
	c.Login = detail("login start", log.take())
	action, form := signInForm(t, b.get(start.header.Get("Location")))
	form.Set("username", username)
	back := b.postForm(action, form, b.noRedirects())
	if back.status != http.StatusFound || !strings.HasPrefix(back.header.Get("Location"), d.BaseURL+"/complete/edx-oauth2/") {
		t.Fatalf("LMS sign-in = %d, Location %q", back.status, back.header.Get("Location"))
	}
	if n := len(log.take()); n != 0 {
		t.Fatalf("the LMS's pages ran %d statements of the demo's database", n)
	}
	done := b.getNoFollow(back.header.Get("Location"))
	if done.status != http.StatusFound || done.header.Get("Location") != "/me" {
		t.Fatalf("complete = %d, Location %q\nlogs:\n%s", done.status, done.header.Get("Location"), d.logs)
	}
	c.Complete = detail("complete", log.take())
	me := b.getNoFollow(d.BaseURL + "/me")
	if me.status != http.StatusOK || !strings.Contains(me.body, `"username":"`+username+`"`) {
		t.Fatalf("/me after sign-in = %d %s", me.status, me.body)
	}
	c.Me = detail("/me", log.take())
	return c
}
