package storage

import (
	"context"
	"time"
)

// DefaultCleanupAge is clearsocial's default --age: 14 days.
const DefaultCleanupAge = 14 * 24 * time.Hour

// CleanupOptions say what Cleanup deletes. Zero ages take Age, and a zero
// Age takes DefaultCleanupAge.
type CleanupOptions struct {
	Age        time.Duration // default for the three below
	PartialAge time.Duration // partials older than this (any state)
	CodeAge    time.Duration // unverified codes older than this
	NonceAge   time.Duration // OpenID nonces whose timestamp is older than this
}

// CleanupResult counts the deleted rows.
type CleanupResult struct {
	Partials int64
	Codes    int64
	Nonces   int64
	Sessions int64 // expired sessions
}

// Cleanup deletes expired partial pipelines, unverified email codes, old
// nonces and expired sessions (the clearsocial command, plus sessions and
// nonces). OIDC nonces kept in the association table carry no time and are
// left alone, as upstream.
func (s *Store) Cleanup(ctx context.Context, o CleanupOptions) (CleanupResult, error) {
	age := func(d time.Duration) time.Duration {
		if d > 0 {
			return d
		}
		if o.Age > 0 {
			return o.Age
		}
		return DefaultCleanupAge
	}
	now := s.nowUTC()
	var r CleanupResult
	res := s.q(ctx).Where(s.qi("timestamp")+" < ?", now.Add(-age(o.PartialAge))).Delete(&partialRow{})
	if res.Error != nil {
		return r, s.wrap("cleanup partials", res.Error)
	}
	r.Partials = res.RowsAffected
	res = s.q(ctx).Where("verified = ? AND "+s.qi("timestamp")+" < ?", false, now.Add(-age(o.CodeAge))).Delete(&codeRow{})
	if res.Error != nil {
		return r, s.wrap("cleanup codes", res.Error)
	}
	r.Codes = res.RowsAffected
	res = s.q(ctx).Where(s.qi("timestamp")+" < ?", now.Add(-age(o.NonceAge)).Unix()).Delete(&nonceRow{})
	if res.Error != nil {
		return r, s.wrap("cleanup nonces", res.Error)
	}
	r.Nonces = res.RowsAffected
	res = s.q(ctx).Where("expiry <= ?", now).Delete(&sessionRow{})
	if res.Error != nil {
		return r, s.wrap("cleanup sessions", res.Error)
	}
	r.Sessions = res.RowsAffected
	if r != (CleanupResult{}) {
		s.log.InfoContext(ctx, "storage: cleanup", "partials", r.Partials, "codes", r.Codes, "nonces", r.Nonces, "sessions", r.Sessions)
	}
	return r, nil
}
