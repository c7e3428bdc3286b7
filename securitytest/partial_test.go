package securitytest

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/storage"
)

const confirmStep = "securitytest.confirm"

// confirm pauses the pipeline with a page holding the partial token until
// the request says confirmed=yes (like upstream's "require email" steps).
var confirm = socialauth.Step{Name: confirmStep, Partial: true,
	Func: func(_ context.Context, st *socialauth.State) (*socialauth.Response, error) {
		if st.Request.Get("confirmed") == "yes" {
			return nil, nil
		}
		return socialauth.HTML(`<form method="post"><input name="partial_token" value="` + html.EscapeString(st.PartialToken()) + `"></form>`), nil
	}}

func partialEnv(t *testing.T) *env { return newEnv(t, partialOptions()) }

// partialOptions pause the lms backend's pipeline at the confirm step.
func partialOptions() options {
	p := slices.Clone(socialauth.DefaultAuthPipeline())
	p = slices.Insert(p, 3, confirmStep) // after auth_allowed, before any write
	return options{steps: []socialauth.Step{confirm}, settings: map[string]any{"SOCIAL_AUTH_LMS_PIPELINE": p}}
}

var tokenInput = regexp.MustCompile(`name="partial_token" value="([^"]+)"`)

// pause runs a login of the lms backend up to the confirm step and returns
// the partial token.
func (b *browser) pause(t *testing.T) string {
	t.Helper()
	p := b.complete(b.callbackURL(oauthName, nil))
	m := tokenInput.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil {
		t.Fatalf("no pause: %d %q", p.status, p.body)
	}
	return html.UnescapeString(m[1])
}

func resume(b *browser, token string, extra url.Values) page {
	form := url.Values{"partial_token": {token}, "confirmed": {"yes"}}
	for k, v := range extra {
		form[k] = v
	}
	return b.post("/complete/"+oauthName+"/", form, nil)
}

// Partial pipelines: resumable only by the session that paused them, with
// the stored state (request data cannot overwrite it), once, within
// PARTIAL_PIPELINE_TTL.
func TestPartialPipelines(t *testing.T) {
	e := partialEnv(t)

	t.Run("another session cannot resume it", func(t *testing.T) {
		owner, attacker := e.browser(), e.browser()
		tok := owner.pause(t)
		e.reject(t, attacker, rejection{status: 403, code: socialauth.CodeAuthForbidden}, func() page { return resume(attacker, tok, nil) })
		// An attacker with a paused partial of their own cannot swap in
		// the owner's token either.
		attacker.pause(t)
		e.reject(t, attacker, rejection{status: 403, code: socialauth.CodeAuthForbidden}, func() page { return resume(attacker, tok, nil) })
		// The owner still can.
		if p := resume(owner, tok, nil); p.status != http.StatusFound || owner.me() == "" {
			t.Fatalf("the owner could not resume: %d %s", p.status, p.body)
		}
	})

	t.Run("request data cannot overwrite the stored state", func(t *testing.T) {
		b := e.browser()
		tok := b.pause(t)
		evil := url.Values{
			"uid": {"admin"}, "username": {"admin"}, "user_id": {"1"}, "email": {"admin@evil.example"},
			"details": {`{"username":"admin"}`}, "response": {`{"preferred_username":"admin"}`},
			"is_new": {"true"}, "social_id": {"1"}, "backend": {edxName}, "next_step": {"99"},
			"preferred_username": {"admin"},
		}
		p := resume(b, tok, evil)
		if p.status != http.StatusFound {
			t.Fatalf("resume: %d %s", p.status, p.body)
		}
		var uids []string
		e.store.DB().Table(storage.TableSocialAuth).Pluck("uid", &uids)
		if slices.Contains(uids, "admin") {
			t.Errorf("request data became the uid: %v", uids)
		}
		var emails []string
		e.store.DB().Table(storage.TableUsers).Pluck("email", &emails)
		if slices.Contains(emails, "admin@evil.example") {
			t.Errorf("request data became user details: %v", emails)
		}
	})

	t.Run("single use", func(t *testing.T) {
		b := e.browser()
		tok := b.pause(t)
		if p := resume(b, tok, nil); p.status != http.StatusFound {
			t.Fatalf("resume: %d", p.status)
		}
		user := b.me()
		e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthForbidden, user: user}, func() page { return resume(b, tok, nil) })
	})

	t.Run("concurrent resumes: one wins", func(t *testing.T) {
		b := e.browser()
		tok := b.pause(t)
		results := make(chan int, 4)
		for range 4 {
			go func() { results <- resume(b, tok, nil).status }()
		}
		won := 0
		for range 4 {
			if <-results == http.StatusFound {
				won++
			}
		}
		if won != 1 {
			t.Errorf("%d concurrent resumes succeeded, want 1", won)
		}
	})

	t.Run("bounded lifetime", func(t *testing.T) {
		b := e.browser()
		tok := b.pause(t)
		e.clock.Advance(socialauth.DefaultPartialTTL + time.Minute)
		defer e.clock.Advance(-socialauth.DefaultPartialTTL - time.Minute)
		before := e.snapshot()
		e.assertRejectedOnly(t, b, rejection{status: 403, code: socialauth.CodeAuthForbidden}, func() page { return resume(b, tok, nil) })
		after := e.snapshot()
		// Dropping the expired partial is the one write allowed.
		delete(before, storage.TablePartial)
		delete(after, storage.TablePartial)
		if d := cmp.Diff(before, after); d != "" {
			t.Errorf("database changed:\n%s", d)
		}
		if n := e.countWhere(storage.TablePartial, "token = ?", tok); n != 0 {
			t.Errorf("the expired partial was kept")
		}
	})

	t.Run("a new callback abandons the partial", func(t *testing.T) {
		b := e.browser()
		tok := b.pause(t)
		b.pause(t) // a fresh login from the provider
		if n := e.countWhere(storage.TablePartial, "token = ?", tok); n != 0 {
			t.Errorf("the abandoned partial was kept")
		}
	})

	t.Run("logout drops the partial", func(t *testing.T) {
		b := e.browser()
		tok := b.pause(t)
		b.get("/logout/?no_redirect=1")
		if n := e.countWhere(storage.TablePartial, "token = ?", tok); n != 0 {
			t.Errorf("the partial survived the logout")
		}
		e.reject(t, b, rejection{status: 403, code: socialauth.CodeAuthForbidden}, func() page { return resume(b, tok, nil) })
	})
}

func (e *env) countWhere(table, where string, args ...any) int {
	e.t.Helper()
	var n int64
	if err := e.store.DB().Table(table).Where(where, args...).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return int(n)
}

// assertRejectedOnly checks the answer, the log line, the provider calls and
// the session, but not the database.
func (e *env) assertRejectedOnly(t *testing.T, b *browser, w rejection, do func() page) {
	t.Helper()
	calls := e.lms.Calls()
	mark := e.logs.Len()
	p := do()
	e.assertRejected(t, p, w, mark)
	if got := e.lms.Calls().Token - calls.Token; got != w.tokenCalls {
		t.Errorf("token endpoint calls = %d, want %d", got, w.tokenCalls)
	}
	if got := b.me(); got != w.user {
		t.Errorf("session user = %q, want %q", got, w.user)
	}
}
