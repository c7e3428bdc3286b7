// Package jwtverify verifies JWT access tokens and ID tokens (compact JWS).
//
// Two modes, chosen by Options: a shared HMAC key (edX's
// SOCIAL_AUTH_EDX_OAUTH2_JWS_HMAC_SIGNING_KEY), which accepts HS512 and nothing
// else; or public keys from a KeySource such as *discovery.Provider, which
// accepts only the asymmetric algorithms on the allow-list and never HS* or
// "none". The token's alg header only selects among what the key permits: it
// must match the key's type, curve and declared alg.
//
// A token is size-checked before any parsing, its header is decoded once, its
// key looked up, its signature checked once with jwx's jws.Verifier for that
// algorithm, and only then is its payload decoded and exp/nbf/iat (with
// leeway), iss and aud enforced. Every rejection is an *Error with a Reason
// usable through errors.Is (ErrExpired, ErrBadSignature, …); error strings
// never contain the token.
package jwtverify
