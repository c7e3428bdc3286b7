package discovery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// defaultHTTPClient is used when Options.HTTPClient is nil.
func defaultHTTPClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second}
}

// DefaultMaxRedirects is how many redirects a GET follows when
// Options.MaxRedirects is zero.
const DefaultMaxRedirects = 3

// withRedirectPolicy returns a shallow copy of c that follows at most max
// redirects (none when max <= 0), and only to the origin of the first request
// or from http to https on the same host name. Any other redirect is an error
// naming its target (scheme, host and path only: never a query or user info).
func withRedirectPolicy(c *http.Client, max int) *http.Client {
	cp := *c
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if max <= 0 {
			return http.ErrUseLastResponse // reported as a 3xx by fetch
		}
		if len(via) > max {
			return fmt.Errorf("%w: more than %d redirects (last to %s)", ErrBadResponse, max, redactURL(req.URL))
		}
		orig := via[0].URL
		for _, prev := range via[1:] {
			if prev.URL.Scheme == "https" {
				orig = prev.URL // once upgraded, never back to http
				break
			}
		}
		if !redirectAllowed(orig, req.URL) {
			return fmt.Errorf("%w: redirect to %s not allowed (only to the same origin, or from http to https on the same host)", ErrBadResponse, redactURL(req.URL))
		}
		return nil
	}
	return &cp
}

// redirectAllowed reports whether a GET of from may be redirected to to.
func redirectAllowed(from, to *url.URL) bool {
	if to.User != nil || !strings.EqualFold(from.Hostname(), to.Hostname()) {
		return false
	}
	fs, ts := strings.ToLower(from.Scheme), strings.ToLower(to.Scheme)
	switch {
	case fs == ts:
		return effectivePort(from) == effectivePort(to)
	case fs == "http" && ts == "https":
		return true
	}
	return false
}

func effectivePort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if strings.EqualFold(u.Scheme, "https") {
		return "443"
	}
	return "80"
}

// redactURL is u without user info, query or fragment.
func redactURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	return r.String()
}

// fetch GETs url and returns its body, bounded by maxBody. Every failure is a
// *FetchError classified as ErrUnreachable or ErrBadResponse.
func fetch(ctx context.Context, client *http.Client, url string, maxBody int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &FetchError{URL: url, Err: fmt.Errorf("%w: invalid request: %w", ErrBadResponse, err)}
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		err = unwrapURLError(err)
		if errors.Is(err, ErrBadResponse) { // a redirect refused by the policy
			return nil, &FetchError{URL: url, Err: err}
		}
		return nil, &FetchError{URL: url, Err: fmt.Errorf("%w: %w", ErrUnreachable, err)}
	}
	defer resp.Body.Close()
	// Drain a little so the connection can be reused, but never much.
	defer func() { _, _ = io.CopyN(io.Discard, resp.Body, 4<<10) }()

	switch {
	case resp.StatusCode >= 500:
		return nil, &FetchError{URL: url, Status: resp.StatusCode, Err: fmt.Errorf("%w: server error", ErrUnreachable)}
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, &FetchError{URL: url, Status: resp.StatusCode, Err: fmt.Errorf("%w: redirect not followed", ErrBadResponse)}
	case resp.StatusCode != http.StatusOK:
		return nil, &FetchError{URL: url, Status: resp.StatusCode, Err: fmt.Errorf("%w: unexpected status", ErrBadResponse)}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err == nil && (mt == "text/html" || mt == "application/xhtml+xml") {
			return nil, &FetchError{URL: url, Status: resp.StatusCode, Err: fmt.Errorf("%w: HTML instead of JSON", ErrBadResponse)}
		}
	}
	if resp.ContentLength > maxBody {
		return nil, &FetchError{URL: url, Status: resp.StatusCode, Err: fmt.Errorf("%w: body larger than %d bytes", ErrBadResponse, maxBody)}
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, &FetchError{URL: url, Status: resp.StatusCode, Err: fmt.Errorf("%w: reading body: %w", ErrUnreachable, err)}
	}
	if int64(len(body)) > maxBody {
		return nil, &FetchError{URL: url, Status: resp.StatusCode, Err: fmt.Errorf("%w: body larger than %d bytes", ErrBadResponse, maxBody)}
	}
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, &FetchError{URL: url, Status: resp.StatusCode, Err: fmt.Errorf("%w: body is not a JSON object", ErrBadResponse)}
	}
	return body, nil
}

// unwrapURLError drops *url.Error's wrapper, whose message repeats the URL we
// already report.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}
