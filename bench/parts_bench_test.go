package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// The parts of a login, each against its own floor (the sibling named
// floor, which cmd/benchtable divides by). The JWT verifier itself
// (internal/jwtverify: BenchmarkVerify*Ours against *JWXBare and the
// interleaved BenchmarkVerifyRatio), the redirect sanitizer
// (internal/redirect BenchmarkSanitize, x-url.Parse) and the settings
// lookup (settings BenchmarkLookup, x-map-read) are benchmarked in their
// own packages and appear in the same table.

const hmacKey = "bench-hmac-signing-key-0123456789abcdef0123456789abcdef-0123456789abcdef" // ≥ 64 bytes (HS512)

// BenchmarkTokenVerify is the edx-oauth2 backend's access-token check as a
// login runs it (EdXOAuth2.UserData: the verifier built at construction,
// JWKS from the provider cache, exp/iss/aud, claims filtered) against jwx's
// jwt.Parse with the key in hand and the same checks. Target ≤ 1.1×.
func BenchmarkTokenVerify(b *testing.B) {
	r := newRig(b, rigOptions{})
	ctx := context.Background()
	claims, ok := r.lms.AccessTokenClaims(returningUser, edx.DefaultScope()...)
	if !ok {
		b.Fatal("no claims for jsmith")
	}
	for _, alg := range []jwa.SignatureAlgorithm{jwa.HS512, jwa.RS512} {
		b.Run(alg.String(), func(b *testing.B) {
			backend := r.backend
			var token string
			var key any
			switch alg {
			case jwa.HS512:
				// The rig's backend in HMAC mode (JWS_HMAC_SIGNING_KEY).
				cfg := r.backend.Config()
				cfg.JWSHMACSigningKey = hmacKey
				var err error
				if backend, err = edx.New(cfg, edx.Options{HTTPClient: r.lmsClient}); err != nil {
					b.Fatal(err)
				}
				token, key = signHS512(b, claims), []byte(hmacKey)
			default:
				token, key = r.lms.SignAccessToken(claims), r.lms.PublicKey()
			}
			if _, err := backend.UserData(ctx, token); err != nil { // warms the caches
				b.Fatal(err)
			}
			raw := []byte(token)
			issuer := r.lms.Issuer()
			b.Run("floor", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := jwt.Parse(raw, jwt.WithKey(alg, key), jwt.WithIssuer(issuer),
						jwt.WithAudience(audience), jwt.WithRequiredClaim("exp")); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ours", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := backend.UserData(ctx, token); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

func signHS512(b *testing.B, claims map[string]any) string {
	b.Helper()
	t := jwt.New()
	for k, v := range claims {
		if err := t.Set(k, v); err != nil {
			b.Fatal(err)
		}
	}
	signed, err := jwt.Sign(t, jwt.WithKey(jwa.HS512, []byte(hmacKey), jws.WithProtectedHeaders(jws.NewHeaders())))
	if err != nil {
		b.Fatal(err)
	}
	return string(signed)
}

// BenchmarkPipeline is Service.Complete for a returning user with no
// network and no database: a canned provider response (testutil
// FakeBackend), the in-memory store, the test strategy and its in-memory
// session, the default pipeline. The floor does the data work such a login
// needs by hand on the same store: look the association up and merge the
// extra data.
func BenchmarkPipeline(b *testing.B) {
	ctx := context.Background()
	response := map[string]any{
		"id": "jsmith", "username": "jsmith", "email": "jsmith@example.com",
		"first_name": "Joe", "last_name": "Smith", "access_token": "token", "expires_in": 3600,
	}
	backend := &testutil.FakeBackend{BackendName: edx.Name, Response: response, ExtraDataKeys: []string{"access_token", "expires_in"}}
	store := testutil.NewStore()
	svc, err := socialauth.New(socialauth.Options{
		Storage: store, Backends: []socialauth.Backend{backend}, Steps: pipeline.NewSteps(),
		Settings: settings.New(settings.Map{"LOGIN_REDIRECT_URL": "/"}),
	})
	if err != nil {
		b.Fatal(err)
	}
	complete := func() {
		st := testutil.NewStrategy(testutil.StrategyOptions{BaseURL: appBase})
		resp, err := svc.Complete(ctx, st, edx.Name)
		if err != nil || resp.Status != http.StatusFound {
			b.Fatalf("Complete: %+v, %v", resp, err)
		}
	}
	complete() // jsmith and the association exist from here on

	b.Run("floor", func(b *testing.B) {
		extra := map[string]any{"access_token": "token", "expires_in": 3600}
		b.ReportAllocs()
		for b.Loop() {
			social, err := store.GetSocialAuth(ctx, edx.Name, "jsmith")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := store.UpdateExtraData(ctx, social.ID, func(old map[string]any) (map[string]any, bool) {
				return pipeline.MergeExtraData(old, extra)
			}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			complete()
		}
	})
}

// BenchmarkSession is one request's session round trip as the complete
// view makes it: scs's LoadAndSave with the GORM session store (SQLite)
// loading an existing session, a read and a write, and the save. The floor
// is the store's own two statements (FindCtx, CommitCtx) with the encoded
// session in hand.
func BenchmarkSession(b *testing.B) {
	r := newRig(b, rigOptions{})
	ctx := context.Background()
	_, cookie := r.begin(b) // a real session with a state in it
	h := r.sessions.LoadAndSave(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		_ = r.sessions.GetString(req.Context(), "next")
		r.sessions.Put(req.Context(), "seen", time.Now().UnixNano())
		w.WriteHeader(http.StatusNoContent)
	}))
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(cookie)
	ss := r.store.SessionStore()
	data, found, err := ss.FindCtx(ctx, cookie.Value)
	if err != nil || !found {
		b.Fatalf("session not found: %v", err)
	}

	b.Run("floor", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := ss.FindCtx(ctx, cookie.Value); err != nil {
				b.Fatal(err)
			}
			if err := ss.CommitCtx(ctx, cookie.Value, data, time.Now().Add(time.Hour)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ours", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNoContent {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
