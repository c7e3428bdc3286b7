package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// bigUserID is 2^53 + 1: a float64 would turn it into ...992.
const bigUserID = "9007199254740993"

// TestExactUserID signs in through the demo as an LMS user whose numeric
// user_id is beyond float64's exact integers: extra_data stores it with every
// digit, a read of the association gives it back exactly, and /me prints it
// exactly. SQLite always; PostgreSQL and MariaDB when their test DSNs are set
// (required under CI=true).
func TestExactUserID(t *testing.T) {
	targets := []struct{ name, target, env string }{
		{"sqlite", dbtest.SQLite, ""},
		{"postgres", dbtest.Postgres, dbtest.EnvPostgres},
		{"mysql", dbtest.MySQL, dbtest.EnvMySQL},
	}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			dbURL := targetDatabaseURL(t, tg.target, tg.env, "exact.db")
			lms := fakelms.NewServer(t, fakelms.Options{
				NumericUserID: true, Audience: demoAudience,
				Users: []fakelms.User{{Username: "big", UserID: bigUserID}},
			})
			const key, secret = "exact-client", "exact-secret-3c2b1a"
			d := startDemo(t, map[string]string{EnvDatabaseURL: dbURL,
				"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": lms.URL(),
				"SOCIAL_AUTH_EDX_OAUTH2_KEY":      key, "SOCIAL_AUTH_EDX_OAUTH2_SECRET": secret})
			if err := lms.AddClient(fakelms.Client{ID: key, Secret: secret,
				RedirectURIs: []string{d.BaseURL + "/complete/edx-oauth2/"}}); err != nil {
				t.Fatal(err)
			}
			b := newBrowser(t)
			action, form := signInForm(t, b.get(d.BaseURL+"/login/edx-oauth2/?next=/me"))
			form.Set("username", "big")
			p := b.postForm(action, form, nil)
			if p.status != http.StatusOK || p.url.Path != "/me" {
				t.Fatalf("sign-in landed on %d %s\n%s\nlogs:\n%s", p.status, p.url, p.body, d.logs)
			}
			if !strings.Contains(p.body, `"user_id":`+bigUserID) {
				t.Errorf("/me does not show user_id %s exactly:\n%s", bigUserID, p.body)
			}
			var me struct {
				Social []struct {
					UserID json.RawMessage `json:"user_id"`
				} `json:"social"`
			}
			if err := json.Unmarshal([]byte(p.body), &me); err != nil || len(me.Social) != 1 || string(me.Social[0].UserID) != bigUserID {
				t.Errorf("/me social = %+v (%v), want one association with user_id %s", me.Social, err, bigUserID)
			}

			// The stored column and a read through the store.
			store, err := storage.Open(context.Background(), dbURL, storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer store.Close()
			var raw string
			if err := store.DB().Table(storage.TableSocialAuth).Select("extra_data").Row().Scan(&raw); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(strings.ReplaceAll(raw, " ", ""), `"user_id":`+bigUserID) {
				t.Errorf("extra_data column = %s, want user_id %s", raw, bigUserID)
			}
			social, err := store.GetSocialAuth(context.Background(), "edx-oauth2", "big")
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := json.Marshal(social.ExtraData["user_id"]); string(got) != bigUserID {
				t.Errorf("stored user_id reads back as %s (%T), want %s", got, social.ExtraData["user_id"], bigUserID)
			}
		})
	}
}
