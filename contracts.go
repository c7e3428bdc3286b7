package socialauth

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Backend is one identity provider. The bases in package backends implement
// the protocol (OAuth2, OpenID Connect); a concrete backend supplies the
// endpoints and the mapping of the provider's answer.
//
// Optional behaviour is expressed by the smaller interfaces below (Refresher,
// Revoker, LogoutURLer, AuthAllower), which a backend implements when it can.
type Backend interface {
	// Name is the provider id stored in UserSocialAuth.Provider and used in
	// URLs and setting names (edx-oauth2 → SOCIAL_AUTH_EDX_OAUTH2_*).
	Name() string
	// Start begins a login: it keeps whatever the callback must check (state,
	// PKCE verifier, nonce) in the session and returns the redirect to the
	// provider.
	Start(ctx context.Context, s Strategy) (*Response, error)
	// Complete handles the provider's callback (the strategy's request data):
	// provider errors, state, code exchange, token verification, user data.
	// It returns the provider response (token response merged with user data)
	// that the pipeline maps to details, uid and extra data.
	Complete(ctx context.Context, s Strategy) (map[string]any, error)
	// UserDetails maps the provider response to user details.
	UserDetails(response map[string]any) Details
	// UserID returns the uid of the account (ID_KEY of the response).
	UserID(details Details, response map[string]any) (string, error)
	// ExtraData returns what to merge into UserSocialAuth.ExtraData.
	ExtraData(user *User, uid string, response map[string]any, details Details) map[string]any
}

// Refresher is a Backend that can refresh an access token.
type Refresher interface {
	// Refresh exchanges refreshToken for a new token response.
	Refresh(ctx context.Context, refreshToken string) (map[string]any, error)
}

// Revoker is a Backend that can revoke a token (RFC 7009).
type Revoker interface {
	Revoke(ctx context.Context, token, uid string) error
}

// SecretDeclarer is a Backend that keeps secrets in extra_data beyond
// DefaultSecretMembers (a provider's extra token, say): a store that
// encrypts secret members encrypts these too. The answer must not change
// after construction.
type SecretDeclarer interface {
	SecretExtraData() []string
}

// DefaultSecretMembers are the members of extra_data that are secrets for
// every backend: a store with field encryption stores them encrypted.
func DefaultSecretMembers() []string {
	return []string{"access_token", "refresh_token", "id_token"}
}

// LogoutURLer is a Backend with a provider logout URL. s is the request
// being logged out (an OpenID Connect backend reads its id_token_hint from
// the session).
type LogoutURLer interface {
	LogoutURL(ctx context.Context, s Strategy) (string, error)
}

// CallbackDetector is a Backend that tells its provider's callback from
// another request to its complete route, such as the form of a paused
// pipeline. When the session holds a paused pipeline and a request without
// partial_token reaches the complete route, the Service resumes that
// pipeline unless the backend says the request is a provider callback:
// then the abandoned partial is dropped and the callback completes, so a
// stale partial never takes over a fresh sign-in. The OAuth2 bases
// implement it (a non-empty state).
type CallbackDetector interface {
	IsCallback(data url.Values) bool
}

// SessionReplacer is a Backend whose sign-ins replace the session's user
// and never connect another account to it: a single sign-on provider such
// as the LMS (edx-oauth2's Start logs a signed-in session out first, as
// upstream's start()). With several sign-ins pending in one session (two
// tabs), one may complete after another has signed the session in: the
// Service then completes it as a fresh sign-in, so the last to complete is
// the signed-in user and no identity is attached to another user.
type SessionReplacer interface {
	ReplacesSessionUser() bool
}

// AuthAllower is a Backend with its own rule for who may log in, consulted by
// the auth_allowed step in addition to the WHITELISTED_* settings.
type AuthAllower interface {
	AuthAllowed(response map[string]any, details Details) bool
}

// Strategy is the bridge to the web for one request: the request's data,
// its session and its absolute URLs. It carries no configuration: settings,
// logger, HTTP client and randomness are given to the Service and the
// backends when they are built. The net/http strategy in package strategies
// is the ordinary implementation; testutil has one for tests.
type Strategy interface {
	// Request is the HTTP request being served, or nil outside a request.
	Request() *http.Request
	// RequestData is the request's parameters: query merged with the POST
	// form (form values first), as upstream's request_data(merge=True).
	RequestData() url.Values

	// SessionGet returns a session value. Values are strings, bools,
	// numbers, []string or map[string]string.
	SessionGet(key string) (any, bool)
	// SessionSet stores a session value.
	SessionSet(key string, value any)
	// SessionPop removes a session value and returns what it was.
	SessionPop(key string) (any, bool)
	// SessionRotate gives the session a new id, keeping its data (at login).
	SessionRotate(ctx context.Context) error
	// SessionFlush destroys the session and its data (at logout).
	SessionFlush(ctx context.Context) error

	// AbsoluteURI makes path absolute against the configured public base
	// URL (never the request's Host header).
	AbsoluteURI(path string) string
	// CallbackURL is the absolute URL of backend's complete route, where
	// the app mounted it (the OAuth redirect_uri).
	CallbackURL(backend string) string
}

// Storage persists users, associations, partial pipelines and email
// validation codes (NonceStorage and AssociationStorage are optional). The GORM store (package storage) and the in-memory store
// (testutil) implement it and pass one conformance suite.
type Storage interface {
	UserStorage
	SocialStorage
	PartialStorage
	CodeStorage
	// Transaction runs fn with a Storage whose writes commit together when fn
	// returns nil and roll back otherwise. Nested calls join the outer
	// transaction.
	Transaction(ctx context.Context, fn func(tx Storage) error) error
}

// UserStorage is the gateway to the application's users.
type UserStorage interface {
	// GetUser returns the active user with that id (ErrNotFound otherwise).
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByUsername returns the user with exactly that username.
	GetUserByUsername(ctx context.Context, username string) (*User, error)
	// UserExists reports whether a user has that username.
	UserExists(ctx context.Context, username string) (bool, error)
	// CreateUser creates a user from the USER_FIELDS values. A unique
	// collision returns an error wrapping ErrDuplicate; it never returns the
	// existing user.
	CreateUser(ctx context.Context, fields map[string]any) (*User, error)
	// GetUsersByEmail returns the active users with that email, compared
	// case-insensitively (as upstream).
	GetUsersByEmail(ctx context.Context, email string) ([]*User, error)
	// UpdateUser saves the named fields of u.
	UpdateUser(ctx context.Context, u *User, fields []string) error
}

// SocialStorage stores UserSocialAuth rows.
type SocialStorage interface {
	// GetSocialAuth returns the association with exactly that provider and
	// uid (case, accents and trailing spaces included). An empty provider or
	// uid is rejected without a query.
	GetSocialAuth(ctx context.Context, provider, uid string) (*UserSocialAuth, error)
	// GetSocialAuthByID returns one association by id.
	GetSocialAuthByID(ctx context.Context, id int64) (*UserSocialAuth, error)
	// GetSocialAuthsForUser lists a user's associations, optionally only of
	// one provider ("" for all) or one id (0 for all).
	GetSocialAuthsForUser(ctx context.Context, userID, provider string, id int64) ([]*UserSocialAuth, error)
	// CreateSocialAuth creates an association; ErrDuplicate when (provider,
	// uid) exists.
	CreateSocialAuth(ctx context.Context, userID, provider, uid string) (*UserSocialAuth, error)
	// RemoveSocialAuth deletes one association.
	RemoveSocialAuth(ctx context.Context, id int64) error
	// UpdateExtraData atomically reads the association's extra data, passes a
	// copy to update, and stores what update returns when it reports a
	// change. It returns the stored row.
	UpdateExtraData(ctx context.Context, id int64, update func(old map[string]any) (map[string]any, bool)) (*UserSocialAuth, error)
	// AllowedToDisconnect reports whether the user keeps a way to log in
	// after removing the association (or all of provider's when id is 0).
	AllowedToDisconnect(ctx context.Context, userID, provider string, associationID int64) (bool, error)
}

// SocialLocker is a Storage that can hold one association locked while a
// slow decision about its extra data is made, such as a token refresh at the
// provider, so that instances sharing the database never make it twice for
// the same row. It is optional: the GORM store and MemStore implement it, and
// the OAuth2 backends use it for RefreshSocial when the store has it.
type SocialLocker interface {
	// UpdateSocialAuthLocked locks the association row (SELECT … FOR UPDATE
	// on PostgreSQL and MySQL; on SQLite a write transaction, which holds the
	// whole database), reads it, and calls fn with a private copy of it.
	// When fn reports a change, the extra data it returns is written in the
	// same transaction; the stored row is returned either way. When fn
	// returns an error, nothing is written, the lock is released and that
	// error is returned unchanged. Other writers of the row wait while fn
	// runs, so fn must bound its own duration and must not use the store.
	// Inside Transaction it joins the outer transaction. ErrNotFound when
	// there is no such association (fn is not called).
	UpdateSocialAuthLocked(ctx context.Context, id int64, fn func(current *UserSocialAuth) (extra map[string]any, changed bool, err error)) (*UserSocialAuth, error)
}

// PartialStorage stores paused pipelines.
type PartialStorage interface {
	SavePartial(ctx context.Context, p *Partial) error
	// LoadPartial returns the partial with that token (ErrNotFound).
	LoadPartial(ctx context.Context, token string) (*Partial, error)
	// DeletePartial removes it; deleted is false when it was already gone
	// (so a resume can be single use under concurrency).
	DeletePartial(ctx context.Context, token string) (deleted bool, err error)
}

// NonceStorage stores one-time nonces: upstream's OpenID 2 / OAuth1 nonce
// table, for a custom backend that needs it. It is optional (no built-in
// backend or step uses it); the GORM store and MemStore implement it.
type NonceStorage interface {
	// UseNonce records a nonce; fresh is false when it was seen before.
	UseNonce(ctx context.Context, n Nonce) (fresh bool, err error)
}

// AssociationStorage stores OpenID 2 associations, for a custom backend that
// needs them. It is optional (no built-in backend or step uses it); the GORM
// store and MemStore implement it.
type AssociationStorage interface {
	// StoreAssociation upserts by (server_url, handle).
	StoreAssociation(ctx context.Context, a *Association) error
	// GetAssociations filters by server URL and, when non-empty, handle;
	// newest first.
	GetAssociations(ctx context.Context, serverURL, handle string) ([]*Association, error)
	RemoveAssociations(ctx context.Context, ids []int64) error
}

// CodeStorage stores email validation codes.
type CodeStorage interface {
	// MakeCode creates and returns a new code for email.
	MakeCode(ctx context.Context, email string) (*EmailCode, error)
	// GetCode returns the code record (ErrNotFound).
	GetCode(ctx context.Context, code string) (*EmailCode, error)
	// VerifyCode marks it verified.
	VerifyCode(ctx context.Context, id int64) error
}

// SocialUserGetter is a Storage that can load an association and its active
// user in one query. The social_user step uses it when the store has it (the
// GORM store does: one joined SELECT instead of two on every returning
// login).
type SocialUserGetter interface {
	// GetSocialAuthWithUser returns the association with exactly that
	// provider and uid, and its owner when the owner is active (nil user
	// otherwise). ErrNotFound when there is no association.
	GetSocialAuthWithUser(ctx context.Context, provider, uid string) (*UserSocialAuth, *User, error)
}

// UserSocialAuthsGetter is a Storage that can load an active user and all
// their associations in one query. Service.CurrentUserWithSocialAuths uses
// it when the store has it (the GORM store does: one joined SELECT instead
// of two for a page that shows the signed-in user's accounts).
type UserSocialAuthsGetter interface {
	// GetUserWithSocialAuths returns the active user with that id and their
	// associations ordered by id. ErrNotFound when there is no such active
	// user.
	GetUserWithSocialAuths(ctx context.Context, userID string) (*User, []*UserSocialAuth, error)
}

// SessionOwner is who a stored session belongs to, as the session store
// records it next to the session's data: the signed-in user, the backend of
// the sign-in and the provider's session id (an OpenID Connect ID token's
// sid claim, "" when the provider sent none).
type SessionOwner struct {
	UserID  string
	Backend string
	SID     string
}

// SignedInSession is a stored session read together with the user it is
// signed in to: what a session store that can join its rows with the users
// (the GORM store's SessionStore.FindSignedInCtx) returns, so that a page
// showing the signed-in user reads the session and the user in one
// statement.
type SignedInSession struct {
	// Data is the session's encoded data, as scs.Store's Find returns it.
	Data []byte
	// Expiry is the session's stored expiry.
	Expiry time.Time
	// Owner is the user id recorded next to the session (SessionOwner's
	// UserID): "" when the session was stored without one.
	Owner string
	// User is the owner when that user exists and is active, else nil.
	User *User
	// Socials are User's associations ordered by id (none when User is nil).
	Socials []*UserSocialAuth
}

// SessionInfo describes one stored, unexpired session of a user. ID is not
// the session's cookie token but a digest of it: it names the session for
// EndSession and may be shown to the user.
type SessionInfo struct {
	ID       string
	UserID   string
	Backend  string
	SID      string
	Created  time.Time
	LastSeen time.Time
	Expiry   time.Time
}

// SessionStorage is a Storage that also holds the web sessions, indexed by
// their owner, so that they can be listed and ended per user (a "sign out
// everywhere" button) or per provider session (OpenID Connect back-channel
// logout), whatever instance created them. It is optional; the GORM store
// and MemStore implement it. Deletions report how many sessions ended.
type SessionStorage interface {
	// SessionsOfUser lists the user's unexpired sessions, oldest first.
	SessionsOfUser(ctx context.Context, userID string) ([]SessionInfo, error)
	// DeleteSessionsOfUser ends every session of the user.
	DeleteSessionsOfUser(ctx context.Context, userID string) (int64, error)
	// DeleteSessionsBySID ends the sessions signed in through backend whose
	// provider session id is sid.
	DeleteSessionsBySID(ctx context.Context, backend, sid string) (int64, error)
	// DeleteSessionsOfBackendUser ends the user's sessions signed in
	// through backend.
	DeleteSessionsOfBackendUser(ctx context.Context, backend, userID string) (int64, error)
	// DeleteSession ends the user's session whose SessionInfo.ID is id
	// (false when the user has no such session).
	DeleteSession(ctx context.Context, userID, id string) (bool, error)
}

// LogoutToken is a verified OpenID Connect Back-Channel Logout token: the
// user (Subject, the provider's sub) or the provider session (SID) to end,
// or both; JTI is its unique id, single use within its lifetime.
type LogoutToken struct {
	Issuer   string
	Subject  string
	SID      string
	JTI      string
	IssuedAt time.Time
	// Expiry is the token's exp, or its iat plus the backend's maximum age
	// when the provider sent no exp (Ory Hydra does not).
	Expiry time.Time
}

// BackChannelLogouter is a Backend whose provider ends sessions by
// OpenID Connect Back-Channel Logout 1.0 (the OIDC base implements it).
type BackChannelLogouter interface {
	// VerifyLogoutToken checks a logout_token: signature with the
	// provider's keys and algorithms, iss, aud, iat, the events claim, no
	// nonce, a sub or a sid, a jti. It does not record the jti: the
	// Service does, in the store shared by every instance. Errors are
	// AuthTokenError (AuthUnreachableProvider when the keys could not be
	// fetched).
	VerifyLogoutToken(ctx context.Context, token string) (*LogoutToken, error)
}

// RPInitiatedLogouter is a Backend with OpenID Connect RP-initiated logout
// 1.0 (the OIDC base implements it). The logout view prefers it to
// LogoutURLer: it sends the browser to EndSessionURL with the return route
// ({prefix}/logout/{backend}/return/) as post_logout_redirect_uri and a
// single-use state kept in the (fresh) session, which the return route
// checks before redirecting on.
type RPInitiatedLogouter interface {
	// EndSessionURL is the provider's end_session URL with id_token_hint
	// (the ID token of the session's sign-in), client_id,
	// post_logout_redirect_uri and state; "" when the provider has none.
	EndSessionURL(ctx context.Context, s Strategy, postLogoutRedirectURI, state string) (string, error)
	// PostLogoutRedirect is where the return route sends the browser when
	// the logout request named no next (LOGOUT_REDIRECT_URL; "" for "/").
	PostLogoutRedirect() string
}
