package storage

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
	"gorm.io/gorm/clause"
)

// SessionStore is an scs session store (scs.Store, scs.CtxStore,
// scs.IterableStore, scs.IterableCtxStore) over the sessions table: token
// primary key, data blob, expiry (indexed). Expired rows are never returned
// and are deleted by Store.Cleanup.
type SessionStore struct {
	s *Store
}

var (
	_ scs.Store            = (*SessionStore)(nil)
	_ scs.CtxStore         = (*SessionStore)(nil)
	_ scs.IterableStore    = (*SessionStore)(nil)
	_ scs.IterableCtxStore = (*SessionStore)(nil)
)

// SessionStore returns the scs store backed by this database.
func (s *Store) SessionStore() *SessionStore { return &SessionStore{s: s} }

// Find returns the data of an unexpired session.
func (ss *SessionStore) Find(token string) ([]byte, bool, error) {
	return ss.FindCtx(context.Background(), token)
}

// FindCtx returns the data of an unexpired session.
func (ss *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	var rows []sessionRow
	err := ss.s.q(ctx).Where("token = ? AND expiry > ?", token, ss.s.nowUTC()).Limit(1).Find(&rows).Error
	if err != nil {
		return nil, false, ss.s.wrap("find session", err)
	}
	if len(rows) == 0 || rows[0].Token != token {
		return nil, false, nil
	}
	return rows[0].Data, true, nil
}

// Commit inserts or replaces a session.
func (ss *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx inserts or replaces a session.
func (ss *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if token == "" {
		return missing("session token")
	}
	if b == nil {
		b = []byte{}
	}
	row := sessionRow{Token: token, Data: b, Expiry: expiry.UTC().Truncate(time.Microsecond)}
	err := ss.s.q(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "token"}},
		DoUpdates: clause.AssignmentColumns([]string{"data", "expiry"}),
	}).Create(&row).Error
	return ss.s.wrap("commit session", err)
}

// Delete removes a session; a missing one is not an error.
func (ss *SessionStore) Delete(token string) error {
	return ss.DeleteCtx(context.Background(), token)
}

// DeleteCtx removes a session; a missing one is not an error.
func (ss *SessionStore) DeleteCtx(ctx context.Context, token string) error {
	if token == "" {
		return nil
	}
	return ss.s.wrap("delete session", ss.s.q(ctx).Where("token = ?", token).Delete(&sessionRow{}).Error)
}

// All returns every unexpired session.
func (ss *SessionStore) All() (map[string][]byte, error) { return ss.AllCtx(context.Background()) }

// AllCtx returns every unexpired session.
func (ss *SessionStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	var rows []sessionRow
	if err := ss.s.q(ctx).Where("expiry > ?", ss.s.nowUTC()).Find(&rows).Error; err != nil {
		return nil, ss.s.wrap("all sessions", err)
	}
	out := make(map[string][]byte, len(rows))
	for _, r := range rows {
		out[r.Token] = r.Data
	}
	return out, nil
}
