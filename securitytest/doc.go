// Package securitytest holds socialauth's end-to-end security suite: every
// family of attacks in ../shared/SECURITY.md (docs/security.md) driven over
// real HTTP against the views, the net/http strategy, the GORM store and the
// edx-oauth2 / OpenID Connect / OAuth2 backends, with the fake LMS
// misbehaving on command.
//
// Each rejected request is checked against the whole contract: the typed
// error and its status (or the LOGIN_ERROR_URL redirect), no authenticated
// session, the database unchanged, the number of provider calls, and no
// secret (client secret, code, PKCE verifier, tokens, HMAC key, session id)
// in any log line, error string or response body.
//
// The service is wired as an app wires it, reading its settings once: a
// malformed security setting is refused at construction, naming its key
// (TestMalformedSecuritySettingsFailAtStartUp), so every rejection the
// other tests assert is a rejection of the request.
//
// The package has no API: it is tests and fuzz targets only.
//
//	go test -race ./securitytest/
//	go test -run '^$' -fuzz FuzzCompleteHandler -fuzztime 10m ./securitytest/
package securitytest
