package fakelms

import (
	"net/http"
)

type endpoint int

const (
	epAuthorize endpoint = iota
	epToken
	epUserInfo
	epJWKS
	epDiscovery
	epRevoke
	epLogout
	numEndpoints
)

// endpointNames are the Fault.Endpoint values, indexed by endpoint.
var endpointNames = [numEndpoints]string{
	epAuthorize: "authorize",
	epToken:     "token",
	epUserInfo:  "userinfo",
	epJWKS:      "jwks",
	epDiscovery: "discovery",
	epRevoke:    "revoke",
	epLogout:    "logout",
}

// maxFormBytes bounds request bodies; the real endpoints take a handful of short fields.
const maxFormBytes = 64 << 10

func (l *LMS) routes() *http.ServeMux {
	mux := http.NewServeMux()
	handle := func(pattern string, ep endpoint, h http.HandlerFunc) {
		mux.Handle(pattern, l.wrap(ep, h))
	}
	for _, p := range []string{"/oauth2/authorize", "/oauth2/authorize/"} {
		handle("GET "+p, epAuthorize, l.authorize)
		handle("POST "+p, epAuthorize, l.authorize)
	}
	for _, p := range []string{"/oauth2/access_token", "/oauth2/access_token/"} {
		handle("POST "+p, epToken, l.token)
	}
	for _, p := range []string{"/oauth2/user_info", "/oauth2/user_info/", "/oauth2/userinfo", "/oauth2/userinfo/"} {
		handle("GET "+p, epUserInfo, l.userInfo)
		handle("POST "+p, epUserInfo, l.userInfo)
	}
	for _, p := range []string{"/oauth2/revoke_token", "/oauth2/revoke_token/"} {
		handle("POST "+p, epRevoke, l.revoke)
	}
	handle("GET /oauth2/jwks.json", epJWKS, l.jwks)
	handle("GET /.well-known/openid-configuration", epDiscovery, l.discovery)
	handle("GET /oauth2/.well-known/openid-configuration", epDiscovery, l.discovery)
	// With a trailing slash too, as django-oauth-toolkit serves it (its URL without the slash
	// answers 301 to this one; a Fault with RedirectTo reproduces that).
	handle("GET /oauth2/.well-known/openid-configuration/", epDiscovery, l.discovery)
	for _, p := range []string{"/logout", "/logout/"} {
		handle("GET "+p, epLogout, l.logout)
	}
	return mux
}

// wrap counts the call, applies any fault, bounds the body and sets no-store caching.
func (l *LMS) wrap(ep endpoint, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.calls[ep].Add(1)
		if l.applyFault(ep, w, r) {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Pragma", "no-cache")
		h(w, r)
	})
}
