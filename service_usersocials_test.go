package socialauth_test

import (
	"context"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil"
)

// TestCurrentUserWithSocialAuths over a store without the joined read (the
// in-memory store): the signed-in user and their associations as GetUser
// and GetSocialAuthsForUser give them; anonymous or deactivated: nil.
func TestCurrentUserWithSocialAuths(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	if _, ok := socialauth.Storage(h.store).(socialauth.UserSocialAuthsGetter); ok {
		t.Fatal("the in-memory store has the joined read: this test covers the fallback")
	}
	sess := testutil.NewSession()
	if u, socials, err := h.svc.CurrentUserWithSocialAuths(ctx, h.strategy(sess, nil)); u != nil || socials != nil || err != nil {
		t.Fatalf("anonymous: %+v, %+v, %v", u, socials, err)
	}
	if _, err := h.svc.Begin(ctx, h.strategy(sess, nil), "fake"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Complete(ctx, h.strategy(sess, url.Values{"code": {"c"}, "state": {"s"}}), "fake"); err != nil {
		t.Fatal(err)
	}
	u, socials, err := h.svc.CurrentUserWithSocialAuths(ctx, h.strategy(sess, nil))
	if err != nil || u == nil {
		t.Fatalf("signed in: %+v, %v", u, err)
	}
	want, err := h.store.GetSocialAuthsForUser(ctx, u.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "jsmith" || len(socials) != 1 {
		t.Errorf("user %q with %d associations, want jsmith with 1", u.Username, len(socials))
	}
	if diff := cmp.Diff(want, socials); diff != "" {
		t.Errorf("associations (-GetSocialAuthsForUser +got):\n%s", diff)
	}
	u.IsActive = false
	if err := h.store.UpdateUser(ctx, u, []string{"is_active"}); err != nil {
		t.Fatal(err)
	}
	if u, socials, err := h.svc.CurrentUserWithSocialAuths(ctx, h.strategy(sess, nil)); u != nil || socials != nil || err != nil {
		t.Errorf("deactivated: %+v, %+v, %v; want anonymous", u, socials, err)
	}
}
