package socialauth

import (
	"sort"
	"sync"
)

// Registry holds an instance's backends by name. There is no global
// registry: an app builds one (and may build two in one process).
type Registry struct {
	mu       sync.RWMutex
	backends map[string]Backend
}

// NewRegistry returns a registry holding the given backends.
func NewRegistry(backends ...Backend) *Registry {
	r := &Registry{backends: map[string]Backend{}}
	for _, b := range backends {
		r.Register(b)
	}
	return r
}

// Register adds b, replacing a backend of the same name.
func (r *Registry) Register(b Backend) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.backends[b.Name()] = b
}

// Lookup returns the backend named name; MissingBackend when there is none.
func (r *Registry) Lookup(name string) (Backend, error) {
	r.mu.RLock()
	b, ok := r.backends[name]
	r.mu.RUnlock()
	if !ok {
		return nil, &Error{Code: CodeMissingBackend, Backend: name}
	}
	return b, nil
}

// Names lists the registered backend names, sorted (for a login page).
func (r *Registry) Names() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]string, 0, len(r.backends))
	for n := range r.backends {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
