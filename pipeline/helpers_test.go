package pipeline_test

import (
	"context"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
)

// run resolves names in a default registry and runs them in order, the way
// the engine does (stop at the first response or error).
func run(t *testing.T, st *socialauth.State, names []string, opts ...pipeline.Option) (*socialauth.Response, error) {
	t.Helper()
	steps, err := pipeline.NewSteps(opts...).Resolve(names)
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

func step(t *testing.T, name string, st *socialauth.State, opts ...pipeline.Option) (*socialauth.Response, error) {
	t.Helper()
	return run(t, st, []string{name}, opts...)
}
