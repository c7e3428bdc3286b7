package backends

import (
	"context"
	"errors"
	"net/url"
	"strings"

	"github.com/socialauth-go/socialauth"
)

// FormPoster is a backend whose provider returns with
// response_mode=form_post: the callback is a cross-site POST, which a
// browser sends without SameSite=Lax cookies. The views answer such a POST,
// when it carries no session cookie, with a page that re-POSTs the same
// form from the service's own origin, so the session comes along; a backend
// that is not a FormPoster keeps having it refused (no session, no flow).
type FormPoster interface {
	FormPostCallback() bool
}

// FormPostCallback reports OAuth2Config.FormPost.
func (o *OAuth2) FormPostCallback() bool { return o.cfg.FormPost }

// maxCallbackParamLen bounds a copied callback parameter.
const maxCallbackParamLen = 4096

// keepCallbackParams copies the named callback parameters (sent once, not
// duplicated, bounded, no control characters) into out, never replacing
// what the provider's verified answers hold.
func keepCallbackParams(names []string, data url.Values, out map[string]any) {
	for _, name := range names {
		vs := data[name]
		if len(vs) != 1 || vs[0] == "" || len(vs[0]) > maxCallbackParamLen || strings.ContainsFunc(vs[0], isControlNotSpace) {
			continue
		}
		if _, has := out[name]; !has {
			out[name] = vs[0]
		}
	}
}

// isControlNotSpace is isControl, tolerating the whitespace JSON may hold.
func isControlNotSpace(r rune) bool { return r != '\n' && r != '\r' && r != '\t' && isControl(r) }

// clientSecret is ClientSecretFunc's answer, else Secret.
func (o *OAuth2) clientSecret(ctx context.Context) (string, error) {
	if o.cfg.ClientSecretFunc == nil {
		return o.cfg.Secret, nil
	}
	secret, err := o.cfg.ClientSecretFunc(ctx)
	if err != nil {
		var se *socialauth.Error
		if errors.As(err, &se) {
			return "", err
		}
		return "", socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "client secret unavailable", err)
	}
	return secret, nil
}
