package fakelms

import (
	"bytes"
	"net/http"
	"strconv"
	"time"
)

// Fault makes one endpoint misbehave, to test how a client copes with a failing provider.
//
// Delay alone (no Status, Body, BodySize or RedirectTo) slows the endpoint and then serves it
// normally. Otherwise the endpoint answers with the fault instead of its normal response:
// RedirectTo answers Status (default 302) with Location: RedirectTo; BodySize answers Status
// (default 200) with a body of that many bytes (a JSON-looking prefix padded with 'a');
// else Status (default 200) with Body. ContentType defaults to application/json.
// The delay honours the request context, so a client that gives up frees the handler.
type Fault struct {
	// Endpoint is one of "authorize", "token", "userinfo", "jwks", "discovery", "revoke", "logout".
	// Other values never match.
	Endpoint    string
	Status      int
	Body        string
	ContentType string
	Delay       time.Duration
	RedirectTo  string
	// BodySize, when > 0, sends a huge body of that many bytes.
	BodySize int
	// Times is how many requests the fault applies to; 0 means until ClearFaults.
	Times int
}

// Fault installs f, replacing any earlier fault on the same endpoint.
func (l *LMS) Fault(f Fault) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ff := f
	l.faults[f.Endpoint] = &ff
}

// ClearFaults removes every fault.
func (l *LMS) ClearFaults() {
	l.mu.Lock()
	defer l.mu.Unlock()
	clear(l.faults)
}

// takeFault returns the fault for ep, if any, and uses up one of its Times.
func (l *LMS) takeFault(ep endpoint) (Fault, bool) {
	name := endpointNames[ep]
	l.mu.Lock()
	defer l.mu.Unlock()
	f, ok := l.faults[name]
	if !ok {
		return Fault{}, false
	}
	if f.Times > 0 {
		f.Times--
		if f.Times == 0 {
			delete(l.faults, name)
		}
	}
	return *f, true
}

// applyFault answers the request per the endpoint's fault and reports whether it did.
func (l *LMS) applyFault(ep endpoint, w http.ResponseWriter, r *http.Request) bool {
	f, ok := l.takeFault(ep)
	if !ok {
		return false
	}
	l.log.Info("fakelms: fault", "endpoint", endpointNames[ep], "status", f.Status, "delay", f.Delay)
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		}
	}
	if f.Status == 0 && f.Body == "" && f.BodySize == 0 && f.RedirectTo == "" {
		return false
	}
	ct := f.ContentType
	if ct == "" {
		ct = "application/json"
	}
	switch {
	case f.RedirectTo != "":
		status := f.Status
		if status == 0 {
			status = http.StatusFound
		}
		w.Header().Set("Location", f.RedirectTo)
		w.WriteHeader(status)
	case f.BodySize > 0:
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Content-Length", strconv.Itoa(f.BodySize))
		w.WriteHeader(status)
		writeHuge(w, f.BodySize)
	default:
		status := f.Status
		if status == 0 {
			status = http.StatusOK
		}
		w.Header().Set("Content-Type", ct)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(f.Body))
	}
	return true
}

// writeHuge writes n bytes that start like a token response, stopping when the client goes away.
func writeHuge(w http.ResponseWriter, n int) {
	prefix := []byte(`{"access_token":"`)
	if n < len(prefix) {
		prefix = prefix[:n]
	}
	if _, err := w.Write(prefix); err != nil {
		return
	}
	n -= len(prefix)
	chunk := bytes.Repeat([]byte("a"), 32<<10)
	for n > 0 {
		c := chunk
		if n < len(c) {
			c = c[:n]
		}
		if _, err := w.Write(c); err != nil {
			return
		}
		n -= len(c)
	}
}
