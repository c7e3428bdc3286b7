package pipeline

import (
	"context"
	"errors"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

func disconnectUser(st *socialauth.State) (*socialauth.User, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	if st.User == nil {
		return nil, socialauth.NewError(socialauth.CodeNotAllowedToDisconnect, st.Backend.Name(), "no user", nil)
	}
	return st.User, nil
}

// AllowedToDisconnect is allowed_to_disconnect: NotAllowedToDisconnect
// unless Storage.AllowedToDisconnect(user, backend, st.AssociationID).
func AllowedToDisconnect(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	user, err := disconnectUser(st)
	if err != nil {
		return nil, err
	}
	ok, err := st.Storage.AllowedToDisconnect(ctx, user.ID, st.Backend.Name(), st.AssociationID)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, socialauth.NewError(socialauth.CodeNotAllowedToDisconnect, st.Backend.Name(), "", nil)
	}
	return nil, nil
}

// GetEntries is get_entries: st.Entries = the user's associations of the
// backend (only st.AssociationID when non-zero).
func GetEntries(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	user, err := disconnectUser(st)
	if err != nil {
		return nil, err
	}
	entries, err := st.Storage.GetSocialAuthsForUser(ctx, user.ID, st.Backend.Name(), st.AssociationID)
	if err != nil {
		return nil, err
	}
	st.Entries = entries
	return nil, nil
}

// newRevokeTokens builds revoke_tokens: when REVOKE_TOKENS_ON_DISCONNECT (a
// global setting, default false, read globally only as upstream) is on, each
// entry's access token is revoked by the backend (when it implements
// socialauth.Revoker). A failure aborts the disconnect, as upstream, and so
// does an access token stored encrypted that does not decrypt
// (CodeFieldEncryption); an entry of another provider is MissingBackend.
func newRevokeTokens(_ string, s *settings.Settings) (socialauth.StepFunc, error) {
	r := s.Reader("")
	on := r.Bool("REVOKE_TOKENS_ON_DISCONNECT", false)
	if err := r.Err(); err != nil {
		return nil, err
	}
	if !on {
		return func(context.Context, *socialauth.State) (*socialauth.Response, error) { return nil, nil }, nil
	}
	return revokeTokens, nil
}

func revokeTokens(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	revoker, canRevoke := st.Backend.(socialauth.Revoker)
	for _, e := range st.Entries {
		token, tokenErr := e.Token("access_token")
		if token == "" && tokenErr == nil {
			continue
		}
		if e.Provider != st.Backend.Name() {
			return nil, &socialauth.Error{Code: socialauth.CodeMissingBackend, Backend: e.Provider}
		}
		if !canRevoke {
			continue
		}
		if tokenErr != nil {
			// An access token stored encrypted that does not decrypt
			// (CodeFieldEncryption): never skipped in silence.
			return nil, tokenErr
		}
		if err := revoker.Revoke(ctx, token, e.UID); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

// Disconnect is disconnect: it removes every entry (one already gone is
// not an error).
func Disconnect(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	for _, e := range st.Entries {
		if err := st.Storage.RemoveSocialAuth(ctx, e.ID); err != nil && !errors.Is(err, socialauth.ErrNotFound) {
			return nil, err
		}
	}
	return nil, nil
}
