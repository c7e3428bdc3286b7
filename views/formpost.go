package views

import (
	"crypto/rand"
	"encoding/hex"
	"html/template"
	"net/http"
	"sort"

	"github.com/socialauth-go/socialauth/strategies"
)

// relayMarker marks a form_post callback the views have re-POSTed, so that
// a re-POST that still arrives without a session is never relayed again.
const relayMarker = "socialauth_relay"

// Bounds on a relayed form: a provider's callback is a handful of short
// fields.
const (
	maxRelayFields = 16
	maxRelayBytes  = 16 << 10
)

// formPoster is backends.FormPoster, declared here so that the views need
// nothing but the root package's Backend.
type formPoster interface{ FormPostCallback() bool }

// relayFormPost answers a response_mode=form_post callback that arrived
// without the session cookie. The provider's page POSTs it cross-site, so a
// browser leaves the SameSite=Lax session cookie out, and the callback
// would find no pending sign-in. For a backend that declares form_post
// (backends.FormPoster) and such a POST only, it serves a small page that
// POSTs the same fields again from the service's own origin: same-site, so
// the cookie comes along. It reports whether it answered. Every other
// backend, or a POST that carries the cookie or the relay marker, is left
// to the normal callback (which refuses a sign-in it has no session for).
func (v *Views) relayFormPost(w http.ResponseWriter, r *http.Request, backend string) bool {
	if r.Method != http.MethodPost {
		return false
	}
	cookie := strategies.SessionCookieName
	if v.sessions != nil {
		cookie = v.sessions.Cookie.Name
	}
	if _, err := r.Cookie(cookie); err == nil {
		return false
	}
	b, ok := v.svc.Backend(backend)
	if fp, isFP := b.(formPoster); !ok || !isFP || !fp.FormPostCallback() {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxRelayBytes)
	if err := r.ParseForm(); err != nil || r.PostForm.Has(relayMarker) || len(r.PostForm) > maxRelayFields {
		return false
	}
	type field struct{ Name, Value string }
	var fields []field
	for name, vs := range r.PostForm {
		for _, val := range vs {
			fields = append(fields, field{name, val})
		}
	}
	sort.Slice(fields, func(i, j int) bool { return fields[i].Name < fields[j].Name })
	fields = append(fields, field{relayMarker, "1"})
	nonce := make([]byte, 18)
	_, _ = rand.Read(nonce)
	n := hex.EncodeToString(nonce)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+n+"'; base-uri 'none'; frame-ancestors 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	w.WriteHeader(http.StatusOK)
	_ = relayPage.Execute(w, map[string]any{"Fields": fields, "Nonce": n})
	return true
}

// relayPage posts its form to the page's own URL (no action attribute) as
// soon as it loads; without JavaScript the button does.
var relayPage = template.Must(template.New("relay").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signing in…</title></head>
<body><form method="post" id="relay">
{{range .Fields}}<input type="hidden" name="{{.Name}}" value="{{.Value}}">
{{end}}<noscript><button type="submit">Continue signing in</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("relay").submit();</script>
</body></html>
`))
