package backends

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// associate logs in and stores the association as the pipeline would.
func associate(t *testing.T, l *fakelms.LMS, b socialauth.Backend, store *testutil.MemStore) *socialauth.UserSocialAuth {
	t.Helper()
	resp, err := login(t, l, b, newStrategy())
	if err != nil {
		t.Fatal(err)
	}
	details := b.UserDetails(resp)
	uid, err := b.UserID(details, resp)
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.CreateUser(context.Background(), map[string]any{"username": "jsmith", "email": "jsmith@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	social, err := store.CreateSocialAuth(context.Background(), u.ID, b.Name(), uid)
	if err != nil {
		t.Fatal(err)
	}
	extra := b.ExtraData(u, uid, resp, details)
	social, err = store.UpdateExtraData(context.Background(), social.ID, func(map[string]any) (map[string]any, bool) { return extra, true })
	if err != nil {
		t.Fatal(err)
	}
	return social
}

func TestRefreshSocial(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	var refreshed atomic.Int32
	var b *OAuth2
	b = lmsOAuth2(t, l, nil, func(c *OAuth2Config) {
		c.OnRefresh = func(_ context.Context, got *OAuth2, _ *socialauth.UserSocialAuth) {
			if got != b {
				t.Error("OnRefresh did not receive its backend")
			}
			refreshed.Add(1)
		}
	})
	store := testutil.NewStore()
	social := associate(t, l, b, store)
	oldAccess, oldRefresh := social.AccessToken(), social.RefreshToken()

	got, err := b.RefreshSocial(context.Background(), store, social)
	if err != nil {
		t.Fatal(err)
	}
	if got.AccessToken() == oldAccess || got.RefreshToken() == oldRefresh || got.RefreshToken() == "" {
		t.Errorf("tokens not replaced: %v", got.ExtraData)
	}
	stored, _ := store.GetSocialAuthByID(context.Background(), social.ID)
	if stored.AccessToken() != got.AccessToken() {
		t.Error("refresh not persisted")
	}
	if refreshed.Load() != 1 {
		t.Errorf("OnRefresh called %d times", refreshed.Load())
	}
	trs := l.TokenRequests()
	if f := trs[len(trs)-1].Form; f.Get("grant_type") != "refresh_token" || f.Get("refresh_token") != oldRefresh {
		t.Errorf("refresh form = %v", f.Get("grant_type"))
	}

	// A provider that does not rotate: the old refresh token is kept.
	l.Fault(fakelms.Fault{Endpoint: "token", Times: 1, Body: `{"access_token":"new-access","token_type":"Bearer","expires_in":60}`})
	got2, err := b.RefreshSocial(context.Background(), store, got)
	if err != nil {
		t.Fatal(err)
	}
	if got2.AccessToken() != "new-access" || got2.RefreshToken() != got.RefreshToken() {
		t.Errorf("after non-rotating refresh: %v", got2.ExtraData)
	}

	// A failed refresh changes nothing.
	l.Fault(fakelms.Fault{Endpoint: "token", Times: 1, Status: 400, Body: `{"error":"invalid_grant"}`})
	_, err = b.RefreshSocial(context.Background(), store, got2)
	wantCode(t, err, socialauth.CodeAuthCanceled)
	after, _ := store.GetSocialAuthByID(context.Background(), social.ID)
	if after.AccessToken() != "new-access" {
		t.Error("failed refresh changed the stored tokens")
	}
}

// TestRefreshSingleFlight: concurrent refreshes of one association collapse.
// The token endpoint is held until every caller has started, so they overlap.
func TestRefreshSingleFlight(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, nil)
	store := testutil.NewStore()
	social := associate(t, l, b, store)
	before := l.Calls().Token
	l.Fault(fakelms.Fault{Endpoint: "token", Delay: 300 * time.Millisecond, Times: 1})
	const n = 8
	var wg sync.WaitGroup
	tokens := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tokens[i], errs[i] = b.AccessToken(context.Background(), store, expired(social))
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || tokens[i] == "" || tokens[i] != tokens[0] {
			t.Fatalf("caller %d: %q, %v", i, tokens[i], errs[i])
		}
	}
	if calls := l.Calls().Token - before; calls != 1 {
		t.Errorf("token endpoint called %d times for %d concurrent refreshes", calls, n)
	}
}

func expired(s *socialauth.UserSocialAuth) *socialauth.UserSocialAuth {
	c := *s
	c.ExtraData = cloneMap(s.ExtraData)
	c.ExtraData["expires_in"] = 1
	c.ExtraData["auth_time"] = time.Now().Add(-time.Hour).Unix()
	return &c
}

func TestAccessTokenNotExpired(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, nil)
	store := testutil.NewStore()
	social := associate(t, l, b, store)
	before := l.Calls().Token
	tok, err := b.AccessToken(context.Background(), store, social)
	if err != nil || tok != social.AccessToken() {
		t.Fatalf("AccessToken = %q, %v", tok, err)
	}
	if l.Calls().Token != before {
		t.Error("refreshed a fresh token")
	}
}

func TestRevoke(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, nil)
	st := newStrategy()
	resp, err := login(t, l, b, st)
	if err != nil {
		t.Fatal(err)
	}
	at := resp["access_token"].(string)
	if err := b.Revoke(context.Background(), at, "jsmith"); err != nil {
		t.Fatal(err)
	}
	_, err = b.DoAuth(context.Background(), at, nil)
	wantCode(t, err, socialauth.CodeAuthForbidden) // user_info answers 401 now

	l.Fault(fakelms.Fault{Endpoint: "revoke", Times: 1, Status: 503})
	wantCode(t, b.Revoke(context.Background(), at, "jsmith"), socialauth.CodeAuthUnreachableProvider)

	none := lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.Endpoints.RevokeURL = "" })
	before := l.Calls().Revoke
	if err := none.Revoke(context.Background(), at, "jsmith"); err != nil || l.Calls().Revoke != before {
		t.Errorf("Revoke without endpoint: %v, calls %d", err, l.Calls().Revoke-before)
	}
}

func TestExtraDataAndUserID(t *testing.T) {
	set := settings.New(settings.Map{"SOCIAL_AUTH_P_KEY": "k", "SOCIAL_AUTH_P_EXTRA_DATA": []any{"login", []any{"bio", "about", true}, []any{"plan", "tier"}}})
	b := newP(t, set, OAuth2Config{Now: func() time.Time { return time.Unix(42, 0) },
		ExtraData: []ExtraDataField{{Name: "refresh_token"}, {Name: "expires_in", Alias: "exp", DiscardIfEmpty: true}}})
	resp := map[string]any{"id": json.Number("12345678901234567890"), "login": "octo", "bio": "", "access_token": "a", "token_type": "bearer", "refresh_token": "r"}
	got := b.ExtraData(nil, "x", resp, socialauth.Details{"tier": "pro"})
	want := map[string]any{"auth_time": int64(42), "refresh_token": "r", "login": "octo", "tier": "pro", "access_token": "a", "token_type": "bearer"}
	if len(got) != len(want) {
		t.Errorf("ExtraData = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("ExtraData[%s] = %v, want %v", k, got[k], v)
		}
	}
	uid, err := b.UserID(socialauth.Details{}, resp)
	if err != nil || uid != "12345678901234567890" {
		t.Errorf("UserID = %q, %v", uid, err)
	}
	_, err = b.UserID(socialauth.Details{}, map[string]any{"id": ""})
	wantCode(t, err, socialauth.CodeAuthUnknownError)

	all := newP(t, settings.New(settings.Map{"SOCIAL_AUTH_P_KEY": "k", "SOCIAL_AUTH_GET_ALL_EXTRA_DATA": true, "SOCIAL_AUTH_P_ID_KEY": "login"}), OAuth2Config{})
	if got := all.ExtraData(nil, "x", resp, nil); got["bio"] != "" || got["login"] != "octo" {
		t.Errorf("GET_ALL_EXTRA_DATA: %v", got)
	}
	if uid, _ := all.UserID(nil, resp); uid != "octo" {
		t.Errorf("ID_KEY setting ignored: %q", uid)
	}
}

// newP builds backend "p" (endpoints under https://p.example) from cfg and
// set.
func newP(t *testing.T, set *settings.Settings, cfg OAuth2Config) *OAuth2 {
	t.Helper()
	cfg.Name = "p"
	cfg.Endpoints = Endpoints{AuthorizationURL: "https://p.example/auth", AccessTokenURL: "https://p.example/token"}
	cfg, err := OAuth2ConfigFrom(set, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewOAuth2(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDefaultExtraData: refresh_token, expires_in and token_type are kept
// without being listed, only when not empty (a stored value survives an
// answer without them), and a listed entry keeps its own rule.
func TestDefaultExtraData(t *testing.T) {
	b := newP(t, settings.New(settings.Map{"SOCIAL_AUTH_P_KEY": "k"}), OAuth2Config{})
	got := b.ExtraData(nil, "x", map[string]any{
		"access_token": "a", "refresh_token": "r", "expires_in": json.Number("3600"), "token_type": "Bearer", "scope": "s"}, nil)
	for k, want := range map[string]any{"access_token": "a", "refresh_token": "r", "expires_in": json.Number("3600"), "token_type": "Bearer"} {
		if got[k] != want {
			t.Errorf("ExtraData[%s] = %v, want %v", k, got[k], want)
		}
	}
	if _, ok := got["scope"]; ok {
		t.Error("an unlisted key other than the defaults was kept")
	}
	got = b.ExtraData(nil, "x", map[string]any{"access_token": "a2", "refresh_token": "", "expires_in": nil}, nil)
	for _, k := range []string{"refresh_token", "expires_in", "token_type"} {
		if _, ok := got[k]; ok {
			t.Errorf("empty %s kept: would overwrite the stored one", k)
		}
	}
	// Merged as RefreshSocial merges it: the stored refresh token survives.
	stored := map[string]any{"refresh_token": "r", "token_type": "Bearer"}
	for k, v := range got {
		stored[k] = v
	}
	if stored["refresh_token"] != "r" || stored["access_token"] != "a2" {
		t.Errorf("merged = %v", stored)
	}
}

func TestUserNames(t *testing.T) {
	for _, tt := range []struct{ full, first, last, wf, wfirst, wlast string }{
		{"Joe Smith", "", "", "Joe Smith", "Joe", "Smith"},
		{"Joe", "", "", "Joe", "Joe", ""},
		{"", "Joe", "Smith", "Joe Smith", "Joe", "Smith"},
		{" Ann  Lee ", "", "", "Ann  Lee", "Ann", "Lee"},
	} {
		f, a, b := UserNames(tt.full, tt.first, tt.last)
		if f != tt.wf || a != tt.wfirst || b != tt.wlast {
			t.Errorf("UserNames(%q,%q,%q) = %q,%q,%q", tt.full, tt.first, tt.last, f, a, b)
		}
	}
}

// The refresh_token POST never follows a redirect, not even to the token
// endpoint itself (the refresh token and client secret would be re-sent): a
// 3xx answer is a typed AuthUnknownError (502) and nothing is stored.
func TestRefreshNeverFollowsRedirects(t *testing.T) {
	for _, status := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			l := newLMS(t, fakelms.Options{})
			var hits atomic.Int64
			other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { hits.Add(1) }))
			defer other.Close()
			for _, b := range []interface {
				socialauth.Backend
				RefreshSocial(context.Context, socialauth.SocialStorage, *socialauth.UserSocialAuth) (*socialauth.UserSocialAuth, error)
			}{newOIDC(t, l, nil), lmsOAuth2(t, l, nil, nil)} {
				store := testutil.NewStore()
				social := associate(t, l, b, store)
				for _, target := range []string{l.URL() + "/oauth2/access_token", other.URL + "/token"} {
					l.Fault(fakelms.Fault{Endpoint: "token", Times: 1, Status: status, RedirectTo: target})
					before := l.Calls().Token
					_, err := b.RefreshSocial(context.Background(), store, social)
					l.ClearFaults()
					wantCode(t, err, socialauth.CodeAuthUnknownError)
					if n := l.Calls().Token - before; n != 1 {
						t.Errorf("%s: refresh POST sent %d times to the token endpoint, want 1", b.Name(), n)
					}
					after, _ := store.GetSocialAuthByID(context.Background(), social.ID)
					if after.AccessToken() != social.AccessToken() {
						t.Errorf("%s: a redirected refresh changed the stored token", b.Name())
					}
				}
			}
			if hits.Load() != 0 {
				t.Error("a redirect to another host was followed")
			}
		})
	}
}
