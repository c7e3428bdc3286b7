package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
	"github.com/socialauth-go/socialauth/testutil"
)

// member is an app's user model with no first_name, last_name or
// last_login column.
type member struct {
	ID       int64  `gorm:"primaryKey"`
	Handle   string `gorm:"size:150;uniqueIndex;not null"`
	Mail     string `gorm:"size:254"`
	JoinedAt time.Time
}

func (member) TableName() string { return "members" }

// signIn builds a Service over s with the default pipeline and completes
// one sign-in of the fake provider's jsmith at the given time.
func signIn(t *testing.T, s socialauth.Storage, at time.Time, response map[string]any) *socialauth.User {
	t.Helper()
	b := &testutil.FakeBackend{BackendName: "fake", IDKey: "username", Response: response}
	svc, err := socialauth.New(socialauth.Options{Storage: s, Backends: []socialauth.Backend{b}, Steps: pipeline.NewSteps(),
		Settings: settings.New(settings.Map{"LOGIN_REDIRECT_URL": "/home"}), Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	var user *socialauth.User
	svc.AuthComplete().Connect(func(_ context.Context, _ string, p socialauth.AuthCompleted) error {
		user = p.User
		return nil
	})
	resp, err := svc.Complete(t.Context(), testutil.NewStrategy(testutil.StrategyOptions{}), "fake")
	if err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if resp.Location != "/home" || user == nil {
		t.Fatalf("sign-in answered %+v, user %+v", resp, user)
	}
	return user
}

// TestSignInWithCustomUserTable: a user table without first_name, last_name
// and last_login signs users in, first and returning, with the default
// pipeline: user_details skips the details the table cannot hold (as
// CreateUser does) instead of failing, and last_login is not written.
func TestSignInWithCustomUserTable(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			adapter := &storage.UserAdapter{Table: "members",
				Columns: storage.UserColumns{ID: "id", Username: "handle", Email: "mail", DateJoined: "joined_at"}}
			s, err := storage.Open(t.Context(), databaseURL(target, dbtest.Fresh(t, target)), storage.Options{Users: adapter})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if err := s.DB().AutoMigrate(&member{}); err != nil {
				t.Fatal(err)
			}
			if err := s.AutoMigrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{"first_name", "last_name", "last_login"} {
				if s.MapsUserField(f) {
					t.Errorf("MapsUserField(%q) = true on a table without it", f)
				}
			}
			response := map[string]any{"username": "jsmith", "email": "j@example.com", "first_name": "Joe", "last_name": "Smith"}
			at := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
			first := signIn(t, s, at, response)
			response["first_name"], response["email"] = "Joseph", "joseph@example.com"
			again := signIn(t, s, at.Add(time.Hour), response)
			if again.ID != first.ID {
				t.Errorf("returning sign-in made user %s, want %s", again.ID, first.ID)
			}
			var row member
			if err := s.DB().Where("id = ?", first.ID).Take(&row).Error; err != nil {
				t.Fatal(err)
			}
			if row.Handle != "jsmith" || row.Mail != "j@example.com" {
				t.Errorf("row = %+v; email is protected, username kept", row)
			}
		})
	}
}

// TestSignInStampsLastLogin: on Django's auth_user, every sign-in sets
// last_login, as Django's login() does.
func TestSignInStampsLastLogin(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := openFresh(t, target, storage.Options{})
			if !s.MapsUserField("last_login") || !s.MapsUserField("first_name") {
				t.Error("auth_user does not map last_login or first_name")
			}
			response := map[string]any{"username": "jsmith", "email": "j@example.com", "first_name": "Joe"}
			at := time.Date(2025, 6, 1, 12, 0, 0, 123456000, time.UTC)
			for i, when := range []time.Time{at, at.Add(25 * time.Hour)} {
				u := signIn(t, s, when, response)
				got, err := s.GetUser(t.Context(), u.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !got.LastLogin.Equal(when) {
					t.Errorf("sign-in %d: last_login = %v, want %v", i, got.LastLogin, when)
				}
				if got.FirstName != "Joe" {
					t.Errorf("sign-in %d: first_name = %q", i, got.FirstName)
				}
			}
			if _, err := s.GetUserByUsername(t.Context(), "jsmith"); errors.Is(err, socialauth.ErrNotFound) {
				t.Error("user not created")
			}
		})
	}
}
