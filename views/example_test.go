package views_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/alexedwards/scs/v2/memstore"
	"github.com/go-chi/chi/v5"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/strategies"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/views"
)

// Mounting the sign-in routes on an app's mux under /auth, and protecting
// a page. A real service uses the GORM store (storage.Open) and its
// SessionStore(), and the edx-oauth2 backend.
func Example() {
	svc, err := socialauth.New(socialauth.Options{
		Storage:  testutil.NewStore(),
		Backends: []socialauth.Backend{&testutil.FakeBackend{BackendName: "edx-oauth2", Logout: "https://lms.example.com/logout"}},
		Steps:    pipeline.NewSteps(),
		Settings: settings.New(settings.Map{"SOCIAL_AUTH_LOGIN_ERROR_URL": "/login-error/"}),
	})
	if err != nil {
		panic(err)
	}
	v, err := views.New("/auth", views.Config{
		Service: svc,
		HTTP:    strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://127.0.0.1:8000"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	v.Mount(mux)
	mux.Handle("/courses/", v.RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "hello", views.CurrentUser(r).Username)
	})))

	for _, path := range []string{"/auth/login/?next=/courses/", "/auth/logout/", "/auth/complete/edx-oauth2/", "/courses/1"} {
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Println(path, w.Code, w.Header().Get("Location"))
	}
	// Output:
	// /auth/login/?next=/courses/ 302 /auth/login/edx-oauth2/?next=/courses/
	// /auth/logout/ 302 https://lms.example.com/logout
	// /auth/complete/edx-oauth2/ 302 /login-error/?error=auth_missing_parameter
	// /courses/1 302 /auth/login/?next=%2Fcourses%2F1
}

// Mounting the route table on chi (any router with method and pattern
// routes does the same).
func ExampleViews_Routes() {
	svc, err := socialauth.New(socialauth.Options{
		Storage:  testutil.NewStore(),
		Backends: []socialauth.Backend{&testutil.FakeBackend{BackendName: "edx-oauth2"}},
		Steps:    pipeline.NewSteps(),
	})
	if err != nil {
		panic(err)
	}
	v, err := views.New("/auth", views.Config{
		Service: svc,
		HTTP:    strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "https://example.com"},
	})
	if err != nil {
		panic(err)
	}
	r := chi.NewRouter()
	for _, rt := range v.Routes() {
		if rt.Method == "" {
			r.Handle(rt.Pattern, rt.Handler)
		} else {
			r.Method(rt.Method, rt.Pattern, rt.Handler)
		}
		fmt.Printf("%-4s %s\n", rt.Method, rt.Pattern)
	}
	// Output:
	// GET  /auth/login/
	//      /auth/logout/
	// GET  /auth/login/{backend}/
	// POST /auth/login/{backend}/
	// GET  /auth/complete/{backend}/
	// POST /auth/complete/{backend}/
	// POST /auth/disconnect/{backend}/
	// POST /auth/disconnect/{backend}/{association_id}/
	// GET  /auth/logout/{backend}/return/
	// POST /auth/backchannel-logout/{backend}/
}

// A "who am I" page: the signed-in user and their linked accounts, read
// without a session middleware (with the GORM store's SessionStore, one
// statement: the session's row joined with its user).
func ExampleViews_SignedInUser() {
	svc, err := socialauth.New(socialauth.Options{
		Storage:  testutil.NewStore(),
		Backends: []socialauth.Backend{&testutil.FakeBackend{BackendName: "edx-oauth2"}},
		Steps:    pipeline.NewSteps(),
	})
	if err != nil {
		panic(err)
	}
	v, err := views.New("/auth", views.Config{
		Service: svc,
		HTTP:    strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://127.0.0.1:8000"},
	})
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	v.Mount(mux)
	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		user, socials, err := v.SignedInUser(r)
		switch {
		case err != nil:
			http.Error(w, "unavailable", socialauth.HTTPStatus(err))
		case user == nil:
			http.Error(w, "nobody", http.StatusUnauthorized)
		default:
			fmt.Fprintln(w, user.Username, len(socials))
		}
	})

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/me", nil))
	fmt.Print(w.Code, " ", w.Body.String())
	// Output:
	// 401 nobody
}
