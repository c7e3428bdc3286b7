package pipeline

import (
	"context"
	"errors"

	"github.com/socialauth-go/socialauth"
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

// RevokeTokens is revoke_tokens: when REVOKE_TOKENS_ON_DISCONNECT (a global
// setting, default false) is on, each entry's access token is revoked by the
// backend (when it implements socialauth.Revoker). A failure aborts the
// disconnect, as upstream; an entry of another provider is MissingBackend.
func RevokeTokens(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	on, err := st.Strategy.Settings().Bool("", "REVOKE_TOKENS_ON_DISCONNECT", false)
	if err != nil {
		return nil, confOf(st).improperly(err)
	}
	if !on {
		return nil, nil
	}
	revoker, canRevoke := st.Backend.(socialauth.Revoker)
	for _, e := range st.Entries {
		token := e.AccessToken()
		if token == "" {
			continue
		}
		if e.Provider != st.Backend.Name() {
			return nil, &socialauth.Error{Code: socialauth.CodeMissingBackend, Backend: e.Provider}
		}
		if !canRevoke {
			continue
		}
		if err := revoker.Revoke(ctx, st.Strategy, token, e.UID); err != nil {
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
