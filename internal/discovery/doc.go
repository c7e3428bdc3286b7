// Package discovery fetches and caches an OpenID provider's configuration
// (/.well-known/openid-configuration) and its JSON Web Key Set.
//
// A Provider does no I/O until first asked. Afterwards the configuration is
// cached for Options.ConfigTTL and the key set for Options.JWKSTTL, so that a
// login in steady state makes zero requests to the provider. When a refresh
// fails, the last good copy is served (stale beats down) and the next attempt
// waits Options.RefetchCooldown. A token signed with a key id that is not in the
// cached set causes at most one forced key-set refetch per RefetchCooldown
// window, however many such tokens arrive at once.
//
// jwx's own jwk.Cache (httprc) was not used: it needs a long-lived context and
// background goroutines (a Provider has no Close), follows its own
// Cache-Control driven refresh schedule with a wall clock that tests cannot
// inject, and hides fetch counts and fetch errors behind its queue. The key set
// is still parsed by jwk.Parse and handed out as jwk.Set / jwk.Key.
package discovery
