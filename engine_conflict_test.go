package socialauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
)

// conflictStore is a MemStore whose first `conflicts` transactions run their
// function to the end and are then aborted as a database aborts a deadlock
// victim: everything rolled back, an error wrapping ErrConflict returned.
type conflictStore struct {
	*testutil.MemStore
	mu        sync.Mutex
	conflicts int
	runs      int
}

func (c *conflictStore) Transaction(ctx context.Context, fn func(tx socialauth.Storage) error) error {
	return c.MemStore.Transaction(ctx, func(tx socialauth.Storage) error {
		if err := fn(tx); err != nil {
			return err
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		c.runs++
		if c.runs <= c.conflicts {
			return fmt.Errorf("storage: create user: deadlock: %w", socialauth.ErrConflict)
		}
		return nil
	})
}

func completeOnConflictStore(t *testing.T, store *conflictStore) (*socialauth.Response, error) {
	t.Helper()
	ctx := context.Background()
	svc, err := socialauth.New(socialauth.Options{Storage: store, Backends: []socialauth.Backend{newBackend()},
		Steps: pipeline.NewSteps(), Settings: settings.New(settings.Map{})})
	if err != nil {
		t.Fatal(err)
	}
	sess := testutil.NewSession()
	st := func(data url.Values) *testutil.Strategy {
		s := testutil.NewStrategy(testutil.StrategyOptions{BaseURL: "https://app.example.com", Session: sess})
		s.SetRequestData(data)
		return s
	}
	if _, err := svc.Begin(ctx, st(nil), "fake"); err != nil {
		t.Fatal(err)
	}
	return svc.Complete(ctx, st(url.Values{"code": {"c"}, "state": {"s"}}), "fake")
}

func TestCompleteRestartsPipelineOnConflict(t *testing.T) {
	store := &conflictStore{MemStore: testutil.NewStore(), conflicts: 1}
	resp, err := completeOnConflictStore(t, store)
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if resp.Status != http.StatusFound {
		t.Errorf("status = %d, want 302", resp.Status)
	}
	if store.runs != 2 {
		t.Errorf("pipeline ran %d times to the end, want 2 (one aborted, one kept)", store.runs)
	}
	if users := store.Users(); len(users) != 1 || users[0].Username != "jsmith" {
		t.Errorf("users = %+v, want one jsmith (the aborted run rolled back)", users)
	}
	if socials := store.SocialAuths(); len(socials) != 1 || socials[0].UID != "jsmith" {
		t.Errorf("social auths = %+v, want one", socials)
	}
}

func TestCompleteGivesUpAfterThreeConflicts(t *testing.T) {
	store := &conflictStore{MemStore: testutil.NewStore(), conflicts: 100}
	_, err := completeOnConflictStore(t, store)
	if !errors.Is(err, socialauth.ErrConflict) {
		t.Fatalf("err = %v, want ErrConflict", err)
	}
	if got := socialauth.HTTPStatus(err); got != http.StatusServiceUnavailable {
		t.Errorf("HTTPStatus = %d, want 503", got)
	}
	if store.runs != 3 {
		t.Errorf("pipeline ran %d times, want 3", store.runs)
	}
	if users := store.Users(); len(users) != 0 {
		t.Errorf("users = %+v, want none (every run rolled back)", users)
	}
}

func TestHTTPStatusConflict(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("storage: x: %w", socialauth.ErrConflict),
		&socialauth.Error{Code: socialauth.CodeFieldEncryption, Err: socialauth.ErrConflict},
	} {
		if got := socialauth.HTTPStatus(err); got != http.StatusServiceUnavailable {
			t.Errorf("HTTPStatus(%v) = %d, want 503", err, got)
		}
	}
}
