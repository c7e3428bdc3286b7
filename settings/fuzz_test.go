package settings

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// FuzzEnvParsing feeds arbitrary environment strings to every typed getter. None may panic;
// every failure must be a *TypeError; and where a canonical spelling exists, formatting the
// result and parsing it again gives the same result.
func FuzzEnvParsing(f *testing.F) {
	for _, seed := range []string{
		"", " ", "1", "0", "true", "No", "42", "-7", "1.5", "1e3", "NaN", "inf", "1h30m", "-0",
		"9223372037", "a, b,,c", `["a","b"]`, `["a",1]`, `[`, `{"a":"b"}`, `{"a":1}`, `null`,
		"\xff", `["\ud800"]`, "[,]", "0x1p-2",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s := New(Env{LookupEnv: func(string) (string, bool) { return in, true }})
		wantTypeErr := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrWrongType) {
				t.Fatalf("%s(%q): error %v is not ErrWrongType", what, in, err)
			}
		}

		if got, err := s.String("b", "X", "def"); err != nil || got != in {
			t.Fatalf("String(%q) = %q, %v", in, got, err)
		}

		if b, err := s.Bool("b", "X", false); err == nil {
			if again, ok := parseBool(strconv.FormatBool(b)); !ok || again != b {
				t.Fatalf("Bool round trip %q: %v → %v", in, b, again)
			}
		} else {
			wantTypeErr("Bool", err)
		}

		if n, err := s.Int("b", "X", 0); err == nil {
			if again, ok := parseInt(strconv.Itoa(n)); !ok || again != n {
				t.Fatalf("Int round trip %q: %d → %d", in, n, again)
			}
		} else {
			wantTypeErr("Int", err)
		}

		if d, err := s.Duration("b", "X", 0); err == nil {
			if again, ok := parseDuration(d.String()); !ok || again != d {
				t.Fatalf("Duration round trip %q: %v → %v (%v)", in, d, again, ok)
			}
			// Whole seconds also round-trip as a plain number of seconds.
			if d%time.Second == 0 {
				if again, ok := parseDuration(strconv.FormatInt(int64(d/time.Second), 10)); !ok || again != d {
					t.Fatalf("Duration seconds round trip %q: %v → %v", in, d, again)
				}
			}
		} else {
			wantTypeErr("Duration", err)
		}

		if l, err := s.StringList("b", "X", nil); err == nil {
			if l == nil {
				t.Fatalf("StringList(%q) = nil; a set string must give a non-nil list", in)
			}
			trimmed := strings.TrimSpace(in)
			if trimmed == "" || trimmed[0] != '[' {
				// Comma form: items are trimmed, non-empty, comma-free, and join back.
				for _, item := range l {
					if item == "" || item != strings.TrimSpace(item) || strings.Contains(item, ",") {
						t.Fatalf("StringList(%q) item %q not clean", in, item)
					}
				}
				// (A first item starting with '[' would re-read as JSON, so it is excluded.)
				again, ok := parseList(strings.Join(l, ","))
				if !(len(l) > 0 && strings.HasPrefix(l[0], "[")) && (!ok || !cmp.Equal(again, l)) {
					t.Fatalf("StringList comma round trip %q: %q → %q", in, l, again)
				}
			}
			if allValidUTF8(l...) {
				j, _ := json.Marshal(l)
				if again, ok := parseList(string(j)); !ok || !cmp.Equal(again, l) {
					t.Fatalf("StringList JSON round trip %q: %q → %q", in, l, again)
				}
			}
		} else {
			wantTypeErr("StringList", err)
		}

		if m, err := s.StringMap("b", "X", nil); err == nil {
			if m == nil {
				t.Fatalf("StringMap(%q) = nil; a set string must give a non-nil map", in)
			}
			j, _ := json.Marshal(m)
			if again, ok := parseMap(string(j)); !ok || !cmp.Equal(again, m) {
				t.Fatalf("StringMap JSON round trip %q: %q → %q", in, m, again)
			}
		} else {
			wantTypeErr("StringMap", err)
		}
	})
}

func allValidUTF8(ss ...string) bool {
	for _, s := range ss {
		if !utf8.ValidString(s) {
			return false
		}
	}
	return true
}

// FuzzKeys checks that any backend/name pair is safe and that Lookup consults exactly the keys
// Keys reports, in order.
func FuzzKeys(f *testing.F) {
	f.Add("edx-oauth2", "URL_ROOT")
	f.Add("", "SOCIAL_AUTH_X")
	f.Add("a-b", "")
	f.Add("\xff", "ß-x")
	f.Fuzz(func(t *testing.T, backend, name string) {
		keys := Keys(backend, name)
		var seen []string
		s := New(Env{LookupEnv: func(k string) (string, bool) { seen = append(seen, k); return "", false }})
		if _, _, ok := s.Lookup(backend, name); ok {
			t.Fatal("found a value in an empty source")
		}
		if !cmp.Equal(keys, seen) {
			t.Fatalf("Keys(%q, %q) = %q but Lookup consulted %q", backend, name, keys, seen)
		}
		if len(keys) > 0 {
			last := keys[len(keys)-1]
			if _, key, ok := New(Map{last: 1}).Lookup(backend, name); !ok || key != last {
				t.Fatalf("Map hit on %q: key %q ok %v", last, key, ok)
			}
		}
	})
}
