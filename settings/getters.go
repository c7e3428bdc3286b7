package settings

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// Type names used in TypeError.Want.
const (
	wantString = "string"
	wantBool   = "bool"
	wantInt    = "int"
	wantDur    = "duration"
	wantList   = "string list"
	wantMap    = "string map"
)

// String returns the setting as a string: a string as is, nil as "". If no candidate key is
// set it returns def. Any other type is a *TypeError (returned with def).
func (s *Settings) String(backend, name, def string) (string, error) {
	v, key, ok := s.find(backend, name)
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case string:
		return x, nil
	case nil:
		return "", nil
	}
	return def, wrongType(key, wantString, v)
}

// Bool returns the setting as a bool. Accepted: bool; nil (false); the numbers 0 and 1; and
// strings (trimmed, case-insensitive) 1/0, true/false, yes/no, on/off, t/f, y/n. "" and any
// other string are a *TypeError (returned with def), as is any other type.
func (s *Settings) Bool(backend, name string, def bool) (bool, error) {
	v, key, ok := s.find(backend, name)
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case bool:
		return x, nil
	case nil:
		return false, nil
	case string:
		if b, ok := parseBool(x); ok {
			return b, nil
		}
		return def, malformed(key, wantBool)
	}
	if n, isNum, ok := intOf(v); isNum {
		if ok && (n == 0 || n == 1) {
			return n == 1, nil
		}
		return def, malformed(key, wantBool)
	}
	return def, wrongType(key, wantBool, v)
}

// Int returns the setting as an int. Accepted: any Go integer type in range, a float with an
// integral value, nil (0), a json.Number, and a decimal string (trimmed, e.g. "42", "-7").
// Anything else is a *TypeError (returned with def).
func (s *Settings) Int(backend, name string, def int) (int, error) {
	v, key, ok := s.find(backend, name)
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case nil:
		return 0, nil
	case string:
		if n, ok := parseInt(x); ok {
			return n, nil
		}
		return def, malformed(key, wantInt)
	case json.Number:
		if n, ok := parseInt(string(x)); ok {
			return n, nil
		}
		return def, malformed(key, wantInt)
	}
	if n, isNum, ok := intOf(v); isNum {
		if ok {
			return n, nil
		}
		return def, malformed(key, wantInt)
	}
	return def, wrongType(key, wantInt, v)
}

// Duration returns the setting as a time.Duration. A time.Duration is taken as is; numbers
// (Go number types, json.Number) are seconds, fractions allowed (3600, 1.5); strings are
// seconds ("3600", "1.5") or Go durations ("1h", "90s"); nil is 0. Out-of-range, NaN, infinite,
// empty or unparsable values and other types are a *TypeError (returned with def).
func (s *Settings) Duration(backend, name string, def time.Duration) (time.Duration, error) {
	v, key, ok := s.find(backend, name)
	if !ok {
		return def, nil
	}
	switch x := v.(type) {
	case time.Duration:
		return x, nil
	case nil:
		return 0, nil
	case string:
		if d, ok := parseDuration(x); ok {
			return d, nil
		}
		return def, malformed(key, wantDur)
	case json.Number:
		if d, ok := parseDuration(string(x)); ok {
			return d, nil
		}
		return def, malformed(key, wantDur)
	case float64:
		if d, ok := secondsFloat(x); ok {
			return d, nil
		}
		return def, malformed(key, wantDur)
	case float32:
		if d, ok := secondsFloat(float64(x)); ok {
			return d, nil
		}
		return def, malformed(key, wantDur)
	}
	if n, isNum, ok := int64Of(v); isNum {
		if d, ok2 := secondsInt(n); ok && ok2 {
			return d, nil
		}
		return def, malformed(key, wantDur)
	}
	return def, wrongType(key, wantDur, v)
}

// StringList returns the setting as a new []string. Accepted: []string; []any whose elements
// are all strings; nil (nil); and strings: trimmed "" gives an empty, non-nil list (the
// setting is set, to nothing); a string starting with '[' must be a JSON array of strings
// (kept verbatim); anything else is split on ',' with items trimmed and empty items dropped
// ("a, b,,c" → [a b c]). Other types and malformed JSON are a *TypeError (returned with a copy
// of def). If no candidate key is set, a copy of def is returned.
func (s *Settings) StringList(backend, name string, def []string) ([]string, error) {
	v, key, ok := s.find(backend, name)
	if !ok {
		return cloneList(def), nil
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case []string:
		return cloneList(x), nil
	case []any:
		if x == nil {
			return nil, nil
		}
		out := make([]string, len(x))
		for i, e := range x {
			str, ok := e.(string)
			if !ok {
				return cloneList(def), &TypeError{Key: key, Want: wantList, Got: "[]interface {} with a non-string element"}
			}
			out[i] = str
		}
		return out, nil
	case string:
		if l, ok := parseList(x); ok {
			return l, nil
		}
		return cloneList(def), malformed(key, wantList)
	}
	return cloneList(def), wrongType(key, wantList, v)
}

// StringMap returns the setting as a new map[string]string. Accepted: map[string]string;
// map[string]any whose values are all strings; nil (nil); and strings: trimmed "" gives an
// empty, non-nil map; otherwise the string must be a JSON object with string values.
// Other types and malformed JSON are a *TypeError (returned with a copy of def). If no
// candidate key is set, a copy of def is returned.
func (s *Settings) StringMap(backend, name string, def map[string]string) (map[string]string, error) {
	v, key, ok := s.find(backend, name)
	if !ok {
		return cloneMap(def), nil
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]string:
		return cloneMap(x), nil
	case map[string]any:
		if m, ok := stringMapOf(x); ok {
			return m, nil
		}
		return cloneMap(def), &TypeError{Key: key, Want: wantMap, Got: "map[string]interface {} with a non-string value"}
	case string:
		if m, ok := parseMap(x); ok {
			return m, nil
		}
		return cloneMap(def), malformed(key, wantMap)
	}
	return cloneMap(def), wrongType(key, wantMap, v)
}

func cloneList(l []string) []string {
	if l == nil {
		return nil
	}
	return append([]string{}, l...)
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	c := make(map[string]string, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

func stringMapOf(x map[string]any) (map[string]string, bool) {
	if x == nil {
		return nil, true
	}
	m := make(map[string]string, len(x))
	for k, e := range x {
		str, ok := e.(string)
		if !ok {
			return nil, false
		}
		m[k] = str
	}
	return m, true
}

// parseBool reads the boolean spellings Django projects and shells commonly use.
func parseBool(s string) (b, ok bool) {
	s = strings.TrimSpace(s)
	for _, t := range [...]string{"1", "true", "yes", "on", "t", "y"} {
		if strings.EqualFold(s, t) {
			return true, true
		}
	}
	for _, f := range [...]string{"0", "false", "no", "off", "f", "n"} {
		if strings.EqualFold(s, f) {
			return false, true
		}
	}
	return false, false
}

func parseInt(s string) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	return n, err == nil
}

// parseDuration reads seconds (integer first, so large values stay exact; then fractional)
// or a Go duration string.
func parseDuration(s string) (time.Duration, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return secondsInt(n)
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return secondsFloat(f)
	}
	d, err := time.ParseDuration(s)
	return d, err == nil
}

func secondsInt(n int64) (time.Duration, bool) {
	if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
		return 0, false
	}
	return time.Duration(n) * time.Second, true
}

func secondsFloat(f float64) (time.Duration, bool) {
	ns := math.Round(f * float64(time.Second))
	// The negated form also rejects NaN; 2^63 is exactly representable, MaxInt64 is not.
	if !(ns >= -(1<<63) && ns < 1<<63) {
		return 0, false
	}
	return time.Duration(ns), true
}

// parseList: see StringList.
func parseList(s string) ([]string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return []string{}, true
	}
	if s[0] == '[' {
		var raw []any
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return nil, false
		}
		out := make([]string, len(raw))
		for i, e := range raw {
			str, ok := e.(string)
			if !ok {
				return nil, false
			}
			out[i] = str
		}
		return out, true
	}
	out := []string{}
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out, true
}

// parseMap: see StringMap.
func parseMap(s string) (map[string]string, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return map[string]string{}, true
	}
	if s[0] != '{' {
		return nil, false
	}
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil || raw == nil {
		return nil, false
	}
	return stringMapOf(raw)
}

// int64Of converts any Go integer type or an integral float to int64.
// isNum reports whether v is a Go number type at all; ok whether it converted exactly.
func int64Of(v any) (n int64, isNum, ok bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true, true
	case int8:
		return int64(x), true, true
	case int16:
		return int64(x), true, true
	case int32:
		return int64(x), true, true
	case int64:
		return x, true, true
	case uint:
		return int64(x), true, uint64(x) <= math.MaxInt64
	case uint8:
		return int64(x), true, true
	case uint16:
		return int64(x), true, true
	case uint32:
		return int64(x), true, true
	case uint64:
		return int64(x), true, x <= math.MaxInt64
	case float32:
		return floatToInt64(float64(x))
	case float64:
		return floatToInt64(x)
	}
	return 0, false, false
}

func floatToInt64(f float64) (int64, bool, bool) {
	if f != math.Trunc(f) || !(f >= -(1<<63) && f < 1<<63) {
		return 0, true, false
	}
	return int64(f), true, true
}

// intOf is int64Of narrowed to int.
func intOf(v any) (n int, isNum, ok bool) {
	n64, isNum, ok := int64Of(v)
	if !ok || int64(int(n64)) != n64 {
		return 0, isNum, false
	}
	return int(n64), isNum, true
}
