package socialauth_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil"
)

// FuzzPartialLoad feeds arbitrary stored partial data (as a database could
// hold it after tampering or a schema change) and arbitrary request data to a
// resume. It must never panic, and request data must never change the
// stored uid.
func FuzzPartialLoad(f *testing.F) {
	f.Add(`{"uid":"jsmith","details":{"username":"jsmith"},"values":{"password":"x"}}`, "password=pw&uid=mallory", 5)
	f.Add(`{"uid":7,"details":"x","user_id":{},"social_id":"-1","response":[1,2]}`, "partial_token=zz", -3)
	f.Add(`{}`, "", 1<<20)
	f.Add(`{"association_id":"99999999999999999999","is_new":"yes"}`, "slug=a&slug=b", 0)
	f.Fuzz(func(t *testing.T, data, query string, next int) {
		var m map[string]any
		if json.Unmarshal([]byte(data), &m) != nil {
			return
		}
		req, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		ctx := context.Background()
		h := partialHarness(t)
		sess := testutil.NewSession()
		sess.Set(socialauth.SessionPartialBinding, "binding")
		sess.Set(socialauth.SessionPartialToken, "tok")
		if err := h.store.SavePartial(ctx, &socialauth.Partial{Token: "tok", Backend: "fake", NextStep: next, Data: m, Binding: "binding", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		req.Set("partial_token", "tok")
		var final *socialauth.State
		h.svc.AuthComplete().Connect(func(_ context.Context, _ string, p socialauth.AuthCompleted) error {
			final = p.State
			return nil
		})
		_, _ = h.svc.Complete(ctx, h.strategy(sess, req), "fake")
		if len(h.store.Partials()) > 1 {
			t.Fatalf("partials multiplied: %d", len(h.store.Partials()))
		}
		if final != nil {
			if uid, ok := m["uid"].(string); ok && uid != "" && final.UID != uid && final.UID != "jsmith" {
				t.Fatalf("uid %q came from neither the stored state nor the provider", final.UID)
			}
		}
	})
}
