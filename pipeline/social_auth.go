package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// SocialDetails is social_details: st.Details becomes the backend's
// UserDetails(st.Response) overlaid with the details already in the state
// (those win, e.g. from a partial step).
func SocialDetails(_ context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	d := socialauth.Details{}
	maps.Copy(d, st.Backend.UserDetails(st.Response))
	maps.Copy(d, st.Details)
	st.Details = d
	return nil, nil
}

// MaxUIDLength is the longest uid social_uid accepts, in bytes: the size of
// the uid column (255) on every database.
const MaxUIDLength = 255

// SocialUID is social_uid: st.UID = backend.UserID(details, response). An
// empty uid or "None" is an AuthMissingParameter error for "uid"; a uid that
// is whitespace only, longer than MaxUIDLength bytes, not valid UTF-8, or
// that holds NUL or another control character is an AuthInvalidParameter
// error for "uid" (400). Either way st.UID is not set and nothing is
// written. The uid is otherwise kept exactly as the provider sent it
// (surrounding spaces included).
func SocialUID(_ context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	uid, err := st.Backend.UserID(st.Details, st.Response)
	if err != nil {
		return nil, err
	}
	if uid == "" || uid == "None" {
		return nil, socialauth.MissingParameter(st.Backend.Name(), "uid")
	}
	if reason := badUID(uid); reason != "" {
		// The uid is not in the error: it may be anything the provider sent.
		return nil, &socialauth.Error{Code: socialauth.CodeAuthInvalidParameter, Backend: st.Backend.Name(), Param: "uid", Msg: reason}
	}
	st.UID = uid
	return nil, nil
}

// badUID returns why uid cannot identify an account ("" when it can).
func badUID(uid string) string {
	switch {
	case strings.TrimSpace(uid) == "":
		return "uid is whitespace only"
	case len(uid) > MaxUIDLength:
		return "uid is longer than 255 bytes"
	case !utf8.ValidString(uid):
		return "uid is not valid UTF-8"
	case strings.ContainsFunc(uid, unicode.IsControl):
		return "uid contains a control character"
	}
	return ""
}

// authAllowed is auth_allowed: when WHITELISTED_EMAILS or
// WHITELISTED_DOMAINS is non-empty and details has an email, the lower-cased
// email must be listed or its domain must be (a malformed email is denied);
// a backend implementing socialauth.AuthAllower must also allow. Otherwise
// AuthForbidden.
type authAllowed struct {
	emails, domains []string // lower-cased
}

func newAuthAllowed(backend string, s *settings.Settings) (socialauth.StepFunc, error) {
	r := s.Reader(backend)
	a := &authAllowed{
		emails:  lowerAll(r.StringList("WHITELISTED_EMAILS", nil)),
		domains: lowerAll(r.StringList("WHITELISTED_DOMAINS", nil)),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return a.run, nil
}

func (a *authAllowed) run(_ context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	allowed := true
	if email := st.Details.String("email"); email != "" && (len(a.emails) > 0 || len(a.domains) > 0) {
		email = strings.ToLower(email)
		_, domain, ok := strings.Cut(email, "@")
		allowed = slices.Contains(a.emails, email) || (ok && slices.Contains(a.domains, domain))
	}
	if allowed {
		if aa, ok := st.Backend.(socialauth.AuthAllower); ok {
			allowed = aa.AuthAllowed(st.Response, st.Details)
		}
	}
	if !allowed {
		return nil, socialauth.NewError(socialauth.CodeAuthForbidden, st.Backend.Name(), "", nil)
	}
	return nil, nil
}

func lowerAll(list []string) []string {
	out := make([]string, len(list))
	for i, x := range list {
		out[i] = strings.ToLower(x)
	}
	return out
}

// SocialUser is social_user: it looks up the association (backend, uid). A
// logged-in st.User who is not its owner is AuthAlreadyAssociated; with no
// st.User the owner becomes st.User (AuthForbidden wrapping ErrInactiveUser
// when the owner is inactive). It sets Social, IsNew (no user) and
// NewAssociation (no association).
//
// When st.Storage implements socialauth.SocialUserGetter, the association
// and its owner are read in one call (one joined query in the GORM store);
// otherwise GetSocialAuth then GetUser.
func SocialUser(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	name := st.Backend.Name()
	social, owner, joined, err := lookupSocialWithUser(ctx, st)
	if err != nil {
		return nil, err
	}
	user := st.User
	if social != nil {
		if user != nil && user.ID != social.UserID {
			return nil, socialauth.NewError(socialauth.CodeAuthAlreadyAssociated, name, "", nil)
		}
		if user == nil {
			if !joined {
				owner, err = st.Storage.GetUser(ctx, social.UserID)
				if err != nil && !errors.Is(err, socialauth.ErrNotFound) {
					return nil, err
				}
			}
			if owner == nil {
				return nil, socialauth.NewError(socialauth.CodeAuthForbidden, name, "the account is inactive", ErrInactiveUser)
			}
			user = owner
		}
	}
	st.Social = social
	st.User = user
	st.IsNew = user == nil
	st.NewAssociation = social == nil
	return nil, nil
}

// lookupSocialWithUser returns the association (backend, st.UID), nil when
// none, and, when the storage is a socialauth.SocialUserGetter (joined
// true), its active owner from the same query (nil when inactive or gone).
func lookupSocialWithUser(ctx context.Context, st *socialauth.State) (social *socialauth.UserSocialAuth, owner *socialauth.User, joined bool, err error) {
	g, ok := st.Storage.(socialauth.SocialUserGetter)
	if !ok {
		social, err = lookupSocial(ctx, st)
		return social, nil, false, err
	}
	if st.UID == "" {
		return nil, nil, true, socialauth.MissingParameter(st.Backend.Name(), "uid")
	}
	social, owner, err = g.GetSocialAuthWithUser(ctx, st.Backend.Name(), st.UID)
	if errors.Is(err, socialauth.ErrNotFound) {
		return nil, nil, true, nil
	}
	if err != nil {
		return nil, nil, true, err
	}
	return social, owner, true, nil
}

// lookupSocial returns the association (backend, st.UID), nil when none.
func lookupSocial(ctx context.Context, st *socialauth.State) (*socialauth.UserSocialAuth, error) {
	if st.UID == "" {
		return nil, socialauth.MissingParameter(st.Backend.Name(), "uid")
	}
	social, err := st.Storage.GetSocialAuth(ctx, st.Backend.Name(), st.UID)
	if errors.Is(err, socialauth.ErrNotFound) {
		return nil, nil
	}
	return social, err
}

// AssociateByEmail is associate_by_email (not in the default pipeline: it is
// safe only with providers that verify emails). With no user yet and an
// email in details: one active user with that email (case-insensitive)
// becomes st.User (IsNew false); several are an AuthException.
func AssociateByEmail(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	if st.User != nil {
		return nil, nil
	}
	email := st.Details.String("email")
	if email == "" {
		return nil, nil
	}
	users, err := st.Storage.GetUsersByEmail(ctx, email)
	if err != nil {
		return nil, err
	}
	switch len(users) {
	case 0:
		return nil, nil
	case 1:
		st.User = users[0]
		st.IsNew = false
		return nil, nil
	}
	return nil, socialauth.NewError(socialauth.CodeAuthException, st.Backend.Name(),
		"The given email address is associated with another account", nil)
}

// AssociateUser is associate_user: with a user and no association it creates
// (user, backend, uid) and sets Social and NewAssociation. A collision is an
// AuthAlreadyAssociated error wrapping the storage's ErrDuplicate, for the
// action to restart the pipeline.
func AssociateUser(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	if st.User == nil || st.Social != nil {
		return nil, nil
	}
	if st.UID == "" {
		return nil, socialauth.MissingParameter(st.Backend.Name(), "uid")
	}
	social, err := st.Storage.CreateSocialAuth(ctx, st.User.ID, st.Backend.Name(), st.UID)
	if err != nil {
		if errors.Is(err, socialauth.ErrDuplicate) {
			return nil, socialauth.NewError(socialauth.CodeAuthAlreadyAssociated, st.Backend.Name(), "", err)
		}
		return nil, err
	}
	st.Social = social
	st.NewAssociation = true
	st.Log().Debug("socialauth: association created", "backend", st.Backend.Name(), "user_id", st.User.ID)
	return nil, nil
}

// LoadExtraData is load_extra_data: it merges backend.ExtraData into the
// association's extra data through Storage.UpdateExtraData (MergeExtraData).
func LoadExtraData(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	social := st.Social
	if social == nil && st.UID != "" {
		var err error
		if social, err = lookupSocial(ctx, st); err != nil {
			return nil, err
		}
	}
	if social == nil {
		return nil, nil
	}
	extra := st.Backend.ExtraData(st.User, st.UID, st.Response, st.Details)
	updated, err := st.Storage.UpdateExtraData(ctx, social.ID, func(old map[string]any) (map[string]any, bool) {
		return MergeExtraData(old, extra)
	})
	if err != nil {
		return nil, err
	}
	st.Social = updated
	return nil, nil
}

// MergeExtraData is upstream's set_extra_data without the write: nothing
// when next is empty; next replaces old when old is empty; otherwise next's
// keys are merged over old's. changed reports whether the result differs
// from old (compared as JSON, so 3600 and 3600.0 are equal). The inputs are
// not modified.
func MergeExtraData(old, next map[string]any) (merged map[string]any, changed bool) {
	if len(next) == 0 {
		return old, false
	}
	if len(old) == 0 {
		return maps.Clone(next), true
	}
	merged = maps.Clone(old)
	// Only next's keys can differ: comparing them value by value gives the
	// answer of comparing the whole maps as JSON, without encoding the rest.
	for k, v := range next {
		if prev, ok := old[k]; !ok || !sameJSON(prev, v) {
			changed = true
		}
		merged[k] = v
	}
	return merged, changed
}

// sameJSON reports whether a and b encode to the same JSON. Equal strings,
// float64s, json.Numbers and bools do without encoding; so do unequal valid-UTF-8 strings
// (their encodings differ too).
func sameJSON(a, b any) bool {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			if x == y {
				return true
			}
			if utf8.ValidString(x) && utf8.ValidString(y) {
				return false
			}
		}
	case float64:
		if y, ok := b.(float64); ok && x == y && math.Signbit(x) == math.Signbit(y) {
			return true // 0 and -0 are equal but encode differently
		}
	case bool:
		if y, ok := b.(bool); ok {
			return x == y
		}
	case json.Number:
		// As stored extra data reads back: the same text encodes the same.
		if y, ok := b.(json.Number); ok && x == y {
			return true
		}
	}
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		return reflect.DeepEqual(a, b)
	}
	return string(ja) == string(jb)
}
