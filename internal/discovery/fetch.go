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
	"time"
)

// defaultHTTPClient is used when Options.HTTPClient is nil.
func defaultHTTPClient() *http.Client {
	return &http.Client{Timeout: 5 * time.Second}
}

// noRedirects returns a shallow copy of c that never follows redirects: a
// provider document must come from the URL we were configured with.
func noRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
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
		return nil, &FetchError{URL: url, Err: fmt.Errorf("%w: %w", ErrUnreachable, unwrapURLError(err))}
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
