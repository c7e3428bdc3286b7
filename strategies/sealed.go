package strategies

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/internal/fieldcrypt"
)

// MaxSealedToken bounds the length of a session cookie that carries its
// session (browsers keep about 4 KiB per cookie, its name and attributes
// included): a session that would seal longer is stored instead.
const MaxSealedToken = 3800

// sealedInfo derives the session cookie's AES keys from the configured
// ones (HKDF), so a key also used elsewhere (the field encryption keys)
// never seals a cookie with the same AES key; sealedAD binds a sealed value
// to this use.
const (
	sealedInfo = "socialauth session cookie v1"
	sealedAD   = "socialauth session"
)

// ErrSealedCommit is returned by SealedStore's Commit for a session that
// was loaded from its cookie: only HTTP.LoadAndSave (which the views use)
// knows to seal it again or to store it under a new token; scs's own
// LoadAndSave does not. It is an ImproperlyConfigured error.
var ErrSealedCommit = &socialauth.Error{Code: socialauth.CodeImproperlyConfigured,
	Msg: "a session kept in its cookie was committed by scs.SessionManager.LoadAndSave: wrap the pages with views.Views.LoadSession or strategies.HTTP.LoadAndSave"}

// SealedStore is an scs store for sessions whose anonymous part lives in
// the browser: a session nobody is signed in to (a pending sign-in, its
// next URL, a paused pipeline's token) is sealed into the session cookie
// itself with AES-256-GCM instead of being written to the inner store, so
// starting a sign-in and coming back from the provider cost the database
// nothing. A session with a signed-in user, a session already in the inner
// store, and one too long for a cookie (MaxSealedToken) are stored in the
// inner store under a random token, as without SealedStore.
//
// The sealing is done by HTTP.LoadAndSave, which the views wrap every
// route with; SealedStore itself opens a sealed token on Find (checking its
// deadline), forgets nothing on Delete (nothing is stored) and refuses to
// Commit one (ErrSealedCommit). Everything else goes to the inner store.
//
// A sealed cookie can be replayed by its browser: what it holds must be
// safe to replay. The pending sign-ins are (each is redeemed once, in
// UsedStates), and so are the next URL and a partial pipeline's token (a
// resumed partial is deleted). Keys: the first seals, every key opens, so
// keys rotate as the field encryption keys do; all instances of a service
// need the same keys.
type SealedStore struct {
	inner scs.Store
	ring  *fieldcrypt.Keyring
}

var (
	_ scs.Store            = (*SealedStore)(nil)
	_ scs.CtxStore         = (*SealedStore)(nil)
	_ scs.IterableStore    = (*SealedStore)(nil)
	_ scs.IterableCtxStore = (*SealedStore)(nil)
)

// NewSealedStore wraps inner with keys (each at least 32 bytes; the first
// seals). The keys are used through an HKDF derivation of their own, so
// the field encryption keys may be reused here.
func NewSealedStore(inner scs.Store, keys [][]byte) (*SealedStore, error) {
	if inner == nil {
		return nil, configErr("NewSealedStore: no inner store")
	}
	derived := make([][]byte, 0, len(keys))
	for i, k := range keys {
		if len(k) < fieldcrypt.MinKeyLen {
			return nil, configErr("NewSealedStore: session cookie key " + strconv.Itoa(i+1) + " is shorter than 32 bytes")
		}
		d, err := hkdf.Key(sha256.New, k, nil, sealedInfo, 32)
		if err != nil {
			return nil, err
		}
		derived = append(derived, d)
	}
	if len(derived) == 0 {
		return nil, configErr("NewSealedStore: no session cookie key")
	}
	ring, err := fieldcrypt.New(derived)
	if err != nil {
		// A repeated key (its derivation repeats too): fieldcrypt's message
		// names the positions, never a key.
		return nil, configErr("NewSealedStore: session cookie " + strings.TrimPrefix(err.Error(), "fieldcrypt: bad key: "))
	}
	return &SealedStore{inner: inner, ring: ring}, nil
}

// IsSealed reports whether token is a session sealed into its cookie
// rather than the key of a stored one (scs's tokens are base64url and never
// have the sealed prefix).
func IsSealed(token string) bool { return fieldcrypt.IsSealed(token) }

// seal returns the cookie value carrying b (a session encoded by the
// manager's codec) until expiry; ok is false when it would be longer than
// MaxSealedToken.
func (s *SealedStore) seal(b []byte, expiry time.Time) (token string, ok bool, err error) {
	plain := make([]byte, 8, 8+len(b))
	binary.BigEndian.PutUint64(plain, uint64(expiry.Unix()))
	plain = append(plain, b...)
	token, err = s.ring.Seal(plain, []byte(sealedAD))
	if err != nil {
		return "", false, err
	}
	return token, len(token) <= MaxSealedToken, nil
}

// open returns the session a sealed token carries, if it opens with one of
// the keys, its expiry has not passed and nobody is signed in to it. Only
// anonymous sessions are ever sealed; one that names a user could only
// have been forged with a key, and would be a sign-in that no session row
// records (so that sign-out everywhere and back-channel logout could not
// end it): it is no session.
func (s *SealedStore) open(token string) ([]byte, bool) {
	if len(token) > MaxSealedToken {
		return nil, false
	}
	plain, _, err := s.ring.Open(token, []byte(sealedAD))
	if err != nil || len(plain) < 8 {
		return nil, false
	}
	expiry := int64(binary.BigEndian.Uint64(plain))
	if expiry <= time.Now().Unix() {
		return nil, false
	}
	b := plain[8:]
	if bytes.Contains(b, []byte(socialauth.SessionUserID)) {
		if _, values, err := (SessionCodec{}).Decode(b); err != nil || values[socialauth.SessionUserID] != nil {
			return nil, false
		}
	}
	return b, true
}

// Find implements scs.Store.
func (s *SealedStore) Find(token string) ([]byte, bool, error) {
	return s.FindCtx(context.Background(), token)
}

// FindCtx implements scs.CtxStore: a sealed token is opened (a token that
// does not open, or whose deadline has passed, is no session); any other is
// looked up in the inner store.
func (s *SealedStore) FindCtx(ctx context.Context, token string) ([]byte, bool, error) {
	if IsSealed(token) {
		b, ok := s.open(token)
		return b, ok, nil
	}
	if c, ok := s.inner.(scs.CtxStore); ok {
		return c.FindCtx(ctx, token)
	}
	return s.inner.Find(token)
}

// Commit implements scs.Store.
func (s *SealedStore) Commit(token string, b []byte, expiry time.Time) error {
	return s.CommitCtx(context.Background(), token, b, expiry)
}

// CommitCtx implements scs.CtxStore: a sealed token is refused
// (ErrSealedCommit), any other is stored in the inner store.
func (s *SealedStore) CommitCtx(ctx context.Context, token string, b []byte, expiry time.Time) error {
	if IsSealed(token) {
		return ErrSealedCommit
	}
	if c, ok := s.inner.(scs.CtxStore); ok {
		return c.CommitCtx(ctx, token, b, expiry)
	}
	return s.inner.Commit(token, b, expiry)
}

// Delete implements scs.Store.
func (s *SealedStore) Delete(token string) error { return s.DeleteCtx(context.Background(), token) }

// DeleteCtx implements scs.CtxStore: a sealed token has nothing stored.
func (s *SealedStore) DeleteCtx(ctx context.Context, token string) error {
	if IsSealed(token) {
		return nil
	}
	if c, ok := s.inner.(scs.CtxStore); ok {
		return c.DeleteCtx(ctx, token)
	}
	return s.inner.Delete(token)
}

// All implements scs.IterableStore: the inner store's sessions (sealed
// ones are in browsers only).
func (s *SealedStore) All() (map[string][]byte, error) { return s.AllCtx(context.Background()) }

// AllCtx implements scs.IterableCtxStore.
func (s *SealedStore) AllCtx(ctx context.Context) (map[string][]byte, error) {
	return allOf(ctx, s.inner)
}

// Inner returns the store the signed-in sessions go to.
func (s *SealedStore) Inner() scs.Store { return s.inner }
