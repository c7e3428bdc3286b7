package socialauth_test

import (
	"context"
	"fmt"
	"net/url"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// A custom step appended to the default pipeline, and a receiver on the
// auth_complete signal.
func Example() {
	ctx := context.Background()
	backend := &testutil.FakeBackend{BackendName: "fake", IDKey: "username",
		Response: map[string]any{"username": "jsmith", "email": "jsmith@example.com"}}

	steps := pipeline.NewSteps()
	steps.Register(socialauth.Step{
		Name: "myapp.pipeline.greet",
		Func: func(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
			fmt.Printf("step: hello %s (new: %v)\n", st.User.Username, st.IsNew)
			return nil, nil
		},
	})
	// Settings are read once, here: the pipeline is configured by name, as
	// in Django settings, and an unknown name or malformed setting is an
	// error now rather than at the first sign-in.
	cfg := settings.New(settings.Map{
		"SOCIAL_AUTH_PIPELINE": append(socialauth.DefaultAuthPipeline(), "myapp.pipeline.greet"),
		"LOGIN_REDIRECT_URL":   "/dashboard",
	})
	svc, err := socialauth.New(socialauth.Options{
		Storage:  testutil.NewStore(),
		Backends: []socialauth.Backend{backend},
		Steps:    steps,
		Settings: cfg,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	svc.AuthComplete().Connect(func(ctx context.Context, sender string, p socialauth.AuthCompleted) error {
		fmt.Printf("auth_complete from %s: %s\n", sender, p.User.Email)
		return nil
	})

	// One strategy per request: the request and its session.
	st := testutil.NewStrategy(testutil.StrategyOptions{})
	st.SetRequestData(url.Values{"state": {"…"}, "code": {"…"}})
	resp, err := svc.Complete(ctx, st, "fake")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Status, resp.Location)
	// Output:
	// step: hello jsmith (new: true)
	// auth_complete from fake: jsmith@example.com
	// 302 /dashboard
}
