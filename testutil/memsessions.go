package testutil

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sort"
	"sync"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
)

// memSessions are the MemStore's web sessions (its scs store), kept apart
// from the records: a session write is not part of a Transaction.
type memSessions struct {
	mu   sync.Mutex
	rows map[string]*memSession
}

type memSession struct {
	data              []byte
	expiry            time.Time
	owner             socialauth.SessionOwner
	created, lastSeen time.Time
}

var _ socialauth.SessionStorage = (*MemStore)(nil)

// MemSessionStore is the MemStore's scs session store (scs.CtxStore and
// IterableCtxStore) that records the owner of signed-in sessions
// (strategies.OwnerCommitter), as the GORM store's: give it to
// strategies.NewSessionManager to test the Sessions API without a database.
type MemSessionStore struct{ s *memSessions }

var (
	_ scs.CtxStore         = MemSessionStore{}
	_ scs.IterableCtxStore = MemSessionStore{}
)

// SessionStore returns the store's scs session store.
func (s *MemStore) SessionStore() MemSessionStore { return MemSessionStore{s: &s.shared.sessions} }

// memSessionID is SessionInfo.ID of a token, as storage.SessionID.
func memSessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

func (m *memSessions) lock() func() {
	m.mu.Lock()
	if m.rows == nil {
		m.rows = map[string]*memSession{}
	}
	return m.mu.Unlock
}

// Find implements scs.Store.
func (ms MemSessionStore) Find(token string) ([]byte, bool, error) {
	return ms.FindCtx(context.Background(), token)
}

// Commit implements scs.Store.
func (ms MemSessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return ms.CommitCtx(context.Background(), token, b, expiry)
}

// Delete implements scs.Store.
func (ms MemSessionStore) Delete(token string) error {
	return ms.DeleteCtx(context.Background(), token)
}

// All implements scs.IterableStore.
func (ms MemSessionStore) All() (map[string][]byte, error) { return ms.AllCtx(context.Background()) }

// FindCtx returns an unexpired session's data.
func (ms MemSessionStore) FindCtx(_ context.Context, token string) ([]byte, bool, error) {
	defer ms.s.lock()()
	r, ok := ms.s.rows[token]
	if !ok || !r.expiry.After(time.Now()) {
		return nil, false, nil
	}
	return append([]byte{}, r.data...), true, nil
}

// CommitCtx stores an anonymous session (its owner is forgotten).
func (ms MemSessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	return ms.CommitOwnerCtx(ctx, token, b, expiry, socialauth.SessionOwner{})
}

// CommitOwnerCtx stores a session and its owner.
func (ms MemSessionStore) CommitOwnerCtx(_ context.Context, token string, b []byte, expiry time.Time, owner socialauth.SessionOwner) error {
	defer ms.s.lock()()
	now := time.Now()
	r, ok := ms.s.rows[token]
	if !ok {
		r = &memSession{created: now}
		ms.s.rows[token] = r
	}
	r.data, r.expiry, r.owner, r.lastSeen = append([]byte{}, b...), expiry, owner, now
	return nil
}

// DeleteCtx removes a session.
func (ms MemSessionStore) DeleteCtx(_ context.Context, token string) error {
	defer ms.s.lock()()
	delete(ms.s.rows, token)
	return nil
}

// AllCtx returns every unexpired session.
func (ms MemSessionStore) AllCtx(context.Context) (map[string][]byte, error) {
	defer ms.s.lock()()
	out := map[string][]byte{}
	now := time.Now()
	for tok, r := range ms.s.rows {
		if r.expiry.After(now) {
			out[tok] = append([]byte{}, r.data...)
		}
	}
	return out, nil
}

// SessionsOfUser lists the user's unexpired sessions, oldest first.
func (s *MemStore) SessionsOfUser(ctx context.Context, userID string) ([]socialauth.SessionInfo, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := &s.shared.sessions
	defer m.lock()()
	var out []socialauth.SessionInfo
	now := time.Now()
	for tok, r := range m.rows {
		if userID != "" && r.owner.UserID == userID && r.expiry.After(now) {
			out = append(out, socialauth.SessionInfo{ID: memSessionID(tok), UserID: userID, Backend: r.owner.Backend,
				SID: r.owner.SID, Created: r.created, LastSeen: r.lastSeen, Expiry: r.expiry})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Created.Equal(out[j].Created) {
			return out[i].Created.Before(out[j].Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// deleteWhere removes the sessions match selects.
func (s *MemStore) deleteWhere(ctx context.Context, match func(tok string, o socialauth.SessionOwner) bool) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	m := &s.shared.sessions
	defer m.lock()()
	var n int64
	for tok, r := range m.rows {
		if match(tok, r.owner) {
			delete(m.rows, tok)
			n++
		}
	}
	return n, nil
}

// DeleteSessionsOfUser ends every session of the user.
func (s *MemStore) DeleteSessionsOfUser(ctx context.Context, userID string) (int64, error) {
	return s.deleteWhere(ctx, func(_ string, o socialauth.SessionOwner) bool {
		return userID != "" && o.UserID == userID
	})
}

// DeleteSessionsBySID ends backend's sessions of provider session sid.
func (s *MemStore) DeleteSessionsBySID(ctx context.Context, backend, sid string) (int64, error) {
	return s.deleteWhere(ctx, func(_ string, o socialauth.SessionOwner) bool {
		return backend != "" && sid != "" && o.UserID != "" && o.Backend == backend && o.SID == sid
	})
}

// DeleteSessionsOfBackendUser ends the user's sessions of backend.
func (s *MemStore) DeleteSessionsOfBackendUser(ctx context.Context, backend, userID string) (int64, error) {
	return s.deleteWhere(ctx, func(_ string, o socialauth.SessionOwner) bool {
		return backend != "" && userID != "" && o.Backend == backend && o.UserID == userID
	})
}

// DeleteSession ends the user's session whose SessionInfo.ID is id.
func (s *MemStore) DeleteSession(ctx context.Context, userID, id string) (bool, error) {
	n, err := s.deleteWhere(ctx, func(tok string, o socialauth.SessionOwner) bool {
		return userID != "" && o.UserID == userID && memSessionID(tok) == id
	})
	return n > 0, err
}
