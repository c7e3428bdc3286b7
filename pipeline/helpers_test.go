package pipeline_test

import (
	"context"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
)

// run builds names for the state's backend from the settings m, as
// socialauth.New does once, and runs them in order, the way the engine does
// (stop at the first response or error).
func run(t *testing.T, st *socialauth.State, names []string, m settings.Map, opts ...pipeline.Option) (*socialauth.Response, error) {
	t.Helper()
	steps, err := pipeline.NewSteps(opts...).Build(names, st.BackendName(), settings.New(m))
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		st.Index = i
		resp, err := s.Func(context.Background(), st)
		if err != nil || resp != nil {
			return resp, err
		}
	}
	return nil, nil
}

// step builds and runs one step.
func step(t *testing.T, name string, st *socialauth.State, m settings.Map, opts ...pipeline.Option) (*socialauth.Response, error) {
	t.Helper()
	return run(t, st, []string{name}, m, opts...)
}

// buildErr builds one step for the backend "fake" from m and returns the
// error.
func buildErr(name string, m settings.Map, opts ...pipeline.Option) error {
	_, err := pipeline.NewSteps(opts...).Build([]string{name}, "fake", settings.New(m))
	return err
}
