package socialauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// sessionStorage returns the store's SessionStorage, or an
// ImproperlyConfigured error when the store does not keep sessions.
func (s *Service) sessionStorage() (SessionStorage, error) {
	ss, ok := s.storage.(SessionStorage)
	if !ok {
		return nil, &Error{Code: CodeImproperlyConfigured,
			Msg: "the Storage does not implement SessionStorage: sessions cannot be listed or ended per user"}
	}
	return ss, nil
}

// Sessions lists the user's unexpired signed-in sessions, whatever
// instance created them (for a "where you are signed in" page). It needs a
// Storage that implements SessionStorage, holding the sessions too (the
// GORM store used as the session store: storage.Store.SessionStore()).
func (s *Service) Sessions(ctx context.Context, userID string) ([]SessionInfo, error) {
	ss, err := s.sessionStorage()
	if err != nil {
		return nil, err
	}
	return ss.SessionsOfUser(ctx, userID)
}

// EndSessions ends every session of the user, on every instance sharing
// the store ("sign out everywhere"); it returns how many ended. The
// request that asks for it should also log its own session out (Logout),
// or it is ended under its feet: its next request is anonymous.
func (s *Service) EndSessions(ctx context.Context, userID string) (int64, error) {
	ss, err := s.sessionStorage()
	if err != nil {
		return 0, err
	}
	n, err := ss.DeleteSessionsOfUser(ctx, userID)
	if err == nil {
		s.logger.InfoContext(ctx, "socialauth: sessions ended", "user_id", userID, "sessions", n)
	}
	return n, err
}

// EndSession ends one session of the user, named by SessionInfo.ID;
// ErrNotFound when the user has no such session.
func (s *Service) EndSession(ctx context.Context, userID, sessionID string) error {
	ss, err := s.sessionStorage()
	if err != nil {
		return err
	}
	ok, err := ss.DeleteSession(ctx, userID, sessionID)
	if err != nil {
		return err
	}
	if !ok {
		return ErrNotFound
	}
	return nil
}

// BackChannelLogoutResult says what a back-channel logout ended.
type BackChannelLogoutResult struct {
	// Sessions is how many sessions ended (0 is a success too: the user may
	// have signed out here already).
	Sessions int64
}

// BackChannelLogout handles an OpenID Connect Back-Channel Logout 1.0
// request for backend: the backend verifies the logout_token, its jti is
// recorded in the store's NonceStorage (so a token is single use across
// every instance sharing the store), then the sessions signed in through
// backend with the token's sid end, or, without a sid, every session of
// the user whose association with backend has the token's sub as uid.
//
// Errors: MissingBackend; AuthTokenError for a token refused (a replayed
// jti included), with nothing ended; AuthUnreachableProvider when the
// provider's keys could not be fetched; ImproperlyConfigured when the
// backend does not do back-channel logout or the store keeps no sessions
// or nonces; a storage error otherwise.
func (s *Service) BackChannelLogout(ctx context.Context, backendName, logoutToken string) (BackChannelLogoutResult, error) {
	var res BackChannelLogoutResult
	sv, err := s.lookup(backendName)
	if err != nil {
		return res, err
	}
	bl, ok := sv.backend.(BackChannelLogouter)
	if !ok {
		return res, &Error{Code: CodeImproperlyConfigured, Backend: backendName, Msg: "the backend does not do back-channel logout"}
	}
	ss, err := s.sessionStorage()
	if err != nil {
		return res, err
	}
	nonces, ok := s.storage.(NonceStorage)
	if !ok {
		return res, &Error{Code: CodeImproperlyConfigured, Backend: backendName,
			Msg: "the Storage does not implement NonceStorage: logout tokens cannot be made single use"}
	}
	if logoutToken == "" {
		return res, &Error{Code: CodeAuthMissingParameter, Backend: backendName, Param: "logout_token"}
	}
	tok, err := bl.VerifyLogoutToken(ctx, logoutToken)
	if err != nil {
		return res, err
	}
	fresh, err := nonces.UseNonce(ctx, logoutNonce(backendName, tok))
	if err != nil {
		return res, err
	}
	if !fresh {
		return res, NewError(CodeAuthTokenError, backendName, "logout_token replayed (jti already used)", nil)
	}
	switch {
	case tok.SID != "":
		res.Sessions, err = ss.DeleteSessionsBySID(ctx, backendName, tok.SID)
	default:
		social, gerr := s.storage.GetSocialAuth(ctx, backendName, tok.Subject)
		switch {
		case errors.Is(gerr, ErrNotFound):
			// No user here for that sub: nothing to end.
		case gerr != nil:
			return res, gerr
		default:
			res.Sessions, err = ss.DeleteSessionsOfUser(ctx, social.UserID)
		}
	}
	if err != nil {
		return res, err
	}
	s.logger.InfoContext(ctx, "socialauth: back-channel logout", "backend", backendName,
		"by_sid", tok.SID != "", "sessions", res.Sessions)
	return res, nil
}

// logoutNonce is the nonce row that makes a logout token's jti single use:
// per backend and issuer, the jti digested (it is the provider's, of any
// length).
func logoutNonce(backend string, tok *LogoutToken) Nonce {
	sum := sha256.Sum256([]byte(tok.JTI))
	server := "backchannel-logout:" + backend + ":" + tok.Issuer
	if len(server) > 255 {
		h := sha256.Sum256([]byte(server))
		server = "backchannel-logout:" + hex.EncodeToString(h[:])
	}
	return Nonce{ServerURL: server, Timestamp: tok.IssuedAt.Unix(), Salt: hex.EncodeToString(sum[:])}
}
