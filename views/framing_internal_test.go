package views

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/socialauth-go/socialauth"
)

// A response that sets its own Content-Security-Policy or X-Frame-Options
// (a page a paused pipeline shows) keeps the framing ban: its policy is sent
// next to frame-ancestors 'none', X-Frame-Options stays DENY, and the
// Service's response is not changed.
func TestAnswerKeepsFramingBan(t *testing.T) {
	v := &Views{}
	own := "default-src 'self'"
	resp := &socialauth.Response{Status: http.StatusOK, Body: []byte("<p>confirm</p>"), Header: http.Header{
		"Content-Security-Policy": {own}, "X-Frame-Options": {"SAMEORIGIN"}, "Content-Type": {"text/html"},
	}}
	w := httptest.NewRecorder()
	denyFraming(w.Header())
	v.answer(w, httptest.NewRequest(http.MethodGet, "/complete/x/", nil), "x", resp, nil)
	h := w.Result().Header
	if got := h.Values("Content-Security-Policy"); !slices.Equal(got, []string{own, frameAncestorsNone}) {
		t.Errorf("Content-Security-Policy = %q, want the page's and %q", got, frameAncestorsNone)
	}
	if got := h.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
	if got := resp.Header.Values("Content-Security-Policy"); !slices.Equal(got, []string{own}) || resp.Header.Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("the Service's response was changed: %v", resp.Header)
	}

	// A route without the ban (logout, disconnect) serves the response as is.
	w = httptest.NewRecorder()
	v.answer(w, httptest.NewRequest(http.MethodGet, "/", nil), "x", resp, nil)
	if got := w.Result().Header.Values("Content-Security-Policy"); !slices.Equal(got, []string{own}) {
		t.Errorf("without the ban: Content-Security-Policy = %q", got)
	}
}
