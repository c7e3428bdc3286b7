// Package pipeline holds social-core's default pipeline steps, under their
// upstream names, for a *socialauth.Steps registry:
//
//	social_core.pipeline.social_auth.{social_details, social_uid, auth_allowed,
//	    social_user, associate_user, associate_by_email, load_extra_data}
//	social_core.pipeline.user.{get_username, create_user, user_details}
//	social_core.pipeline.mail.mail_validation (a partial step)
//	social_core.pipeline.disconnect.{allowed_to_disconnect, get_entries,
//	    revoke_tokens, disconnect}
//
// NewSteps returns a registry holding all of them; Register adds them to an
// existing one, so an application can add its own steps next to them and
// name them in its PIPELINE setting.
//
// Settings are read once, when the Service is built: the steps that read
// settings (auth_allowed, get_username, create_user, user_details,
// mail_validation, revoke_tokens) are registered with socialauth.Step.New,
// which socialauth.New (through Steps.Build) calls once per backend. It reads
// the backend's settings (SOCIAL_AUTH_<BACKEND>_<NAME>, SOCIAL_AUTH_<NAME>,
// <NAME>; REVOKE_TOKENS_ON_DISCONNECT globally only, as upstream), checks
// them and returns the step's function over the typed values; at request
// time no step reads a setting. A malformed setting fails the build with an
// ImproperlyConfigured error naming its key (never quoting its value). The
// other steps read no settings and are exported as plain step functions.
//
// To test a step, build it as the Service does: Steps.Build, or
// testutil.BuildStep.
//
// Custom user tables: when the Storage implements UserFieldMapper (the GORM
// store and testutil's MemStore do), user_details leaves alone the fields the
// user model does not map, as the store's CreateUser does.
//
// Where this port departs from upstream, on purpose:
//
//   - social_uid rejects an empty uid and the text "None" (what upstream's
//     str(None) produces) with an AuthMissingParameter error for "uid";
//     upstream lets "None" through and would associate every account without
//     an id with one row.
//   - social_user fails with AuthAlreadyAssociated when a logged-in user
//     differs from the association's owner, as upstream; it also fails, with
//     AuthForbidden wrapping ErrInactiveUser, when the owner is inactive or
//     gone (Storage.GetUser returns active users only), instead of going on
//     to create a second user.
//   - create_user and associate_user do not look for the winner of a race:
//     a unique-key collision from Storage comes back as an AuthAlreadyAssociated
//     error that still matches errors.Is(err, socialauth.ErrDuplicate), and
//     the action (socialauth.Service) rolls back and runs the pipeline once
//     more in a fresh transaction, where social_user finds the winner's rows.
//     A step that meets socialauth.ErrConflict (the database aborted the
//     transaction on a deadlock) returns it wrapped with %w: the action
//     reruns the pipeline on it too.
//     Upstream re-queries inside the failed transaction, which PostgreSQL
//     does not allow.
//   - create_user leaves out USER_FIELDS whose value is nil instead of
//     passing None.
//   - load_extra_data reports a change (and writes) only when the merged
//     extra data differs from what is stored, compared as JSON; see
//     MergeExtraData.
//   - a UUID_LENGTH below 1 is refused at build (upstream loops forever on
//     a taken username with UUID_LENGTH 0), and get_username gives up with an
//     AuthException after 100 attempts to find a free username (a clean or
//     slug function that maps every name to a taken one).
//   - mail_validation takes its sender from WithEmailSender instead of the
//     EMAIL_VALIDATION_FUNCTION dotted path; a pipeline naming it without a
//     sender or EMAIL_VALIDATION_URL fails when it is built, not when a
//     message has to be sent. A backend requires validation by
//     implementing EmailValidationRequirer (upstream's
//     REQUIRES_EMAIL_VALIDATION attribute).
//   - CLEAN_USERNAME_FUNCTION and SLUGIFY_FUNCTION are Go functions given
//     with WithCleanUsername and WithSlugify.
//   - user_details walks details in key order (upstream: dict order), skips
//     fields the user model does not map (upstream's setattr would add a
//     Python attribute that is never saved) and saves only the changed
//     fields.
package pipeline
