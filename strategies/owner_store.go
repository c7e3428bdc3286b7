package strategies

import (
	"bytes"
	"context"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
)

// OwnerCommitter is a session store that records who each session belongs
// to (the GORM store's SessionStore does), so that sessions can be listed
// and ended per user or per provider session (socialauth.SessionStorage).
type OwnerCommitter interface {
	scs.CtxStore
	// CommitOwnerCtx is CommitCtx for a signed-in session: it stores the
	// session and records its owner.
	CommitOwnerCtx(ctx context.Context, token string, b []byte, expiry time.Time, owner socialauth.SessionOwner) error
}

// OwnerStore wraps an OwnerCommitter for scs: a commit of a session whose
// data holds a signed-in user (socialauth.SessionUserID, encoded by
// SessionCodec) goes to CommitOwnerCtx with the user id, the backend and
// the provider's session id the data holds; any other commit to CommitCtx.
// NewSessionManager installs it when its store is an OwnerCommitter.
type OwnerStore struct {
	inner OwnerCommitter
}

var (
	_ scs.Store            = OwnerStore{}
	_ scs.CtxStore         = OwnerStore{}
	_ scs.IterableStore    = OwnerStore{}
	_ scs.IterableCtxStore = OwnerStore{}
)

// NewOwnerStore returns the wrapper of inner.
func NewOwnerStore(inner OwnerCommitter) OwnerStore { return OwnerStore{inner: inner} }

// sessionOwner reads the owner from data encoded by SessionCodec; ok is
// false for an anonymous session (the common case is decided without
// decoding: the key is absent from the bytes).
func sessionOwner(data []byte) (socialauth.SessionOwner, bool) {
	if !bytes.Contains(data, []byte(socialauth.SessionUserID)) {
		return socialauth.SessionOwner{}, false
	}
	_, values, err := SessionCodec{}.Decode(data)
	if err != nil {
		return socialauth.SessionOwner{}, false
	}
	str := func(k string) string { s, _ := values[k].(string); return s }
	o := socialauth.SessionOwner{
		UserID:  str(socialauth.SessionUserID),
		Backend: str(socialauth.SessionUserBackend),
		SID:     str(socialauth.SessionProviderSID),
	}
	return o, o.UserID != ""
}

// Find implements scs.Store.
func (o OwnerStore) Find(token string) ([]byte, bool, error) {
	return o.inner.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (o OwnerStore) Commit(token string, b []byte, expiry time.Time) error {
	return o.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (o OwnerStore) Delete(token string) error {
	return o.inner.DeleteCtx(context.Background(), token)
}

// FindCtx implements scs.CtxStore.
func (o OwnerStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	return o.inner.FindCtx(ctx, token)
}

// CommitCtx implements scs.CtxStore, recording the owner of a signed-in
// session.
func (o OwnerStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if owner, ok := sessionOwner(b); ok {
		return o.inner.CommitOwnerCtx(ctx, token, b, expiry, owner)
	}
	return o.inner.CommitCtx(ctx, token, b, expiry)
}

// DeleteCtx implements scs.CtxStore.
func (o OwnerStore) DeleteCtx(ctx context.Context, token string) error {
	return o.inner.DeleteCtx(ctx, token)
}

// All implements scs.IterableStore when the inner store does (else it
// returns no session).
func (o OwnerStore) All() (map[string][]byte, error) { return o.AllCtx(context.Background()) }

// AllCtx implements scs.IterableCtxStore when the inner store does.
func (o OwnerStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	return allOf(ctx, o.inner)
}
