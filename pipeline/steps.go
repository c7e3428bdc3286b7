package pipeline

import (
	"context"
	"errors"

	"github.com/socialauth-go/socialauth"
)

// Upstream step names.
const (
	StepSocialDetails       = "social_core.pipeline.social_auth.social_details"
	StepSocialUID           = "social_core.pipeline.social_auth.social_uid"
	StepAuthAllowed         = "social_core.pipeline.social_auth.auth_allowed"
	StepSocialUser          = "social_core.pipeline.social_auth.social_user"
	StepAssociateUser       = "social_core.pipeline.social_auth.associate_user"
	StepAssociateByEmail    = "social_core.pipeline.social_auth.associate_by_email"
	StepLoadExtraData       = "social_core.pipeline.social_auth.load_extra_data"
	StepGetUsername         = "social_core.pipeline.user.get_username"
	StepCreateUser          = "social_core.pipeline.user.create_user"
	StepUserDetails         = "social_core.pipeline.user.user_details"
	StepMailValidation      = "social_core.pipeline.mail.mail_validation"
	StepAllowedToDisconnect = "social_core.pipeline.disconnect.allowed_to_disconnect"
	StepGetEntries          = "social_core.pipeline.disconnect.get_entries"
	StepRevokeTokens        = "social_core.pipeline.disconnect.revoke_tokens"
	StepDisconnect          = "social_core.pipeline.disconnect.disconnect"
)

// ErrInactiveUser is the cause of the AuthForbidden error social_user
// returns when the association's owner is inactive (or gone).
var ErrInactiveUser = errors.New("pipeline: the associated user is inactive")

// EmailSender sends the email-validation message for code (upstream's
// EMAIL_VALIDATION_FUNCTION). partialToken is the token the paused pipeline
// is saved under: the link in the message should reach the complete URL
// with partial_token=<partialToken>&verification_code=<code.Code>. It must
// not log the code.
type EmailSender func(ctx context.Context, st *socialauth.State, code *socialauth.EmailCode, partialToken string) error

// EmailValidationRequirer is a Backend that always requires email
// validation (upstream's REQUIRES_EMAIL_VALIDATION class attribute).
type EmailValidationRequirer interface {
	RequiresEmailValidation() bool
}

// UsernameMaxLengther is a Storage that knows its username column length
// (upstream's storage.user.username_max_length()).
type UsernameMaxLengther interface {
	UsernameMaxLength() int
}

// UserFieldMapper is a Storage that knows which user fields its user model
// maps (a custom user table may have no first_name, say). user_details
// leaves unmapped fields alone, as CreateUser does; a Storage without this
// method is taken to map every field of socialauth.User.
type UserFieldMapper interface {
	// MapsUserField reports whether the user model stores field (a name as
	// socialauth.User.Get spells it).
	MapsUserField(field string) bool
}

// DefaultUsernameMaxLength is Django's auth_user.username length, used when
// neither the storage nor WithUsernameMaxLength says otherwise.
const DefaultUsernameMaxLength = 150

// Option configures the steps built by NewSteps, Register and Steps.
type Option func(*options)

type options struct {
	send      EmailSender
	clean     func(string) string
	slugify   func(string) string
	maxLength int
}

// WithEmailSender sets the sender mail_validation uses. A pipeline naming
// mail_validation without one fails when the Service is built.
func WithEmailSender(send EmailSender) Option { return func(o *options) { o.send = send } }

// WithCleanUsername replaces CleanUsername in get_username (upstream's
// CLEAN_USERNAME_FUNCTION); it applies when CLEAN_USERNAMES is on.
func WithCleanUsername(f func(string) string) Option { return func(o *options) { o.clean = f } }

// WithSlugify replaces Slugify in get_username (upstream's SLUGIFY_FUNCTION);
// it applies when SLUGIFY_USERNAMES is on.
func WithSlugify(f func(string) string) Option { return func(o *options) { o.slugify = f } }

// WithUsernameMaxLength sets the username length used when the storage does
// not implement UsernameMaxLengther.
func WithUsernameMaxLength(n int) Option { return func(o *options) { o.maxLength = n } }

func newOptions(opts []Option) *options {
	o := &options{}
	for _, f := range opts {
		f(o)
	}
	return o
}

// Steps returns every default step, configured by opts. The steps that read
// settings have Step.New: socialauth.New (Steps.Build) reads and checks their
// settings once per backend, and a malformed one stops start-up with an
// error naming its key.
func Steps(opts ...Option) []socialauth.Step {
	o := newOptions(opts)
	return []socialauth.Step{
		{Name: StepSocialDetails, Func: SocialDetails},
		{Name: StepSocialUID, Func: SocialUID},
		{Name: StepAuthAllowed, New: newAuthAllowed},
		{Name: StepSocialUser, Func: SocialUser},
		{Name: StepAssociateUser, Func: AssociateUser},
		{Name: StepAssociateByEmail, Func: AssociateByEmail},
		{Name: StepLoadExtraData, Func: LoadExtraData},
		{Name: StepGetUsername, New: o.newGetUsername},
		{Name: StepCreateUser, New: newCreateUser},
		{Name: StepUserDetails, New: newUserDetails},
		{Name: StepMailValidation, New: o.newMailValidation, Partial: true},
		{Name: StepAllowedToDisconnect, Func: AllowedToDisconnect},
		{Name: StepGetEntries, Func: GetEntries},
		{Name: StepRevokeTokens, New: newRevokeTokens},
		{Name: StepDisconnect, Func: Disconnect},
	}
}

// Register adds the default steps to r (replacing steps of the same names).
func Register(r *socialauth.Steps, opts ...Option) {
	r.Register(Steps(opts...)...)
}

// NewSteps returns a registry holding the default steps.
func NewSteps(opts ...Option) *socialauth.Steps {
	r := socialauth.NewSteps()
	Register(r, opts...)
	return r
}

// needs checks the state has what every step needs.
func needs(st *socialauth.State) error {
	var missing string
	switch {
	case st.Backend == nil:
		missing = "backend"
	case st.Strategy == nil:
		missing = "strategy"
	case st.Storage == nil:
		missing = "storage"
	default:
		return nil
	}
	return &socialauth.Error{Code: socialauth.CodeImproperlyConfigured, Backend: st.BackendName(), Msg: "pipeline state has no " + missing}
}
