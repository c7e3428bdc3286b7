package testutil

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"sync"

	"github.com/socialauth-go/socialauth"
)

// Defaults of a zero FakeBackend.
const (
	DefaultFakeName         = "fake"
	DefaultFakeIDKey        = "id"
	DefaultFakeAuthorizeURL = "https://provider.test/authorize"
)

// FakeBackend is a socialauth.Backend whose Complete returns a canned
// provider response, for pipeline and action tests. Set its fields before
// use and do not change them while it is in use; its methods are safe for
// concurrent use. It also implements AuthAllower, Refresher, Revoker and
// LogoutURLer, recording the calls.
type FakeBackend struct {
	// BackendName is Name(); "" means DefaultFakeName.
	BackendName string
	// IDKey is the key holding the uid in details or response ("" → "id").
	IDKey string
	// Response is what Complete returns (a copy).
	Response map[string]any
	// CompleteErr, when set, is returned by Complete instead.
	CompleteErr error
	// DetailsMapping maps detail names to response keys. nil maps
	// username, email, fullname, first_name and last_name to themselves.
	// Only string values are copied.
	DetailsMapping map[string]string
	// ExtraDataKeys are copied into ExtraData: response[key], else
	// details[key], when present.
	ExtraDataKeys []string
	// Extra is added to every ExtraData result.
	Extra map[string]any
	// Allow decides AuthAllowed; nil allows everyone.
	Allow func(response map[string]any, details socialauth.Details) bool
	// AuthorizeURL is where Start redirects ("" → DefaultFakeAuthorizeURL).
	AuthorizeURL string
	// RefreshResponse and RefreshErr are Refresh's answer.
	RefreshResponse map[string]any
	RefreshErr      error
	// RevokeErr is Revoke's answer.
	RevokeErr error
	// Logout is LogoutURL's answer.
	Logout string

	mu    sync.Mutex
	calls FakeCalls
}

// FakeCalls counts a FakeBackend's calls.
type FakeCalls struct {
	Start, Complete, Refresh int
	Revoked                  []RevokeCall
}

// RevokeCall is one call of FakeBackend.Revoke.
type RevokeCall struct{ Token, UID string }

var (
	_ socialauth.Backend     = (*FakeBackend)(nil)
	_ socialauth.AuthAllower = (*FakeBackend)(nil)
	_ socialauth.Refresher   = (*FakeBackend)(nil)
	_ socialauth.Revoker     = (*FakeBackend)(nil)
	_ socialauth.LogoutURLer = (*FakeBackend)(nil)

	_ socialauth.CallbackDetector = (*FakeBackend)(nil)
)

// Calls returns a copy of the recorded calls.
func (b *FakeBackend) Calls() FakeCalls {
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.calls
	c.Revoked = append([]RevokeCall(nil), b.calls.Revoked...)
	return c
}

// Name returns BackendName or "fake".
func (b *FakeBackend) Name() string {
	if b.BackendName == "" {
		return DefaultFakeName
	}
	return b.BackendName
}

func (b *FakeBackend) idKey() string {
	if b.IDKey == "" {
		return DefaultFakeIDKey
	}
	return b.IDKey
}

// Start stores a random state in the session under "<name>_state" and
// redirects to AuthorizeURL with it.
func (b *FakeBackend) Start(ctx context.Context, s socialauth.Strategy) (*socialauth.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.calls.Start++
	b.mu.Unlock()
	state := socialauth.RandomString(32)
	s.SessionSet(b.Name()+"_state", state)
	u := b.AuthorizeURL
	if u == "" {
		u = DefaultFakeAuthorizeURL
	}
	return socialauth.Redirect(u + "?" + url.Values{"state": {state}}.Encode()), nil
}

// IsCallback reports whether data carries a state, as the OAuth2 bases do.
func (b *FakeBackend) IsCallback(data url.Values) bool { return data.Get("state") != "" }

// Complete returns a copy of Response, or CompleteErr.
func (b *FakeBackend) Complete(ctx context.Context, _ socialauth.Strategy) (map[string]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.calls.Complete++
	b.mu.Unlock()
	if b.CompleteErr != nil {
		return nil, b.CompleteErr
	}
	r := deepCopyMap(b.Response)
	if r == nil {
		r = map[string]any{}
	}
	return r, nil
}

// UserDetails maps the response through DetailsMapping.
func (b *FakeBackend) UserDetails(response map[string]any) socialauth.Details {
	m := b.DetailsMapping
	if m == nil {
		m = map[string]string{"username": "username", "email": "email", "fullname": "fullname",
			"first_name": "first_name", "last_name": "last_name"}
	}
	d := socialauth.Details{}
	for detail, key := range m {
		if s, ok := response[key].(string); ok {
			d[detail] = s
		}
	}
	return d
}

// UserID is upstream's get_user_id: details[IDKey] when truthy, else
// response[IDKey], as text ("" when absent or null).
func (b *FakeBackend) UserID(details socialauth.Details, response map[string]any) (string, error) {
	k := b.idKey()
	if v := details[k]; truthy(v) {
		return pyStr(v), nil
	}
	return pyStr(response[k]), nil
}

// ExtraData copies ExtraDataKeys from the response (else details) and adds
// Extra. Unlike upstream it adds no auth_time, so results are reproducible.
func (b *FakeBackend) ExtraData(_ *socialauth.User, _ string, response map[string]any, details socialauth.Details) map[string]any {
	out := map[string]any{}
	for _, k := range b.ExtraDataKeys {
		if v, ok := response[k]; ok {
			out[k] = deepCopy(v)
		} else if v, ok := details[k]; ok {
			out[k] = deepCopy(v)
		}
	}
	for k, v := range b.Extra {
		out[k] = deepCopy(v)
	}
	return out
}

// AuthAllowed calls Allow (nil allows).
func (b *FakeBackend) AuthAllowed(response map[string]any, details socialauth.Details) bool {
	return b.Allow == nil || b.Allow(response, details)
}

// Refresh returns RefreshResponse or RefreshErr.
func (b *FakeBackend) Refresh(ctx context.Context, _ string) (map[string]any, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	b.calls.Refresh++
	b.mu.Unlock()
	if b.RefreshErr != nil {
		return nil, b.RefreshErr
	}
	return deepCopyMap(b.RefreshResponse), nil
}

// Revoke records the call and returns RevokeErr.
func (b *FakeBackend) Revoke(ctx context.Context, token, uid string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	b.calls.Revoked = append(b.calls.Revoked, RevokeCall{Token: token, UID: uid})
	b.mu.Unlock()
	return b.RevokeErr
}

// LogoutURL returns Logout.
func (b *FakeBackend) LogoutURL(ctx context.Context, _ socialauth.Strategy) (string, error) {
	return b.Logout, ctx.Err()
}

// pyStr formats a JSON-decoded value as Python's str() would for the uid
// (integral floats as integers, as the provider sent them): nil gives "".
func pyStr(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "True"
		}
		return "False"
	case json.Number:
		return x.String()
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return pyStr(float64(x))
	}
	return fmt.Sprint(v)
}

// truthy is Python truthiness for JSON-like values.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case float64:
		return x != 0
	case int:
		return x != 0
	case int64:
		return x != 0
	case json.Number:
		return x.String() != "0"
	case map[string]any:
		return len(x) > 0
	case []any:
		return len(x) > 0
	}
	return true
}
