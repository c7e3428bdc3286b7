package pipeline

import (
	"context"
	"crypto/subtle"
	"errors"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// SessionEmailValidationAddress is the session key mail_validation keeps
// the address being validated under.
const SessionEmailValidationAddress = "email_validation_address"

// ParamVerificationCode is the request parameter carrying the code back.
const ParamVerificationCode = "verification_code"

// ErrNoEmailSender is the cause of the error building a pipeline that names
// mail_validation without an EmailSender (see WithEmailSender).
var ErrNoEmailSender = errors.New("pipeline: mail_validation needs an EmailSender (pipeline.WithEmailSender)")

// mailValidation is mail_validation, a partial step (registered with
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
// A pipeline naming it needs EMAIL_VALIDATION_URL and an EmailSender: their
// absence fails at build, whether or not a login would send a message.
type mailValidation struct {
	send         EmailSender
	force        bool
	passwordless bool
	url          string
}

func (o *options) newMailValidation(backend string, s *settings.Settings) (socialauth.StepFunc, error) {
	r := s.Reader(backend)
	m := &mailValidation{
		send:         o.send,
		force:        r.Bool("FORCE_EMAIL_VALIDATION", false),
		passwordless: r.Bool("PASSWORDLESS", false),
		url:          r.Required("EMAIL_VALIDATION_URL"),
	}
	var errs []error
	if m.send == nil {
		errs = append(errs, ErrNoEmailSender)
	}
	if err := errors.Join(append(errs, r.Err())...); err != nil {
		return nil, err
	}
	return m.run, nil
}

func (m *mailValidation) run(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	requires := m.force
	if r, ok := st.Backend.(EmailValidationRequirer); ok && r.RequiresEmailValidation() {
		requires = true
	}
	email := st.Details.String("email")
	if !requires || email == "" || !(st.IsNew || m.passwordless) {
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
			return nil, socialauth.NewError(socialauth.CodeInvalidEmail, st.Backend.Name(), "", nil)
		}
		return nil, nil
	}
	code, err := st.Storage.MakeCode(ctx, email)
	if err != nil {
		return nil, err
	}
	if err := m.send(ctx, st, code, st.PartialToken()); err != nil {
		return nil, err
	}
	st.Strategy.SessionSet(SessionEmailValidationAddress, email)
	return socialauth.Redirect(m.url), nil
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
