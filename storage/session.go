package storage

import (
	"context"
	"time"

	"github.com/alexedwards/scs/v2"
)

// SessionStore is an scs session store (scs.Store, scs.CtxStore,
// scs.IterableStore, scs.IterableCtxStore) over the sessions table: token
// primary key, data blob, expiry (indexed). Expired rows are never returned
// and are deleted by Store.Cleanup.
//
// Every method is one plain statement. A session-id rotation at login
// (scs's RenewToken) is a DeleteCtx of the old token when it is asked for and
// a CommitCtx of the new one at the end of the request: two statements.
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

// FindCtx returns the data of an unexpired session. It runs on every
// request that carries a session cookie, so it is one plain statement
// (no ORM reflection).
func (ss *SessionStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if token == "" {
		return nil, false, nil
	}
	s := ss.s
	query := "SELECT " + s.qi("token") + ", " + s.qi("data") + " FROM " + s.qi(TableSessions) +
		" WHERE " + s.qi("token") + " = ? AND " + s.qi("expiry") + " > ?"
	rows, err := s.q(ctx).Raw(query, token, s.nowUTC()).Rows()
	if err != nil {
		return nil, false, s.wrap("find session", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			got  string
			data []byte
		)
		if err := rows.Scan(&got, &data); err != nil {
			return nil, false, s.wrap("find session", err)
		}
		if got == token {
			if data == nil {
				data = []byte{}
			}
			return data, true, nil
		}
	}
	return nil, false, s.wrap("find session", rows.Err())
}

// Commit inserts or replaces a session.
func (ss *SessionStore) Commit(token string, b []byte, expiry time.Time) error {
	return ss.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx inserts or replaces a session (one upsert statement).
func (ss *SessionStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if token == "" {
		return missing("session token")
	}
	if b == nil {
		b = []byte{}
	}
	s := ss.s
	tok, data, exp := s.qi("token"), s.qi("data"), s.qi("expiry")
	stmt := "INSERT INTO " + s.qi(TableSessions) + " (" + tok + ", " + data + ", " + exp + ") VALUES (?, ?, ?) "
	if s.dialect == MySQL {
		stmt += "ON DUPLICATE KEY UPDATE " + data + " = VALUES(" + data + "), " + exp + " = VALUES(" + exp + ")"
	} else {
		stmt += "ON CONFLICT (" + tok + ") DO UPDATE SET " + data + " = excluded." + data + ", " + exp + " = excluded." + exp
	}
	err := s.q(ctx).Exec(stmt, token, b, expiry.UTC().Truncate(time.Microsecond)).Error
	return s.wrap("commit session", err)
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
	s := ss.s
	stmt := "DELETE FROM " + s.qi(TableSessions) + " WHERE " + s.qi("token") + " = ?"
	return s.wrap("delete session", s.q(ctx).Exec(stmt, token).Error)
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
