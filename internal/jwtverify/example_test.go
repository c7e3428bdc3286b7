package jwtverify_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/socialauth-go/socialauth/internal/jwtverify"
)

// An edX LMS configured with SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY signs
// access tokens with HS512; the Verifier accepts exactly that.
func ExampleVerifier_hmac() {
	key := []byte("the-shared-JWS_HMAC_SIGNING_KEY")
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

	tok, _ := jwt.NewBuilder().
		Issuer("https://lms.example.com/oauth2").
		Audience([]string{"my-service"}).
		Subject("user-1").
		Claim("preferred_username", "staff").
		IssuedAt(now).
		Expiration(now.Add(time.Hour)).
		Build()
	signed, _ := jwt.Sign(tok, jwt.WithKey(jwa.HS512, key))

	v, err := jwtverify.New(jwtverify.Options{
		HMACKey:  key,
		Issuer:   "https://lms.example.com/oauth2",
		Audience: []string{"my-service"},
		Now:      func() time.Time { return now },
	})
	if err != nil {
		panic(err)
	}
	claims, err := v.Verify(context.Background(), string(signed))
	fmt.Println(claims["preferred_username"], err)

	// An hour and a minute later the same token is rejected, with a reason.
	late, _ := jwtverify.New(jwtverify.Options{HMACKey: key, Now: func() time.Time { return now.Add(61 * time.Minute) }})
	_, err = late.Verify(context.Background(), string(signed))
	var ve *jwtverify.Error
	fmt.Println(errors.Is(err, jwtverify.ErrExpired), errors.As(err, &ve) && ve.Reason == jwtverify.Expired)
	// Output:
	// staff <nil>
	// true true
}
