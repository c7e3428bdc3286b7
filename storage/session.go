package storage

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
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
	b, _, found, err := ss.FindExpiryCtx(ctx, token)
	return b, found, err
}

// FindExpiryCtx is FindCtx that also returns the session's stored expiry,
// in the same statement: the keep-alive of an idle timeout kept outside scs
// (strategies.IdleStore) decides from it whether to call TouchCtx.
func (ss *SessionStore) FindExpiryCtx(ctx context.Context, token string) ([]byte, time.Time, bool, error) {
	if token == "" {
		return nil, time.Time{}, false, nil
	}
	s := ss.s
	query := "SELECT " + s.qi("token") + ", " + s.qi("data") + ", " + s.qi("expiry") + " FROM " + s.qi(TableSessions) +
		" WHERE " + s.qi("token") + " = ? AND " + s.qi("expiry") + " > ?"
	rows, err := s.q(ctx).Raw(query, token, s.nowUTC()).Rows()
	if err != nil {
		return nil, time.Time{}, false, s.wrap("find session", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			got    string
			data   []byte
			expiry time.Time
		)
		if err := rows.Scan(&got, &data, &expiry); err != nil {
			return nil, time.Time{}, false, s.wrap("find session", err)
		}
		if got == token {
			if data == nil {
				data = []byte{}
			}
			return data, expiry.UTC(), true, nil
		}
	}
	return nil, time.Time{}, false, s.wrap("find session", rows.Err())
}

// FindSignedInCtx returns an unexpired session with the active user it is
// signed in to (its recorded owner, see CommitOwnerCtx) and that user's
// associations ordered by id, in one statement: the session row LEFT JOINed
// with the user table and the association table. It implements
// strategies.SignedInFinder, so a page that shows the signed-in user reads
// the session and the user together (views.Views.SignedInUser). A session
// with no owner, or whose owner is gone or inactive, is found with a nil
// User.
func (ss *SessionStore) FindSignedInCtx(ctx context.Context, token string) (socialauth.SignedInSession, bool, error) {
	const op = "find signed-in session"
	if token == "" {
		return socialauth.SignedInSession{}, false, nil
	}
	s := ss.s
	a := s.users
	ucols, _ := s.userSelect("u")
	var args []any
	on := "u." + s.qi(a.Columns.ID) + " = " + s.sessionOwnerKey("s."+s.qi("user_id"))
	if a.Columns.IsActive != "" {
		on += " AND u." + s.qi(a.Columns.IsActive) + " = ?"
		args = append(args, true)
	}
	query := "SELECT s." + s.qi("token") + ", s." + s.qi("data") + ", s." + s.qi("expiry") + ", s." + s.qi("user_id") + ", " +
		ucols + ", " + s.socialCols("sa") +
		" FROM " + s.qi(TableSessions) + " s LEFT JOIN " + s.qi(a.Table) + " u ON " + on +
		" LEFT JOIN " + s.qi(TableSocialAuth) + " sa ON sa." + s.qi("user_id") + " = u." + s.qi(a.Columns.ID) +
		" WHERE s." + s.qi("token") + " = ? AND s." + s.qi("expiry") + " > ? ORDER BY sa." + s.qi("id")
	args = append(args, token, s.nowUTC())
	rows, err := s.q(ctx).Raw(query, args...).Rows()
	if err != nil {
		return socialauth.SignedInSession{}, false, s.wrap(op, err)
	}
	defer rows.Close()
	var (
		got, owner string
		data       []byte
		expiry     time.Time
	)
	user, socials, err := s.scanUserWithSocials(op, rows, []any{&got, &data, &expiry, &owner}, func() string { return owner })
	if err != nil {
		return socialauth.SignedInSession{}, false, err
	}
	if got != token {
		return socialauth.SignedInSession{}, false, nil
	}
	if data == nil {
		data = []byte{}
	}
	out := socialauth.SignedInSession{Data: data, Expiry: expiry.UTC(), Owner: owner, User: user}
	if user != nil {
		out.Socials = socials
	}
	return out, true, nil
}

// sessionOwnerKey is col, the sessions table's text user_id, as the user
// table's id type ("" as NULL): the join on it then uses the user table's
// primary key.
func (s *Store) sessionOwnerKey(col string) string {
	owner := "NULLIF(" + col + ", '')"
	a := s.users
	switch {
	case !a.StringIDs && s.dialect == Postgres:
		return "CAST(" + owner + " AS bigint)"
	case !a.StringIDs && s.dialect == MySQL:
		return "CAST(" + owner + " AS SIGNED)"
	case !a.StringIDs:
		return "CAST(" + owner + " AS INTEGER)"
	case s.dialect == Postgres && a.IDType != "":
		// A uuid key, say: text compares with it only once cast.
		return "CAST(" + owner + " AS " + a.IDType + ")"
	}
	return owner
}

// TouchCtx moves an unexpired session's expiry and records it as seen now,
// leaving its data alone (one UPDATE): the keep-alive of an idle timeout.
// A session that has expired or ended meanwhile stays gone.
func (ss *SessionStore) TouchCtx(ctx context.Context, token string, expiry time.Time) error {
	if token == "" {
		return missing("session token")
	}
	s := ss.s
	now := s.nowUTC()
	stmt := "UPDATE " + s.qi(TableSessions) + " SET " + s.qi("expiry") + " = ?, " + s.qi("last_seen") + " = ? WHERE " +
		s.qi("token") + " = ? AND " + s.qi("expiry") + " > ?"
	err := s.q(ctx).Exec(stmt, expiry.UTC().Truncate(time.Microsecond), now, token, now).Error
	return s.wrap("touch session", err)
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

var _ socialauth.SessionStorage = (*Store)(nil)

// CommitOwnerCtx inserts or replaces a signed-in session and records its
// owner (one upsert statement). The net/http strategy's session manager
// calls it instead of CommitCtx for a session that holds a user id (see
// strategies.OwnerStore), so the user_id and (backend, sid) indexes are
// written when a user signs in, not for anonymous sessions. created is set
// when the row is first inserted (at sign-in, since the session id rotates
// then); last_seen at every commit.
func (ss *SessionStore) CommitOwnerCtx(ctx context.Context, token string, b []byte, expiry time.Time, owner socialauth.SessionOwner) error {
	if token == "" {
		return missing("session token")
	}
	if owner.UserID == "" {
		return ss.CommitCtx(ctx, token, b, expiry)
	}
	if b == nil {
		b = []byte{}
	}
	s := ss.s
	now := s.nowUTC()
	cols := []string{"token", "data", "expiry", "user_id", "backend", "sid", "created", "last_seen"}
	quoted := make([]string, len(cols))
	for i, c := range cols {
		quoted[i] = s.qi(c)
	}
	stmt := "INSERT INTO " + s.qi(TableSessions) + " (" + strings.Join(quoted, ", ") + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
	var sets []string
	for _, c := range quoted[1:] {
		if c == s.qi("created") {
			continue
		}
		if s.dialect == MySQL {
			sets = append(sets, c+" = VALUES("+c+")")
		} else {
			sets = append(sets, c+" = excluded."+c)
		}
	}
	if s.dialect == MySQL {
		stmt += "ON DUPLICATE KEY UPDATE " + strings.Join(sets, ", ")
	} else {
		stmt += "ON CONFLICT (" + quoted[0] + ") DO UPDATE SET " + strings.Join(sets, ", ")
	}
	err := s.q(ctx).Exec(stmt, token, b, expiry.UTC().Truncate(time.Microsecond),
		owner.UserID, owner.Backend, owner.SID, now, now).Error
	return s.wrap("commit session", err)
}

// SessionID is the public id of the session with that token (SessionInfo.ID):
// a digest, so that listing sessions never shows a cookie value.
func SessionID(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:16])
}

// SessionsOfUser lists the user's unexpired sessions, oldest first.
func (s *Store) SessionsOfUser(ctx context.Context, userID string) ([]socialauth.SessionInfo, error) {
	if userID == "" {
		return nil, nil
	}
	var rows []sessionRow
	err := s.q(ctx).Select("token", "expiry", "user_id", "backend", "sid", "created", "last_seen").
		Where(s.qi("user_id")+" = ? AND "+s.qi("expiry")+" > ?", userID, s.nowUTC()).
		Order(s.qi("created")).Order(s.qi("token")).Find(&rows).Error
	if err != nil {
		return nil, s.wrap("list sessions", err)
	}
	out := make([]socialauth.SessionInfo, 0, len(rows))
	for _, r := range rows {
		info := socialauth.SessionInfo{ID: SessionID(r.Token), UserID: r.UserID, Backend: r.Backend, SID: r.SID, Expiry: r.Expiry}
		if r.Created != nil {
			info.Created = *r.Created
		}
		if r.LastSeen != nil {
			info.LastSeen = *r.LastSeen
		}
		out = append(out, info)
	}
	return out, nil
}

// DeleteSessionsOfUser ends every session of the user.
func (s *Store) DeleteSessionsOfUser(ctx context.Context, userID string) (int64, error) {
	if userID == "" {
		return 0, nil
	}
	res := s.q(ctx).Where(s.qi("user_id")+" = ?", userID).Delete(&sessionRow{})
	return res.RowsAffected, s.wrap("end sessions", res.Error)
}

// DeleteSessionsBySID ends the sessions of backend's provider session sid.
func (s *Store) DeleteSessionsBySID(ctx context.Context, backend, sid string) (int64, error) {
	if backend == "" || sid == "" {
		return 0, nil
	}
	res := s.q(ctx).Where(s.qi("backend")+" = ? AND "+s.qi("sid")+" = ?", backend, sid).Delete(&sessionRow{})
	return res.RowsAffected, s.wrap("end sessions", res.Error)
}

// DeleteSessionsOfBackendUser ends the user's sessions signed in through
// backend.
func (s *Store) DeleteSessionsOfBackendUser(ctx context.Context, backend, userID string) (int64, error) {
	if backend == "" || userID == "" {
		return 0, nil
	}
	res := s.q(ctx).Where(s.qi("user_id")+" = ? AND "+s.qi("backend")+" = ?", userID, backend).Delete(&sessionRow{})
	return res.RowsAffected, s.wrap("end sessions", res.Error)
}

// DeleteSession ends the user's session whose public id is id.
func (s *Store) DeleteSession(ctx context.Context, userID, id string) (bool, error) {
	if userID == "" || id == "" {
		return false, nil
	}
	var tokens []string
	if err := s.q(ctx).Model(&sessionRow{}).Where(s.qi("user_id")+" = ?", userID).Pluck("token", &tokens).Error; err != nil {
		return false, s.wrap("end session", err)
	}
	for _, tok := range tokens {
		if subtle.ConstantTimeCompare([]byte(SessionID(tok)), []byte(id)) == 1 {
			res := s.q(ctx).Where(s.qi("token")+" = ? AND "+s.qi("user_id")+" = ?", tok, userID).Delete(&sessionRow{})
			return res.RowsAffected > 0, s.wrap("end session", res.Error)
		}
	}
	return false, nil
}
