package discovery

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"golang.org/x/sync/singleflight"
)

// Defaults for Options. ConfigTTL and JWKSTTL match the old edx-auth-backends
// PROVIDER_CONFIGURATION_CACHE_TTL (604800 s) and JWKS_CACHE_TTL (86400 s).
const (
	// MaxUnknownKeyIDs bounds the distinct unknown key ids that may each force
	// a key-set refetch within one RefetchCooldown window.
	MaxUnknownKeyIDs       = 16
	DefaultConfigTTL       = 7 * 24 * time.Hour
	DefaultJWKSTTL         = 24 * time.Hour
	DefaultRefetchCooldown = time.Minute
	DefaultMaxBody         = 1 << 20
)

// Options configures a Provider. The zero value is usable.
type Options struct {
	// HTTPClient performs the fetches. nil means a client with a 5 s timeout.
	// Whatever the client's own policy, redirects are followed only as
	// MaxRedirects says.
	HTTPClient *http.Client
	// MaxRedirects is how many redirects a configuration or key-set GET
	// follows (default DefaultMaxRedirects, 3; negative: none), each only to
	// the origin of the URL asked for, or from http to https on the same host
	// name. Any other redirect fails the fetch with an error naming its target.
	// The same size and time limits apply to the whole chain.
	MaxRedirects int
	// Issuer, when non-empty, is the issuer the configuration document must
	// name exactly (OpenID Connect Discovery §4.3), whatever redirects were
	// followed to fetch it: a document naming another issuer (a trailing
	// slash included) is refused with ErrBadResponse.
	Issuer string
	// ConfigTTL is how long a fetched configuration is used (default 7 days).
	ConfigTTL time.Duration
	// JWKSTTL is how long a fetched key set is used (default 24 h).
	JWKSTTL time.Duration
	// RefetchCooldown bounds forced key-set refetches caused by an unknown key
	// id to one per window and per key id (so that a key just published is
	// fetched on its first use, even right after another forced refetch), at
	// most MaxUnknownKeyIDs distinct key ids per window, and spaces retries
	// after a failed refresh (default 1 min).
	RefetchCooldown time.Duration
	// MaxBody caps the size of a fetched document (default 1 MiB).
	MaxBody int64
	// Logger receives refresh failures and dropped keys; nil discards.
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Stats counts HTTP fetches attempted by a Provider (successful or not).
type Stats struct {
	ConfigFetches int64
	JWKSFetches   int64
}

// Provider serves one OpenID provider's configuration and key set from a
// cache. It is safe for concurrent use. Build it with New or NewStatic.
type Provider struct {
	configURL string // "" for NewStatic
	jwksURI   string // fixed for NewStatic, else taken from the configuration

	client   *http.Client
	cfgTTL   time.Duration
	jwksTTL  time.Duration
	cooldown time.Duration
	maxBody  int64
	log      *slog.Logger
	now      func() time.Time

	issuer string // "" : not pinned

	mu       sync.RWMutex
	cfg      *Config
	cfgNext  time.Time // when the cached configuration should be refreshed
	keys     jwk.Set
	keysNext time.Time            // when the cached key set should be refreshed
	forced   map[string]time.Time // key id → its last forced refetch, within the cooldown

	group singleflight.Group

	configFetches atomic.Int64
	jwksFetches   atomic.Int64
}

// New returns a Provider that discovers its key set through the OpenID
// configuration document at configURL (normally
// "{issuer}/.well-known/openid-configuration"). New does no I/O.
//
// With Options.Issuer set, a configuration naming another issuer is refused;
// otherwise callers that need issuer pinning compare Config().Issuer with
// their expectation.
func New(configURL string, opts Options) *Provider {
	p := newProvider(opts)
	p.configURL = configURL
	return p
}

// NewStatic returns a Provider for a key set whose URL is known directly,
// without discovery. Its Config method returns ErrNoConfiguration.
func NewStatic(jwksURI string, opts Options) *Provider {
	p := newProvider(opts)
	p.jwksURI = jwksURI
	return p
}

func newProvider(opts Options) *Provider {
	p := &Provider{
		cfgTTL:   opts.ConfigTTL,
		jwksTTL:  opts.JWKSTTL,
		cooldown: opts.RefetchCooldown,
		maxBody:  opts.MaxBody,
		log:      opts.Logger,
		now:      opts.Now,
		issuer:   opts.Issuer,
		forced:   make(map[string]time.Time),
	}
	if p.cfgTTL <= 0 {
		p.cfgTTL = DefaultConfigTTL
	}
	if p.jwksTTL <= 0 {
		p.jwksTTL = DefaultJWKSTTL
	}
	if p.cooldown <= 0 {
		p.cooldown = DefaultRefetchCooldown
	}
	if p.maxBody <= 0 {
		p.maxBody = DefaultMaxBody
	}
	if p.log == nil {
		p.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if p.now == nil {
		p.now = time.Now
	}
	c := opts.HTTPClient
	if c == nil {
		c = defaultHTTPClient()
	}
	maxRedirects := opts.MaxRedirects
	if maxRedirects == 0 {
		maxRedirects = DefaultMaxRedirects
	}
	p.client = withRedirectPolicy(c, maxRedirects)
	return p
}

// Stats reports how many fetches this Provider has attempted.
func (p *Provider) Stats() Stats {
	return Stats{ConfigFetches: p.configFetches.Load(), JWKSFetches: p.jwksFetches.Load()}
}

// maxSharedFetch bounds a fetch shared by several callers, whatever the
// HTTP client's own timeout.
const maxSharedFetch = 30 * time.Second

// shared runs fn once for all concurrent callers with the same key. The fetch
// is detached from the first caller's cancellation (one caller hanging up must
// not fail the others, nor let an attacker who hangs up spoil the refetch
// window); each caller still stops waiting when its own ctx ends.
func (p *Provider) shared(ctx context.Context, key string, fn func(context.Context) (any, error)) (any, error) {
	ch := p.group.DoChan(key, func() (any, error) {
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), maxSharedFetch)
		defer cancel()
		return fn(fctx)
	})
	select {
	case r := <-ch:
		return r.Val, r.Err
	case <-ctx.Done():
		return nil, fmt.Errorf("discovery: %w", ctx.Err())
	}
}

// Config returns the provider configuration, fetching it when the cache is
// empty or older than ConfigTTL. If a refresh fails and a previous copy
// exists, the previous copy is returned (and the failure logged).
func (p *Provider) Config(ctx context.Context) (*Config, error) {
	if p.configURL == "" {
		return nil, ErrNoConfiguration
	}
	p.mu.RLock()
	cfg, next := p.cfg, p.cfgNext
	p.mu.RUnlock()
	if cfg != nil && p.now().Before(next) {
		return cfg, nil
	}
	v, err := p.shared(ctx, "config", func(ctx context.Context) (any, error) { return p.refreshConfig(ctx) })
	if err != nil {
		return nil, err
	}
	return v.(*Config), nil
}

func (p *Provider) refreshConfig(ctx context.Context) (*Config, error) {
	// Another flight may have refreshed while we waited for ours.
	p.mu.RLock()
	cfg, next := p.cfg, p.cfgNext
	p.mu.RUnlock()
	if cfg != nil && p.now().Before(next) {
		return cfg, nil
	}
	p.configFetches.Add(1)
	fresh, err := p.fetchConfig(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if p.cfg != nil {
			p.cfgNext = p.now().Add(p.cooldown)
			p.log.WarnContext(ctx, "discovery: configuration refresh failed, serving cached copy", "url", p.configURL, "error", err)
			return p.cfg, nil
		}
		return nil, err
	}
	p.cfg, p.cfgNext = fresh, p.now().Add(p.cfgTTL)
	return fresh, nil
}

func (p *Provider) fetchConfig(ctx context.Context) (*Config, error) {
	body, err := fetch(ctx, p.client, p.configURL, p.maxBody)
	if err != nil {
		return nil, err
	}
	cfg, err := parseConfig(p.configURL, body)
	if err != nil {
		return nil, err
	}
	if p.issuer != "" && cfg.Issuer != p.issuer {
		return nil, &FetchError{URL: p.configURL, Status: http.StatusOK, Err: fmt.Errorf("%w: issuer %q is not the configured issuer %q", ErrBadResponse, cfg.Issuer, p.issuer)}
	}
	return cfg, nil
}

// parseConfig decodes a provider configuration document.
func parseConfig(url string, body []byte) (*Config, error) {
	var cfg Config
	if err := json.Unmarshal(body, &cfg); err != nil {
		return nil, &FetchError{URL: url, Status: http.StatusOK, Err: fmt.Errorf("%w: invalid provider configuration JSON", ErrBadResponse)}
	}
	if err := json.Unmarshal(body, &cfg.Raw); err != nil || cfg.Raw == nil {
		return nil, &FetchError{URL: url, Status: http.StatusOK, Err: fmt.Errorf("%w: invalid provider configuration JSON", ErrBadResponse)}
	}
	return &cfg, nil
}

// jwksURL returns the key set URL, from NewStatic or from the configuration.
func (p *Provider) jwksURL(ctx context.Context) (string, error) {
	if p.configURL == "" {
		return p.jwksURI, nil
	}
	cfg, err := p.Config(ctx)
	if err != nil {
		return "", err
	}
	if cfg.JWKSURI == "" {
		return "", &FetchError{URL: p.configURL, Status: http.StatusOK, Err: fmt.Errorf("%w: configuration has no jwks_uri", ErrBadResponse)}
	}
	return cfg.JWKSURI, nil
}

// KeySet returns the provider's signing keys, fetching them when the cache is
// empty or older than JWKSTTL. If a refresh fails and a previous set exists,
// the previous set is returned (and the failure logged). The set holds only
// public signature keys: "enc" keys, symmetric keys are dropped and private
// keys are reduced to their public halves. Treat it as read-only.
func (p *Provider) KeySet(ctx context.Context) (jwk.Set, error) {
	p.mu.RLock()
	keys, next := p.keys, p.keysNext
	p.mu.RUnlock()
	if keys != nil && p.now().Before(next) {
		return keys, nil
	}
	v, err := p.shared(ctx, "jwks", func(ctx context.Context) (any, error) { return p.refreshKeys(ctx) })
	if err != nil {
		return nil, err
	}
	return v.(jwk.Set), nil
}

// refreshKeys fetches the key set unless the cache is fresh.
func (p *Provider) refreshKeys(ctx context.Context) (jwk.Set, error) {
	p.mu.RLock()
	keys, next := p.keys, p.keysNext
	p.mu.RUnlock()
	if keys != nil && p.now().Before(next) {
		return keys, nil
	}
	return p.fetchAndStore(ctx)
}

// forceRefresh refetches the key set for an unknown key id (or one whose keys
// failed to verify a signature) unless that key id
// already forced a refetch within the cooldown, or MaxUnknownKeyIDs others
// did: then the cached set is returned as is.
func (p *Provider) forceRefresh(ctx context.Context, kid string) (jwk.Set, error) {
	now := p.now()
	p.mu.Lock()
	for k, t := range p.forced {
		if now.Sub(t) >= p.cooldown {
			delete(p.forced, k)
		}
	}
	if p.keys != nil {
		if _, recent := p.forced[kid]; recent || len(p.forced) >= MaxUnknownKeyIDs {
			keys := p.keys
			p.mu.Unlock()
			return keys, nil
		}
	}
	p.forced[kid] = now
	p.mu.Unlock()
	return p.fetchAndStore(ctx)
}

// fetchAndStore fetches the key set and caches it; on failure the cached set,
// if any, is served and the next attempt waits the cooldown.
func (p *Provider) fetchAndStore(ctx context.Context) (jwk.Set, error) {
	fresh, err := p.fetchKeys(ctx)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		if p.keys != nil {
			p.keysNext = p.now().Add(p.cooldown)
			p.log.WarnContext(ctx, "discovery: key set refresh failed, serving cached keys", "error", err)
			return p.keys, nil
		}
		return nil, err
	}
	p.keys, p.keysNext = fresh, p.now().Add(p.jwksTTL)
	return fresh, nil
}

func (p *Provider) fetchKeys(ctx context.Context) (jwk.Set, error) {
	u, err := p.jwksURL(ctx)
	if err != nil {
		return nil, err
	}
	p.jwksFetches.Add(1)
	body, err := fetch(ctx, p.client, u, p.maxBody)
	if err != nil {
		return nil, err
	}
	set, dropped, err := parseKeySet(u, body)
	if err != nil {
		return nil, err
	}
	if dropped > 0 {
		p.log.WarnContext(ctx, "discovery: ignored keys unusable for signature verification", "url", u, "count", dropped)
	}
	return set, nil
}

// parseKeySet decodes a JWK set and keeps its public signature keys.
func parseKeySet(url string, body []byte) (jwk.Set, int, error) {
	raw, err := jwk.Parse(body)
	if err != nil {
		return nil, 0, &FetchError{URL: url, Status: http.StatusOK, Err: fmt.Errorf("%w: invalid JWK set", ErrBadResponse)}
	}
	set, dropped := signingKeys(raw)
	return set, dropped, nil
}

// KeyFor returns the first signing key with key id kid (see KeysFor).
func (p *Provider) KeyFor(ctx context.Context, kid string) (jwk.Key, error) {
	keys, err := p.KeysFor(ctx, kid)
	if err != nil {
		return nil, err
	}
	return keys[0], nil
}

// KeysFor returns every signing key with key id kid: a provider may publish
// several under one kid (during a botched rotation), and the caller tries
// each. An empty kid selects the only key of a one-key set. When nothing
// matches, the key set is refetched, at most once per RefetchCooldown window
// for that kid (concurrent callers share one fetch; see Options), and looked
// up again; if still nothing matches, the error wraps ErrUnknownKey. A known
// key id never waits for an unknown one: it is served from the cache.
func (p *Provider) KeysFor(ctx context.Context, kid string) ([]jwk.Key, error) {
	set, err := p.KeySet(ctx)
	if err != nil {
		return nil, err
	}
	if keys, err := SelectKeys(set, kid); err == nil {
		return keys, nil
	}
	v, err := p.shared(ctx, "jwks-force\x00"+kid, func(ctx context.Context) (any, error) { return p.forceRefresh(ctx, kid) })
	if err != nil {
		// No cached set at all and the fetch failed.
		return nil, err
	}
	return SelectKeys(v.(jwk.Set), kid)
}

// RefetchKeysFor refetches the key set because the cached keys under kid did
// not verify a token's signature (a provider that replaced the key behind a
// kid it reuses), and returns the keys now under kid. Like an unknown kid's,
// the refetch happens at most once per RefetchCooldown window per kid (and
// for at most MaxUnknownKeyIDs kids per window; concurrent callers share one
// fetch): within the window the cached keys are returned, so a flood of bad
// signatures costs at most one fetch per kid. The error wraps ErrUnknownKey
// when the kid is no longer published.
func (p *Provider) RefetchKeysFor(ctx context.Context, kid string) ([]jwk.Key, error) {
	v, err := p.shared(ctx, "jwks-force\x00"+kid, func(ctx context.Context) (any, error) { return p.forceRefresh(ctx, kid) })
	if err != nil {
		return nil, err
	}
	return SelectKeys(v.(jwk.Set), kid)
}

// SelectKey picks the first key for kid from set (see SelectKeys).
func SelectKey(set jwk.Set, kid string) (jwk.Key, error) {
	keys, err := SelectKeys(set, kid)
	if err != nil {
		return nil, err
	}
	return keys[0], nil
}

// SelectKeys returns every key of set with key id kid, in set order. An empty
// kid is accepted only when the set holds exactly one key (a token must name
// its key when there is a choice). The error wraps ErrUnknownKey.
func SelectKeys(set jwk.Set, kid string) ([]jwk.Key, error) {
	if kid == "" {
		if n := set.Len(); n != 1 {
			return nil, fmt.Errorf("%w: token has no kid and the key set holds %d keys", ErrUnknownKey, n)
		}
		key, _ := set.Key(0)
		return []jwk.Key{key}, nil
	}
	var out []jwk.Key
	for i := 0; i < set.Len(); i++ {
		if key, _ := set.Key(i); key.KeyID() == kid {
			out = append(out, key)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: kid not in key set", ErrUnknownKey)
	}
	return out, nil
}

// MinRSABits is the smallest RSA modulus kept in a key set.
const MinRSABits = 2048

// signingKeys keeps the public signature keys of set and counts the others:
// keys for encryption, symmetric keys, unknown key types and RSA keys under
// MinRSABits are dropped.
func signingKeys(set jwk.Set) (jwk.Set, int) {
	out := jwk.NewSet()
	dropped := 0
	for i := 0; i < set.Len(); i++ {
		key, _ := set.Key(i)
		if key.KeyUsage() == string(jwk.ForEncryption) {
			dropped++
			continue
		}
		switch key.KeyType() {
		case "RSA", "EC", "OKP":
		default: // symmetric ("oct") and unknown key types never verify provider tokens
			dropped++
			continue
		}
		if pk, err := key.PublicKey(); err == nil {
			key = pk
		} else {
			dropped++
			continue
		}
		if key.KeyType() == "RSA" {
			var pub rsa.PublicKey
			if err := key.Raw(&pub); err != nil || pub.N == nil || pub.N.BitLen() < MinRSABits {
				dropped++ // too short to trust (RFC 7518 §3.3)
				continue
			}
		}
		if err := out.AddKey(key); err != nil {
			dropped++
		}
	}
	return out, dropped
}
