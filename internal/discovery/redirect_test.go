package discovery

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// dotIdP serves a configuration the way django-oauth-toolkit does: the URL
// without a trailing slash answers 301 to the same URL with one.
func dotIdP(t *testing.T, issuerSuffix string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	mux := http.NewServeMux()
	mux.HandleFunc("/o/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/o/.well-known/openid-configuration/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"issuer":"` + srv.URL + "/o" + issuerSuffix + `","jwks_uri":"` + srv.URL + `/o/jwks"}`))
	})
	mux.HandleFunc("/o/jwks", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/o/jwks/", http.StatusFound)
	})
	mux.HandleFunc("/o/jwks/", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	})
	srv = httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func TestRedirectToTrailingSlashFollowed(t *testing.T) {
	srv := dotIdP(t, "")
	p := New(srv.URL+"/o/.well-known/openid-configuration", Options{Issuer: srv.URL + "/o"})
	cfg, err := p.Config(context.Background())
	if err != nil {
		t.Fatalf("Config: %v", err)
	}
	if cfg.Issuer != srv.URL+"/o" {
		t.Fatalf("issuer = %q", cfg.Issuer)
	}
	if _, err := p.KeySet(context.Background()); err != nil {
		t.Fatalf("KeySet behind a redirect: %v", err)
	}
}

func TestIssuerStillPinnedAfterRedirect(t *testing.T) {
	// The provider's own issuer has the trailing slash: the configured one
	// without it is another issuer.
	srv := dotIdP(t, "/")
	p := New(srv.URL+"/o/.well-known/openid-configuration", Options{Issuer: srv.URL + "/o"})
	_, err := p.Config(context.Background())
	if !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "issuer") {
		t.Fatalf("err = %v, want an issuer mismatch", err)
	}
	// Configured as the provider says, it works.
	p = New(srv.URL+"/o/.well-known/openid-configuration", Options{Issuer: srv.URL + "/o/"})
	if _, err := p.Config(context.Background()); err != nil {
		t.Fatalf("Config: %v", err)
	}
}

func TestRedirectFromHTTPToHTTPSSameHost(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer tlsSrv.Close()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, tlsSrv.URL+r.URL.Path, http.StatusMovedPermanently)
	}))
	defer plain.Close()
	p := NewStatic(plain.URL+"/jwks", Options{HTTPClient: tlsSrv.Client()})
	if _, err := p.KeySet(context.Background()); err != nil {
		t.Fatalf("http→https on the same host: %v", err)
	}
	// The other way round is a downgrade: refused.
	back := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, plain.URL+"/jwks", http.StatusFound)
	}))
	defer back.Close()
	p = NewStatic(back.URL+"/jwks", Options{HTTPClient: back.Client()})
	if _, err := p.KeySet(context.Background()); !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), plain.URL+"/jwks") {
		t.Fatalf("https→http: err = %v, want ErrBadResponse naming the target", err)
	}
}

func TestRedirectRefusals(t *testing.T) {
	var otherHits atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		otherHits.Add(1)
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/jwks?client_secret=s3cret", http.StatusFound)
	})
	mux.HandleFunc("/loop/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
	})
	mux.HandleFunc("/three/", func(w http.ResponseWriter, r *http.Request) {
		if n := strings.Count(r.URL.Path, "x"); n < 3 {
			http.Redirect(w, r, r.URL.Path+"x", http.StatusFound)
			return
		}
		_, _ = w.Write([]byte(`{"keys":[]}`))
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()

	// Another origin: refused, naming the target without its query.
	_, err := NewStatic(srv.URL+"/away", Options{}).KeySet(ctx)
	var fe *FetchError
	if !errors.As(err, &fe) || !errors.Is(err, ErrBadResponse) || fe.URL != srv.URL+"/away" {
		t.Fatalf("err = %v, want a *FetchError for the URL asked for", err)
	}
	if msg := err.Error(); !strings.Contains(msg, other.URL+"/jwks") || strings.Contains(msg, "s3cret") {
		t.Fatalf("error %q must name the target and no secret", msg)
	}
	if otherHits.Load() != 0 {
		t.Fatal("cross-origin redirect followed")
	}
	// Three redirects are followed, a fourth is not.
	if _, err := NewStatic(srv.URL+"/three/", Options{}).KeySet(ctx); err != nil {
		t.Fatalf("3 redirects: %v", err)
	}
	if _, err := NewStatic(srv.URL+"/loop/", Options{}).KeySet(ctx); !errors.Is(err, ErrBadResponse) || !strings.Contains(err.Error(), "more than 3 redirects") {
		t.Fatalf("redirect loop: err = %v", err)
	}
	// Configurable: one allowed, or none.
	if _, err := NewStatic(srv.URL+"/three/", Options{MaxRedirects: 1}).KeySet(ctx); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("MaxRedirects 1: err = %v", err)
	}
	if _, err := NewStatic(srv.URL+"/three/", Options{MaxRedirects: -1}).KeySet(ctx); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("MaxRedirects -1: err = %v", err)
	}
}

func TestRedirectChainKeepsLimits(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/a", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/huge", http.StatusFound) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"keys":[],"pad":"` + strings.Repeat("a", 4096) + `"}`))
	})
	mux.HandleFunc("/b", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/slow", http.StatusFound) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	if _, err := NewStatic(srv.URL+"/a", Options{MaxBody: 1024}).KeySet(ctx); !errors.Is(err, ErrBadResponse) {
		t.Fatalf("oversized body after a redirect: err = %v", err)
	}
	start := time.Now()
	if _, err := NewStatic(srv.URL+"/b", Options{HTTPClient: &http.Client{Timeout: 200 * time.Millisecond}}).KeySet(ctx); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("slow target after a redirect: err = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("time limit not applied to the chain: %v", d)
	}
}

func TestRotationRightAfterForcedRefetch(t *testing.T) {
	k1 := rsaJWK(t, "k1")
	idp := newFakeIdP(t, k1)
	clk := newClock()
	p := NewStatic(idp.srv.URL+"/jwks", Options{Now: clk.Now})
	ctx := context.Background()
	if _, err := p.KeyFor(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	// An unknown kid forces a refetch...
	if _, err := p.KeyFor(ctx, "bogus"); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v", err)
	}
	// ...and seconds later the provider rotates: the new key is found on
	// its first use.
	clk.Advance(3 * time.Second)
	idp.setKeys(t, k1, rsaJWK(t, "k2"))
	if _, err := p.KeyFor(ctx, "k2"); err != nil {
		t.Fatalf("new key after a recent forced refetch: %v", err)
	}
	if got := p.Stats().JWKSFetches; got != 3 {
		t.Fatalf("JWKS fetches = %d, want 3", got)
	}
	// Many distinct unknown kids cost at most MaxUnknownKeyIDs fetches per
	// window, and known keys keep working without a fetch.
	for i := 0; i < 100; i++ {
		_, _ = p.KeyFor(ctx, "flood-"+strings.Repeat("x", i))
		if _, err := p.KeyFor(ctx, "k1"); err != nil {
			t.Fatal(err)
		}
	}
	if got := p.Stats().JWKSFetches; got > 3+MaxUnknownKeyIDs {
		t.Fatalf("JWKS fetches = %d, want at most %d", got, 3+MaxUnknownKeyIDs)
	}
}

func TestSelectKeysSameKid(t *testing.T) {
	a, b := rsaJWK(t, "dup"), rsaJWK(t, "dup")
	idp := newFakeIdP(t, a, b, rsaJWK(t, "other"))
	p := NewStatic(idp.srv.URL+"/jwks", Options{})
	keys, err := p.KeysFor(context.Background(), "dup")
	if err != nil || len(keys) != 2 {
		t.Fatalf("KeysFor(dup) = %d keys, %v; want 2", len(keys), err)
	}
	if _, err := p.KeysFor(context.Background(), ""); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("no kid with several keys: err = %v", err)
	}
}
