package storage

import (
	"context"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

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
			return rows[i].model(), nil
		}
	}
	return nil, notFound("get social auth")
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
	return rows[0].model(), nil
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
		out = append(out, rows[i].model())
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
	return &socialauth.UserSocialAuth{ID: id, UserID: userID, Provider: provider, UID: uid,
		ExtraData: map[string]any{}, Created: now, Modified: now}, nil
}

// RemoveSocialAuth deletes one association (ErrNotFound when absent).
func (s *Store) RemoveSocialAuth(ctx context.Context, id int64) error {
	if id <= 0 {
		return notFound("remove social auth")
	}
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
// PostgreSQL and MySQL; SQLite's immediate transaction serialises writers),
// passes a copy of its extra data to update, and writes what update returns
// when it reports a change. Concurrent refreshes therefore never lose a
// rotated refresh token. Inside Transaction it joins the outer transaction.
func (s *Store) UpdateExtraData(ctx context.Context, id int64, update func(old map[string]any) (map[string]any, bool)) (*socialauth.UserSocialAuth, error) {
	if id <= 0 {
		return nil, notFound("update extra data")
	}
	var out *socialauth.UserSocialAuth
	err := s.tx(ctx, func(tx *Store) error {
		q := tx.q(ctx)
		if tx.dialect != SQLite {
			q = q.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate})
		}
		var rows []socialRow
		if err := q.Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
			return tx.wrap("update extra data", err)
		}
		if len(rows) == 0 {
			return notFound("update extra data")
		}
		row := rows[0]
		old, err := jsonClone(row.ExtraData)
		if err != nil {
			return err
		}
		next, changed := update(old)
		if !changed {
			out = row.model()
			return nil
		}
		if next == nil {
			next = map[string]any{}
		}
		stored, err := jsonClone(next)
		if err != nil {
			return err
		}
		now := tx.nowUTC()
		if err := tx.q(ctx).Model(&socialRow{}).Where("id = ?", id).
			Updates(map[string]any{"extra_data": jsonMap(stored), "modified": now}).Error; err != nil {
			return tx.wrap("update extra data", err)
		}
		row.ExtraData, row.Modified = stored, now
		out = row.model()
		return nil
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
