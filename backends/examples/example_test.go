package examples_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// The main example of docs/custom-backend.md: a GitHub-like OAuth2 backend
// whose settings are read once, at construction, registered with a Service.
// TestDocExample checks that the doc shows exactly the code between the
// markers.
func Example() {
	store := testutil.NewStore() // your socialauth.Storage: the GORM store in an app
	// begin docs/custom-backend.md
	set := settings.New(settings.Map{"SOCIAL_AUTH_ACME_KEY": "app", "SOCIAL_AUTH_ACME_SECRET": "s3cret"})
	cfg, err := backends.OAuth2ConfigFrom(set, backends.OAuth2Config{
		Name: "acme", // provider id, URL segment, SOCIAL_AUTH_ACME_* settings
		Endpoints: backends.Endpoints{
			AuthorizationURL: "https://acme.example/oauth2/authorize",
			AccessTokenURL:   "https://acme.example/oauth2/access_token",
			UserInfoURL:      "https://acme.example/oauth2/user", // the base GETs it with the bearer token
		},
		DefaultScope:   []string{"profile", "email"},
		ScopeSeparator: ",", // GitHub joins scopes with commas
		Details: func(r map[string]any) socialauth.Details {
			return socialauth.Details{"username": backends.StringOf(r["login"]), "email": backends.StringOf(r["email"])}
		},
		HTTPClient: http.DefaultClient, Logger: slog.Default(), // dependencies (nil: a default client, no logs)
	})
	if err != nil {
		log.Fatal(err) // acme: Improperly configured: settings: SOCIAL_AUTH_ACME_KEY is required
	}
	acme, err := backends.NewOAuth2(cfg)
	if err != nil {
		log.Fatal(err)
	}
	svc, err := socialauth.New(socialauth.Options{Storage: store, Settings: set,
		Backends: []socialauth.Backend{acme}, Steps: pipeline.NewSteps()})
	if err != nil {
		log.Fatal(err) // a bad service setting or pipeline step, named
	}
	// end docs/custom-backend.md

	// What GET /login/acme/ does: the redirect to the provider.
	st := testutil.NewStrategy(testutil.StrategyOptions{})
	resp, err := svc.Begin(context.Background(), st, "acme")
	if err != nil {
		log.Fatal(err)
	}
	u, _ := url.Parse(resp.Location)
	q := u.Query()
	fmt.Println(u.Host+u.Path, q.Get("client_id"), q.Get("scope"), q.Get("redirect_uri"))

	// Settings are read once, at construction: that is where a missing KEY fails.
	_, err = backends.OAuth2ConfigFrom(settings.New(nil), backends.OAuth2Config{Name: "acme", Endpoints: cfg.Endpoints})
	fmt.Println(err)
	// Output:
	// acme.example/oauth2/authorize app profile,email http://testserver/complete/acme/
	// acme: Improperly configured: settings: SOCIAL_AUTH_ACME_KEY is required
}
