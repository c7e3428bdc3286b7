package redirect_test

import (
	"errors"
	"fmt"

	"github.com/socialauth-go/socialauth/internal/redirect"
)

func ExamplePolicy_Sanitize() {
	// The app's own public host comes from configuration, never from the
	// request's Host header.
	policy := redirect.Policy{AllowedHosts: []string{"courses.example.com", "studio.example.com:8443"}}

	for _, next := range []string{
		"/dashboard?tab=courses",
		"https://courses.example.com/courses/",
		"https://studio.example.com:8443/home",
		"//evil.example",
		"/%2F%2Fevil.example",
		"https://courses.example.com@evil.example/",
		"javascript:alert(1)",
	} {
		clean, err := policy.Sanitize(next)
		if errors.Is(err, redirect.ErrUnsafe) {
			fmt.Println("rejected:", err)
			continue
		}
		fmt.Println("redirect to", clean)
	}
	// Output:
	// redirect to /dashboard?tab=courses
	// redirect to https://courses.example.com/courses/
	// redirect to https://studio.example.com:8443/home
	// rejected: redirect: unsafe redirect target "//evil.example": protocol-relative URL
	// rejected: redirect: unsafe redirect target "/%2F%2Fevil.example": encoded protocol-relative URL
	// rejected: redirect: unsafe redirect target "https://courses.example.com@evil.example"…: userinfo in URL
	// rejected: redirect: unsafe redirect target "javascript:alert(1)": scheme not allowed
}
