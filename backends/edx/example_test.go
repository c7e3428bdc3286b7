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

// Wiring the backend into a Service: the edX steps next to the defaults, the
// Service's CurrentUser for start()'s session cleanup, the auth_complete
// signal in place of upstream's EdXOAuth2.auth_complete_signal.
func ExampleNew() {
	store := testutil.NewStore() // the GORM store in an application
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))

	steps := pipeline.NewSteps()
	edx.RegisterSteps(steps)
	registry := socialauth.NewRegistry()
	svc, err := socialauth.New(socialauth.Options{Storage: store, Backends: registry, Steps: steps, Logger: logger})
	if err != nil {
		panic(err)
	}
	backend, err := edx.New(edx.Options{Logger: logger, CurrentUser: svc.CurrentUser})
	if err != nil {
		panic(err)
	}
	registry.Register(backend)
	svc.AuthComplete().Connect(func(ctx context.Context, sender string, p socialauth.AuthCompleted) error {
		if sender == edx.Name {
			logger.InfoContext(ctx, "edX login", "user", p.User.Username)
		}
		return nil
	})
	fmt.Println(registry.Names())
	// Output: [edx-oauth2]
}

func ExampleEdXOAuth2_LogoutURL() {
	b, _ := edx.New(edx.Options{})
	s := testutil.NewStrategy(testutil.StrategyOptions{Settings: settings.New(settings.Map{
		"SOCIAL_AUTH_EDX_OAUTH2_KEY":                 "a-key",
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT":            "http://edx.devstack.lms:18000",
		"SOCIAL_AUTH_EDX_OAUTH2_PUBLIC_URL_ROOT":     "http://localhost:18000",
		"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": "http://localhost:8150/logged-out?from=lms&x=1",
	})})
	u, _ := b.LogoutURL(context.Background(), s)
	fmt.Println(u)
	// Output: http://localhost:18000/logout?client_id=a-key&redirect_url=http://localhost:8150/logged-out?from=lms%26x=1
}
