package pipeline_test

import (
	"context"
	"fmt"
	"slices"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// A custom step registered next to the defaults and named in the pipeline
// right after create_user, the way SOCIAL_AUTH_PIPELINE names it upstream.
func Example_customStep() {
	steps := pipeline.NewSteps()
	steps.Register(socialauth.Step{
		Name: "myapp.pipeline.require_company_email",
		Func: func(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
			if st.IsNew && st.Details.String("email") == "" {
				return nil, socialauth.NewError(socialauth.CodeAuthForbidden, st.Backend.Name(), "an email is required", nil)
			}
			st.Set("myapp.checked", true)
			return nil, nil
		},
	})

	names := socialauth.DefaultAuthPipeline()
	at := slices.Index(names, pipeline.StepCreateUser) + 1
	names = slices.Insert(names, at, "myapp.pipeline.require_company_email")
	ctx := context.Background()
	store := testutil.NewStore()
	backend := &testutil.FakeBackend{Response: map[string]any{"id": "42", "username": "jsmith", "email": "j@example.com"}}
	// socialauth.New builds the pipeline once per backend: it reads each
	// step's settings (here, CLEAN_USERNAMES) and fails on an unknown name.
	built, err := steps.Build(names, backend.Name(), settings.New(settings.Map{"SOCIAL_AUTH_CLEAN_USERNAMES": true}))
	if err != nil {
		fmt.Println(err)
		return
	}
	response, _ := backend.Complete(ctx, nil)
	st := &socialauth.State{
		Strategy: testutil.NewStrategy(testutil.StrategyOptions{}),
		Backend:  backend,
		Storage:  store,
		Response: response,
	}
	// socialauth.Service runs the built steps like this, inside a transaction.
	for i, s := range built {
		st.Index = i
		if _, err := s.Func(ctx, st); err != nil {
			fmt.Println("error:", err)
			return
		}
	}
	checked, _ := st.Get("myapp.checked")
	fmt.Println(st.User.Username, st.UID, st.IsNew, checked)
	// Output: jsmith 42 true true
}
