package storage_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil/storagetest"
)

// databaseURL turns a dbtest DSN into an Open URL.
func databaseURL(target dbtest.Target, dsn string) string {
	if target.Name == dbtest.SQLite {
		return "sqlite:" + dsn
	}
	return dsn
}

// openFresh opens a migrated store on a new, empty database of target.
func openFresh(t testing.TB, target dbtest.Target, opts storage.Options) *storage.Store {
	t.Helper()
	dsn := dbtest.Fresh(t, target)
	s, err := storage.Open(context.Background(), databaseURL(target, dsn), opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", target.Name, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	if err := s.AutoMigrate(context.Background()); err != nil {
		t.Fatalf("AutoMigrate(%s): %v", target.Name, err)
	}
	return s
}

func TestConformance(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			storagetest.Run(t, func(t *testing.T) socialauth.Storage {
				return openFresh(t, target, storage.Options{})
			})
		})
	}
}

func TestConformanceSQLiteMemory(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) socialauth.Storage {
		s, err := storage.Open(t.Context(), "sqlite::memory:", storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		if err := s.AutoMigrate(t.Context()); err != nil {
			t.Fatal(err)
		}
		return s
	})
}

// TestEmptyKeysIssueNoStatement: empty keys are rejected before any SQL is
// built (GORM would drop a zero-value condition and match every row).
func TestEmptyKeysIssueNoStatement(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			ctx := t.Context()
			u, err := s.CreateUser(ctx, map[string]any{"username": "jsmith"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateSocialAuth(ctx, u.ID, "edx-oauth2", "jsmith"); err != nil {
				t.Fatal(err)
			}
			c, err := storage.CountStatements(s.DB())
			if err != nil {
				t.Fatal(err)
			}
			calls := []struct {
				name     string
				call     func() error
				wantCode socialauth.Code
			}{
				{"GetSocialAuth(uid \"\")", func() error { _, err := s.GetSocialAuth(ctx, "edx-oauth2", ""); return err }, socialauth.CodeAuthMissingParameter},
				{"GetSocialAuth(provider \"\")", func() error { _, err := s.GetSocialAuth(ctx, "", "jsmith"); return err }, socialauth.CodeAuthMissingParameter},
				{"GetSocialAuthWithUser(uid \"\")", func() error { _, _, err := s.GetSocialAuthWithUser(ctx, "edx-oauth2", ""); return err }, socialauth.CodeAuthMissingParameter},
				{"GetSocialAuthWithUser(provider \"\")", func() error { _, _, err := s.GetSocialAuthWithUser(ctx, "", "jsmith"); return err }, socialauth.CodeAuthMissingParameter},
				{"CreateSocialAuth(uid \"\")", func() error { _, err := s.CreateSocialAuth(ctx, u.ID, "edx-oauth2", ""); return err }, socialauth.CodeAuthMissingParameter},
				{"CreateSocialAuth(provider \"\")", func() error { _, err := s.CreateSocialAuth(ctx, u.ID, "", "x"); return err }, socialauth.CodeAuthMissingParameter},
				{"CreateSocialAuth(user \"\")", func() error { _, err := s.CreateSocialAuth(ctx, "", "edx-oauth2", "x"); return err }, socialauth.CodeAuthMissingParameter},
				{"GetUser(\"\")", func() error { _, err := s.GetUser(ctx, ""); return err }, ""},
				{"GetUser(non-numeric)", func() error { _, err := s.GetUser(ctx, "1 OR 1=1"); return err }, ""},
				{"GetUserByUsername(\"\")", func() error { _, err := s.GetUserByUsername(ctx, ""); return err }, ""},
				{"GetSocialAuthByID(0)", func() error { _, err := s.GetSocialAuthByID(ctx, 0); return err }, ""},
				{"RemoveSocialAuth(0)", func() error { return s.RemoveSocialAuth(ctx, 0) }, ""},
				{"UpdateExtraData(0)", func() error {
					_, err := s.UpdateExtraData(ctx, 0, func(m map[string]any) (map[string]any, bool) { return m, true })
					return err
				}, ""},
				{"LoadPartial(\"\")", func() error { _, err := s.LoadPartial(ctx, ""); return err }, ""},
				{"GetCode(\"\")", func() error { _, err := s.GetCode(ctx, ""); return err }, ""},
				{"VerifyCode(0)", func() error { return s.VerifyCode(ctx, 0) }, ""},
				{"CreateUser(no username)", func() error { _, err := s.CreateUser(ctx, map[string]any{"email": "x@example.com"}); return err }, socialauth.CodeAuthMissingParameter},
			}
			for _, tc := range calls {
				c.Reset()
				err := tc.call()
				if n := c.Load(); n != 0 {
					t.Errorf("%s ran %d statements; want 0", tc.name, n)
				}
				if tc.wantCode != "" {
					if socialauth.ErrorCode(err) != tc.wantCode || errors.Is(err, socialauth.ErrNotFound) {
						t.Errorf("%s err = %v; want code %s", tc.name, err, tc.wantCode)
					}
				} else if !errors.Is(err, socialauth.ErrNotFound) {
					t.Errorf("%s err = %v; want ErrNotFound", tc.name, err)
				}
			}
			// The store still holds exactly the one row.
			list, err := s.GetSocialAuthsForUser(ctx, u.ID, "", 0)
			if err != nil || len(list) != 1 {
				t.Errorf("associations = %v, %v; want 1", list, err)
			}
		})
	}
}

// TestStatementCounts pins the storage cost of a login.
func TestStatementCounts(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			c, err := storage.CountStatements(s.DB())
			if err != nil {
				t.Fatal(err)
			}
			firstLogin(t, s, "jsmith")
			if n := c.Reset(); n != 4 {
				t.Errorf("first login ran %d statements; want 4 (insert user, insert association, locked read, update)", n)
			}
			returningLogin(t, s, "jsmith")
			if n := c.Reset(); n != 3 {
				t.Errorf("returning login ran %d statements; want 3 (read association, locked read, update)", n)
			}
			// The social_user step's read: the association and its owner
			// in one statement, in or out of a transaction.
			sa, u, err := s.GetSocialAuthWithUser(t.Context(), "edx-oauth2", "jsmith")
			if err != nil || u == nil || u.ID != sa.UserID {
				t.Fatalf("GetSocialAuthWithUser = %+v, %+v, %v", sa, u, err)
			}
			if n := c.Reset(); n != 1 {
				t.Errorf("GetSocialAuthWithUser ran %d statements; want 1", n)
			}
			err = s.Transaction(t.Context(), func(tx socialauth.Storage) error {
				g, ok := tx.(socialauth.SocialUserGetter)
				if !ok {
					t.Fatalf("transaction store %T is not a SocialUserGetter", tx)
				}
				if _, _, err := g.GetSocialAuthWithUser(t.Context(), "edx-oauth2", "jsmith"); err != nil {
					return err
				}
				_, err := tx.UpdateExtraData(t.Context(), sa.ID, func(old map[string]any) (map[string]any, bool) {
					old["access_token"] = "at-joined"
					return old, true
				})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			// The joined read holds the row on PostgreSQL (FOR UPDATE OF the
			// association) and SQLite (the write lock): UpdateExtraData does
			// not read it again. MySQL/MariaDB read it again under lock.
			want := int64(2)
			if target.Name == dbtest.MySQL {
				want = 3
			}
			if n := c.Reset(); n != want {
				t.Errorf("returning login through GetSocialAuthWithUser ran %d statements; want %d (joined read, [locked read,] update)", n, want)
			}
			// No change reported: the locked read only.
			if _, err := s.UpdateExtraData(t.Context(), sa.ID, func(old map[string]any) (map[string]any, bool) { return old, false }); err != nil {
				t.Fatal(err)
			}
			if n := c.Reset(); n != 1 {
				t.Errorf("unchanged UpdateExtraData ran %d statements; want 1", n)
			}
		})
	}
}

func firstLogin(t testing.TB, s *storage.Store, uid string) *socialauth.UserSocialAuth {
	t.Helper()
	ctx := context.Background()
	u, err := s.CreateUser(ctx, map[string]any{"username": uid, "email": uid + "@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	sa, err := s.CreateSocialAuth(ctx, u.ID, "edx-oauth2", uid)
	if err != nil {
		t.Fatal(err)
	}
	sa, err = s.UpdateExtraData(ctx, sa.ID, func(old map[string]any) (map[string]any, bool) {
		old["access_token"], old["refresh_token"], old["expires_in"] = "at", "rt", 3600
		return old, true
	})
	if err != nil {
		t.Fatal(err)
	}
	return sa
}

func returningLogin(t testing.TB, s *storage.Store, uid string) {
	t.Helper()
	ctx := context.Background()
	sa, err := s.GetSocialAuth(ctx, "edx-oauth2", uid)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.UpdateExtraData(ctx, sa.ID, func(old map[string]any) (map[string]any, bool) {
		old["access_token"] = "at-" + strings.Repeat("x", 8)
		return old, true
	}); err != nil {
		t.Fatal(err)
	}
}

// TestReturningLoginsDoNotLoseUpdates runs concurrent returning logins of
// one uid, each a transaction that reads the association with its user
// (GetSocialAuthWithUser) and then merges into its extra data
// (UpdateExtraData) without reading it again where the read holds the row:
// every merge must be kept, so the row read must be this transaction's
// until it ends.
func TestReturningLoginsDoNotLoseUpdates(t *testing.T) {
	const logins = 8
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			sa := firstLogin(t, s, "jsmith")
			var wg sync.WaitGroup
			errs := make(chan error, logins)
			for i := range logins {
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs <- s.Transaction(context.Background(), func(tx socialauth.Storage) error {
						got, _, err := tx.(socialauth.SocialUserGetter).GetSocialAuthWithUser(context.Background(), "edx-oauth2", "jsmith")
						if err != nil {
							return err
						}
						// Let the other logins read meanwhile, were they able to.
						time.Sleep(20 * time.Millisecond)
						_, err = tx.UpdateExtraData(context.Background(), got.ID, func(old map[string]any) (map[string]any, bool) {
							old[fmt.Sprintf("login%d", i)] = true
							return old, true
						})
						return err
					})
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					t.Errorf("login: %v", err)
				}
			}
			got, err := s.GetSocialAuthByID(context.Background(), sa.ID)
			if err != nil {
				t.Fatal(err)
			}
			for i := range logins {
				if got.ExtraData[fmt.Sprintf("login%d", i)] != true {
					t.Errorf("login %d's merge was lost: extra data %v", i, got.ExtraData)
				}
			}
		})
	}
}
