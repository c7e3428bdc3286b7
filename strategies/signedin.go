package strategies

import (
	"context"
	"net/http"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
)

// SignedInFinder is a session store that reads a stored session together
// with the active user it is signed in to and that user's associations, in
// one statement (the GORM store's SessionStore). Over one, HTTP.SignedInUser
// answers who is signed in to a request without loading its session.
type SignedInFinder interface {
	// FindSignedInCtx returns the unexpired session stored under token with
	// its recorded owner and, when that user exists and is active, the user
	// and their associations ordered by id; found is false when no
	// unexpired session has that token.
	FindSignedInCtx(ctx context.Context, token string) (s socialauth.SignedInSession, found bool, err error)
}

// signedInFinder returns the SignedInFinder under a session manager's store
// chain (SealedStore, IdleStore, OwnerStore, as NewHTTP and
// NewSessionManager build it), with the IdleStore that keeps its idle
// timeout (nil when the manager has none). It returns nil when there is
// none, or when scs keeps an idle timeout itself (a session must then be
// loaded, and saved, to stay alive).
func signedInFinder(m *scs.SessionManager) (SignedInFinder, *IdleStore) {
	store := m.Store
	if sealed, ok := store.(*SealedStore); ok {
		store = sealed.Inner()
	}
	if is, ok := store.(*IdleStore); ok {
		if f, ok := is.keeper.(SignedInFinder); ok && m.IdleTimeout == 0 {
			return f, is
		}
		return nil, nil
	}
	if m.IdleTimeout != 0 {
		return nil, nil
	}
	if o, ok := store.(OwnerStore); ok {
		store = o.inner
	}
	f, _ := store.(SignedInFinder)
	return f, nil
}

// SignedInUser returns the active user signed in to r's session and their
// associations ordered by id (a nil user when nobody is) without loading
// the session: over a SignedInFinder (the GORM store's SessionStore) it is
// one statement, the session row read with its user, instead of a session
// load and a user read. A request with no session cookie, a sealed cookie
// (nobody is signed in to a sealed session) or an ended session has no
// user. As a session load would, it moves an idle timeout kept by the
// store (IdleStore's keep-alive).
//
// As for a loaded session, the session's data says who is signed in (a
// session whose data names nobody has no user); the owner recorded next to
// it only lets the same statement read that user. ok is false when it
// cannot answer without loading the session: the session store is no
// SignedInFinder, scs keeps the idle timeout itself (a manager with an
// IdleTimeout), or the recorded owner is not the data's (a session stored
// before the sessions table recorded owners). Load the session then and
// use Service.CurrentUserWithSocialAuths; views.Views.SignedInUser does.
func (h *HTTP) SignedInUser(r *http.Request) (user *socialauth.User, socials []*socialauth.UserSocialAuth, ok bool, err error) {
	if h.signedIn == nil {
		return nil, nil, false, nil
	}
	c, cerr := r.Cookie(h.sessions.Cookie.Name)
	if cerr != nil || c.Value == "" || IsSealed(c.Value) {
		return nil, nil, true, nil
	}
	ctx := r.Context()
	s, found, err := h.signedIn.FindSignedInCtx(ctx, c.Value)
	if err != nil || !found {
		return nil, nil, err == nil, err
	}
	if h.signedInIdle != nil {
		if err := h.signedInIdle.keepAlive(ctx, c.Value, s.Data, s.Expiry); err != nil {
			return nil, nil, false, err
		}
	}
	// The session's data says who is signed in, as for a loaded session;
	// the recorded owner only let the same statement read that user. A
	// session whose data names nobody is nobody's, whatever its owner
	// column still says (an app that removed the user without ending the
	// session); one whose owner was not recorded (stored before owners
	// were) is loaded.
	o, signedIn := sessionOwner(s.Data)
	switch {
	case !signedIn:
		return nil, nil, true, nil
	case o.UserID != s.Owner:
		return nil, nil, false, nil
	}
	return s.User, s.Socials, true, nil
}
