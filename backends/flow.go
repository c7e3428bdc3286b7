package backends

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"strconv"
	"time"

	"github.com/socialauth-go/socialauth"
)

// DefaultStateTTL bounds the time between Start and the callback
// (OAuth2Config.StateTTL, setting STATE_TTL).
const DefaultStateTTL = 10 * time.Minute

// Flow is what Start keeps in the session for the callback to check: it binds
// the callback to this session and to the backend that started it. It holds
// secrets (the PKCE verifier, the nonce); never log it.
type Flow struct {
	Backend     string    // the backend that started the flow
	State       string    // the state parameter (32 random bytes, base64url)
	Verifier    string    // the PKCE code verifier ("" when PKCE is off)
	Nonce       string    // the OpenID Connect nonce ("" for plain OAuth2)
	RedirectURI string    // the redirect_uri sent to the provider
	Created     time.Time // when Start ran
}

// SessionKey is the session key under which backend name keeps its Flow
// (upstream's "<name>_state").
func SessionKey(name string) string { return name + "_state" }

// randomToken returns n random bytes from crypto/rand, base64url encoded.
func randomToken(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// toSession encodes the flow as a session value (map[string]string, one of
// the value types every Strategy stores).
func (f *Flow) toSession() map[string]string {
	return map[string]string{
		"backend":      f.Backend,
		"state":        f.State,
		"verifier":     f.Verifier,
		"nonce":        f.Nonce,
		"redirect_uri": f.RedirectURI,
		"created":      strconv.FormatInt(f.Created.Unix(), 10),
	}
}

// flowFromSession decodes a session value; ok is false when it is not a flow.
func flowFromSession(v any) (*Flow, bool) {
	var m map[string]string
	switch t := v.(type) {
	case map[string]string:
		m = t
	case map[string]any: // a session serialized as JSON gives this back
		m = make(map[string]string, len(t))
		for k, x := range t {
			s, ok := x.(string)
			if !ok {
				return nil, false
			}
			m[k] = s
		}
	default:
		return nil, false
	}
	created, err := strconv.ParseInt(m["created"], 10, 64)
	if err != nil || m["state"] == "" || m["backend"] == "" {
		return nil, false
	}
	return &Flow{
		Backend:     m["backend"],
		State:       m["state"],
		Verifier:    m["verifier"],
		Nonce:       m["nonce"],
		RedirectURI: m["redirect_uri"],
		Created:     time.Unix(created, 0),
	}, true
}

// takeFlow removes this backend's flow from the session (single use: the
// callback consumes it whatever happens next) and checks the callback's state
// against it, in the upstream order: AuthMissingParameter (no state in the
// callback), AuthStateMissing (none in the session, or expired),
// AuthStateForbidden (mismatch, or a flow started by another backend).
func (o *OAuth2) takeFlow(s socialauth.Strategy, requestState string) (*Flow, error) {
	ttl := o.cfg.StateTTL
	v, had := s.SessionPop(SessionKey(o.cfg.Name))
	if requestState == "" {
		return nil, socialauth.MissingParameter(o.cfg.Name, "state")
	}
	if !had {
		return nil, socialauth.NewError(socialauth.CodeAuthStateMissing, o.cfg.Name, "", nil)
	}
	f, ok := flowFromSession(v)
	if !ok {
		return nil, socialauth.NewError(socialauth.CodeAuthStateMissing, o.cfg.Name, "malformed session state", nil)
	}
	now := o.now()
	if ttl > 0 && (now.Sub(f.Created) > ttl || f.Created.After(now.Add(time.Minute))) {
		return nil, socialauth.NewError(socialauth.CodeAuthStateMissing, o.cfg.Name, "state expired", nil)
	}
	// Compare both the state and the backend without short-circuiting.
	same := subtle.ConstantTimeCompare([]byte(f.State), []byte(requestState))
	same &= subtle.ConstantTimeCompare([]byte(f.Backend), []byte(o.cfg.Name))
	if same != 1 {
		return nil, socialauth.NewError(socialauth.CodeAuthStateForbidden, o.cfg.Name, "", nil)
	}
	return f, nil
}
