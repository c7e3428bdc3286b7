package main

import (
	"context"
	"io"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/backends/providertest"
)

// Every provider whose SOCIAL_AUTH_<NAME>_KEY is set is registered and
// listed on /, and signs in end to end (github, against its documented
// answers replayed by providertest).
func TestCatalogueProviders(t *testing.T) {
	p := providertest.NewProvider(t, filepath.Join("..", "..", "backends", "github", "testdata"))
	p.Replay("POST /login/oauth/access_token", "token.http")
	p.Replay("GET /user", "user.http")
	p.Replay("GET /user/emails", "emails.http")
	d := startDemo(t, map[string]string{
		"SOCIAL_AUTH_GITHUB_KEY":               "Iv1.8a61f9b3a7aba766",
		"SOCIAL_AUTH_GITHUB_SECRET":            "s",
		"SOCIAL_AUTH_GITHUB_AUTHORIZATION_URL": p.URL() + "/login/oauth/authorize",
		"SOCIAL_AUTH_GITHUB_ACCESS_TOKEN_URL":  p.URL() + "/login/oauth/access_token",
		"SOCIAL_AUTH_GITHUB_API_URL":           p.URL(),
		"SOCIAL_AUTH_DISCORD_KEY":              "157730590492196864",
	})
	b := newBrowser(t)
	home := b.get(d.BaseURL + "/")
	for _, name := range []string{"edx-oauth2", "github", "discord"} {
		if !strings.Contains(home.body, `href="/login/`+name+`/?next=/"`) {
			t.Errorf("/ does not list %s:\n%s", name, home.body)
		}
	}
	if strings.Contains(home.body, "google-oauth2") {
		t.Error("/ lists a provider whose KEY is not set")
	}

	begin := b.getNoFollow(d.BaseURL + "/login/github/?next=/me")
	loc, err := url.Parse(begin.header.Get("Location"))
	if err != nil || !strings.HasPrefix(loc.String(), p.URL()+"/login/oauth/authorize?") {
		t.Fatalf("begin: %d %v", begin.status, begin.header)
	}
	q := loc.Query()
	cb := q.Get("redirect_uri") + "?" + url.Values{"code": {"documented-code"}, "state": {q.Get("state")}}.Encode()
	if done := b.getNoFollow(cb); done.status != 302 {
		t.Fatalf("complete: %d %s\n%s", done.status, done.body, d.logs)
	}
	status, me := b.me(d.BaseURL)
	social, _ := me["social"].([]any)
	if status != 200 || me["username"] != "octocat" || len(social) != 1 || social[0].(map[string]any)["provider"] != "github" {
		t.Errorf("/me = %d %v", status, me)
	}
}

// A wrong setting of an enabled provider stops the start-up, naming it.
func TestCatalogueProviderBadSetting(t *testing.T) {
	env := map[string]string{"SOCIAL_AUTH_OKTA_OPENIDCONNECT_KEY": "k",
		EnvDatabaseURL:  "sqlite:" + filepath.Join(t.TempDir(), "d.db"),
		EnvFieldKeyFile: filepath.Join(t.TempDir(), "field.key")}
	err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-lms-addr", "127.0.0.1:0"}, envMap(env), io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "SOCIAL_AUTH_OKTA_OPENIDCONNECT_API_URL") {
		t.Errorf("err = %v", err)
	}
}
