package strategies

import (
	"net/http"
	"time"

	"github.com/alexedwards/scs/v2"

	"github.com/socialauth-go/socialauth"
)

// LoadAndSave is the session middleware of the views: scs's LoadAndSave
// when the manager's store is not a SealedStore. Over a SealedStore it
// loads the session the same way (a sealed cookie is opened by the store)
// and saves it as SealedStore describes: a modified session nobody is
// signed in to, new or loaded from its cookie, is sealed into the cookie
// (or, emptied, its cookie removed); any other modified session is
// committed to the store, under a new random token when it was loaded from
// its cookie. As with scs, the session is saved before the response's
// header is written.
func (h *HTTP) LoadAndSave(next http.Handler) http.Handler {
	if h.sealed == nil {
		return h.sessions.LoadAndSave(next)
	}
	m := h.sessions
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Cookie")
		var token string
		if c, err := r.Cookie(m.Cookie.Name); err == nil {
			token = c.Value
		}
		ctx, err := m.Load(r.Context(), token)
		if err != nil {
			m.ErrorFunc(w, r, err)
			return
		}
		sr := r.WithContext(ctx)
		sw := &savingWriter{ResponseWriter: w, save: func() { h.save(w, sr) }}
		next.ServeHTTP(sw, sr)
		if !sw.saved {
			sw.saved = true
			h.save(w, sr)
		}
	})
}

// save writes the request's session back (see LoadAndSave).
func (h *HTTP) save(w http.ResponseWriter, r *http.Request) {
	m, ctx := h.sessions, r.Context()
	switch m.Status(ctx) {
	case scs.Modified:
		if token, expiry, ok := h.sealAnonymous(r); ok {
			switch {
			case token != "":
				m.WriteSessionCookie(ctx, w, token, expiry)
			case IsSealed(m.Token(ctx)): // emptied: remove its cookie
				m.WriteSessionCookie(ctx, w, "", time.Time{})
			}
			return
		}
		if IsSealed(m.Token(ctx)) {
			// Leaving the cookie for the store: a new random token (the
			// sealed one has nothing stored to delete).
			if err := m.RenewToken(ctx); err != nil {
				m.ErrorFunc(w, r, err)
				return
			}
		}
		token, expiry, err := m.Commit(ctx)
		if err != nil {
			m.ErrorFunc(w, r, err)
			return
		}
		m.WriteSessionCookie(ctx, w, token, expiry)
	case scs.Destroyed:
		m.WriteSessionCookie(ctx, w, "", time.Time{})
	}
}

// sealAnonymous seals the request's session into a cookie value when it
// may live there: nobody signed in, not already in the store (its token is
// empty or sealed), and short enough. An emptied session gives token "".
// ok false: store it.
func (h *HTTP) sealAnonymous(r *http.Request) (token string, expiry time.Time, ok bool) {
	m, ctx := h.sessions, r.Context()
	if t := m.Token(ctx); t != "" && !IsSealed(t) {
		return "", time.Time{}, false
	}
	if m.Exists(ctx, socialauth.SessionUserID) {
		return "", time.Time{}, false
	}
	keys := m.Keys(ctx)
	if len(keys) == 0 {
		return "", time.Time{}, true
	}
	values := make(map[string]any, len(keys))
	for _, k := range keys {
		values[k] = m.Get(ctx, k)
	}
	deadline := m.Deadline(ctx)
	b, err := m.Codec.Encode(deadline, values)
	if err != nil {
		return "", time.Time{}, false // the commit reports it
	}
	// As a stored session, a sealed one ends unused for the idle timeout:
	// the cookie (and the expiry sealed in it) says min(deadline, now +
	// idle), moved at each change.
	expiry = deadline
	if h.idle > 0 {
		if e := time.Now().Add(h.idle); e.Before(expiry) {
			expiry = e
		}
	}
	token, fits, err := h.sealed.seal(b, expiry)
	if err != nil || !fits {
		if err != nil {
			h.logger.Error("socialauth: sealing the session failed; storing it", "err", err)
		}
		return "", time.Time{}, false
	}
	return token, expiry, true
}

// savingWriter saves the session before the first byte of the header, as
// scs's LoadAndSave does.
type savingWriter struct {
	http.ResponseWriter
	save  func()
	saved bool
}

func (sw *savingWriter) Write(b []byte) (int, error) {
	if !sw.saved {
		sw.saved = true
		sw.save()
	}
	return sw.ResponseWriter.Write(b)
}

func (sw *savingWriter) WriteHeader(code int) {
	if !sw.saved {
		sw.saved = true
		sw.save()
	}
	sw.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (sw *savingWriter) Unwrap() http.ResponseWriter { return sw.ResponseWriter }
