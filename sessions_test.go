package socialauth_test

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/testutil"
)

// The Sessions API over MemStore: list, end one (not another user's), end
// all; the sessions come from the store's session store, as an app's
// session manager writes them.
func TestSessionsAPI(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	ss := h.store.SessionStore()
	exp := time.Now().Add(time.Hour)
	for tok, owner := range map[string]socialauth.SessionOwner{
		"t1": {UserID: "1", Backend: "fake"},
		"t2": {UserID: "1", Backend: "fake", SID: "s2"},
		"t3": {UserID: "2", Backend: "fake"},
	} {
		if err := ss.CommitOwnerCtx(ctx, tok, []byte("{}"), exp, owner); err != nil {
			t.Fatal(err)
		}
	}
	if err := ss.CommitCtx(ctx, "anon", []byte("{}"), exp); err != nil {
		t.Fatal(err)
	}
	list, err := h.svc.Sessions(ctx, "1")
	if err != nil || len(list) != 2 {
		t.Fatalf("Sessions(1) = %+v, %v", list, err)
	}
	for _, si := range list {
		if si.ID == "t1" || si.ID == "t2" {
			t.Errorf("SessionInfo.ID is the token")
		}
	}
	if err := h.svc.EndSession(ctx, "2", list[0].ID); !errors.Is(err, socialauth.ErrNotFound) {
		t.Errorf("EndSession of another user's session = %v, want ErrNotFound", err)
	}
	if err := h.svc.EndSession(ctx, "1", list[0].ID); err != nil {
		t.Errorf("EndSession = %v", err)
	}
	if list, _ := h.svc.Sessions(ctx, "1"); len(list) != 1 {
		t.Errorf("after EndSession: %+v", list)
	}
	if n, err := h.svc.EndSessions(ctx, "1"); err != nil || n != 1 {
		t.Errorf("EndSessions = %d, %v", n, err)
	}
	if _, ok, _ := ss.FindCtx(ctx, "t3"); !ok {
		t.Error("another user's session ended")
	}
	if _, ok, _ := ss.FindCtx(ctx, "anon"); !ok {
		t.Error("the anonymous session ended")
	}
}

// A sign-in with a backend that does no back-channel logout drops a
// provider sid an earlier sign-in left in the session.
func TestLoginDropsStaleProviderSID(t *testing.T) {
	ctx := context.Background()
	h := newHarness(t, nil)
	sess := testutil.NewSession()
	if _, err := h.svc.Begin(ctx, h.strategy(sess, nil), "fake"); err != nil {
		t.Fatal(err)
	}
	st := h.strategy(sess, url.Values{"code": {"c"}, "state": {"s"}})
	st.SessionSet(socialauth.SessionProviderSID, "old-sid")
	if _, err := h.svc.Complete(ctx, st, "fake"); err != nil {
		t.Fatal(err)
	}
	if _, ok := st.SessionGet(socialauth.SessionProviderSID); ok {
		t.Error("the stale provider sid survived the sign-in")
	}
}

// BackChannelLogout with a backend that has none is a configuration error.
func TestBackChannelLogoutNeedsABackend(t *testing.T) {
	h := newHarness(t, nil)
	_, err := h.svc.BackChannelLogout(context.Background(), "fake", "x.y.z")
	if socialauth.ErrorCode(err) != socialauth.CodeImproperlyConfigured {
		t.Errorf("err = %v, want ImproperlyConfigured", err)
	}
	_, err = h.svc.BackChannelLogout(context.Background(), "nope", "x.y.z")
	if socialauth.ErrorCode(err) != socialauth.CodeMissingBackend {
		t.Errorf("err = %v, want MissingBackend", err)
	}
}
