package edx

import (
	"context"
	"errors"
	"fmt"

	"github.com/socialauth-go/socialauth"
)

// Upstream names of the edX pipeline steps.
const (
	StepGetUserIfExists = "auth_backends.pipeline.get_user_if_exists"
	StepUpdateEmail     = "auth_backends.pipeline.update_email"
)

// EmailUpdatedKey is the State.Values key update_email sets to true when it
// changed the user's email (upstream's update_email.email_updated custom
// attribute).
const EmailUpdatedKey = "update_email.email_updated"

// UsernameMismatchMessage is the format of the WARNING update_email logs when
// the token's username is not the user's; upstream passes the user's
// username twice, then the details' username.
const UsernameMismatchMessage = "Unexpected username mismatch during email update. Skipping email update for user %s. User username: %s, Details username: %s"

// Pipeline returns the edX pipeline (EdxDjangoStrategy's default
// SOCIAL_AUTH_PIPELINE), by name. get_username is deliberately absent: the
// username comes from the token.
func Pipeline() []string {
	return []string{
		"social_core.pipeline.social_auth.social_details",
		"social_core.pipeline.social_auth.social_uid",
		"social_core.pipeline.social_auth.auth_allowed",
		"social_core.pipeline.social_auth.social_user",
		StepGetUserIfExists,
		"social_core.pipeline.user.create_user",
		"social_core.pipeline.social_auth.associate_user",
		"social_core.pipeline.social_auth.load_extra_data",
		"social_core.pipeline.user.user_details",
		StepUpdateEmail,
	}
}

// StepOption configures the steps RegisterSteps registers.
type StepOption func(*stepConfig)

type stepConfig struct {
	emailUpdated func(ctx context.Context, user *socialauth.User)
}

// OnEmailUpdated sets a hook told each time update_email saved a new email
// (a metric, say). It must not block.
func OnEmailUpdated(f func(ctx context.Context, user *socialauth.User)) StepOption {
	return func(c *stepConfig) { c.emailUpdated = f }
}

// Steps returns the edX steps under their upstream names.
func Steps(opts ...StepOption) []socialauth.Step {
	c := &stepConfig{}
	for _, o := range opts {
		o(c)
	}
	return []socialauth.Step{
		{Name: StepGetUserIfExists, Func: GetUserIfExists},
		{Name: StepUpdateEmail, Func: c.updateEmail},
	}
}

// RegisterSteps adds the edX steps to r (next to pipeline.NewSteps'
// defaults, so that Pipeline() resolves).
func RegisterSteps(r *socialauth.Steps, opts ...StepOption) {
	r.Register(Steps(opts...)...)
}

// GetUserIfExists is auth_backends.pipeline.get_user_if_exists: with a user
// already in the state it only sets IsNew=false; else the user whose
// username is exactly details["username"], if any, becomes the state's user
// (IsNew=false); else nothing changes. An absent or empty username looks
// nothing up.
func GetUserIfExists(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if st.User != nil {
		st.IsNew = false
		return nil, nil
	}
	username, _ := st.Details["username"].(string)
	if username == "" {
		return nil, nil
	}
	if st.Storage == nil {
		return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, st.BackendName(), "pipeline state has no storage", nil)
	}
	u, err := st.Storage.GetUserByUsername(ctx, username)
	if errors.Is(err, socialauth.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	st.User = u
	st.IsNew = false
	return nil, nil
}

// UpdateEmail is auth_backends.pipeline.update_email without a hook; see
// Steps.
func UpdateEmail(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	return (&stepConfig{}).updateEmail(ctx, st)
}

// updateEmail: no user → nothing. The token's username (details) must be
// exactly the user's, else the WARNING UsernameMismatchMessage is logged and
// nothing changes (a logged-in user completing SSO as someone else must not
// get that account's email). Otherwise a non-empty email that differs from
// the user's is saved and EmailUpdatedKey set.
func (c *stepConfig) updateEmail(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	user := st.User
	if user == nil {
		return nil, nil
	}
	detailsUsername, ok := st.Details["username"].(string)
	if !ok || detailsUsername != user.Username {
		shown := detailsUsername
		if !ok {
			shown = pyStr(st.Details["username"])
		}
		st.Log().WarnContext(ctx, fmt.Sprintf(UsernameMismatchMessage, user.Username, user.Username, shown))
		return nil, nil
	}
	email, _ := st.Details["email"].(string)
	if email == "" || email == user.Email {
		return nil, nil
	}
	if st.Storage == nil {
		return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, st.BackendName(), "pipeline state has no storage", nil)
	}
	updated := user.Clone()
	updated.Email = email
	if err := st.Storage.UpdateUser(ctx, updated, []string{socialauth.FieldEmail}); err != nil {
		return nil, err
	}
	user.Email = email
	st.Set(EmailUpdatedKey, true)
	if c.emailUpdated != nil {
		c.emailUpdated(ctx, user)
	}
	return nil, nil
}

// pyStr renders a non-string details value as upstream's %s would.
func pyStr(v any) string {
	if v == nil {
		return "None"
	}
	return fmt.Sprint(v)
}
