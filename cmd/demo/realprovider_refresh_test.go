package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
)

// TestRealProviderHydraRefreshAcrossInstances: Ory Hydra rotates refresh
// tokens and, when a spent one is used again, refuses it and revokes the
// whole chain. Two instances (two Stores and two oidc backends on the demo's
// database) refresh one expired association at once from the same stale
// copy: both must get the same new access token, and the chain must still
// work afterwards — which it would not if the second instance had spent the
// old refresh token too.
func TestRealProviderHydraRefreshAcrossInstances(t *testing.T) {
	p := hydraProvider(t)
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	fieldKey := base64.StdEncoding.EncodeToString(key)
	d := startRealDemo(t, p, methodBasic, methodBasic, "refresh-secret-"+fmt.Sprint(time.Now().UnixNano()), map[string]string{
		"SOCIAL_AUTH_OIDC_SCOPE":           "offline_access",
		storage.SettingFieldEncryptionKeys: fieldKey,
	})
	b := newBrowser(t)
	landed, asked := d.signIn(b, "alice")
	if !asked {
		t.Fatalf("no password form: %d %s", landed.status, landed.url)
	}
	uid := uidOf(d.mustBeSignedIn(t, b, landed, "alice"))

	ctx := context.Background()
	set := settings.New(settings.Map{
		"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT":              p.issuer,
		"SOCIAL_AUTH_OIDC_KEY":                        d.client.ID,
		"SOCIAL_AUTH_OIDC_SECRET":                     d.client.Secret,
		"SOCIAL_AUTH_OIDC_TOKEN_ENDPOINT_AUTH_METHOD": methodBasic,
	})
	keys, err := storage.ParseFieldKeys([]string{fieldKey})
	if err != nil {
		t.Fatal(err)
	}
	type instance struct {
		store   *storage.Store
		backend *backends.OIDC
	}
	var inst [2]instance
	for i := range inst {
		st, err := storage.Open(ctx, d.dbURL, storage.Options{FieldKeys: keys})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		cfg, err := backends.OIDCConfigFrom(set, backends.OIDCConfig{})
		if err != nil {
			t.Fatal(err)
		}
		be, err := backends.NewOIDC(cfg)
		if err != nil {
			t.Fatal(err)
		}
		inst[i] = instance{st, be}
	}

	social, err := inst[0].store.GetSocialAuth(ctx, "oidc", uid)
	if err != nil {
		t.Fatal(err)
	}
	if social.RefreshToken() == "" {
		t.Fatalf("Hydra gave no refresh token (extra data keys %v)", keysOf(social.ExtraData))
	}
	// The stored access token has expired.
	stale, err := inst[0].store.UpdateExtraData(ctx, social.ID, func(old map[string]any) (map[string]any, bool) {
		old["auth_time"] = time.Now().Add(-time.Hour).Unix()
		old["expires_in"] = 60
		return old, true
	})
	if err != nil {
		t.Fatal(err)
	}

	var (
		wg     sync.WaitGroup
		tokens [2]string
		errs   [2]error
	)
	for i := range inst {
		wg.Add(1)
		go func() {
			defer wg.Done()
			copyOf := *stale
			tokens[i], errs[i] = inst[i].backend.AccessToken(ctx, inst[i].store, &copyOf)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("instance %d: AccessToken: %v", i, err)
		}
	}
	if tokens[0] == "" || tokens[0] != tokens[1] || tokens[0] == stale.AccessToken() {
		t.Fatalf("the two instances got different or old access tokens (equal: %v, old: %v)", tokens[0] == tokens[1], tokens[0] == stale.AccessToken())
	}

	// Hydra still honours the stored refresh token: the chain was not
	// revoked by a reuse.
	stored, err := inst[1].store.GetSocialAuth(ctx, "oidc", uid)
	if err != nil {
		t.Fatal(err)
	}
	if stored.AccessToken() != tokens[0] || stored.RefreshToken() == stale.RefreshToken() {
		t.Fatalf("stored tokens are not the refreshed pair")
	}
	again, err := inst[1].backend.RefreshSocial(ctx, inst[1].store, stored)
	if err != nil {
		t.Fatalf("refresh after the concurrent one: %v (Hydra revoked the chain: a refresh token was used twice)", err)
	}
	if again.AccessToken() == tokens[0] {
		t.Error("the follow-up refresh returned the same access token")
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
