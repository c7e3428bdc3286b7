package edx_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// Wiring the backend into a Service at start-up: the settings (with the edX
// defaults under them) are read once, by edx.ConfigFrom and socialauth.New;
// the edX steps sit next to the defaults; the store answers start()'s "who
// is logged in"; the auth_complete signal stands in for upstream's
// EdXOAuth2.auth_complete_signal.
func ExampleNew() {
	store := testutil.NewStore() // the GORM store in an application
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	set := edx.WithDefaults(settings.New(settings.Map{ // settings.Env{} in an application
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":      "a-key",
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":   "a-secret",
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "http://edx.devstack.lms:18000",
	}))

	cfg, err := edx.ConfigFrom(set) // a missing or malformed setting fails here, naming it
	if err != nil {
		panic(err)
	}
	backend, err := edx.New(cfg, edx.Options{Logger: logger, Users: store})
	if err != nil {
		panic(err)
	}
	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	svc, err := socialauth.New(socialauth.Options{Storage: store, Backends: []socialauth.Backend{backend}, Steps: steps, Settings: set, Logger: logger})
	if err != nil {
		panic(err)
	}
	svc.AuthComplete().Connect(func(ctx context.Context, sender string, p socialauth.AuthCompleted) error {
		if sender == edx.Name {
			logger.InfoContext(ctx, "edX login", "user", p.User.Username)
		}
		return nil
	})
	c, _ := svc.Config(edx.Name)
	fmt.Println(svc.BackendNames(), backend.AuthorizationURL(), c.Pipeline[len(c.Pipeline)-1])
	// Output: [edx-oauth2] http://edx.devstack.lms:18000/oauth2/authorize auth_backends.pipeline.update_email
}

// The configuration in code, without settings.
func ExampleDefaultConfig() {
	cfg := edx.DefaultConfig()
	cfg.URLRoot = "http://edx.devstack.lms:18000"
	cfg.PublicURLRoot = "http://localhost:18000"
	cfg.OAuth2.Key, cfg.OAuth2.Secret = "a-key", "a-secret"
	b, err := edx.New(cfg, edx.Options{})
	fmt.Println(b.AuthorizationURL(), b.AccessTokenURL(), err)
	// Output: http://localhost:18000/oauth2/authorize http://edx.devstack.lms:18000/oauth2/access_token <nil>
}

// A missing setting stops start-up with an error that names it.
func ExampleConfigFrom_missing() {
	_, err := edx.ConfigFrom(settings.New(settings.Map{"SOCIAL_AUTH_EDX_OAUTH2_KEY": "a-key"}))
	fmt.Println(err)
	// Output:
	// edx-oauth2: Improperly configured:
	//   settings: SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT is required
	//   settings: SOCIAL_AUTH_EDX_OAUTH2_SECRET is required
}

func ExampleEdXOAuth2_LogoutURL() {
	cfg, _ := edx.ConfigFrom(settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":                 "a-key",
		"SOCIAL_AUTH_EDX_OAUTH2_SECRET":              "a-secret",
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":            "http://edx.devstack.lms:18000",
		"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT":     "http://localhost:18000",
		"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": "http://localhost:8150/logged-out?from=lms&x=1",
	}))
	b, err := edx.New(cfg, edx.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	u, _ := b.LogoutURL(context.Background(), testutil.NewStrategy(testutil.StrategyOptions{}))
	fmt.Println(u)
	// Output: http://localhost:18000/logout?client_id=a-key&redirect_url=http://localhost:8150/logged-out?from=lms%26x=1
}
