package storage_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// TestFirstLoginExtraDataWithoutReadBack: inside a transaction, on every
// database, UpdateExtraData of the association CreateSocialAuth has just
// inserted (and so holds) does not read the row back (insert + update: 2
// statements), and what it returns is what a later read returns. A write
// through DB() in between makes it read again.
func TestFirstLoginExtraDataWithoutReadBack(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			ctx := t.Context()
			c, err := storage.CountStatements(s.DB())
			if err != nil {
				t.Fatal(err)
			}
			const want = 2
			for i, tc := range []struct {
				uid       string
				throughDB bool
			}{{"first", false}, {"second", true}} {
				u, err := s.CreateUser(ctx, map[string]any{"username": tc.uid, "email": tc.uid + "@example.com"})
				if err != nil {
					t.Fatal(err)
				}
				var got *socialauth.UserSocialAuth
				c.Reset()
				err = s.Transaction(ctx, func(tx socialauth.Storage) error {
					sa, err := tx.CreateSocialAuth(ctx, u.ID, "edx-oauth2", tc.uid)
					if err != nil {
						return err
					}
					if tc.throughDB {
						// A raw write the Store cannot see.
						if err := tx.(*storage.Store).DB().Exec("UPDATE "+storage.TableSocialAuth+" SET extra_data = ? WHERE id = ?", `{"raw":"x"}`, sa.ID).Error; err != nil {
							return err
						}
					}
					got, err = tx.UpdateExtraData(ctx, sa.ID, func(old map[string]any) (map[string]any, bool) {
						old["access_token"], old["expires_in"] = "at", 3600
						return old, true
					})
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				n := c.Reset()
				wantN := want
				if tc.throughDB {
					wantN = 4 // insert, raw update, read, update
				}
				if n != int64(wantN) {
					t.Errorf("case %d (%s): %d statements, want %d", i, tc.uid, n, wantN)
				}
				read, err := s.GetSocialAuth(ctx, "edx-oauth2", tc.uid)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(read, got); diff != "" {
					t.Errorf("case %d (%s): UpdateExtraData's row differs from a read (-read +returned):\n%s", i, tc.uid, diff)
				}
				if tc.throughDB && got.ExtraData["raw"] != "x" {
					t.Errorf("the raw write was lost: %v", got.ExtraData)
				}
			}
		})
	}
}
