// Package sessionrotate lets a session store turn the rotation of a session
// id at login (scs's RenewToken: delete the old token now, commit the new
// one at the end of the request) into one write: the old row renamed to the
// new token, with the new data, when the request commits.
//
// The views put a Rotation in the request's context around scs's
// LoadAndSave; the strategy arms it for the duration of RenewToken; a store
// that knows the package (storage.SessionStore) defers the delete it is
// asked for while armed, and takes the deferred token at the commit. When
// nothing takes it (the commit failed, or the handler panicked), Finish
// deletes the old token before the request ends. Without a Rotation in the
// context, or with a store that ignores it, the delete happens at once, as
// scs does it.
package sessionrotate

import (
	"context"
	"sync"
)

type key struct{}

// Rotation is the state of one request. Its zero value is not used: With
// makes one.
type Rotation struct {
	mu      sync.Mutex
	armed   bool
	pending string
	del     func(context.Context, string) error
}

// With returns ctx carrying a new Rotation.
func With(ctx context.Context) (context.Context, *Rotation) {
	r := &Rotation{}
	return context.WithValue(ctx, key{}, r), r
}

// From returns the Rotation of ctx, or nil.
func From(ctx context.Context) *Rotation {
	r, _ := ctx.Value(key{}).(*Rotation)
	return r
}

// Arm makes the next Defer succeed, until Disarm. Methods on a nil
// Rotation do nothing.
func (r *Rotation) Arm() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = true
}

// Disarm ends what Arm started.
func (r *Rotation) Disarm() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.armed = false
}

// Defer records token as the old token of an armed rotation, with del to
// delete it should no commit take it, and reports whether it did: false
// (the caller deletes now) when r is nil, not armed, or already holds a
// token.
func (r *Rotation) Defer(token string, del func(context.Context, string) error) bool {
	if r == nil || token == "" || del == nil {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.armed || r.pending != "" {
		return false
	}
	r.pending, r.del = token, del
	return true
}

// Take returns the deferred old token and forgets it; the caller must now
// remove it (with the commit of the new token, or else at once).
func (r *Rotation) Take() (string, bool) {
	if r == nil {
		return "", false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	tok := r.pending
	r.pending, r.del = "", nil
	return tok, tok != ""
}

// Finish deletes a deferred old token that no commit took. The views call
// it when the request's handler returns, panics included; the delete does
// not depend on the request's cancellation.
func (r *Rotation) Finish(ctx context.Context) error {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	tok, del := r.pending, r.del
	r.pending, r.del, r.armed = "", nil, false
	r.mu.Unlock()
	if tok == "" {
		return nil
	}
	return del(context.WithoutCancel(ctx), tok)
}
