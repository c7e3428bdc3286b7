package settings

import "strings"

// Filter lets a strategy treat some values as unset. It is called for every hit in a
// non-default source (a source given to [New] or [Settings.With]) with the full key that hit.
// Returning ok=false makes that source count as not holding the key, so lower sources and then
// the defaults for the same key answer; returning ok=true with a (possibly rewritten) value
// lets it answer. Defaults ([Settings.WithDefaults]) are never filtered.
// A Filter must be safe for concurrent use.
type Filter func(key string, v any) (any, bool)

// Settings resolves setting names over layered sources. Build it with [New]; derive variants
// with [Settings.With], [Settings.WithDefaults] and [Settings.WithFilter]. It is immutable and
// safe for concurrent use. A nil *Settings behaves as one with no sources.
type Settings struct {
	sources  []layer // lowest → highest priority; filtered
	defaults []layer // lowest → highest priority; not filtered, below every source
	filters  []Filter
}

// New returns Settings over sources; a later source overrides an earlier one:
// New(defaults, env, code). nil sources are skipped. Map sources are copied.
func New(sources ...Source) *Settings {
	return &Settings{sources: layersOf(sources)}
}

func (s *Settings) clone() *Settings {
	if s == nil {
		return &Settings{}
	}
	return &Settings{
		sources:  append([]layer(nil), s.sources...),
		defaults: append([]layer(nil), s.defaults...),
		filters:  append([]Filter(nil), s.filters...),
	}
}

// With returns a copy of s with sources added above all existing ones (among them, later
// overrides earlier). s is unchanged.
func (s *Settings) With(sources ...Source) *Settings {
	c := s.clone()
	c.sources = append(c.sources, layersOf(sources)...)
	return c
}

// WithDefaults returns a copy of s with sources added below everything s already has (among
// them, later overrides earlier). Defaults are consulted per key, after every non-default
// source and before the next candidate key, and are never filtered. This is how a strategy
// injects its default table (keyed by full names, e.g. "SOCIAL_AUTH_PIPELINE"). s is unchanged.
func (s *Settings) WithDefaults(sources ...Source) *Settings {
	c := s.clone()
	c.defaults = append(layersOf(sources), c.defaults...)
	return c
}

// WithFilter returns a copy of s that also applies f (after any filters s already has) to
// values from non-default sources. A nil f adds nothing. s is unchanged.
func (s *Settings) WithFilter(f Filter) *Settings {
	c := s.clone()
	if f != nil {
		c.filters = append(c.filters, f)
	}
	return c
}

// Lookup resolves name for backend (which may be "") through the candidate keys of [Keys] and
// returns the value, the key that answered, and whether any did. A value explicitly set to nil
// is returned with ok=true. Slices and maps in the result are copies.
func (s *Settings) Lookup(backend, name string) (value any, key string, ok bool) {
	v, key, ok := s.find(backend, name)
	if !ok {
		return nil, "", false
	}
	return cloneValue(v), key, true
}

// IsSet reports whether any candidate key for name is set in any source or default (after
// filters), even to nil or "".
func (s *Settings) IsSet(backend, name string) bool {
	_, _, ok := s.find(backend, name)
	return ok
}

// find is Lookup without the defensive copy. It builds candidate keys in a stack buffer, so a
// hit in a Map source does not allocate.
func (s *Settings) find(backend, name string) (any, string, bool) {
	if s == nil || name == "" {
		return nil, "", false
	}
	if strings.HasPrefix(name, Prefix) {
		return s.findKey(nil, name)
	}
	var buf [keyBufSize]byte
	if backend != "" {
		if v, k, ok := s.findKey(appendKey(buf[:0], backend, name), ""); ok {
			return v, k, true
		}
	}
	if v, k, ok := s.findKey(appendKey(buf[:0], "", name), ""); ok {
		return v, k, true
	}
	return s.findKey(nil, name)
}

// findKey resolves one candidate key (kb if non-nil, else ks): the highest non-default source
// holding it that its filters accept, else the highest default holding it.
func (s *Settings) findKey(kb []byte, ks string) (any, string, bool) {
	for i := len(s.sources) - 1; i >= 0; i-- {
		v, key, ok := s.sources[i].get(kb, &ks)
		if !ok {
			continue
		}
		if v, ok = s.filter(key, v); ok {
			return v, key, true
		}
	}
	for i := len(s.defaults) - 1; i >= 0; i-- {
		if v, key, ok := s.defaults[i].get(kb, &ks); ok {
			return v, key, true
		}
	}
	return nil, "", false
}

func (s *Settings) filter(key string, v any) (any, bool) {
	for _, f := range s.filters {
		var ok bool
		if v, ok = f(key, v); !ok {
			return nil, false
		}
	}
	return v, true
}
