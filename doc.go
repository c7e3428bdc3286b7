// Package socialauth is social single sign-on for Go services, in the shape of
// python-social-auth's core, with edX's OAuth2 single sign-on (package
// backends/edx, the Go counterpart of edx-auth-backends) as its first backend.
//
// # Where to start
//
// For edX sign-in on net/http with the GORM store, package views/edxsso wires
// everything in one constructor (docs/quickstart.md §1). When it does not fit
// (your own user table, more backends, another session store), wire the pieces
// as its body does (docs/quickstart.md §4): storage.Open, edx.ConfigFrom and
// edx.New, pipeline.NewSteps, New, strategies.HTTPConfigFrom and views.New.
//
// # Four contracts
//
// Each is replaceable alone; a custom backend, step or store needs only this package.
//
//   - Backend: one identity provider. It starts a sign-in (the redirect to
//     the provider), completes the callback (state, PKCE, code exchange,
//     token verification) and maps the provider's answer to a uid, Details and
//     extra data. Package backends has the OAuth2 and OpenID Connect bases.
//   - Strategy: the web side of one request: its data, its session (get, set,
//     pop, rotate, flush) and absolute URLs, the CallbackURL included. It
//     carries no configuration. Package strategies has the net/http one.
//   - Storage: users, associations (UserSocialAuth), paused pipelines and
//     email codes. Package storage is the GORM store (SQLite, PostgreSQL,
//     MySQL/MariaDB); testutil has an in-memory one.
//   - Pipeline: named Steps run in order over one typed State. A step may
//     add to the state, stop with a Response, pause (a partial pipeline) or
//     fail. Package pipeline has social-core's steps, under their names.
//
// # One sign-in
//
//  1. GET /login/edx-oauth2/?next=/courses: the views call Service.Begin,
//     which keeps the sanitized next in the session; the backend stores a
//     single-use state (and PKCE verifier) there and redirects to the provider.
//  2. GET /complete/edx-oauth2/?code=…&state=…: Service.Complete resumes a
//     partial pipeline this session owns, else Backend.Complete checks and
//     consumes the state, exchanges the code and verifies the token.
//  3. The pipeline runs in one storage transaction: details, uid, user (found
//     or created), association, extra data, user details.
//  4. The user is signed in: last_login is set, the session id rotates, the
//     auth_complete signal fires, and the browser goes to next or
//     LOGIN_REDIRECT_URL.
//
// Any failure is an *Error carrying a Code, answered with one status
// (HTTPStatus); it signs nobody in and writes nothing but the consumed state.
//
// # Configuration is read once
//
// The Django setting names stay (package settings looks them up as
// SOCIAL_AUTH_<BACKEND>_<NAME>, SOCIAL_AUTH_<NAME>, <NAME>), but each
// constructor reads its own once: New reads every backend's Config
// (ConfigFrom) and builds its pipelines (Steps.Build calls each Step.New);
// edx.ConfigFrom, backends.OAuth2ConfigFrom and strategies.HTTPConfigFrom do
// the same for theirs. A missing or malformed setting, or an unknown step
// name, stops start-up with an error naming the key; nothing on the request
// path reads a setting. Apps that configure in code pass typed values
// instead (Options.Configs, edx.Config). A multi-tenant app builds one
// Service per tenant and picks one per request.
package socialauth
