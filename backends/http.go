package backends

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/socialauth-go/socialauth"
)

// Defaults of the HTTP layer.
const (
	// DefaultTimeout is upstream's REQUESTS_TIMEOUT default (5 s).
	DefaultTimeout = 5 * time.Second
	// DefaultMaxResponseBytes bounds every provider response body.
	DefaultMaxResponseBytes = 1 << 20
	// DefaultUserAgent is sent when USER_AGENT is not set.
	DefaultUserAgent = "socialauth-go"
)

// GetJSON GETs url with "Authorization: Bearer accessToken" (when not empty)
// and decodes the JSON object it answers, with the same timeout, redirect
// policy, size limit and error mapping as the token request. The base uses
// it for Endpoints.UserInfoURL; concrete backends in their UserData hooks.
func (o *OAuth2) GetJSON(ctx context.Context, url, accessToken string) (map[string]any, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "invalid provider URL", nil)
	}
	if accessToken != "" {
		req.Header.Set("Authorization", "Bearer "+accessToken)
	}
	return o.DoJSON(ctx, req)
}

// DoJSON sends req to the provider and decodes the JSON object it answers
// (an application/x-www-form-urlencoded body is accepted too, as some
// providers answer token requests that way). Failures are mapped as upstream
// maps them, with nothing of the provider's text:
//
//   - timeouts → AuthUnreachableProvider (wrapping context.DeadlineExceeded);
//   - other transport failures → AuthConnectionError;
//   - 400 → AuthCanceled; 401 and 403 → AuthForbidden; other 4xx → AuthFailed;
//   - 5xx → AuthUnreachableProvider;
//   - 3xx (redirects are never followed), HTML or other non-JSON bodies,
//     bodies over the size limit → AuthUnknownError.
//
// An OAuth error code in a 4xx JSON body is kept in the error's Msg when it
// is a plain token.
func (o *OAuth2) DoJSON(ctx context.Context, req *http.Request) (map[string]any, error) {
	ct, body, err := o.send(ctx, req)
	if err != nil {
		return nil, err
	}
	return o.decodeBody(ct, body)
}

// send does req and returns the Content-Type and body of a 2xx answer; every
// other outcome is a mapped *socialauth.Error.
func (o *OAuth2) send(ctx context.Context, req *http.Request) (string, []byte, error) {
	req = req.WithContext(ctx)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", o.cfg.UserAgent)
	}
	resp, err := o.client.Do(req)
	if err != nil {
		return "", nil, o.transportErr(err)
	}
	defer resp.Body.Close()
	limit := o.cfg.MaxResponseBytes
	if resp.ContentLength > limit {
		return "", nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "provider response too large", nil)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return "", nil, o.transportErr(err)
	}
	if int64(len(body)) > limit {
		return "", nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "provider response too large", nil)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return "", nil, o.statusErr(resp, body)
	}
	return resp.Header.Get("Content-Type"), body, nil
}

func (o *OAuth2) decodeBody(contentType string, body []byte) (map[string]any, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" {
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "malformed form response", nil)
		}
		out := make(map[string]any, len(vals))
		for k, vs := range vals {
			out[k] = vs[0]
		}
		return out, nil
	}
	if mt == "text/html" || mt == "application/xhtml+xml" {
		return nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "HTML response instead of JSON", nil)
	}
	m, err := decodeObject(body)
	if err != nil {
		return nil, socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, "response is not a JSON object", nil)
	}
	return m, nil
}

// decodeObject decodes one JSON object, numbers kept as json.Number (so
// numeric ids keep every digit).
func decodeObject(body []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, errors.New("null")
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data")
	}
	return m, nil
}

func (o *OAuth2) statusErr(resp *http.Response, body []byte) error {
	code := ""
	if m, err := decodeObject(body); err == nil {
		if e, ok := m["error"].(string); ok {
			code = safeCode(e)
		}
	}
	msg := fmt.Sprintf("provider answered HTTP %d", resp.StatusCode)
	if code != "" {
		msg += " " + code
	}
	st := resp.StatusCode
	switch {
	case st >= 300 && st < 400:
		return socialauth.NewError(socialauth.CodeAuthUnknownError, o.cfg.Name, msg+" (redirect not followed)", nil)
	case st == http.StatusBadRequest:
		return socialauth.NewError(socialauth.CodeAuthCanceled, o.cfg.Name, msg, nil)
	case st == http.StatusUnauthorized || st == http.StatusForbidden:
		return socialauth.NewError(socialauth.CodeAuthForbidden, o.cfg.Name, msg, nil)
	case st >= 500:
		return socialauth.NewError(socialauth.CodeAuthUnreachableProvider, o.cfg.Name, msg, nil)
	default:
		return socialauth.NewError(socialauth.CodeAuthFailed, o.cfg.Name, msg, nil)
	}
}

// transportErr maps a client error. The *url.Error is unwrapped: its URL may
// carry secrets (a GET token request has the code in its query).
func (o *OAuth2) transportErr(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return socialauth.NewError(socialauth.CodeAuthUnreachableProvider, o.cfg.Name, "timeout", context.DeadlineExceeded)
	}
	if errors.Is(err, context.Canceled) {
		return socialauth.NewError(socialauth.CodeAuthConnectionError, o.cfg.Name, "request canceled", context.Canceled)
	}
	return socialauth.NewError(socialauth.CodeAuthConnectionError, o.cfg.Name, "", safeCause{err})
}

// safeCause keeps a transport error for errors.Is/As while printing only its
// kind: net errors may embed addresses, and nothing of a request URL.
type safeCause struct{ err error }

func (c safeCause) Error() string {
	var op *net.OpError
	if errors.As(c.err, &op) {
		return op.Op + " failed"
	}
	return "transport failure"
}

func (c safeCause) Unwrap() error { return c.err }
