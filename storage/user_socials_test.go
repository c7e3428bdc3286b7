package storage_test

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/storage"
)

// TestGetUserWithSocialAuths: one statement gives what GetUser and
// GetSocialAuthsForUser give together, for a user with associations and one
// without; an inactive, unknown or impossible id is ErrNotFound (the
// impossible one without a statement), never another user's row.
func TestGetUserWithSocialAuths(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			ctx := t.Context()
			ada := firstLogin(t, s, "ada")
			if _, err := s.CreateSocialAuth(ctx, ada.UserID, "oidc", "ada-oidc"); err != nil {
				t.Fatal(err)
			}
			firstLogin(t, s, "grace")
			lone, err := s.CreateUser(ctx, map[string]any{"username": "lone", "email": "lone@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			c, err := storage.CountStatements(s.DB())
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{ada.UserID, lone.ID} {
				c.Reset()
				u, socials, err := s.GetUserWithSocialAuths(ctx, id)
				if err != nil {
					t.Fatalf("GetUserWithSocialAuths(%s): %v", id, err)
				}
				if n := c.Reset(); n != 1 {
					t.Errorf("GetUserWithSocialAuths(%s) ran %d statements, want 1", id, n)
				}
				wantUser, err := s.GetUser(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				wantSocials, err := s.GetSocialAuthsForUser(ctx, id, "", 0)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(wantUser, u); diff != "" {
					t.Errorf("user %s (-GetUser +got):\n%s", id, diff)
				}
				if diff := cmp.Diff(wantSocials, socials); diff != "" {
					t.Errorf("associations of %s (-GetSocialAuthsForUser +got):\n%s", id, diff)
				}
			}
			if _, socials, _ := s.GetUserWithSocialAuths(ctx, ada.UserID); len(socials) != 2 {
				t.Errorf("ada has %d associations, want 2", len(socials))
			}

			inactive := *lone
			inactive.IsActive = false
			if err := s.UpdateUser(ctx, &inactive, []string{"is_active"}); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{lone.ID, "999999"} {
				u, socials, err := s.GetUserWithSocialAuths(ctx, id)
				if !errors.Is(err, socialauth.ErrNotFound) || u != nil || socials != nil {
					t.Errorf("GetUserWithSocialAuths(%s) = %+v, %+v, %v; want ErrNotFound", id, u, socials, err)
				}
			}
			c.Reset()
			for _, id := range []string{"", "x1"} {
				if _, _, err := s.GetUserWithSocialAuths(ctx, id); !errors.Is(err, socialauth.ErrNotFound) {
					t.Errorf("GetUserWithSocialAuths(%q): %v, want ErrNotFound", id, err)
				}
			}
			if n := c.Reset(); n != 0 {
				t.Errorf("impossible ids ran %d statements, want 0", n)
			}
		})
	}
}

// TestGetUserWithSocialAuthsDecrypts: with field encryption on, the
// associations come back with their tokens decrypted, as
// GetSocialAuthsForUser gives them.
func TestGetUserWithSocialAuthsDecrypts(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{FieldKeys: [][]byte{newFieldKey(t)}})
			sa := firstLogin(t, s, "ada")
			_, socials, err := s.GetUserWithSocialAuths(t.Context(), sa.UserID)
			if err != nil || len(socials) != 1 {
				t.Fatalf("GetUserWithSocialAuths = %+v, %v", socials, err)
			}
			if got := socials[0].ExtraData["access_token"]; got != "at" || len(socials[0].Unreadable) != 0 {
				t.Errorf("access_token = %v (unreadable %v), want the decrypted \"at\"", got, socials[0].Unreadable)
			}
			want, err := s.GetSocialAuthsForUser(t.Context(), sa.UserID, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, socials); diff != "" {
				t.Errorf("(-GetSocialAuthsForUser +got):\n%s", diff)
			}
		})
	}
}
