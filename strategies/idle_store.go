package strategies

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
)

// KeepAliveInterval is how often, at most, IdleStore moves the expiry of a
// session in use: a session read less than this after its last write or
// keep-alive costs no write.
const KeepAliveInterval = time.Minute

// ExpiryKeeper is a session store that returns a session's stored expiry
// with its data and can move that expiry alone (the GORM store's
// SessionStore does), so that the idle timeout can be kept by IdleStore
// instead of by scs, which re-commits every session it loads when an idle
// timeout is set.
type ExpiryKeeper interface {
	// FindExpiryCtx is scs.CtxStore's FindCtx that also returns the stored
	// expiry.
	FindExpiryCtx(ctx context.Context, token string) (b []byte, expiry time.Time, found bool, err error)
	// TouchCtx moves an unexpired session's expiry, leaving its data alone.
	TouchCtx(ctx context.Context, token string, expiry time.Time) error
}

// IdleStore keeps a session idle timeout in the store, so that a request
// that does not change its session writes nothing: the scs manager runs
// without an IdleTimeout (it commits only modified sessions, with their
// absolute deadline) and IdleStore
//
//   - commits every session with the expiry min(deadline, now + idle);
//   - on a find, moves the expiry of the session found to
//     min(deadline, now + idle) when that gains at least KeepAliveInterval
//     (one TouchCtx, at most once a KeepAliveInterval per session).
//
// A session unused for idle therefore ends as with scs's IdleTimeout, give
// or take KeepAliveInterval; its cookie carries the absolute deadline, and
// a cookie whose session has ended starts a new, anonymous session.
// NewSessionManager installs it over a store that is an ExpiryKeeper.
type IdleStore struct {
	inner  scs.CtxStore
	keeper ExpiryKeeper
	idle   time.Duration
	now    func() time.Time
}

var (
	_ scs.Store            = (*IdleStore)(nil)
	_ scs.CtxStore         = (*IdleStore)(nil)
	_ scs.IterableStore    = (*IdleStore)(nil)
	_ scs.IterableCtxStore = (*IdleStore)(nil)
)

// NewIdleStore returns the IdleStore over inner (commits, deletes and
// listings go there) and keeper (finds and keep-alives; usually the store
// inner wraps, or inner itself) ending sessions unused for idle. now is the
// clock (nil: time.Now). The session manager using it must have no
// IdleTimeout and must encode with SessionCodec.
func NewIdleStore(inner scs.CtxStore, keeper ExpiryKeeper, idle time.Duration, now func() time.Time) *IdleStore {
	if now == nil {
		now = time.Now
	}
	return &IdleStore{inner: inner, keeper: keeper, idle: idle, now: now}
}

// idleExpiry is when a session used now, with that absolute deadline, ends.
func (s *IdleStore) idleExpiry(deadline time.Time) time.Time {
	e := s.now().Add(s.idle).UTC()
	if deadline.Before(e) {
		return deadline.UTC()
	}
	return e
}

// Find implements scs.Store.
func (s *IdleStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// FindCtx implements scs.CtxStore: the session's data, its expiry moved
// when a keep-alive is due.
func (s *IdleStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	b, expiry, found, err := s.keeper.FindExpiryCtx(ctx, token)
	if err != nil || !found {
		return nil, false, err
	}
	if err := s.keepAlive(ctx, token, b, expiry); err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// keepAlive moves the expiry of the session found under token, with data b
// and stored expiry, to min(deadline, now + idle) when that gains at least
// KeepAliveInterval.
func (s *IdleStore) keepAlive(ctx context.Context, token string, b []byte, expiry time.Time) error {
	// Most finds stop here: the expiry cannot move by KeepAliveInterval.
	if s.now().Add(s.idle).Sub(expiry) < KeepAliveInterval {
		return nil
	}
	deadline, _, err := SessionCodec{}.Decode(b)
	if err != nil {
		return err
	}
	if want := s.idleExpiry(deadline); want.Sub(expiry) >= KeepAliveInterval {
		return s.keeper.TouchCtx(ctx, token, want)
	}
	return nil
}

// Commit implements scs.Store.
func (s *IdleStore) Commit(token string, b []byte, deadline time.Time) error {
	return s.CommitCtx(context.Background(), token, b, deadline)
}

// CommitCtx implements scs.CtxStore: the session is stored with the
// expiry min(deadline, now + idle).
func (s *IdleStore) CommitCtx(ctx context.Context, token string, b []byte, deadline time.Time) error {
	return s.inner.CommitCtx(ctx, token, b, s.idleExpiry(deadline))
}

// Delete implements scs.Store.
func (s *IdleStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// DeleteCtx implements scs.CtxStore.
func (s *IdleStore) DeleteCtx(ctx context.Context, token string) error {
	return s.inner.DeleteCtx(ctx, token)
}

// All implements scs.IterableStore when the inner store does (else it
// returns no session).
func (s *IdleStore) All() (map[string][]byte, error) { return s.AllCtx(context.Background()) }

// AllCtx implements scs.IterableCtxStore when the inner store does.
func (s *IdleStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	return allOf(ctx, s.inner)
}

// allOf lists the sessions of a wrapped store when it is iterable, and
// none otherwise (the wrappers' All and AllCtx).
func allOf(ctx context.Context, inner any) (map[string][]byte, error) {
	switch in := inner.(type) {
	case scs.IterableCtxStore:
		return in.AllCtx(ctx)
	case scs.IterableStore:
		return in.All()
	}
	return map[string][]byte{}, nil
}
