package settings

import "strings"

// Prefix starts every social-auth setting key.
const Prefix = "SOCIAL_AUTH_"

// keyBufSize is large enough for every realistic key, so building one needs no heap.
const keyBufSize = 128

// Keys returns the candidate keys for name, in lookup order:
// SOCIAL_AUTH_<BACKEND>_<NAME> (only if backend != ""), SOCIAL_AUTH_<NAME>, then name as given.
// In the prefixed keys backend and name are upper-cased (ASCII) and '-' becomes '_', like
// social-core's setting_name. A name that already starts with "SOCIAL_AUTH_" (case-sensitive)
// yields just itself. An empty name yields no keys.
func Keys(backend, name string) []string {
	if name == "" {
		return nil
	}
	if strings.HasPrefix(name, Prefix) {
		return []string{name}
	}
	var buf [keyBufSize]byte
	keys := make([]string, 0, 3)
	if backend != "" {
		keys = append(keys, string(appendKey(buf[:0], backend, name)))
	}
	keys = append(keys, string(appendKey(buf[:0], "", name)), name)
	return keys
}

// appendKey appends SOCIAL_AUTH_[<BACKEND>_]<NAME> to dst.
func appendKey(dst []byte, backend, name string) []byte {
	dst = append(dst, Prefix...)
	if backend != "" {
		dst = appendNorm(dst, backend)
		dst = append(dst, '_')
	}
	return appendNorm(dst, name)
}

// appendNorm appends s upper-cased (ASCII only) with '-' replaced by '_'.
func appendNorm(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z':
			c -= 'a' - 'A'
		case c == '-':
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}
