package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth/testutil"
)

func TestRunServesAndShutsDown(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var logs testutil.LogBuffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"-addr", "127.0.0.1:0", "-redirect-uri", "http://127.0.0.1:8000/a/,http://127.0.0.1:8000/b/",
			"-auto-approve", "jsmith"}, &logs, ready)
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	}

	resp, err := http.Get(base + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var disc map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&disc)
	resp.Body.Close()
	if disc["issuer"] != base+"/oauth2" {
		t.Errorf("issuer = %v, want %s/oauth2", disc["issuer"], base)
	}

	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = client.Get(base + "/oauth2/authorize?" + url.Values{"client_id": {"demo-client"},
		"redirect_uri": {"http://127.0.0.1:8000/b/"}, "response_type": {"code"}, "state": {"s"}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, _ := url.Parse(resp.Header.Get("Location"))
	code := loc.Query().Get("code")
	if resp.StatusCode != 302 || code == "" {
		t.Fatalf("authorize = %d %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, err = http.PostForm(base+"/oauth2/access_token", url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"http://127.0.0.1:8000/b/"}, "client_id": {"demo-client"}, "client_secret": {"demo-secret"}, "token_type": {"jwt"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("token = %d %s", resp.StatusCode, body)
	}
	var tok map[string]any
	_ = json.Unmarshal(body, &tok)

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run returned %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	out := logs.String()
	if !strings.Contains(out, "fake-lms: listening") || !strings.Contains(out, "fake-lms: shutting down") {
		t.Errorf("logs:\n%s", out)
	}
	for _, secret := range []string{"demo-secret", code, tok["access_token"].(string), tok["refresh_token"].(string)} {
		if strings.Contains(out, secret) {
			t.Errorf("logs contain a secret")
		}
	}
}

func TestParseFlags(t *testing.T) {
	c, err := parseFlags([]string{"-redirect-uri", "http://a/x/", "-redirect-uri", "http://b/y/,http://c/z/", "-issuer", "https://lms/oauth2"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{"http://a/x/", "http://b/y/", "http://c/z/"}, c.redirectURIs.vals); d != "" {
		t.Errorf("redirect URIs (-want +got):\n%s", d)
	}
	if c.issuer != "https://lms/oauth2" || c.clientID != "demo-client" || c.clientSecret != "demo-secret" || c.addr != "127.0.0.1:18000" {
		t.Errorf("config = %+v", c)
	}
	d, err := parseFlags(nil, io.Discard)
	if err != nil || !cmp.Equal(d.redirectURIs.vals, []string{"http://127.0.0.1:8000/complete/edx-oauth2/"}) {
		t.Errorf("default redirect URIs = %v (%v)", d.redirectURIs.vals, err)
	}
	if _, err := parseFlags([]string{"-h"}, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h err = %v", err)
	}
	if _, err := parseFlags([]string{"extra"}, io.Discard); err == nil {
		t.Errorf("positional args accepted")
	}
}

func TestRunRejectsBadConfig(t *testing.T) {
	for _, args := range [][]string{
		{"-redirect-uri", "not a url"},
		{"-log-level", "loud"},
		{"-addr", "256.0.0.1:bad"},
	} {
		if err := run(t.Context(), args, io.Discard, nil); err == nil {
			t.Errorf("run(%q) succeeded", args)
		}
	}
}
