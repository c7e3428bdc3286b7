package edxsso_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
	"github.com/socialauth-go/socialauth/views"
	"github.com/socialauth-go/socialauth/views/edxsso"
)

// instance is one service built by edxsso.New, serving on loopback.
type instance struct {
	base string
	sso  *edxsso.SSO
	jar  http.CookieJar
}

func startInstance(t *testing.T, l *fakelms.LMS, name, dbURL, keys string) *instance {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	if err := l.AddClient(fakelms.Client{ID: name, Secret: name + "-secret", RedirectURIs: []string{base + "/complete/edx-oauth2/", base + "/complete/oidc/"}}); err != nil {
		t.Fatal(err)
	}
	// The generic OpenID Connect backend on the same provider: it revokes
	// tokens (the edX backend has no revocation endpoint).
	oidc := func(s *settings.Settings, used socialauth.NonceStorage) (socialauth.Backend, error) {
		// token_type declared secret: edxsso hands the backend's secret
		// members to the store.
		cfg, err := backends.OIDCConfigFrom(s, backends.OIDCConfig{OAuth2: backends.OAuth2Config{UsedStates: used, SecretExtraData: []string{"token_type"}}})
		if err != nil {
			return nil, err
		}
		b, err := backends.NewOIDC(cfg)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	sso, err := edxsso.New(t.Context(), edxsso.Options{BaseURL: base, DatabaseURL: dbURL, Backends: []edxsso.BackendFunc{oidc}, Settings: settings.New(settings.Map{
		"SOCIAL_AUTH_OIDC_OIDC_ENDPOINT":          l.URL() + "/oauth2",
		"SOCIAL_AUTH_OIDC_KEY":                    name,
		"SOCIAL_AUTH_OIDC_SECRET":                 name + "-secret",
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":         l.URL(),
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":              name,
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":           name + "-secret",
		"SOCIAL_AUTH_EDX_OAUTH2_JWT_AUDIENCE":     l.Audience(),
		"SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS":       keys,
		"SOCIAL_AUTH_REVOKE_TOKENS_ON_DISCONNECT": true,
	})})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	sso.Mount(mux)
	mux.Handle("GET /{$}", sso.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Hello, %s!\n", views.CurrentUser(r).Username)
	})))
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close(); _ = sso.Close() })
	jar, _ := cookiejar.New(nil)
	return &instance{base: base, sso: sso, jar: jar}
}

// signIn signs jsmith in as a browser would and checks the greeting.
func (in *instance) signIn(t *testing.T) {
	t.Helper()
	resp, err := (&http.Client{Jar: in.jar}).Get(in.base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "Hello, jsmith!\n" {
		t.Fatalf("sign-in at %s: %d %q", in.base, resp.StatusCode, body)
	}
}

// signInOIDC connects the signed-in browser's user to the oidc backend.
func (in *instance) signInOIDC(t *testing.T) {
	t.Helper()
	resp, err := (&http.Client{Jar: in.jar}).Get(in.base + "/login/oidc/?next=/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "Hello, jsmith!\n" {
		t.Fatalf("oidc sign-in at %s: %d %q", in.base, resp.StatusCode, body)
	}
}

// disconnect posts the disconnect form of the signed-in browser.
func (in *instance) disconnect(t *testing.T, backend string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, in.base+"/disconnect/"+backend+"/", nil)
	req.Header.Set("Origin", in.base)
	c := &http.Client{Jar: in.jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func rawExtraData(t *testing.T, s *storage.Store, id int64) string {
	t.Helper()
	var raw string
	if err := s.DB().Raw("SELECT extra_data FROM "+storage.TableSocialAuth+" WHERE id = ?", id).Row().Scan(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func noPlaintext(t *testing.T, what string, s *storage.Store, sa *socialauth.UserSocialAuth) {
	t.Helper()
	raw := rawExtraData(t, s, sa.ID)
	for _, name := range []string{"access_token", "refresh_token"} {
		tok, err := sa.Token(name)
		if err != nil || len(tok) < 16 {
			t.Fatalf("%s: %s = %q, %v; want a token to look for", what, name, tok, err)
		}
		if strings.Contains(raw, tok) {
			t.Errorf("%s: the extra_data column holds the %s in plaintext", what, name)
		}
	}
	if !strings.Contains(raw, `"enc:v1:`) {
		t.Errorf("%s: no encrypted member in %s", what, raw)
	}
}

// TestFieldEncryptionThroughViews: sign-in, refresh and revoke with
// SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS set, on every database; an instance
// whose key does not open the row gets a typed error at refresh and
// revoke, still signs the user in, and rewrites the tokens.
func TestFieldEncryptionThroughViews(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			chdirTemp(t)
			ctx := context.Background()
			dbURL := dbtest.Fresh(t, target)
			if target.Name == dbtest.SQLite {
				dbURL = "sqlite:" + filepath.Join(t.TempDir(), "app.db")
			}
			_, key1, _ := storage.NewFieldKey()
			_, key2, _ := storage.NewFieldKey()
			l := fakelms.NewServer(t, fakelms.Options{})
			l.AutoApprove("jsmith")
			a := startInstance(t, l, "svc-a", dbURL, key1)
			b := startInstance(t, l, "svc-b", dbURL, key2)

			a.signIn(t)
			sa, err := a.sso.Store.GetSocialAuth(ctx, "edx-oauth2", "jsmith")
			if err != nil {
				t.Fatal(err)
			}
			noPlaintext(t, "after sign-in", a.sso.Store, sa)

			// Refresh reads the refresh token through the store, and the
			// new pair is stored encrypted.
			before := l.Calls().Token
			updated, err := a.sso.Backend.RefreshSocial(ctx, a.sso.Store, sa)
			if err != nil {
				t.Fatalf("refresh with encryption on: %v", err)
			}
			if updated.AccessToken() == sa.AccessToken() || l.Calls().Token != before+1 {
				t.Errorf("refresh: access token unchanged or %d token requests", l.Calls().Token-before)
			}
			noPlaintext(t, "after refresh", a.sso.Store, updated)

			// Instance b's key does not open the row: a typed error at
			// use, and no request to the LMS.
			seen, err := b.sso.Store.GetSocialAuth(ctx, "edx-oauth2", "jsmith")
			if err != nil {
				t.Fatalf("reading a row sealed with an unknown key must not fail: %v", err)
			}
			before = l.Calls().Token
			if _, err := b.sso.Backend.RefreshSocial(ctx, b.sso.Store, seen); !errors.Is(err, socialauth.CodeFieldEncryption) {
				t.Errorf("refresh with an unknown key: %v; want CodeFieldEncryption", err)
			}
			if _, err := b.sso.Backend.AccessToken(ctx, b.sso.Store, seen); !errors.Is(err, socialauth.CodeFieldEncryption) {
				t.Errorf("AccessToken with an unknown key: %v; want CodeFieldEncryption", err)
			}
			if l.Calls().Token != before {
				t.Error("an unreadable refresh token reached the LMS")
			}

			// ... but signing in at b works, and rewrites the tokens under
			// b's key (so now a cannot read them).
			b.signIn(t)
			rewritten, err := b.sso.Store.GetSocialAuth(ctx, "edx-oauth2", "jsmith")
			if err != nil || rewritten.Unreadable != nil {
				t.Fatalf("after a fresh sign-in at b: %v, unreadable %v", err, rewritten.Unreadable)
			}
			noPlaintext(t, "after the fresh sign-in", b.sso.Store, rewritten)
			if _, err := b.sso.Backend.RefreshSocial(ctx, b.sso.Store, rewritten); err != nil {
				t.Errorf("refresh at b after its sign-in: %v", err)
			}

			// Revoke on disconnect, through the oidc backend (it revokes):
			// jsmith connects it at b, so its tokens are under b's key.
			b.signInOIDC(t)
			byB, err := b.sso.Store.GetSocialAuthsForUser(ctx, rewritten.UserID, "oidc", 0)
			if err != nil || len(byB) != 1 {
				t.Fatalf("oidc association: %v, %v", byB, err)
			}
			noPlaintext(t, "after the oidc sign-in", b.sso.Store, byB[0])
			var stored map[string]any
			if err := json.Unmarshal([]byte(rawExtraData(t, b.sso.Store, byB[0].ID)), &stored); err != nil {
				t.Fatal(err)
			}
			if tt, _ := byB[0].ExtraData["token_type"].(string); tt == "" || !strings.HasPrefix(fmt.Sprint(stored["token_type"]), "enc:v1:") {
				t.Errorf("the oidc backend's declared secret token_type: read %q, stored %v", tt, stored["token_type"])
			}
			// a's browser is signed in at a, whose key does not open it:
			// refused, nothing revoked or removed.
			revokes := l.Calls().Revoke
			a.disconnect(t, "oidc")
			if l.Calls().Revoke != revokes {
				t.Error("disconnect at a revoked a token it cannot read")
			}
			if list, err := a.sso.Store.GetSocialAuthsForUser(ctx, rewritten.UserID, "oidc", 0); err != nil || len(list) != 1 {
				t.Errorf("disconnect refused for an unreadable token removed the association: %v, %v", list, err)
			}
			// At b the token decrypts: revoked at the provider, gone.
			if status := b.disconnect(t, "oidc"); status != http.StatusFound {
				t.Errorf("disconnect at b: %d", status)
			}
			if l.Calls().Revoke != revokes+1 {
				t.Errorf("disconnect at b made %d revoke requests; want 1", l.Calls().Revoke-revokes)
			}
			if list, err := b.sso.Store.GetSocialAuthsForUser(ctx, rewritten.UserID, "oidc", 0); err != nil || len(list) != 0 {
				t.Errorf("after disconnect at b: %v, %v; want no oidc association", list, err)
			}
		})
	}
}
