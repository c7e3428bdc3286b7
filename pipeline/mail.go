package pipeline

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/socialauth-go/socialauth"
)

// SessionEmailValidationAddress is the session key mail_validation keeps
// the address being validated under.
const SessionEmailValidationAddress = "email_validation_address"

// ParamVerificationCode is the request parameter carrying the code back.
const ParamVerificationCode = "verification_code"

// MailValidation returns mail_validation, a partial step (register it with
// Partial: true, as Steps does). It is active when the backend requires
// validation (EmailValidationRequirer) or FORCE_EMAIL_VALIDATION is on, the
// details have an email, and the user is new or PASSWORDLESS is on. Then:
//
//   - if the request data has verification_code, it pops the session's
//     email_validation_address and checks the code against the details'
//     email (exists, same code, same email, not yet verified; then marked
//     verified); a failure is InvalidEmail, success continues the pipeline;
//   - otherwise it makes a code, calls send with it and the partial token,
//     keeps the email in the session and redirects to EMAIL_VALIDATION_URL,
//     which pauses the pipeline until the link in the email resumes it.
//
// send nil, or EMAIL_VALIDATION_URL unset, is ImproperlyConfigured when a
// message has to be sent.
func MailValidation(send EmailSender) socialauth.StepFunc {
	return func(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
		if err := needs(st); err != nil {
			return nil, err
		}
		name := st.Backend.Name()
		c := confOf(st)
		requires := false
		if r, ok := st.Backend.(EmailValidationRequirer); ok {
			requires = r.RequiresEmailValidation()
		}
		if !requires {
			var err error
			if requires, err = c.bool("FORCE_EMAIL_VALIDATION", false); err != nil {
				return nil, err
			}
		}
		passwordless, err := c.bool("PASSWORDLESS", false)
		if err != nil {
			return nil, err
		}
		email := st.Details.String("email")
		if !requires || email == "" || !(st.IsNew || passwordless) {
			return nil, nil
		}
		data := st.Request
		if data == nil {
			data = st.Strategy.RequestData()
		}
		if _, ok := data[ParamVerificationCode]; ok {
			st.Strategy.SessionPop(SessionEmailValidationAddress)
			ok, err := validateEmail(ctx, st.Storage, email, data.Get(ParamVerificationCode))
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, socialauth.NewError(socialauth.CodeInvalidEmail, name, "", nil)
			}
			return nil, nil
		}
		if send == nil {
			return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, name,
				"mail_validation needs an EmailSender (pipeline.WithEmailSender)", nil)
		}
		url, err := c.string("EMAIL_VALIDATION_URL", "")
		if err != nil {
			return nil, err
		}
		if url == "" {
			return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, name, "EMAIL_VALIDATION_URL is not set", nil)
		}
		code, err := st.Storage.MakeCode(ctx, email)
		if err != nil {
			return nil, err
		}
		if err := send(ctx, st, code, st.PartialToken()); err != nil {
			return nil, err
		}
		st.Strategy.SessionSet(SessionEmailValidationAddress, email)
		return socialauth.Redirect(url), nil
	}
}

// validateEmail is the strategy's validate_email: the code exists, matches,
// belongs to email (exactly) and is unverified; it is then marked verified.
func validateEmail(ctx context.Context, s socialauth.Storage, email, code string) (bool, error) {
	if code == "" {
		return false, nil
	}
	rec, err := s.GetCode(ctx, code)
	if errors.Is(err, socialauth.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if subtle.ConstantTimeCompare([]byte(rec.Code), []byte(code)) != 1 || rec.Email != email || rec.Verified {
		return false, nil
	}
	if err := s.VerifyCode(ctx, rec.ID); err != nil {
		return false, err
	}
	return true, nil
}
