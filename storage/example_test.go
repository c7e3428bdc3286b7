package storage_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/storage"
)

func Example() {
	ctx := context.Background()
	st, err := storage.Open(ctx, "sqlite::memory:", storage.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	if err := st.AutoMigrate(ctx); err != nil {
		fmt.Println(err)
		return
	}
	u, _ := st.CreateUser(ctx, map[string]any{"username": "jsmith", "email": "j@example.com"})
	_, _ = st.CreateSocialAuth(ctx, u.ID, "edx-oauth2", "jsmith")

	sa, err := st.GetSocialAuth(ctx, "edx-oauth2", "jsmith")
	fmt.Println(sa.UID, sa.UserID == u.ID, err)
	_, err = st.GetSocialAuth(ctx, "edx-oauth2", "JSmith")
	fmt.Println(errors.Is(err, socialauth.ErrNotFound))
	_, err = st.GetSocialAuth(ctx, "edx-oauth2", "")
	fmt.Println(socialauth.HTTPStatus(err))
	_, err = st.CreateUser(ctx, map[string]any{"username": "jsmith"})
	fmt.Println(errors.Is(err, socialauth.ErrDuplicate))
	// Output:
	// jsmith true <nil>
	// true
	// 400
	// true
}
