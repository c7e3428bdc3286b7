package settings

import "os"

// Source answers whether it holds a setting key, and its value.
// ok=false means "not set here"; ok=true with a nil value means "explicitly None".
// A Source used by a [Settings] must be safe for concurrent use.
type Source interface {
	Lookup(key string) (value any, ok bool)
}

// Map is a Source backed by a Go map, typically the settings an application sets in code.
// Values may be string, bool, int/int64/float64 (and the other Go number types), time.Duration,
// []string, []any, map[string]string, map[string]any, or nil (explicitly None).
// [New] and the With* methods copy a Map, so changing it afterwards does not change a Settings.
type Map map[string]any

// Lookup implements [Source].
func (m Map) Lookup(key string) (any, bool) {
	v, ok := m[key]
	return v, ok
}

// Env is a Source backed by environment variables; every value is a string. A variable that is
// set to "" is set (it wins over later candidates and defaults). The environment is read at
// lookup time, not copied.
type Env struct {
	// LookupEnv reads one variable; nil means os.LookupEnv.
	LookupEnv func(string) (string, bool)
}

// Lookup implements [Source].
func (e Env) Lookup(key string) (any, bool) {
	f := e.LookupEnv
	if f == nil {
		f = os.LookupEnv
	}
	v, ok := f(key)
	if !ok {
		return nil, false
	}
	return v, true
}

// entry keeps the map's own key string so a hit can return it without building one.
type entry struct {
	key string
	val any
}

// layer is one source inside a Settings: a private snapshot of a Map (fast, allocation-free
// lookups by a []byte key) or any other Source.
type layer struct {
	m   map[string]entry
	src Source
}

func layersOf(srcs []Source) []layer {
	out := make([]layer, 0, len(srcs))
	for _, s := range srcs {
		switch x := s.(type) {
		case nil:
			continue
		case Map:
			m := make(map[string]entry, len(x))
			for k, v := range x {
				m[k] = entry{key: k, val: cloneValue(v)}
			}
			out = append(out, layer{m: m})
		default:
			out = append(out, layer{src: s})
		}
	}
	return out
}

// get looks key up; the key is kb when kb != nil, else ks. For a non-Map source it
// materialises the string once (*ks) so later layers can reuse it.
func (l *layer) get(kb []byte, ks *string) (v any, key string, ok bool) {
	if l.m != nil {
		var e entry
		if kb != nil {
			e, ok = l.m[string(kb)] // no allocation: the compiler special-cases this form
		} else {
			e, ok = l.m[*ks]
		}
		return e.val, e.key, ok
	}
	if *ks == "" {
		*ks = string(kb)
	}
	v, ok = l.src.Lookup(*ks)
	return v, *ks, ok
}

// cloneValue deep-copies the mutable container types a Map may hold; other values are
// returned unchanged.
func cloneValue(v any) any {
	switch x := v.(type) {
	case []string:
		if x == nil {
			return x
		}
		return append([]string{}, x...)
	case []any:
		if x == nil {
			return x
		}
		c := make([]any, len(x))
		for i, e := range x {
			c[i] = cloneValue(e)
		}
		return c
	case map[string]string:
		if x == nil {
			return x
		}
		c := make(map[string]string, len(x))
		for k, e := range x {
			c[k] = e
		}
		return c
	case map[string]any:
		if x == nil {
			return x
		}
		c := make(map[string]any, len(x))
		for k, e := range x {
			c[k] = cloneValue(e)
		}
		return c
	}
	return v
}
