package storage_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// TestDeadlockIsConflict makes a real deadlock: two transactions update two
// users in opposite orders. The database aborts one of them; its error wraps
// socialauth.ErrConflict (run it again), the other commits. SQLite is left
// out: its transactions take the write lock at BEGIN, so they cannot
// deadlock.
func TestDeadlockIsConflict(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		if target.Name == "sqlite" {
			continue
		}
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
			defer cancel()
			a, err := s.CreateUser(ctx, map[string]any{"username": "alice"})
			if err != nil {
				t.Fatal(err)
			}
			b, err := s.CreateUser(ctx, map[string]any{"username": "bob"})
			if err != nil {
				t.Fatal(err)
			}
			var first sync.WaitGroup // both hold their first row lock
			first.Add(2)
			run := func(one, two *socialauth.User) error {
				return s.Transaction(ctx, func(tx socialauth.Storage) error {
					one.Email = "x@example.com"
					err := tx.UpdateUser(ctx, one, []string{"email"})
					first.Done()
					if err != nil {
						return err
					}
					first.Wait()
					two.Email = "y@example.com"
					return tx.UpdateUser(ctx, two, []string{"email"})
				})
			}
			errs := make([]error, 2)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); errs[0] = run(a.Clone(), b.Clone()) }()
			go func() { defer wg.Done(); errs[1] = run(b.Clone(), a.Clone()) }()
			wg.Wait()
			conflicts := 0
			for _, err := range errs {
				switch {
				case err == nil:
				case errors.Is(err, socialauth.ErrConflict):
					conflicts++
					if socialauth.HTTPStatus(err) != 503 {
						t.Errorf("HTTPStatus(%v) = %d; want 503", err, socialauth.HTTPStatus(err))
					}
				default:
					t.Errorf("err = %v; want nil or ErrConflict", err)
				}
			}
			if conflicts != 1 {
				t.Errorf("errors = %v; want exactly one ErrConflict", errs)
			}
		})
	}
}
