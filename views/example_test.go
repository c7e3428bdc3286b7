package views_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/views"
)

// Mounting the sign-in routes on an app's mux. A real service uses the GORM
// store (storage.Open) and its SessionStore(), and the edx-oauth2 backend.
func Example() {
	set := settings.New(settings.Map{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/login-error/"})
	svc, err := socialauth.New(socialauth.Options{
		Storage:  testutil.NewStore(),
		Backends: socialauth.NewRegistry(&testutil.FakeBackend{BackendName: "edx-oauth2", Logout: "https://lms.example.com/logout"}),
		Steps:    pipeline.NewSteps(),
	})
	if err != nil {
		panic(err)
	}
	sessions := strategies.NewSessionManager(memstore.New(), false)
	strat, err := strategies.NewHTTP(strategies.HTTPConfig{Sessions: sessions, Settings: set, BaseURL: "http://127.0.0.1:8000"})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	if err := views.Routes(mux, "", views.Config{Service: svc, Strategies: strat, Sessions: sessions}); err != nil {
		panic(err)
	}

	for _, path := range []string{"/login/?next=/courses/", "/logout/", "/complete/edx-oauth2/"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, w.Code, w.Header().Get("Location"))
	}
	// Output:
	// /login/?next=/courses/ 302 /login/edx-oauth2/?next=/courses/
	// /logout/ 302 https://lms.example.com/logout
	// /complete/edx-oauth2/ 302 /login-error/?error=auth_missing_parameter
}
