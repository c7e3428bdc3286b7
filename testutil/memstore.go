package testutil

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
)

// DefaultUsernameMaxLength is the length of Django's auth_user.username
// column, which MemStore enforces and reports through UsernameMaxLength.
const DefaultUsernameMaxLength = 150

// ErrTransactionDone is returned by a transaction's Storage used after its
// Transaction call returned.
var ErrTransactionDone = errors.New("testutil: transaction already finished")

// ErrInvalidInput wraps the rejections of malformed writes (an empty uid or
// provider, an overlong username, a missing partial token).
var ErrInvalidInput = errors.New("testutil: invalid input")

// MemStore is an in-memory socialauth.Storage with the semantics of
// social-app-django's storage with Django's default user model: a username
// is required and UNIQUE (compared exactly),
// UNIQUE(provider, uid) with uid compared exactly, empty uid or provider
// rejected, active-only GetUser and GetUsersByEmail (case-insensitive), and
// all-or-nothing transactions.
//
// A transaction holds a store-wide lock for as long as its function runs and
// restores a snapshot if it returns an error (or panics); calls of
// Transaction on the transaction's Storage join it. Inside the function use
// only the Storage it is given: calling the outer MemStore there would wait
// for the lock the transaction holds.
//
// Values returned are copies: changing them does not change the store.
type MemStore struct {
	shared *memShared
	tx     *memTxState // nil on the store itself; set on a transaction's view
}

type memShared struct {
	mu       sync.Mutex
	d        *memData
	sessions memSessions // memsessions.go: outside transactions, as a session store is
}

type memTxState struct{ done atomic.Bool }

type memData struct {
	nextUser, nextSocial, nextAssoc, nextCode int64

	users     map[string]*socialauth.User
	passwords map[string]bool // user id → has a usable password
	socials   map[int64]*socialauth.UserSocialAuth
	partials  map[string]*socialauth.Partial
	nonces    map[socialauth.Nonce]struct{}
	assocs    map[int64]*socialauth.Association
	codes     map[int64]*socialauth.EmailCode
	maxUser   int
	unmapped  map[string]bool // user fields the simulated user model lacks
}

var _ socialauth.Storage = (*MemStore)(nil)

// NewStore returns an empty MemStore.
func NewStore() *MemStore {
	return &MemStore{shared: &memShared{d: &memData{
		users:     map[string]*socialauth.User{},
		passwords: map[string]bool{},
		socials:   map[int64]*socialauth.UserSocialAuth{},
		partials:  map[string]*socialauth.Partial{},
		nonces:    map[socialauth.Nonce]struct{}{},
		assocs:    map[int64]*socialauth.Association{},
		codes:     map[int64]*socialauth.EmailCode{},
		maxUser:   DefaultUsernameMaxLength,
	}}}
}

// run executes f on the data: under the store lock, or directly inside a
// transaction (which already holds it).
func run[T any](ctx context.Context, s *MemStore, f func(d *memData) (T, error)) (T, error) {
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	if s.tx != nil {
		if s.tx.done.Load() {
			return zero, ErrTransactionDone
		}
		return f(s.shared.d)
	}
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	return f(s.shared.d)
}

// Transaction runs fn with a Storage whose writes are kept when fn returns
// nil and all undone otherwise. Nested calls join the outer transaction.
func (s *MemStore) Transaction(ctx context.Context, fn func(tx socialauth.Storage) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.tx != nil {
		if s.tx.done.Load() {
			return ErrTransactionDone
		}
		return fn(s)
	}
	s.shared.mu.Lock()
	defer s.shared.mu.Unlock()
	snap := s.shared.d.clone()
	tx := &MemStore{shared: s.shared, tx: &memTxState{}}
	committed := false
	defer func() {
		tx.tx.done.Store(true)
		if !committed {
			s.shared.d = snap // also on panic, which then continues
		}
	}()
	if err := fn(tx); err != nil {
		return err
	}
	committed = true
	return nil
}

// UsernameMaxLength is the longest username CreateUser accepts (in
// characters); the get_username step reads it.
func (s *MemStore) UsernameMaxLength() int {
	n, _ := run(context.Background(), s, func(d *memData) (int, error) { return d.maxUser, nil })
	return n
}

// SetUsernameMaxLength changes the longest username CreateUser accepts.
func (s *MemStore) SetUsernameMaxLength(n int) {
	_, _ = run(context.Background(), s, func(d *memData) (struct{}, error) { d.maxUser = n; return struct{}{}, nil })
}

// OmitUserFields makes the store behave like one over a custom user table
// without columns for fields (say "first_name", "last_name", "last_login"):
// CreateUser and UpdateUser skip them, as the GORM store does, and
// MapsUserField reports false for them.
func (s *MemStore) OmitUserFields(fields ...string) {
	_, _ = run(context.Background(), s, func(d *memData) (struct{}, error) {
		if d.unmapped == nil {
			d.unmapped = map[string]bool{}
		}
		for _, f := range fields {
			d.unmapped[f] = true
		}
		return struct{}{}, nil
	})
}

// MapsUserField reports whether the store keeps field: every field but those
// given to OmitUserFields. The user_details step reads it
// (pipeline.UserFieldMapper).
func (s *MemStore) MapsUserField(field string) bool {
	ok, _ := run(context.Background(), s, func(d *memData) (bool, error) { return !d.unmapped[field], nil })
	return ok
}

// setUserField assigns field of u as CreateUser and UpdateUser store it:
// date_joined and last_login take a time.Time, the rest as User.Set.
func setUserField(u *socialauth.User, field string, v any) error {
	var dst *time.Time
	switch field {
	case "date_joined":
		dst = &u.DateJoined
	case "last_login":
		dst = &u.LastLogin
	default:
		return u.Set(field, v)
	}
	t, ok := v.(time.Time)
	if !ok {
		return fmt.Errorf("user field %q wants a time.Time, got %T", field, v)
	}
	*dst = t
	return nil
}

// getUserField is User.Get, with date_joined and last_login.
func getUserField(u *socialauth.User, field string) (any, bool) {
	switch field {
	case "date_joined":
		return u.DateJoined, true
	case "last_login":
		return u.LastLogin, true
	}
	return u.Get(field)
}

// SetUsablePassword records whether the user has a usable password (Django's
// has_usable_password), which AllowedToDisconnect consults. Users created
// without a "password" field have none.
func (s *MemStore) SetUsablePassword(userID string, usable bool) error {
	_, err := run(context.Background(), s, func(d *memData) (struct{}, error) {
		if _, ok := d.users[userID]; !ok {
			return struct{}{}, fmt.Errorf("testutil: user %q: %w", userID, socialauth.ErrNotFound)
		}
		d.passwords[userID] = usable
		return struct{}{}, nil
	})
	return err
}

// AddUser stores u as is (any IsActive, any ID not yet used; an empty ID is
// assigned). It is for arranging tests: the pipeline uses CreateUser.
func (s *MemStore) AddUser(u *socialauth.User) (*socialauth.User, error) {
	return run(context.Background(), s, func(d *memData) (*socialauth.User, error) {
		c := u.Clone()
		if c.ID == "" {
			d.nextUser++
			c.ID = strconv.FormatInt(d.nextUser, 10)
		}
		if _, ok := d.users[c.ID]; ok {
			return nil, fmt.Errorf("testutil: user id %q: %w", c.ID, socialauth.ErrDuplicate)
		}
		if err := d.checkUsername(c.Username, ""); err != nil {
			return nil, err
		}
		if n, err := strconv.ParseInt(c.ID, 10, 64); err == nil && n > d.nextUser {
			d.nextUser = n
		}
		d.users[c.ID] = c
		return c.Clone(), nil
	})
}

func (d *memData) checkUsername(username, selfID string) error {
	if utf8.RuneCountInString(username) > d.maxUser {
		return fmt.Errorf("%w: username longer than %d characters", ErrInvalidInput, d.maxUser)
	}
	if username == "" {
		return nil
	}
	for id, u := range d.users {
		if id != selfID && u.Username == username {
			return fmt.Errorf("testutil: username taken: %w", socialauth.ErrDuplicate)
		}
	}
	return nil
}

// GetUser returns the active user with that id.
func (s *MemStore) GetUser(ctx context.Context, id string) (*socialauth.User, error) {
	return run(ctx, s, func(d *memData) (*socialauth.User, error) {
		u, ok := d.users[id]
		if !ok || !u.IsActive {
			return nil, fmt.Errorf("testutil: user %q: %w", id, socialauth.ErrNotFound)
		}
		return u.Clone(), nil
	})
}

// GetUserByUsername returns the user (active or not) with exactly that username.
func (s *MemStore) GetUserByUsername(ctx context.Context, username string) (*socialauth.User, error) {
	return run(ctx, s, func(d *memData) (*socialauth.User, error) {
		if username != "" {
			for _, u := range d.users {
				if u.Username == username {
					return u.Clone(), nil
				}
			}
		}
		return nil, fmt.Errorf("testutil: username: %w", socialauth.ErrNotFound)
	})
}

// UserExists reports whether any user (active or not) has exactly that username.
func (s *MemStore) UserExists(ctx context.Context, username string) (bool, error) {
	_, err := s.GetUserByUsername(ctx, username)
	if errors.Is(err, socialauth.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// CreateUser creates an active user from fields (column names as in
// socialauth.User.Set; "password", when a non-empty string, only marks the
// user as having a usable password). A taken username wraps ErrDuplicate.
func (s *MemStore) CreateUser(ctx context.Context, fields map[string]any) (*socialauth.User, error) {
	return run(ctx, s, func(d *memData) (*socialauth.User, error) {
		u := &socialauth.User{IsActive: true, DateJoined: time.Now()}
		password := false
		for k, v := range fields {
			if k == "password" {
				p, _ := v.(string)
				password = p != ""
				continue
			}
			if v == nil || d.unmapped[k] {
				continue
			}
			if err := setUserField(u, k, v); err != nil {
				return nil, fmt.Errorf("%w: %w", ErrInvalidInput, err)
			}
		}
		if d.unmapped["date_joined"] {
			u.DateJoined = time.Time{}
		}
		if u.Username == "" {
			// Django's UserManager.create_user: "The given username must be set".
			return nil, fmt.Errorf("%w: the given username must be set", ErrInvalidInput)
		}
		if err := d.checkUsername(u.Username, ""); err != nil {
			return nil, err
		}
		d.nextUser++
		u.ID = strconv.FormatInt(d.nextUser, 10)
		d.users[u.ID] = u
		d.passwords[u.ID] = password
		return u.Clone(), nil
	})
}

// GetUsersByEmail returns the active users whose email equals email, ignoring
// case, ordered by id. An empty email matches nobody.
func (s *MemStore) GetUsersByEmail(ctx context.Context, email string) ([]*socialauth.User, error) {
	return run(ctx, s, func(d *memData) ([]*socialauth.User, error) {
		var out []*socialauth.User
		if email == "" {
			return out, nil
		}
		for _, u := range d.users {
			if u.IsActive && strings.EqualFold(u.Email, email) {
				out = append(out, u.Clone())
			}
		}
		sortUsers(out)
		return out, nil
	})
}

// UpdateUser saves the named fields of u (ErrNotFound for an unknown user).
// Fields given to OmitUserFields are skipped.
func (s *MemStore) UpdateUser(ctx context.Context, u *socialauth.User, fields []string) error {
	_, err := run(ctx, s, func(d *memData) (struct{}, error) {
		cur, ok := d.users[u.ID]
		if !ok {
			return struct{}{}, fmt.Errorf("testutil: user %q: %w", u.ID, socialauth.ErrNotFound)
		}
		next := cur.Clone()
		for _, f := range fields {
			if d.unmapped[f] {
				continue
			}
			v, ok := getUserField(u, f)
			if !ok {
				return struct{}{}, fmt.Errorf("%w: user has no field %q", ErrInvalidInput, f)
			}
			if err := setUserField(next, f, v); err != nil {
				return struct{}{}, fmt.Errorf("%w: %w", ErrInvalidInput, err)
			}
		}
		if next.Username != cur.Username {
			if err := d.checkUsername(next.Username, cur.ID); err != nil {
				return struct{}{}, err
			}
		}
		d.users[u.ID] = next
		return struct{}{}, nil
	})
	return err
}

func checkProviderUID(provider, uid string) error {
	switch {
	case provider == "":
		return &socialauth.Error{Code: socialauth.CodeAuthMissingParameter, Param: "provider", Err: ErrInvalidInput}
	case uid == "":
		return &socialauth.Error{Code: socialauth.CodeAuthMissingParameter, Backend: provider, Param: "uid", Err: ErrInvalidInput}
	}
	return nil
}

// GetSocialAuth returns the association with exactly that provider and uid.
// An empty provider or uid is an AuthMissingParameter error (wrapping
// ErrInvalidInput), never a match.
func (s *MemStore) GetSocialAuth(ctx context.Context, provider, uid string) (*socialauth.UserSocialAuth, error) {
	if err := checkProviderUID(provider, uid); err != nil {
		return nil, err
	}
	return run(ctx, s, func(d *memData) (*socialauth.UserSocialAuth, error) {
		for _, sa := range d.socials {
			if sa.Provider == provider && sa.UID == uid {
				return cloneSocial(sa), nil
			}
		}
		return nil, fmt.Errorf("testutil: social auth: %w", socialauth.ErrNotFound)
	})
}

// GetSocialAuthWithUser returns the association with exactly that provider
// and uid and its owner when the owner is active (nil otherwise), read
// together (socialauth.SocialUserGetter). Empty keys are rejected as in
// GetSocialAuth; ErrNotFound when there is no association.
func (s *MemStore) GetSocialAuthWithUser(ctx context.Context, provider, uid string) (*socialauth.UserSocialAuth, *socialauth.User, error) {
	if err := checkProviderUID(provider, uid); err != nil {
		return nil, nil, err
	}
	type pair struct {
		sa *socialauth.UserSocialAuth
		u  *socialauth.User
	}
	p, err := run(ctx, s, func(d *memData) (pair, error) {
		for _, sa := range d.socials {
			if sa.Provider == provider && sa.UID == uid {
				p := pair{sa: cloneSocial(sa)}
				if u, ok := d.users[sa.UserID]; ok && u.IsActive {
					p.u = u.Clone()
				}
				return p, nil
			}
		}
		return pair{}, fmt.Errorf("testutil: social auth: %w", socialauth.ErrNotFound)
	})
	return p.sa, p.u, err
}

var _ socialauth.SocialUserGetter = (*MemStore)(nil)

// GetSocialAuthByID returns one association by id.
func (s *MemStore) GetSocialAuthByID(ctx context.Context, id int64) (*socialauth.UserSocialAuth, error) {
	return run(ctx, s, func(d *memData) (*socialauth.UserSocialAuth, error) {
		sa, ok := d.socials[id]
		if !ok {
			return nil, fmt.Errorf("testutil: social auth %d: %w", id, socialauth.ErrNotFound)
		}
		return cloneSocial(sa), nil
	})
}

// GetSocialAuthsForUser lists a user's associations by id, optionally only
// those of provider and/or with id.
func (s *MemStore) GetSocialAuthsForUser(ctx context.Context, userID, provider string, id int64) ([]*socialauth.UserSocialAuth, error) {
	return run(ctx, s, func(d *memData) ([]*socialauth.UserSocialAuth, error) {
		var out []*socialauth.UserSocialAuth
		for _, sa := range d.socials {
			if sa.UserID != userID || (provider != "" && sa.Provider != provider) || (id != 0 && sa.ID != id) {
				continue
			}
			out = append(out, cloneSocial(sa))
		}
		sortSocials(out)
		return out, nil
	})
}

// CreateSocialAuth creates an association with empty extra data. ErrDuplicate
// when (provider, uid) exists; ErrNotFound when the user does not.
func (s *MemStore) CreateSocialAuth(ctx context.Context, userID, provider, uid string) (*socialauth.UserSocialAuth, error) {
	if err := checkProviderUID(provider, uid); err != nil {
		return nil, err
	}
	return run(ctx, s, func(d *memData) (*socialauth.UserSocialAuth, error) {
		if _, ok := d.users[userID]; !ok {
			return nil, fmt.Errorf("testutil: user %q: %w", userID, socialauth.ErrNotFound)
		}
		for _, sa := range d.socials {
			if sa.Provider == provider && sa.UID == uid {
				return nil, fmt.Errorf("testutil: social auth (provider, uid): %w", socialauth.ErrDuplicate)
			}
		}
		d.nextSocial++
		now := time.Now()
		sa := &socialauth.UserSocialAuth{ID: d.nextSocial, UserID: userID, Provider: provider, UID: uid,
			ExtraData: map[string]any{}, Created: now, Modified: now}
		d.socials[sa.ID] = sa
		return cloneSocial(sa), nil
	})
}

// RemoveSocialAuth deletes one association (ErrNotFound when it is gone).
func (s *MemStore) RemoveSocialAuth(ctx context.Context, id int64) error {
	_, err := run(ctx, s, func(d *memData) (struct{}, error) {
		if _, ok := d.socials[id]; !ok {
			return struct{}{}, fmt.Errorf("testutil: social auth %d: %w", id, socialauth.ErrNotFound)
		}
		delete(d.socials, id)
		return struct{}{}, nil
	})
	return err
}

// UpdateExtraData passes a copy of the stored extra data to update and stores
// its result when it reports a change, atomically.
func (s *MemStore) UpdateExtraData(ctx context.Context, id int64, update func(old map[string]any) (map[string]any, bool)) (*socialauth.UserSocialAuth, error) {
	return run(ctx, s, func(d *memData) (*socialauth.UserSocialAuth, error) {
		sa, ok := d.socials[id]
		if !ok {
			return nil, fmt.Errorf("testutil: social auth %d: %w", id, socialauth.ErrNotFound)
		}
		next, changed := update(deepCopyMap(sa.ExtraData))
		if changed {
			sa = d.setExtraData(id, sa, next)
		}
		return cloneSocial(sa), nil
	})
}

// UpdateSocialAuthLocked is socialauth.SocialLocker. fn runs under the
// store-wide lock, as on SQLite, where the write transaction holds the whole
// database: every other call waits until fn returns. When fn fails nothing
// is written and its error is returned unchanged.
func (s *MemStore) UpdateSocialAuthLocked(ctx context.Context, id int64, fn func(current *socialauth.UserSocialAuth) (map[string]any, bool, error)) (*socialauth.UserSocialAuth, error) {
	return run(ctx, s, func(d *memData) (*socialauth.UserSocialAuth, error) {
		sa, ok := d.socials[id]
		if !ok {
			return nil, fmt.Errorf("testutil: social auth %d: %w", id, socialauth.ErrNotFound)
		}
		next, changed, err := fn(cloneSocial(sa))
		if err != nil {
			return nil, err
		}
		if changed {
			sa = d.setExtraData(id, sa, next)
		}
		return cloneSocial(sa), nil
	})
}

// setExtraData stores a copy of sa with a deep copy of extra as its extra
// data, modified now, and returns it.
func (d *memData) setExtraData(id int64, sa *socialauth.UserSocialAuth, extra map[string]any) *socialauth.UserSocialAuth {
	c := cloneSocial(sa)
	c.ExtraData = deepCopyMap(extra)
	if c.ExtraData == nil {
		c.ExtraData = map[string]any{}
	}
	c.Modified = time.Now()
	d.socials[id] = c
	return c
}

var _ socialauth.SocialLocker = (*MemStore)(nil)

// AllowedToDisconnect is social-app-django's rule: the user has a usable
// password, or another association remains (other than associationID when it
// is non-zero, else other than every association of provider).
func (s *MemStore) AllowedToDisconnect(ctx context.Context, userID, provider string, associationID int64) (bool, error) {
	return run(ctx, s, func(d *memData) (bool, error) {
		if d.passwords[userID] {
			return true, nil
		}
		for _, sa := range d.socials {
			if sa.UserID != userID {
				continue
			}
			if associationID != 0 {
				if sa.ID != associationID {
					return true, nil
				}
			} else if sa.Provider != provider {
				return true, nil
			}
		}
		return false, nil
	})
}

// SavePartial stores p under p.Token, replacing a partial with the same
// token; a zero CreatedAt is set to now.
func (s *MemStore) SavePartial(ctx context.Context, p *socialauth.Partial) error {
	if p == nil || p.Token == "" {
		return fmt.Errorf("%w: partial without a token", ErrInvalidInput)
	}
	_, err := run(ctx, s, func(d *memData) (struct{}, error) {
		c := clonePartial(p)
		if c.CreatedAt.IsZero() {
			c.CreatedAt = time.Now()
		}
		d.partials[c.Token] = c
		return struct{}{}, nil
	})
	return err
}

// LoadPartial returns the partial with that token.
func (s *MemStore) LoadPartial(ctx context.Context, token string) (*socialauth.Partial, error) {
	return run(ctx, s, func(d *memData) (*socialauth.Partial, error) {
		p, ok := d.partials[token]
		if !ok || token == "" {
			return nil, fmt.Errorf("testutil: partial: %w", socialauth.ErrNotFound)
		}
		return clonePartial(p), nil
	})
}

// DeletePartial removes the partial; deleted is false when it was gone.
func (s *MemStore) DeletePartial(ctx context.Context, token string) (bool, error) {
	return run(ctx, s, func(d *memData) (bool, error) {
		_, ok := d.partials[token]
		delete(d.partials, token)
		return ok, nil
	})
}

// UseNonce records n; fresh is false when it was recorded before.
func (s *MemStore) UseNonce(ctx context.Context, n socialauth.Nonce) (bool, error) {
	return run(ctx, s, func(d *memData) (bool, error) {
		if _, ok := d.nonces[n]; ok {
			return false, nil
		}
		d.nonces[n] = struct{}{}
		return true, nil
	})
}

// StoreAssociation upserts a by (ServerURL, Handle) and sets a.ID.
func (s *MemStore) StoreAssociation(ctx context.Context, a *socialauth.Association) error {
	_, err := run(ctx, s, func(d *memData) (struct{}, error) {
		c := *a
		c.ID = 0
		for id, old := range d.assocs {
			if old.ServerURL == a.ServerURL && old.Handle == a.Handle {
				c.ID = id
			}
		}
		if c.ID == 0 {
			d.nextAssoc++
			c.ID = d.nextAssoc
		}
		d.assocs[c.ID] = &c
		a.ID = c.ID
		return struct{}{}, nil
	})
	return err
}

// GetAssociations returns the associations of serverURL (and handle, when
// non-empty), newest Issued first.
func (s *MemStore) GetAssociations(ctx context.Context, serverURL, handle string) ([]*socialauth.Association, error) {
	return run(ctx, s, func(d *memData) ([]*socialauth.Association, error) {
		var out []*socialauth.Association
		for _, a := range d.assocs {
			if a.ServerURL == serverURL && (handle == "" || a.Handle == handle) {
				c := *a
				out = append(out, &c)
			}
		}
		sort.Slice(out, func(i, j int) bool {
			if out[i].Issued != out[j].Issued {
				return out[i].Issued > out[j].Issued
			}
			return out[i].ID > out[j].ID
		})
		return out, nil
	})
}

// RemoveAssociations deletes the associations with those ids.
func (s *MemStore) RemoveAssociations(ctx context.Context, ids []int64) error {
	_, err := run(ctx, s, func(d *memData) (struct{}, error) {
		for _, id := range ids {
			delete(d.assocs, id)
		}
		return struct{}{}, nil
	})
	return err
}

// MakeCode creates an unverified code for email: 32 hex characters, as
// upstream's uuid4().hex.
func (s *MemStore) MakeCode(ctx context.Context, email string) (*socialauth.EmailCode, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	return run(ctx, s, func(d *memData) (*socialauth.EmailCode, error) {
		d.nextCode++
		c := &socialauth.EmailCode{ID: d.nextCode, Email: email, Code: hex.EncodeToString(b[:]), CreatedAt: time.Now()}
		d.codes[c.ID] = c
		cc := *c
		return &cc, nil
	})
}

// GetCode returns the code record with exactly that code (the oldest, should
// two emails share one).
func (s *MemStore) GetCode(ctx context.Context, code string) (*socialauth.EmailCode, error) {
	return run(ctx, s, func(d *memData) (*socialauth.EmailCode, error) {
		var found *socialauth.EmailCode
		for _, c := range d.codes {
			if code != "" && c.Code == code && (found == nil || c.ID < found.ID) {
				found = c
			}
		}
		if found == nil {
			return nil, fmt.Errorf("testutil: code: %w", socialauth.ErrNotFound)
		}
		cc := *found
		return &cc, nil
	})
}

// VerifyCode marks the code verified.
func (s *MemStore) VerifyCode(ctx context.Context, id int64) error {
	_, err := run(ctx, s, func(d *memData) (struct{}, error) {
		c, ok := d.codes[id]
		if !ok {
			return struct{}{}, fmt.Errorf("testutil: code %d: %w", id, socialauth.ErrNotFound)
		}
		cc := *c
		cc.Verified = true
		d.codes[id] = &cc
		return struct{}{}, nil
	})
	return err
}

// Snapshot is a copy of everything a MemStore holds, in id order, for
// assertions such as "nothing was written".
type Snapshot struct {
	Users        []*socialauth.User
	SocialAuths  []*socialauth.UserSocialAuth
	Partials     []*socialauth.Partial // by token
	Nonces       []socialauth.Nonce
	Associations []*socialauth.Association
	Codes        []*socialauth.EmailCode
}

// snapshotFields is Snapshot without methods, so cmp compares its fields
// instead of calling Snapshot.Equal again.
type snapshotFields Snapshot

// Equal reports whether two snapshots hold the same records.
func (s Snapshot) Equal(o Snapshot) bool { return cmp.Equal(snapshotFields(s), snapshotFields(o)) }

// Diff describes how o differs from s (-s +o), "" when they are equal.
func (s Snapshot) Diff(o Snapshot) string { return cmp.Diff(snapshotFields(s), snapshotFields(o)) }

// Snapshot returns a copy of the store's contents.
func (s *MemStore) Snapshot() Snapshot {
	snap, _ := run(context.Background(), s, func(d *memData) (Snapshot, error) {
		var out Snapshot
		for _, u := range d.users {
			out.Users = append(out.Users, u.Clone())
		}
		sortUsers(out.Users)
		for _, sa := range d.socials {
			out.SocialAuths = append(out.SocialAuths, cloneSocial(sa))
		}
		sortSocials(out.SocialAuths)
		for _, p := range d.partials {
			out.Partials = append(out.Partials, clonePartial(p))
		}
		sort.Slice(out.Partials, func(i, j int) bool { return out.Partials[i].Token < out.Partials[j].Token })
		for n := range d.nonces {
			out.Nonces = append(out.Nonces, n)
		}
		sort.Slice(out.Nonces, func(i, j int) bool {
			a, b := out.Nonces[i], out.Nonces[j]
			if a.ServerURL != b.ServerURL {
				return a.ServerURL < b.ServerURL
			}
			if a.Timestamp != b.Timestamp {
				return a.Timestamp < b.Timestamp
			}
			return a.Salt < b.Salt
		})
		for _, a := range d.assocs {
			c := *a
			out.Associations = append(out.Associations, &c)
		}
		sort.Slice(out.Associations, func(i, j int) bool { return out.Associations[i].ID < out.Associations[j].ID })
		for _, c := range d.codes {
			cc := *c
			out.Codes = append(out.Codes, &cc)
		}
		sort.Slice(out.Codes, func(i, j int) bool { return out.Codes[i].ID < out.Codes[j].ID })
		return out, nil
	})
	return snap
}

// Users returns copies of all users (active or not), by id.
func (s *MemStore) Users() []*socialauth.User { return s.Snapshot().Users }

// SocialAuths returns copies of all associations, by id.
func (s *MemStore) SocialAuths() []*socialauth.UserSocialAuth { return s.Snapshot().SocialAuths }

// Partials returns copies of all partials, by token.
func (s *MemStore) Partials() []*socialauth.Partial { return s.Snapshot().Partials }

// Codes returns copies of all email validation codes, by id.
func (s *MemStore) Codes() []*socialauth.EmailCode { return s.Snapshot().Codes }

func (d *memData) clone() *memData {
	c := *d
	c.users = make(map[string]*socialauth.User, len(d.users))
	for k, u := range d.users {
		c.users[k] = u.Clone()
	}
	c.passwords = make(map[string]bool, len(d.passwords))
	for k, v := range d.passwords {
		c.passwords[k] = v
	}
	c.socials = make(map[int64]*socialauth.UserSocialAuth, len(d.socials))
	for k, sa := range d.socials {
		c.socials[k] = cloneSocial(sa)
	}
	c.partials = make(map[string]*socialauth.Partial, len(d.partials))
	for k, p := range d.partials {
		c.partials[k] = clonePartial(p)
	}
	c.nonces = make(map[socialauth.Nonce]struct{}, len(d.nonces))
	for k := range d.nonces {
		c.nonces[k] = struct{}{}
	}
	c.assocs = make(map[int64]*socialauth.Association, len(d.assocs))
	for k, a := range d.assocs {
		ac := *a
		c.assocs[k] = &ac
	}
	c.codes = make(map[int64]*socialauth.EmailCode, len(d.codes))
	for k, code := range d.codes {
		cc := *code
		c.codes[k] = &cc
	}
	return &c
}

func sortUsers(us []*socialauth.User) {
	sort.Slice(us, func(i, j int) bool { return idLess(us[i].ID, us[j].ID) })
}

func sortSocials(ss []*socialauth.UserSocialAuth) {
	sort.Slice(ss, func(i, j int) bool { return ss[i].ID < ss[j].ID })
}

// idLess orders numeric ids numerically and others as text.
func idLess(a, b string) bool {
	na, ea := strconv.ParseInt(a, 10, 64)
	nb, eb := strconv.ParseInt(b, 10, 64)
	if ea == nil && eb == nil {
		return na < nb
	}
	return a < b
}

func cloneSocial(sa *socialauth.UserSocialAuth) *socialauth.UserSocialAuth {
	c := *sa
	c.ExtraData = deepCopyMap(sa.ExtraData)
	return &c
}

func clonePartial(p *socialauth.Partial) *socialauth.Partial {
	c := *p
	c.Data = deepCopyMap(p.Data)
	return &c
}

// deepCopyMap copies JSON-like values (maps and slices are copied, other
// values shared).
func deepCopyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = deepCopy(v)
	}
	return out
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		return deepCopyMap(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e)
		}
		return out
	case []string:
		return append([]string(nil), x...)
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, s := range x {
			out[k] = s
		}
		return out
	}
	return v
}
