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
// Settings are read through st.Strategy.Settings() for the running backend
// (SOCIAL_AUTH_<BACKEND>_<NAME>, SOCIAL_AUTH_<NAME>, <NAME>), except
// REVOKE_TOKENS_ON_DISCONNECT, which upstream reads globally only. A setting
// of the wrong type is an ImproperlyConfigured error.
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
//     Upstream re-queries inside the failed transaction, which PostgreSQL
//     does not allow.
//   - create_user leaves out USER_FIELDS whose value is nil instead of
//     passing None.
//   - load_extra_data reports a change (and writes) only when the merged
//     extra data differs from what is stored, compared as JSON; see
//     MergeExtraData.
//   - get_username gives up with an ImproperlyConfigured error after 100
//     attempts to find a free username (upstream loops forever when, say,
//     UUID_LENGTH is 0).
//   - mail_validation takes its sender from WithEmailSender instead of the
//     EMAIL_VALIDATION_FUNCTION dotted path, and checks EMAIL_VALIDATION_URL
//     before sending rather than after. A backend requires validation by
//     implementing EmailValidationRequirer (upstream's
//     REQUIRES_EMAIL_VALIDATION attribute).
//   - CLEAN_USERNAME_FUNCTION and SLUGIFY_FUNCTION are Go functions given
//     with WithCleanUsername and WithSlugify.
//   - user_details walks details in key order (upstream: dict order) and
//     saves only the changed fields.
package pipeline
