package storage

import (
	"context"
	"database/sql"
	"maps"
	"strconv"
	"strings"

	"gorm.io/gorm"

	"github.com/socialauth-go/socialauth"
)

// insertID runs INSERT INTO table (cols) VALUES (args) and returns the new
// auto-increment id (RETURNING on PostgreSQL, LastInsertId elsewhere).
func (s *Store) insertID(ctx context.Context, op, table string, cols []string, args []any) (int64, error) {
	quoted := make([]string, len(cols))
	marks := make([]string, len(cols))
	for i, c := range cols {
		quoted[i], marks[i] = s.qi(c), "?"
	}
	stmt := "INSERT INTO " + s.qi(table) + " (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	if s.dialect == Postgres {
		var id int64
		if err := s.q(ctx).Raw(stmt+` RETURNING "id"`, args...).Row().Scan(&id); err != nil {
			return 0, s.wrap(op, err)
		}
		return id, nil
	}
	res := gorm.WithResult()
	if err := s.q(ctx).Clauses(res).Exec(stmt, args...).Error; err != nil {
		return 0, s.wrap(op, err)
	}
	id, err := res.Result.LastInsertId()
	if err != nil {
		return 0, s.wrap(op, err)
	}
	return id, nil
}

// GetSocialAuth returns the association with exactly that provider and uid,
// in one query. The uid is compared again in Go (CVE-2024-32879). An empty
// provider or uid is rejected before any SQL is built, with an
// *socialauth.Error of code CodeAuthMissingParameter.
func (s *Store) GetSocialAuth(ctx context.Context, provider, uid string) (*socialauth.UserSocialAuth, error) {
	if provider == "" {
		return nil, missing("provider")
	}
	if uid == "" {
		return nil, missing("uid")
	}
	var rows []socialRow
	err := s.q(ctx).Where("provider = ? AND uid = ?", provider, uid).Limit(8).Find(&rows).Error
	if err != nil {
		return nil, s.wrap("get social auth", err)
	}
	for i := range rows {
		if rows[i].Provider == provider && rows[i].UID == uid {
			return s.crypt.reveal(rows[i].model()), nil
		}
	}
	return nil, notFound("get social auth")
}

// GetSocialAuthWithUser returns the association with exactly that provider
// and uid together with its owner when the owner is active (nil otherwise),
// in one query: the association LEFT JOINed with the user table of the
// UserAdapter, the active filter in the join condition. It implements
// socialauth.SocialUserGetter, so a returning login reads both in one
// statement instead of GetSocialAuth then GetUser. As in GetSocialAuth, an
// empty provider or uid is rejected before any SQL is built
// (CodeAuthMissingParameter), the uid is compared again in Go, and the
// owner's id must equal the association's user_id exactly (as GetUser
// requires). ErrNotFound when there is no association.
func (s *Store) GetSocialAuthWithUser(ctx context.Context, provider, uid string) (*socialauth.UserSocialAuth, *socialauth.User, error) {
	const op = "get social auth with user"
	if provider == "" {
		return nil, nil, missing("provider")
	}
	if uid == "" {
		return nil, nil, missing("uid")
	}
	a := s.users
	ucols, mkUser := s.userSelect("u")
	on := "u." + s.qi(a.Columns.ID) + " = sa." + s.qi("user_id")
	args := make([]any, 0, 3)
	if a.Columns.IsActive != "" {
		on += " AND u." + s.qi(a.Columns.IsActive) + " = ?"
		args = append(args, true)
	}
	args = append(args, provider, uid)
	// No LIMIT: UNIQUE(provider, uid) and the user primary key bound the
	// rows, and a limit could cut off the exact match where a collation
	// lets near-equal keys match too.
	query := "SELECT " + s.socialCols("sa") + ", " + ucols +
		" FROM " + s.qi(TableSocialAuth) + " sa LEFT JOIN " + s.qi(a.Table) + " u ON " + on +
		" WHERE sa." + s.qi("provider") + " = ? AND sa." + s.qi("uid") + " = ?"
	holds := s.holdsReadRows()
	if holds && s.dialect == Postgres {
		query += " FOR UPDATE OF sa"
	}
	rows, err := s.q(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, nil, s.wrap(op, err)
	}
	defer rows.Close()
	var (
		found *socialScan
		owner *socialauth.User
	)
	for rows.Next() {
		x := &socialScan{}
		udest, build := mkUser()
		if err := rows.Scan(append(x.dest(), udest...)...); err != nil {
			return nil, nil, s.wrap(op, err)
		}
		if x.row.Provider != provider || x.row.UID != uid {
			continue
		}
		if found == nil {
			found = x
		}
		if u := build(); u != nil && u.ID == x.row.UserID && x.row.ID == found.row.ID {
			owner = u
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.wrap(op, err)
	}
	if found == nil {
		return nil, nil, notFound(op)
	}
	sa, err := found.model()
	if err != nil {
		return nil, nil, err
	}
	if holds {
		s.held.set(found)
	}
	return s.crypt.reveal(sa), owner, nil
}

// holdsReadRows reports whether an association row read now stays this
// transaction's until it ends, so that GetSocialAuthWithUser may hand it to
// UpdateExtraData (txRow): inside a transaction on PostgreSQL (the read
// locks the row) and SQLite (the transaction holds the write lock). Not on
// MySQL/MariaDB, where a locking read of a uid not there yet takes gap
// locks on which concurrent first logins of one uid deadlock.
func (s *Store) holdsReadRows() bool {
	return s.inTx && s.held != nil && (s.dialect == Postgres || s.dialect == SQLite)
}

var _ socialauth.SocialUserGetter = (*Store)(nil)

// socialCols is the SELECT list of a socialScan, qualified by alias when
// not empty.
func (s *Store) socialCols(alias string) string {
	prefix := ""
	if alias != "" {
		prefix = alias + "."
	}
	cols := [...]string{"id", "provider", "uid", "extra_data", "created", "modified", "user_id"}
	var b strings.Builder
	for i, c := range cols {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(prefix)
		b.WriteString(s.qi(c))
	}
	return b.String()
}

// socialScan receives one association row read by raw SQL (socialCols):
// extra_data stays as its JSON text until extraData or model decodes it.
type socialScan struct {
	row               socialRow
	extra             []byte
	created, modified timeScan
}

func (x *socialScan) dest() []any {
	return []any{&x.row.ID, &x.row.Provider, &x.row.UID, &x.extra, &x.created, &x.modified, &x.row.UserID}
}

// extraData decodes a fresh copy of the stored extra data.
func (x *socialScan) extraData() (map[string]any, error) {
	var m jsonMap
	if err := m.Scan(x.extra); err != nil {
		return nil, err
	}
	return m, nil
}

func (x *socialScan) model() (*socialauth.UserSocialAuth, error) {
	ed, err := x.extraData()
	if err != nil {
		return nil, err
	}
	r := x.row
	r.ExtraData, r.Created, r.Modified = ed, x.created.t, x.modified.t
	return r.model(), nil
}

// scanSocial runs a query for at most one association row into x.
func (s *Store) scanSocial(ctx context.Context, op, query string, x *socialScan, args ...any) (bool, error) {
	rows, err := s.q(ctx).Raw(query, args...).Rows()
	if err != nil {
		return false, s.wrap(op, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return false, s.wrap(op, rows.Err())
	}
	if err := rows.Scan(x.dest()...); err != nil {
		return false, s.wrap(op, err)
	}
	return true, s.wrap(op, rows.Err())
}

// GetSocialAuthByID returns one association by id (ErrNotFound for id ≤ 0).
func (s *Store) GetSocialAuthByID(ctx context.Context, id int64) (*socialauth.UserSocialAuth, error) {
	if id <= 0 {
		return nil, notFound("get social auth")
	}
	var rows []socialRow
	if err := s.q(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return nil, s.wrap("get social auth", err)
	}
	if len(rows) == 0 {
		return nil, notFound("get social auth")
	}
	return s.crypt.reveal(rows[0].model()), nil
}

// GetSocialAuthsForUser lists a user's associations by id, optionally only
// of one provider ("" for all) or one id (0 for all). An empty or impossible
// user id gives an empty list without a query.
func (s *Store) GetSocialAuthsForUser(ctx context.Context, userID, provider string, id int64) ([]*socialauth.UserSocialAuth, error) {
	arg, ok := s.users.idArg(userID)
	if !ok {
		return nil, nil
	}
	q := s.q(ctx).Where("user_id = ?", arg)
	if provider != "" {
		q = q.Where("provider = ?", provider)
	}
	if id != 0 {
		q = q.Where("id = ?", id)
	}
	var rows []socialRow
	if err := q.Order("id").Find(&rows).Error; err != nil {
		return nil, s.wrap("get social auths for user", err)
	}
	out := make([]*socialauth.UserSocialAuth, 0, len(rows))
	for i := range rows {
		if provider != "" && rows[i].Provider != provider {
			continue
		}
		out = append(out, s.crypt.reveal(rows[i].model()))
	}
	return out, nil
}

// CreateSocialAuth creates an association with empty extra data. An empty
// user id, provider or uid is rejected before any query
// (CodeAuthMissingParameter); an existing (provider, uid) gives an error
// wrapping ErrDuplicate. On PostgreSQL a failed insert aborts the enclosing
// transaction: retry in a new Transaction.
func (s *Store) CreateSocialAuth(ctx context.Context, userID, provider, uid string) (*socialauth.UserSocialAuth, error) {
	if userID == "" {
		return nil, missing("user")
	}
	if provider == "" {
		return nil, missing("provider")
	}
	if uid == "" {
		return nil, missing("uid")
	}
	arg, ok := s.users.idArg(userID)
	if !ok {
		return nil, notFound("create social auth: user")
	}
	now := s.nowUTC()
	id, err := s.insertID(ctx, "create social auth", TableSocialAuth,
		[]string{"provider", "uid", "extra_data", "created", "modified", "user_id"},
		[]any{provider, uid, "{}", now, now, arg})
	if err != nil {
		return nil, err
	}
	stored := userID // as a read of the row gives it back
	if n, isInt := arg.(int64); isInt {
		stored = strconv.FormatInt(n, 10)
	}
	s.held.set(&socialScan{row: socialRow{ID: id, Provider: provider, UID: uid, UserID: stored},
		extra: []byte("{}"), created: timeScan{now}, modified: timeScan{now}})
	return &socialauth.UserSocialAuth{ID: id, UserID: userID, Provider: provider, UID: uid,
		ExtraData: map[string]any{}, Created: now, Modified: now}, nil
}

// RemoveSocialAuth deletes one association (ErrNotFound when absent).
func (s *Store) RemoveSocialAuth(ctx context.Context, id int64) error {
	if id <= 0 {
		return notFound("remove social auth")
	}
	s.held.set(nil)
	res := s.q(ctx).Where("id = ?", id).Delete(&socialRow{})
	if res.Error != nil {
		return s.wrap("remove social auth", res.Error)
	}
	if res.RowsAffected == 0 {
		return notFound("remove social auth")
	}
	return nil
}

// UpdateExtraData reads the row under a lock (SELECT … FOR UPDATE on
// PostgreSQL and MySQL; SQLite's immediate transaction already holds the
// write lock, so a plain SELECT there), passes update a private copy of its
// extra data, and writes what update returns when it reports a change: at
// most two statements. Concurrent refreshes therefore never lose a rotated
// refresh token. Inside Transaction it joins the outer transaction; a row
// that the same transaction holds already (inserted by CreateSocialAuth, a
// first login, or read under its lock by GetSocialAuthWithUser, a returning
// one) is not read again (see txRow): one statement.
//
// The new data is marshalled once; the returned row's extra data is decoded
// from those very bytes, so it is what a later read returns (numbers as
// json.Number, every digit kept) and shares nothing with update's map.
func (s *Store) UpdateExtraData(ctx context.Context, id int64, update func(old map[string]any) (map[string]any, bool)) (*socialauth.UserSocialAuth, error) {
	return s.updateLocked(ctx, "update extra data", id, func(_ *socialScan, old map[string]any, _ map[string]error) (map[string]any, bool, error) {
		next, changed := update(old)
		return next, changed, nil
	})
}

// UpdateSocialAuthLocked is socialauth.SocialLocker: UpdateExtraData's
// locked read and write, with fn deciding from the whole row (its secret
// members decrypted, those that do not decrypt in Unreadable) and allowed
// to fail. fn runs inside the transaction that holds the row lock: on
// PostgreSQL and MySQL other writers and lockers of this row wait; on
// SQLite every writer of the database waits (up to busy_timeout, then
// BEGIN is retried), so fn must be short or bounded by a timeout. An error
// from fn rolls back and is returned as it is.
func (s *Store) UpdateSocialAuthLocked(ctx context.Context, id int64, fn func(current *socialauth.UserSocialAuth) (map[string]any, bool, error)) (*socialauth.UserSocialAuth, error) {
	return s.updateLocked(ctx, "update social auth locked", id, func(row *socialScan, old map[string]any, bad map[string]error) (map[string]any, bool, error) {
		r := row.row
		r.ExtraData, r.Created, r.Modified = old, row.created.t, row.modified.t
		cur := r.model()
		if len(bad) > 0 {
			cur.Unreadable = maps.Clone(bad)
		}
		return fn(cur)
	})
}

var _ socialauth.SocialLocker = (*Store)(nil)

// updateLocked reads association id under a row lock (FOR UPDATE; SQLite's
// immediate transaction already holds the write lock), asks decide for the
// new extra data, given a private copy of the stored one in plaintext and
// the secret members that do not decrypt, and writes it when decide
// reports a change.
func (s *Store) updateLocked(ctx context.Context, op string, id int64, decide func(row *socialScan, old map[string]any, bad map[string]error) (map[string]any, bool, error)) (*socialauth.UserSocialAuth, error) {
	if id <= 0 {
		return nil, notFound(op)
	}
	var out *socialauth.UserSocialAuth
	err := s.tx(ctx, func(tx *Store) error {
		query := "SELECT " + tx.socialCols("") + " FROM " + tx.qi(TableSocialAuth) + " WHERE " + tx.qi("id") + " = ?"
		if tx.dialect != SQLite {
			query += " FOR UPDATE"
		}
		row, found := tx.held.get(id)
		if !found {
			var err error
			if found, err = tx.scanSocial(ctx, op, query, &row, id); err != nil {
				return err
			}
		}
		if !found {
			return notFound(op)
		}
		// The decoded map is private to this call: decide may change it.
		old, err := row.extraData()
		if err != nil {
			return err
		}
		// decide sees plaintext; a secret member that does not decrypt is
		// kept as stored unless decide sets it (a sign-in's fresh tokens).
		kept, bad := tx.crypt.open(id, row.row.Provider, row.row.UID, old)
		next, changed, err := decide(&row, old, bad)
		if err != nil {
			return err
		}
		if !changed {
			// decide may have modified old: answer with what is stored.
			out, err = row.model()
			tx.crypt.reveal(out)
			return err
		}
		b, sealed, err := tx.crypt.marshal(row.row.Provider, row.row.UID, next, kept)
		if err != nil {
			return err
		}
		now := tx.nowUTC()
		stmt := "UPDATE " + tx.qi(TableSocialAuth) + " SET " + tx.qi("extra_data") + " = ?, " + tx.qi("modified") + " = ? WHERE " + tx.qi("id") + " = ?"
		if err := tx.q(ctx).Exec(stmt, string(b), now, id).Error; err != nil {
			tx.held.set(nil)
			return tx.wrap(op, err)
		}
		row.extra, row.modified.t = b, now
		if kept, ok := tx.held.get(id); ok {
			kept.extra, kept.modified = b, row.modified
			tx.held.set(&kept)
		}
		if out, err = row.model(); err != nil {
			return err
		}
		return tx.crypt.revealWritten(out, next, sealed, bad)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// AllowedToDisconnect reports whether the user keeps a way to log in after
// the removal (social-app-django): a usable password, or another
// association (excluding associationID when given, else every row of
// provider).
func (s *Store) AllowedToDisconnect(ctx context.Context, userID, provider string, associationID int64) (bool, error) {
	arg, ok := s.users.idArg(userID)
	if !ok {
		return false, notFound("allowed to disconnect: user")
	}
	if pc := s.users.Columns.Password; pc == "" {
		return true, nil
	} else {
		var pw []*string
		err := s.q(ctx).Table(s.users.Table).Where(s.qi(s.users.Columns.ID)+" = ?", arg).Limit(1).Pluck(pc, &pw).Error
		if err != nil {
			return false, s.wrap("allowed to disconnect", err)
		}
		if len(pw) == 1 && pw[0] != nil && usablePassword(*pw[0]) {
			return true, nil
		}
	}
	q := s.q(ctx).Model(&socialRow{}).Where("user_id = ?", arg)
	if associationID != 0 {
		q = q.Where("id <> ?", associationID)
	} else {
		q = q.Where("provider <> ?", provider)
	}
	var n int64
	if err := q.Count(&n).Error; err != nil {
		return false, s.wrap("allowed to disconnect", err)
	}
	return n > 0, nil
}

// usablePassword is Django's has_usable_password: set and not "!…".
func usablePassword(p string) bool { return p != "" && !strings.HasPrefix(p, "!") }

var _ socialauth.UserSocialAuthsGetter = (*Store)(nil)

// GetUserWithSocialAuths returns the active user with that id and their
// associations ordered by id, in one query: the user LEFT JOINed with the
// association table. It implements socialauth.UserSocialAuthsGetter, so a
// page showing the signed-in user and their associations reads both in one
// statement instead of GetUser then GetSocialAuthsForUser. ErrNotFound when
// there is no such active user (an empty or impossible id runs no query).
func (s *Store) GetUserWithSocialAuths(ctx context.Context, id string) (*socialauth.User, []*socialauth.UserSocialAuth, error) {
	const op = "get user with social auths"
	arg, ok := s.users.idArg(id)
	if !ok {
		return nil, nil, notFound(op)
	}
	a := s.users
	ucols, _ := s.userSelect("u")
	args := []any{arg}
	where := "u." + s.qi(a.Columns.ID) + " = ?"
	if a.Columns.IsActive != "" {
		where += " AND u." + s.qi(a.Columns.IsActive) + " = ?"
		args = append(args, true)
	}
	query := "SELECT " + ucols + ", " + s.socialCols("sa") +
		" FROM " + s.qi(a.Table) + " u LEFT JOIN " + s.qi(TableSocialAuth) + " sa ON sa." + s.qi("user_id") + " = u." + s.qi(a.Columns.ID) +
		" WHERE " + where + " ORDER BY sa." + s.qi("id")
	rows, err := s.q(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, nil, s.wrap(op, err)
	}
	defer rows.Close()
	user, socials, err := s.scanUserWithSocials(op, rows, nil, func() string { return id })
	if err != nil {
		return nil, nil, err
	}
	if user == nil {
		return nil, nil, notFound(op)
	}
	return user, socials, nil
}

// scanUserWithSocials reads the rows of a query whose SELECT list is lead's
// columns, then userSelect's, then socialCols': the user (nil when no row
// names one) and their associations (empty, not nil). A row is kept only
// when its user's id is want() (called after the row is scanned into lead).
func (s *Store) scanUserWithSocials(op string, rows *sql.Rows, lead []any, want func() string) (*socialauth.User, []*socialauth.UserSocialAuth, error) {
	_, mkUser := s.userSelect("u")
	var user *socialauth.User
	socials := []*socialauth.UserSocialAuth{}
	for rows.Next() {
		udest, build := mkUser()
		var (
			saID                   sql.NullInt64
			provider, uid, ownerID sql.NullString
			x                      socialScan
		)
		dest := append(append(append([]any(nil), lead...), udest...),
			&saID, &provider, &uid, &x.extra, &x.created, &x.modified, &ownerID)
		if err := rows.Scan(dest...); err != nil {
			return nil, nil, s.wrap(op, err)
		}
		u := build()
		if u == nil || u.ID != want() {
			continue
		}
		user = u
		if !saID.Valid {
			continue
		}
		x.row = socialRow{ID: saID.Int64, Provider: provider.String, UID: uid.String, UserID: ownerID.String}
		sa, err := x.model()
		if err != nil {
			return nil, nil, err
		}
		socials = append(socials, s.crypt.reveal(sa))
	}
	if err := rows.Err(); err != nil {
		return nil, nil, s.wrap(op, err)
	}
	return user, socials, nil
}
