package bench

import (
	"context"
	"crypto/rsa"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwt"
	"golang.org/x/oauth2"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/socialauth-go/socialauth/backends/edx"
	"github.com/socialauth-go/socialauth/storage"
)

// floorSocial is the association row as the floor writes it: plain GORM,
// no framework types.
type floorSocial struct {
	ID        int64          `gorm:"column:id;primaryKey;autoIncrement"`
	Provider  string         `gorm:"column:provider"`
	UID       string         `gorm:"column:uid"`
	ExtraData map[string]any `gorm:"column:extra_data;serializer:json"`
	Created   time.Time      `gorm:"column:created"`
	Modified  time.Time      `gorm:"column:modified"`
	UserID    string         `gorm:"column:user_id"`
}

func (floorSocial) TableName() string { return storage.TableSocialAuth }

// floorUser is the user row the first-login floor inserts.
type floorUser struct {
	ID         int64     `gorm:"column:id;primaryKey;autoIncrement"`
	Username   string    `gorm:"column:username"`
	Email      string    `gorm:"column:email"`
	DateJoined time.Time `gorm:"column:date_joined"`
}

func (floorUser) TableName() string { return storage.TableUsers }

// floor is the hand-written completion of an edX login: x/oauth2 code
// exchange (PKCE, token_type=jwt) over the LMS's kept-alive client, jwx
// verification of the RS512 access token with the LMS key fetched
// beforehand (exp, iss, aud), and one GORM upsert of the association.
type floor struct {
	cfg    oauth2.Config
	ctx    context.Context // carries the kept-alive client for x/oauth2
	key    *rsa.PublicKey
	issuer string
	db     *gorm.DB
	userID string // the association's user for returning logins
}

// floorCode is a code minted for the floor with its PKCE verifier.
type floorCode struct{ code, verifier string }

func newFloor(tb testing.TB, r *rig, userID string) *floor {
	tb.Helper()
	return &floor{
		cfg: oauth2.Config{
			ClientID: clientID, ClientSecret: clientSecret, RedirectURL: completeURI,
			Scopes: edx.DefaultScope(),
			Endpoint: oauth2.Endpoint{
				AuthURL:   r.lms.URL() + "/oauth2/authorize",
				TokenURL:  r.lms.URL() + "/oauth2/access_token",
				AuthStyle: oauth2.AuthStyleInParams,
			},
		},
		ctx:    context.WithValue(context.Background(), oauth2.HTTPClient, r.lmsClient),
		key:    r.lms.PublicKey(),
		issuer: r.lms.Issuer(),
		db:     r.db,
		userID: userID,
	}
}

// mint asks the LMS for n codes for its auto-approved user (or, with
// firstPrefix, for n new accounts), outside any timer, as rig.mint does for
// ours.
func (f *floor) mint(tb testing.TB, r *rig, n int, firstPrefix string) []floorCode {
	tb.Helper()
	c := r.noRedirects()
	out := make([]floorCode, n)
	defer r.lms.AutoApprove(returningUser)
	for i := range out {
		if firstPrefix != "" {
			r.lms.AutoApprove(fmt.Sprintf("%s%d", firstPrefix, i))
		}
		v := oauth2.GenerateVerifier()
		u := r.authorize(tb, c, f.cfg.AuthCodeURL(fmt.Sprintf("state%d", i), oauth2.S256ChallengeOption(v)))
		out[i] = floorCode{code: u.Query().Get("code"), verifier: v}
	}
	return out
}

var errFloorClaims = errors.New("floor: the access token has no username")

// exchange is the provider half of the floor: the token request and the
// verification of the access token. It returns the uid and the extra data.
func (f *floor) exchange(c floorCode) (string, map[string]any, error) {
	tok, err := f.cfg.Exchange(f.ctx, c.code, oauth2.VerifierOption(c.verifier), oauth2.SetAuthURLParam("token_type", "jwt"))
	if err != nil {
		return "", nil, err
	}
	t, err := jwt.Parse([]byte(tok.AccessToken), jwt.WithKey(jwa.RS512, f.key),
		jwt.WithIssuer(f.issuer), jwt.WithAudience(audience), jwt.WithRequiredClaim("exp"))
	if err != nil {
		return "", nil, err
	}
	v, _ := t.Get(edx.IDKey)
	uid, _ := v.(string)
	if uid == "" {
		return "", nil, errFloorClaims
	}
	extra := map[string]any{
		"access_token": tok.AccessToken, "token_type": tok.TokenType, "refresh_token": tok.RefreshToken,
		"expires_in": tok.Extra("expires_in"), "auth_time": time.Now().Unix(),
	}
	if id, ok := t.Get("user_id"); ok {
		extra["user_id"] = id
	}
	return uid, extra, nil
}

// upsert writes the association: one INSERT … ON CONFLICT DO UPDATE.
func (f *floor) upsert(userID, uid string, extra map[string]any) error {
	now := time.Now().UTC()
	row := floorSocial{Provider: edx.Name, UID: uid, ExtraData: extra, Created: now, Modified: now, UserID: userID}
	return f.db.Clauses(clause.OnConflict{
		Columns:   []clause.Column{{Name: "provider"}, {Name: "uid"}},
		DoUpdates: clause.AssignmentColumns([]string{"extra_data", "modified"}),
	}).Create(&row).Error
}

// returning completes a returning user's login: exchange, verify, upsert.
func (f *floor) returning(c floorCode) error {
	uid, extra, err := f.exchange(c)
	if err != nil {
		return err
	}
	return f.upsert(f.userID, uid, extra)
}

// first completes a first login by hand: exchange, verify, insert the
// user, upsert the association (two statements).
func (f *floor) first(c floorCode) error {
	uid, extra, err := f.exchange(c)
	if err != nil {
		return err
	}
	u := floorUser{Username: uid, Email: uid + "@example.com", DateJoined: time.Now().UTC()}
	if err := f.db.Create(&u).Error; err != nil {
		return err
	}
	return f.upsert(fmt.Sprint(u.ID), uid, extra)
}

// userIDOf returns the local user id of an LMS username logged in before.
func userIDOf(tb testing.TB, r *rig, username string) string {
	tb.Helper()
	u, err := r.store.GetUserByUsername(context.Background(), username)
	if err != nil {
		tb.Fatalf("user %s: %v", username, err)
	}
	return u.ID
}
