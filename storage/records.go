package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sort"

	"gorm.io/gorm/clause"

	"github.com/socialauth-go/socialauth"
)

// SavePartial stores a paused pipeline, replacing any partial with the same
// token. CreatedAt defaults to now. An empty token is rejected without a
// query.
func (s *Store) SavePartial(ctx context.Context, p *socialauth.Partial) error {
	if p == nil || p.Token == "" {
		return missing("token")
	}
	if p.NextStep < 0 {
		return &socialauth.Error{Code: socialauth.CodeAuthInvalidParameter, Param: "next_step"}
	}
	data, err := jsonClone(p.Data)
	if err != nil {
		return err
	}
	if p.CreatedAt.IsZero() {
		p.CreatedAt = s.nowUTC()
	}
	row := partialRow{Token: p.Token, NextStep: p.NextStep, Backend: p.Backend, Data: data, Binding: p.Binding, Timestamp: p.CreatedAt.UTC()}
	err = s.q(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "token"}},
		DoUpdates: clause.AssignmentColumns([]string{"next_step", "backend", "data", "binding", "timestamp"}),
	}).Omit("id").Create(&row).Error
	return s.wrap("save partial", err)
}

// LoadPartial returns the partial with exactly that token (ErrNotFound).
func (s *Store) LoadPartial(ctx context.Context, token string) (*socialauth.Partial, error) {
	if token == "" {
		return nil, notFound("load partial")
	}
	var rows []partialRow
	if err := s.q(ctx).Where("token = ?", token).Limit(1).Find(&rows).Error; err != nil {
		return nil, s.wrap("load partial", err)
	}
	if len(rows) == 0 || rows[0].Token != token {
		return nil, notFound("load partial")
	}
	r := rows[0]
	data := map[string]any(r.Data)
	if data == nil {
		data = map[string]any{}
	}
	return &socialauth.Partial{Token: r.Token, Backend: r.Backend, NextStep: r.NextStep, Data: data,
		Binding: r.Binding, CreatedAt: r.Timestamp.UTC()}, nil
}

// DeletePartial deletes the partial; deleted is true for exactly one of
// several concurrent callers.
func (s *Store) DeletePartial(ctx context.Context, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	res := s.q(ctx).Where("token = ?", token).Delete(&partialRow{})
	if res.Error != nil {
		return false, s.wrap("delete partial", res.Error)
	}
	return res.RowsAffected > 0, nil
}

// UseNonce records a nonce; fresh is false when (server_url, timestamp,
// salt) was seen before. It uses an insert that ignores conflicts, so a
// replay does not abort an enclosing PostgreSQL transaction.
func (s *Store) UseNonce(ctx context.Context, n socialauth.Nonce) (bool, error) {
	if n.ServerURL == "" {
		return false, missing("server_url")
	}
	if n.Salt == "" {
		return false, missing("salt")
	}
	stmt := "INSERT INTO " + s.qi(TableNonce) + " (" + s.qi("server_url") + ", " + s.qi("timestamp") + ", " + s.qi("salt") + ") VALUES (?, ?, ?) "
	if s.dialect == MySQL {
		// Not INSERT IGNORE, which would also turn truncation into a warning.
		stmt += "ON DUPLICATE KEY UPDATE `id` = `id`"
	} else {
		stmt += "ON CONFLICT DO NOTHING"
	}
	res := s.q(ctx).Exec(stmt, n.ServerURL, n.Timestamp, n.Salt)
	if res.Error != nil {
		return false, s.wrap("use nonce", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// StoreAssociation upserts by (server_url, handle) and sets a.ID.
func (s *Store) StoreAssociation(ctx context.Context, a *socialauth.Association) error {
	if a == nil || a.ServerURL == "" {
		return missing("server_url")
	}
	if a.Handle == "" {
		return missing("handle")
	}
	row := associationRow{ServerURL: a.ServerURL, Handle: a.Handle, Secret: a.Secret, Issued: a.Issued, Lifetime: a.Lifetime, AssocType: a.AssocType}
	err := s.q(ctx).Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "server_url"}, {Name: "handle"}},
		DoUpdates: clause.AssignmentColumns([]string{"secret", "issued", "lifetime", "assoc_type"}),
	}).Omit("id").Create(&row).Error
	if err != nil {
		return s.wrap("store association", err)
	}
	var ids []int64
	if err := s.q(ctx).Model(&associationRow{}).Where("server_url = ? AND handle = ?", a.ServerURL, a.Handle).Limit(1).Pluck("id", &ids).Error; err != nil {
		return s.wrap("store association", err)
	}
	if len(ids) == 1 {
		a.ID = ids[0]
	}
	return nil
}

// GetAssociations returns the associations of serverURL (and handle, when
// not empty), newest issued first.
func (s *Store) GetAssociations(ctx context.Context, serverURL, handle string) ([]*socialauth.Association, error) {
	if serverURL == "" {
		return nil, nil
	}
	q := s.q(ctx).Where("server_url = ?", serverURL)
	if handle != "" {
		q = q.Where("handle = ?", handle)
	}
	var rows []associationRow
	if err := q.Order("issued DESC").Order("id DESC").Find(&rows).Error; err != nil {
		return nil, s.wrap("get associations", err)
	}
	out := make([]*socialauth.Association, 0, len(rows))
	for _, r := range rows {
		if r.ServerURL != serverURL || (handle != "" && r.Handle != handle) {
			continue
		}
		out = append(out, &socialauth.Association{ID: r.ID, ServerURL: r.ServerURL, Handle: r.Handle, Secret: r.Secret,
			Issued: r.Issued, Lifetime: r.Lifetime, AssocType: r.AssocType})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Issued > out[j].Issued })
	return out, nil
}

// RemoveAssociations deletes the associations with those ids.
func (s *Store) RemoveAssociations(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.wrap("remove associations", s.q(ctx).Where("id IN ?", ids).Delete(&associationRow{}).Error)
}

// MakeCode creates an unverified code for email: 32 hex characters from
// crypto/rand (upstream's uuid4().hex).
func (s *Store) MakeCode(ctx context.Context, email string) (*socialauth.EmailCode, error) {
	if email == "" {
		return nil, missing("email")
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	now := s.nowUTC()
	code := hex.EncodeToString(b[:])
	id, err := s.insertID(ctx, "make code", TableCode, []string{"email", "code", "verified", "timestamp"}, []any{email, code, false, now})
	if err != nil {
		return nil, err
	}
	return &socialauth.EmailCode{ID: id, Email: email, Code: code, CreatedAt: now}, nil
}

// GetCode returns the record of exactly that code (ErrNotFound).
func (s *Store) GetCode(ctx context.Context, code string) (*socialauth.EmailCode, error) {
	if code == "" {
		return nil, notFound("get code")
	}
	var rows []codeRow
	if err := s.q(ctx).Where("code = ?", code).Order("id").Limit(8).Find(&rows).Error; err != nil {
		return nil, s.wrap("get code", err)
	}
	for _, r := range rows {
		if r.Code == code {
			return &socialauth.EmailCode{ID: r.ID, Email: r.Email, Code: r.Code, Verified: r.Verified, CreatedAt: r.Timestamp.UTC()}, nil
		}
	}
	return nil, notFound("get code")
}

// VerifyCode marks the code verified (ErrNotFound when absent).
func (s *Store) VerifyCode(ctx context.Context, id int64) error {
	if id <= 0 {
		return notFound("verify code")
	}
	res := s.q(ctx).Model(&codeRow{}).Where("id = ?", id).Update("verified", true)
	if res.Error != nil {
		return s.wrap("verify code", res.Error)
	}
	if res.RowsAffected > 0 {
		return nil
	}
	// MySQL reports 0 affected rows when the code was already verified.
	var n int64
	if err := s.q(ctx).Model(&codeRow{}).Where("id = ?", id).Count(&n).Error; err != nil {
		return s.wrap("verify code", err)
	}
	if n == 0 {
		return notFound("verify code")
	}
	return nil
}
