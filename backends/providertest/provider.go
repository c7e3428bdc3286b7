// Package providertest drives a catalogue provider end to end in tests: a
// loopback provider that replays the provider's documented HTTP answers
// (stored as raw HTTP responses under testdata/, each with its source
// named), and a loopback app (Service, MemStore, views) that signs in
// through it, as a browser would.
package providertest

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one request the provider received.
type Request struct {
	Method, Path string
	Header       http.Header
	Form         url.Values // query and form body
}

// Provider is a loopback provider. Its answers are files holding a raw HTTP
// response (status line, headers, blank line, body) in which {{url}} is
// the server's URL, {{issuer}} Issuer and {{id_token}} an ID token signed
// with the provider's key over Claims (iss, aud, iat, exp and the nonce of
// the last authorization request filled in unless set). A GET of /jwks,
// or of a path ending in jwks.json or /keys (Auth0's, Apple's, Microsoft's),
// serves the key.
type Provider struct {
	t   testing.TB
	dir string
	srv *httptest.Server
	key *rsa.PrivateKey

	mu       sync.Mutex
	routes   map[string]string
	requests []Request
	// Issuer is the ID tokens' iss and {{issuer}} (default the URL).
	Issuer string
	// ClientID is the ID tokens' aud.
	ClientID string
	// Claims are the ID token's claims.
	Claims map[string]any
	// Nonce is the nonce of the last authorization request (App.Begin sets
	// it).
	Nonce string
}

// keyOnce shares one RSA key across a test binary (generation is slow
// under -race).
var keyOnce = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// NewProvider starts a provider replaying the files of dir.
func NewProvider(t testing.TB, dir string) *Provider {
	p := &Provider{t: t, dir: dir, key: keyOnce(), routes: map[string]string{}, Claims: map[string]any{}}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(p.srv.Close)
	p.Issuer = p.srv.URL
	return p
}

// URL is the provider's base URL.
func (p *Provider) URL() string { return p.srv.URL }

// Replay makes "METHOD /path" answer the response stored in file (under
// the provider's testdata directory); replaying again replaces it.
func (p *Provider) Replay(pattern, file string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.routes[pattern] = file
}

// Requests returns the requests received so far.
func (p *Provider) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.requests...)
}

// Last returns the last request received for "METHOD /path".
func (p *Provider) Last(pattern string) (Request, bool) {
	rs := p.Requests()
	for i := len(rs) - 1; i >= 0; i-- {
		if rs[i].Method+" "+rs[i].Path == pattern {
			return rs[i], true
		}
	}
	return Request{}, false
}

func (p *Provider) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	p.mu.Lock()
	p.requests = append(p.requests, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Form: r.Form})
	file, ok := p.routes[r.Method+" "+r.URL.Path]
	p.mu.Unlock()
	if r.Method == http.MethodGet && isJWKSPath(r.URL.Path) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{p.JWK()}})
		return
	}
	if !ok {
		http.NotFound(w, r)
		return
	}
	raw, err := os.ReadFile(filepath.Join(p.dir, file))
	if err != nil {
		p.t.Errorf("providertest: %v", err)
		http.Error(w, "missing testdata", http.StatusInternalServerError)
		return
	}
	text := p.expand(string(raw))
	resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(text)), r)
	if err != nil {
		p.t.Errorf("providertest: %s is not a raw HTTP response: %v", file, err)
		http.Error(w, "bad testdata", http.StatusInternalServerError)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	for k, vs := range resp.Header {
		if k != "Content-Length" {
			w.Header()[k] = vs
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(bytes.TrimRight(body, "\n"))
}

func (p *Provider) expand(s string) string {
	p.mu.Lock()
	issuer := p.Issuer
	p.mu.Unlock()
	s = strings.ReplaceAll(s, "{{url}}", p.srv.URL)
	s = strings.ReplaceAll(s, "{{issuer}}", issuer)
	if strings.Contains(s, "{{id_token}}") {
		s = strings.ReplaceAll(s, "{{id_token}}", p.IDToken(nil))
	}
	return s
}

// IDToken signs an RS256 ID token over Claims, then extra (nil values
// delete a claim); iss, aud, iat, exp and nonce are filled unless set.
func (p *Provider) IDToken(extra map[string]any) string {
	p.mu.Lock()
	c := map[string]any{"iss": p.Issuer, "aud": p.ClientID, "iat": time.Now().Unix(),
		"exp": time.Now().Add(time.Hour).Unix(), "nonce": p.Nonce}
	for k, v := range p.Claims {
		c[k] = v
	}
	p.mu.Unlock()
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return p.Sign(c)
}

// Sign makes an RS256 JWT of claims with the provider's key.
func (p *Provider) Sign(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "kid": "test-key", "typ": "JWT"})
	b, _ := json.Marshal(claims)
	signed := enc.EncodeToString(h) + "." + enc.EncodeToString(b)
	sum := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, p.key, crypto.SHA256, sum[:])
	if err != nil {
		p.t.Fatal(err)
	}
	return signed + "." + enc.EncodeToString(sig)
}

// JWK is the provider's public key as a JWK.
func (p *Provider) JWK() map[string]any {
	enc := base64.RawURLEncoding
	return map[string]any{"kty": "RSA", "kid": "test-key", "use": "sig", "alg": "RS256",
		"n": enc.EncodeToString(p.key.N.Bytes()), "e": enc.EncodeToString(big.NewInt(int64(p.key.E)).Bytes())}
}

func isJWKSPath(p string) bool {
	return p == "/jwks" || strings.HasSuffix(p, "jwks.json") || strings.HasSuffix(p, "/keys")
}
