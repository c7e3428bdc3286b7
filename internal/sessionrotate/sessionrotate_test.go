package sessionrotate

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a del func that records the tokens it deletes.
type recorder struct {
	deleted []string
	err     error
	ctxErr  error
}

func (r *recorder) del(ctx context.Context, tok string) error {
	r.deleted = append(r.deleted, tok)
	r.ctxErr = ctx.Err()
	return r.err
}

func TestRotation(t *testing.T) {
	tests := []struct {
		name string
		// run drives a Rotation and returns what Defer and Take reported.
		run         func(r *Rotation, rec *recorder) (deferred bool, taken string)
		wantDeleted []string // by Finish
	}{
		{"not armed: delete now", func(r *Rotation, rec *recorder) (bool, string) {
			return r.Defer("old", rec.del), ""
		}, nil},
		{"armed, taken by the commit", func(r *Rotation, rec *recorder) (bool, string) {
			r.Arm()
			ok := r.Defer("old", rec.del)
			r.Disarm()
			tok, _ := r.Take()
			return ok, tok
		}, nil},
		{"armed, no commit: Finish deletes", func(r *Rotation, rec *recorder) (bool, string) {
			r.Arm()
			ok := r.Defer("old", rec.del)
			r.Disarm()
			return ok, ""
		}, []string{"old"}},
		{"disarmed again (a later Destroy): delete now", func(r *Rotation, rec *recorder) (bool, string) {
			r.Arm()
			r.Disarm()
			return r.Defer("old", rec.del), ""
		}, nil},
		{"a second token while one is pending: delete now", func(r *Rotation, rec *recorder) (bool, string) {
			r.Arm()
			r.Defer("first", rec.del)
			ok := r.Defer("second", rec.del)
			return ok, ""
		}, []string{"first"}},
		{"empty token", func(r *Rotation, rec *recorder) (bool, string) {
			r.Arm()
			return r.Defer("", rec.del), ""
		}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			ctx, r := With(ctx)
			if From(ctx) != r {
				t.Fatal("From does not return the Rotation of With")
			}
			rec := &recorder{}
			deferred, taken := tc.run(r, rec)
			cancel() // Finish must not depend on the request's cancellation
			if err := r.Finish(ctx); err != nil {
				t.Fatalf("Finish: %v", err)
			}
			if diff := cmp.Diff(tc.wantDeleted, rec.deleted); diff != "" {
				t.Errorf("deleted by Finish (-want +got):\n%s", diff)
			}
			if rec.ctxErr != nil {
				t.Errorf("Finish deleted with a cancelled context: %v", rec.ctxErr)
			}
			if taken != "" && !deferred {
				t.Errorf("Take returned %q without a deferred token", taken)
			}
			if _, ok := r.Take(); ok {
				t.Error("a token is still pending after Finish")
			}
		})
	}
}

func TestNilRotation(t *testing.T) {
	r := From(context.Background())
	if r != nil {
		t.Fatalf("From(empty context) = %v", r)
	}
	r.Arm()
	r.Disarm()
	if r.Defer("old", func(context.Context, string) error { return nil }) {
		t.Error("a nil Rotation deferred a delete")
	}
	if _, ok := r.Take(); ok {
		t.Error("a nil Rotation had a token")
	}
	if err := r.Finish(context.Background()); err != nil {
		t.Error(err)
	}
}

func TestFinishReportsTheDeleteError(t *testing.T) {
	ctx, r := With(context.Background())
	boom := errors.New("boom")
	rec := &recorder{err: boom}
	r.Arm()
	r.Defer("old", rec.del)
	if err := r.Finish(ctx); !errors.Is(err, boom) {
		t.Errorf("Finish = %v, want %v", err, boom)
	}
}
