package securitytest

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// userInfo makes the LMS's UserInfo endpoint answer claims once (the lms
// backend takes its uid, preferred_username, from there).
func (e *env) userInfo(claims map[string]any) {
	b, _ := json.Marshal(claims)
	e.lms.Fault(fakelms.Fault{Endpoint: "userinfo", Body: string(b), Times: 1})
}

// Storage: an empty uid is refused before any query; uids are compared
// exactly (case and spaces included) on every database; concurrent first
// logins make one user; a username collision never adopts the account;
// association by email is off by default.
func TestStorageFamily(t *testing.T) {
	envs(t, options{}, func(t *testing.T, e *env) {
		t.Run("empty uid", func(t *testing.T) {
			for _, uid := range []any{"", nil, map[string]any{}, []any{}} {
				b := e.browser()
				cb := b.callbackURL(oauthName, nil)
				e.userInfo(map[string]any{"preferred_username": uid, "email": "x@example.com"})
				// A provider answer without a usable uid is the provider's
				// failure: 502, before any query.
				e.reject(t, b, rejection{status: 502, code: socialauth.CodeAuthUnknownError, tokenCalls: 1}, func() page { return b.complete(cb) })
			}
		})

		t.Run("malformed uid", func(t *testing.T) {
			// The uid is refused as the provider sent it: whitespace only,
			// longer than the column, NUL or another control character
			// (C0, DEL, C1). 400, no login, nothing written but the spent
			// flow, on every database.
			for _, uid := range []string{" ", "\t \u00a0", strings.Repeat("u", pipeline.MaxUIDLength+1), "js\x00mith", "jsmith\n", "js\x7fmith", "js\u0085mith", "\u200bjsmith\u0000"} {
				b := e.browser()
				cb := b.callbackURL(oauthName, nil)
				e.userInfo(map[string]any{"preferred_username": uid, "email": "x@example.com"})
				e.reject(t, b, rejection{status: 400, code: socialauth.CodeAuthInvalidParameter, tokenCalls: 1, spent: true}, func() page { return b.complete(cb) })
			}
		})

		owner := e.browser()
		owner.login(oauthName) // uid "jsmith"
		ownerID := owner.me()
		t.Run("uid compared exactly", func(t *testing.T) {
			for _, uid := range []string{"JSmith", "JSMITH", "jsmith ", " jsmith", "jsmith\u00a0", "jsmit", "jsmith%", "jsm_th", "jsmíth"} {
				b := e.browser()
				cb := b.callbackURL(oauthName, nil)
				e.userInfo(map[string]any{"preferred_username": uid, "email": "other@example.com"})
				p := b.complete(cb)
				got := b.me()
				if got == ownerID {
					t.Errorf("uid %q logged in as the owner of %q", uid, "jsmith")
				}
				if p.status == http.StatusFound && got == "" {
					t.Errorf("uid %q: 302 without a session", uid)
				}
				if n := e.countWhere(storage.TableSocialAuth, "user_id = ?", ownerID); n != 1 {
					t.Errorf("uid %q: the owner has %d associations", uid, n)
				}
			}
		})

		t.Run("no adoption of an existing username", func(t *testing.T) {
			local, err := e.store.CreateUser(context.Background(), map[string]any{"username": "mallory", "email": "mallory@corp.example"})
			if err != nil {
				t.Fatal(err)
			}
			e.lms.AutoApprove("mallory")
			defer e.lms.AutoApprove("jsmith")
			b := e.browser()
			b.login(edxName)
			if got := b.me(); got == local.ID {
				t.Error("the login adopted the local account named mallory")
			}
			if n := e.countWhere(storage.TableSocialAuth, "user_id = ?", local.ID); n != 0 {
				t.Errorf("the local mallory got %d associations", n)
			}
		})

		t.Run("no association by email by default", func(t *testing.T) {
			local, err := e.store.CreateUser(context.Background(), map[string]any{"username": "local-eve", "email": "eve@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.lms.AddUser(fakelms.User{Username: "eve", Email: "EVE@example.com"}); err != nil {
				t.Fatal(err)
			}
			e.lms.AutoApprove("eve")
			defer e.lms.AutoApprove("jsmith")
			for _, backend := range []string{edxName, oidcName} {
				b := e.browser()
				b.login(backend)
				if got := b.me(); got == local.ID {
					t.Errorf("%s: logged in as the local account with the same email", backend)
				}
			}
			if n := e.countWhere(storage.TableSocialAuth, "user_id = ?", local.ID); n != 0 {
				t.Errorf("the local account got %d associations", n)
			}
		})
	})
}

// Concurrent first logins of one uid make one user and one association, and
// every winner's session is that user.
func TestConcurrentFirstLogins(t *testing.T) {
	for _, backend := range []string{edxName, oauthName} {
		t.Run(backend, func(t *testing.T) {
			envs(t, options{}, func(t *testing.T, e *env) {
				const n = 8
				browsers := make([]*browser, n)
				pages := make([]page, n)
				var wg sync.WaitGroup
				cbs := make([]func() page, n)
				for i := range browsers {
					b := e.browser()
					browsers[i] = b
					cb := b.callbackURL(backend, nil)
					cbs[i] = func() page { return b.complete(cb) }
				}
				for i := range browsers {
					wg.Add(1)
					go func() { defer wg.Done(); pages[i] = cbs[i]() }()
				}
				wg.Wait()
				if u, s := e.count(storage.TableUsers), e.count(storage.TableSocialAuth); u != 1 || s != 1 {
					t.Fatalf("users = %d, associations = %d, want 1 and 1", u, s)
				}
				ids := map[string]bool{}
				for i, b := range browsers {
					switch pages[i].status {
					case http.StatusFound:
						ids[b.me()] = true
					case http.StatusConflict:
						if b.me() != "" {
							t.Errorf("a 409 left a session")
						}
					default:
						t.Errorf("login %d: %d", i, pages[i].status)
					}
				}
				if len(ids) != 1 || ids[""] {
					t.Errorf("sessions logged in as %v, want one user", ids)
				}
			})
		})
	}
}
