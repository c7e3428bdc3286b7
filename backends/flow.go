package backends

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"slices"
	"sync"
	"time"

	"github.com/socialauth-go/socialauth"
)

// DefaultStateTTL bounds the time between Start and the callback
// (OAuth2Config.StateTTL, setting STATE_TTL).
const DefaultStateTTL = 10 * time.Minute

// Flow is one pending sign-in, which Start keeps in the session for its
// callback to check: it binds the callback to this session and to the
// backend that started it. A session keeps several (tabs, double clicks),
// each found by its state. It holds secrets (the PKCE verifier, the nonce);
// never log it.
type Flow struct {
	Backend     string    // the backend that started the flow
	State       string    // the state parameter (32 random bytes, base64url)
	Verifier    string    // the PKCE code verifier ("" when PKCE is off)
	Nonce       string    // the OpenID Connect nonce ("" for plain OAuth2)
	RedirectURI string    // the redirect_uri sent to the provider
	Created     time.Time // when Start ran
}

// MaxPendingFlows bounds the sign-ins one session keeps pending per
// backend: a sign-in started in another tab, or a double click, adds a
// flow; past this many the oldest is dropped, so a loop of login requests
// cannot grow a session without limit.
const MaxPendingFlows = 8

// SessionKey is the session key under which backend name keeps its pending
// flows (upstream's "<name>_state"): a map from each flow's id (the SHA-256
// of its state, base64url) to the flow.
func SessionKey(name string) string { return name + "_state" }

// randomToken returns n random bytes from crypto/rand, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// flowID is the key of a flow among the pending ones: the SHA-256 of its
// state. A callback finds its flow by the hash of the state it carries, so
// no state is compared with the request's byte by byte.
func flowID(state string) string {
	h := sha256.Sum256([]byte(state))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

// storedFlow is a flow as the session keeps it (JSON, in a string: a value
// type every Strategy stores). The backend is the session key's.
type storedFlow struct {
	State       string `json:"s"`
	Verifier    string `json:"v,omitempty"`
	Nonce       string `json:"n,omitempty"`
	RedirectURI string `json:"r"`
	Created     int64  `json:"c"` // Unix nanoseconds: orders flows started within one second
}

// pendingFlows decodes the session value of a backend's pending flows;
// entries that are not flows are left out.
func pendingFlows(v any) map[string]string {
	out := map[string]string{}
	switch t := v.(type) {
	case map[string]string:
		for k, x := range t {
			out[k] = x
		}
	case map[string]any: // a session serialized as JSON gives this back
		for k, x := range t {
			if s, ok := x.(string); ok {
				out[k] = s
			}
		}
	}
	return out
}

// decodeFlow decodes one pending flow of backend; ok is false when it is
// not one.
func decodeFlow(backend, raw string) (*Flow, bool) {
	var sf storedFlow
	if json.Unmarshal([]byte(raw), &sf) != nil || sf.State == "" {
		return nil, false
	}
	return &Flow{Backend: backend, State: sf.State, Verifier: sf.Verifier, Nonce: sf.Nonce,
		RedirectURI: sf.RedirectURI, Created: time.Unix(0, sf.Created)}, true
}

func (f *Flow) encode() string {
	b, _ := json.Marshal(storedFlow{State: f.State, Verifier: f.Verifier, Nonce: f.Nonce,
		RedirectURI: f.RedirectURI, Created: f.Created.UnixNano()})
	return string(b)
}

// expired reports whether f is past the state TTL (or from the future).
func (o *OAuth2) expired(f *Flow, now time.Time) bool {
	ttl := o.cfg.StateTTL
	return ttl > 0 && (now.Sub(f.Created) > ttl || f.Created.After(now.Add(time.Minute)))
}

// keepFlow adds f to the session's pending flows of this backend, dropping
// the expired ones and, past MaxPendingFlows, the oldest.
func (o *OAuth2) keepFlow(s socialauth.Strategy, f *Flow) {
	key := SessionKey(o.cfg.Name)
	v, _ := s.SessionGet(key)
	flows := pendingFlows(v)
	now := o.now()
	type aged struct {
		id      string
		created time.Time
	}
	var kept []aged
	for id, raw := range flows {
		old, ok := decodeFlow(o.cfg.Name, raw)
		if !ok || o.expired(old, now) {
			delete(flows, id)
			continue
		}
		kept = append(kept, aged{id, old.Created})
	}
	if len(kept) >= MaxPendingFlows {
		slices.SortFunc(kept, func(a, b aged) int { return a.created.Compare(b.created) })
		for _, a := range kept[:len(kept)-MaxPendingFlows+1] {
			delete(flows, a.id)
		}
	}
	flows[flowID(f.State)] = f.encode()
	s.SessionSet(key, flows)
}

// dropFlow removes the pending flow id from the session.
func (o *OAuth2) dropFlow(s socialauth.Strategy, id string) {
	key := SessionKey(o.cfg.Name)
	v, _ := s.SessionGet(key)
	flows := pendingFlows(v)
	if _, ok := flows[id]; !ok {
		return
	}
	delete(flows, id)
	if len(flows) == 0 {
		s.SessionPop(key)
		return
	}
	s.SessionSet(key, flows)
}

// findFlow returns the pending flow whose state is requestState, with its
// id; it changes nothing.
func (o *OAuth2) findFlow(s socialauth.Strategy, requestState string) (*Flow, string, bool) {
	if requestState == "" {
		return nil, "", false
	}
	v, _ := s.SessionGet(SessionKey(o.cfg.Name))
	id := flowID(requestState)
	raw, ok := pendingFlows(v)[id]
	if !ok {
		return nil, "", false
	}
	f, ok := decodeFlow(o.cfg.Name, raw)
	if !ok || subtle.ConstantTimeCompare([]byte(f.State), []byte(requestState)) != 1 {
		return nil, "", false
	}
	return f, id, true
}

// takeFlow redeems the pending flow that requestState names, exactly once.
// A callback that names no pending flow consumes nothing, so a forged or
// stale callback cannot cancel a sign-in in progress: AuthMissingParameter
// (no state), AuthStateMissing (no flow pending in this session, or the
// flow expired), AuthStateForbidden (a state that matches none of them).
// The flow found is redeemed in UsedStates before anything else, so that
// of many deliveries of one callback (a double submit, a retrying proxy,
// two instances) only the first goes on: the others get AuthStateMissing,
// as a replayed state does.
func (o *OAuth2) takeFlow(ctx context.Context, s socialauth.Strategy, requestState string) (*Flow, error) {
	if requestState == "" {
		return nil, socialauth.MissingParameter(o.cfg.Name, "state")
	}
	f, id, ok := o.findFlow(s, requestState)
	if !ok {
		if v, _ := s.SessionGet(SessionKey(o.cfg.Name)); len(pendingFlows(v)) == 0 {
			return nil, socialauth.NewError(socialauth.CodeAuthStateMissing, o.cfg.Name, "", nil)
		}
		return nil, socialauth.NewError(socialauth.CodeAuthStateForbidden, o.cfg.Name, "", nil)
	}
	o.dropFlow(s, id)
	if o.expired(f, o.now()) {
		return nil, socialauth.NewError(socialauth.CodeAuthStateMissing, o.cfg.Name, "state expired", nil)
	}
	fresh, err := o.used.UseNonce(ctx, socialauth.Nonce{ServerURL: usedStatePrefix + o.cfg.Name, Timestamp: f.Created.Unix(), Salt: id})
	if err != nil {
		return nil, err
	}
	if !fresh {
		return nil, socialauth.NewError(socialauth.CodeAuthStateMissing, o.cfg.Name, "state already used", nil)
	}
	return f, nil
}

// usedStatePrefix starts the server_url of a redeemed flow's record in
// UsedStates (the nonce table), so it never meets an OpenID nonce.
const usedStatePrefix = "socialauth:state:"

// usedInProcess is the UsedStates of a backend configured without one: a
// record of the redeemed flows in this process, each kept for the state
// TTL. Enough for one instance; several instances share a store.
type usedInProcess struct {
	mu    sync.Mutex
	ttl   time.Duration
	now   func() time.Time
	seen  map[socialauth.Nonce]time.Time
	prune int // prune the expired records when seen reaches this size
}

func (u *usedInProcess) UseNonce(_ context.Context, n socialauth.Nonce) (bool, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := u.now()
	if _, ok := u.seen[n]; ok {
		return false, nil
	}
	if len(u.seen) >= max(u.prune, 1024) {
		for k, at := range u.seen {
			if now.Sub(at) > u.ttl+time.Minute {
				delete(u.seen, k)
			}
		}
		// Amortized: the next scan waits until the map has doubled.
		u.prune = 2 * len(u.seen)
	}
	u.seen[n] = now
	return true, nil
}
