package settings

import (
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func envOf(m map[string]string) Env {
	return Env{LookupEnv: func(k string) (string, bool) { v, ok := m[k]; return v, ok }}
}

func TestLookupOrder(t *testing.T) {
	all := Map{
		"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "backend",
		"SOCIAL_AUTH_URL_ROOT":            "prefixed",
		"URL_ROOT":                        "bare",
	}
	without := func(keys ...string) Map {
		m := Map{}
		for k, v := range all {
			m[k] = v
		}
		for _, k := range keys {
			delete(m, k)
		}
		return m
	}
	tests := []struct {
		name    string
		src     Map
		backend string
		key     string
		wantV   any
		wantKey string
		wantOK  bool
	}{
		{"backend key first", all, "edx-oauth2", "URL_ROOT", "backend", "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", true},
		{"then SOCIAL_AUTH_", without("SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT"), "edx-oauth2", "URL_ROOT", "prefixed", "SOCIAL_AUTH_URL_ROOT", true},
		{"then bare", without("SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", "SOCIAL_AUTH_URL_ROOT"), "edx-oauth2", "URL_ROOT", "bare", "URL_ROOT", true},
		{"then nothing", Map{}, "edx-oauth2", "URL_ROOT", nil, "", false},
		{"no backend skips backend key", all, "", "URL_ROOT", "prefixed", "SOCIAL_AUTH_URL_ROOT", true},
		{"other backend's key ignored", Map{"SOCIAL_AUTH_GOOGLE_OAUTH2_KEY": "g"}, "edx-oauth2", "KEY", nil, "", false},
		{"backend name normalised", Map{"SOCIAL_AUTH_EDX_OAUTH2_KEY": "k"}, "edx-oauth2", "KEY", "k", "SOCIAL_AUTH_EDX_OAUTH2_KEY", true},
		{"prefixed name as given only", Map{"SOCIAL_AUTH_SOCIAL_AUTH_PIPELINE": 1, "SOCIAL_AUTH_EDX_OAUTH2_SOCIAL_AUTH_PIPELINE": 2}, "edx-oauth2", "SOCIAL_AUTH_PIPELINE", nil, "", false},
		{"prefixed name found", Map{"SOCIAL_AUTH_PIPELINE": "p"}, "edx-oauth2", "SOCIAL_AUTH_PIPELINE", "p", "SOCIAL_AUTH_PIPELINE", true},
		{"empty string wins", Map{"SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT": "", "URL_ROOT": "bare"}, "edx-oauth2", "URL_ROOT", "", "SOCIAL_AUTH_EDX_OAUTH2_URL_ROOT", true},
		{"nil wins", Map{"SOCIAL_AUTH_URL_ROOT": nil, "URL_ROOT": "bare"}, "edx-oauth2", "URL_ROOT", nil, "SOCIAL_AUTH_URL_ROOT", true},
		{"false wins", Map{"SOCIAL_AUTH_X": false, "X": true}, "", "X", false, "SOCIAL_AUTH_X", true},
		{"empty name finds nothing", Map{"": 1, "SOCIAL_AUTH_": 2}, "", "", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(tt.src)
			v, key, ok := s.Lookup(tt.backend, tt.key)
			if v != tt.wantV || key != tt.wantKey || ok != tt.wantOK {
				t.Errorf("Lookup = (%v, %q, %v), want (%v, %q, %v)", v, key, ok, tt.wantV, tt.wantKey, tt.wantOK)
			}
			if got := s.IsSet(tt.backend, tt.key); got != tt.wantOK {
				t.Errorf("IsSet = %v, want %v", got, tt.wantOK)
			}
		})
	}
}

func TestUnsetVsEmptyVsNil(t *testing.T) {
	s := New(Map{"SOCIAL_AUTH_EMPTY": "", "SOCIAL_AUTH_NONE": nil}, envOf(map[string]string{"SOCIAL_AUTH_ENVEMPTY": ""}))
	for _, tt := range []struct {
		name    string
		wantSet bool
		wantStr string
	}{
		{"EMPTY", true, ""},
		{"NONE", true, ""},
		{"ENVEMPTY", true, ""},
		{"UNSET", false, "default"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.IsSet("", tt.name); got != tt.wantSet {
				t.Errorf("IsSet = %v, want %v", got, tt.wantSet)
			}
			got, err := s.String("", tt.name, "default")
			if err != nil || got != tt.wantStr {
				t.Errorf("String = %q, %v; want %q", got, err, tt.wantStr)
			}
		})
	}
}

func TestLayering(t *testing.T) {
	defaults := Map{"SOCIAL_AUTH_PIPELINE": "default-pipeline", "SOCIAL_AUTH_A": "default", "D": "default"}
	env := envOf(map[string]string{"SOCIAL_AUTH_A": "env", "SOCIAL_AUTH_B": "env", "E": "env"})
	code := Map{"SOCIAL_AUTH_A": "code", "PIPELINE": "code-pipeline", "SOCIAL_AUTH_X_D": "code"}

	tests := []struct {
		name         string
		s            *Settings
		backend, key string
		want         any
		wantKey      string
	}{
		{"later source overrides earlier", New(env, code), "", "A", "code", "SOCIAL_AUTH_A"},
		{"earlier source answers keys later lacks", New(env, code), "", "B", "env", "SOCIAL_AUTH_B"},
		{"New(defaults, env, code)", New(defaults, env, code), "", "A", "code", "SOCIAL_AUTH_A"},
		{"order of New matters", New(code, env), "", "A", "env", "SOCIAL_AUTH_A"},
		{"With adds higher priority", New(code).With(Map{"SOCIAL_AUTH_A": "with"}), "", "A", "with", "SOCIAL_AUTH_A"},
		{"With: later of several wins", New(code).With(Map{"SOCIAL_AUTH_A": "w1"}, Map{"SOCIAL_AUTH_A": "w2"}), "", "A", "w2", "SOCIAL_AUTH_A"},
		{"WithDefaults is lowest", New(code).WithDefaults(defaults), "", "A", "code", "SOCIAL_AUTH_A"},
		{"WithDefaults answers when nothing else", New(code).WithDefaults(defaults), "", "D", "default", "D"},
		{"earlier candidate key beats higher source: injected default beats bare code value",
			New(code).WithDefaults(defaults), "", "PIPELINE", "default-pipeline", "SOCIAL_AUTH_PIPELINE"},
		{"backend key in code beats defaults", New(code).WithDefaults(Map{"SOCIAL_AUTH_D": "def"}), "x", "D", "code", "SOCIAL_AUTH_X_D"},
		{"second WithDefaults is below the first", New().WithDefaults(Map{"SOCIAL_AUTH_A": "first"}).WithDefaults(Map{"SOCIAL_AUTH_A": "second"}), "", "A", "first", "SOCIAL_AUTH_A"},
		{"WithDefaults: later of several wins", New().WithDefaults(Map{"SOCIAL_AUTH_A": "d1"}, Map{"SOCIAL_AUTH_A": "d2"}), "", "A", "d2", "SOCIAL_AUTH_A"},
		{"defaults below sources given to New after", New(Map{"SOCIAL_AUTH_A": "src"}).WithDefaults(Map{"SOCIAL_AUTH_A": "d"}).With(Map{}), "", "A", "src", "SOCIAL_AUTH_A"},
		{"nil sources skipped", New(nil, code, nil).With(nil).WithDefaults(nil), "", "A", "code", "SOCIAL_AUTH_A"},
		{"nil Map is empty", New(Map(nil), env), "", "E", "env", "E"},
		{"nil *Settings With", (*Settings)(nil).With(code), "", "A", "code", "SOCIAL_AUTH_A"},
		{"nil *Settings WithDefaults", (*Settings)(nil).WithDefaults(code), "", "A", "code", "SOCIAL_AUTH_A"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, key, ok := tt.s.Lookup(tt.backend, tt.key)
			if !ok || v != tt.want || key != tt.wantKey {
				t.Errorf("Lookup = (%v, %q, %v), want (%v, %q, true)", v, key, ok, tt.want, tt.wantKey)
			}
		})
	}
}

func TestDerivedSettingsLeaveParentAlone(t *testing.T) {
	base := New(Map{"SOCIAL_AUTH_A": "base"})
	_ = base.With(Map{"SOCIAL_AUTH_A": "with"})
	_ = base.WithDefaults(Map{"SOCIAL_AUTH_B": "def"})
	_ = base.WithFilter(func(string, any) (any, bool) { return nil, false })
	if v, _, _ := base.Lookup("", "A"); v != "base" {
		t.Errorf("base A = %v after deriving, want base", v)
	}
	if base.IsSet("", "B") {
		t.Error("base gained a default from WithDefaults on a copy")
	}
	// Appending to one derived copy must not show up in a sibling sharing the parent's arrays.
	p := New(Map{}).With(Map{}).With(Map{}) // grow so cap may exceed len
	c1 := p.With(Map{"SOCIAL_AUTH_A": "c1"})
	c2 := p.With(Map{"SOCIAL_AUTH_A": "c2"})
	if v, _, _ := c1.Lookup("", "A"); v != "c1" {
		t.Errorf("c1 A = %v, want c1", v)
	}
	if v, _, _ := c2.Lookup("", "A"); v != "c2" {
		t.Errorf("c2 A = %v, want c2", v)
	}
}

func TestMapSourceIsCopied(t *testing.T) {
	list := []string{"a"}
	m := Map{"SOCIAL_AUTH_S": "before", "SOCIAL_AUTH_L": list, "SOCIAL_AUTH_M": map[string]any{"k": []any{"x"}}}
	s := New(m)
	m["SOCIAL_AUTH_S"] = "after"
	m["SOCIAL_AUTH_NEW"] = 1
	list[0] = "mutated"
	m["SOCIAL_AUTH_M"].(map[string]any)["k"].([]any)[0] = "mutated"

	if v, _, _ := s.Lookup("", "S"); v != "before" {
		t.Errorf("S = %v, want before", v)
	}
	if s.IsSet("", "NEW") {
		t.Error("key added to the Map after New is visible")
	}
	got, _ := s.StringList("", "L", nil)
	if diff := cmp.Diff([]string{"a"}, got); diff != "" {
		t.Errorf("L (-want +got):\n%s", diff)
	}
	v, _, _ := s.Lookup("", "M")
	if diff := cmp.Diff(map[string]any{"k": []any{"x"}}, v); diff != "" {
		t.Errorf("M (-want +got):\n%s", diff)
	}
}

func TestReturnedValuesAreCopies(t *testing.T) {
	s := New(Map{
		"SOCIAL_AUTH_L":  []string{"a", "b"},
		"SOCIAL_AUTH_LA": []any{"a", map[string]any{"k": "v"}},
		"SOCIAL_AUTH_M":  map[string]string{"k": "v"},
		"SOCIAL_AUTH_MA": map[string]any{"k": "v"},
	})
	l, _ := s.StringList("", "L", nil)
	l[0] = "x"
	lv, _, _ := s.Lookup("", "L")
	lv.([]string)[1] = "y"
	la, _, _ := s.Lookup("", "LA")
	la.([]any)[0] = "x"
	la.([]any)[1].(map[string]any)["k"] = "x"
	m, _ := s.StringMap("", "M", nil)
	m["k"] = "x"
	mv, _, _ := s.Lookup("", "M")
	mv.(map[string]string)["k"] = "y"
	ma, _ := s.StringMap("", "MA", nil)
	ma["k"] = "x"
	mav, _, _ := s.Lookup("", "MA")
	mav.(map[string]any)["new"] = 1

	want := map[string]any{
		"L":  []string{"a", "b"},
		"LA": []any{"a", map[string]any{"k": "v"}},
		"M":  map[string]string{"k": "v"},
		"MA": map[string]any{"k": "v"},
	}
	for name, w := range want {
		got, _, _ := s.Lookup("", name)
		if diff := cmp.Diff(w, got); diff != "" {
			t.Errorf("%s changed through a returned value (-want +got):\n%s", name, diff)
		}
	}

	def := []string{"d"}
	got, _ := s.StringList("", "UNSET", def)
	got[0] = "x"
	if def[0] != "d" {
		t.Error("StringList returned the caller's default slice itself")
	}
	defM := map[string]string{"k": "d"}
	gotM, _ := s.StringMap("", "UNSET", defM)
	gotM["k"] = "x"
	if defM["k"] != "d" {
		t.Error("StringMap returned the caller's default map itself")
	}
}

// urlFilter is the edX strategy's rule: an explicitly empty or nil *_URL setting falls back.
func urlFilter(key string, v any) (any, bool) {
	if strings.HasSuffix(key, "_URL") && (v == nil || v == "") {
		return nil, false
	}
	return v, true
}

func TestFilter(t *testing.T) {
	edxDefaults := Map{"LOGOUT_REDIRECT_URL": nil, "SOCIAL_AUTH_USER_FIELDS": []string{"username"}}
	tests := []struct {
		name    string
		s       *Settings
		key     string
		want    any
		wantKey string
		wantOK  bool
	}{
		{"nil _URL falls through to the next candidate",
			New(Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": nil, "LOGOUT_REDIRECT_URL": "/bye"}).WithFilter(urlFilter),
			"LOGOUT_REDIRECT_URL", "/bye", "LOGOUT_REDIRECT_URL", true},
		{"empty _URL falls through",
			New(Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": "", "SOCIAL_AUTH_LOGOUT_REDIRECT_URL": "/x"}).WithFilter(urlFilter),
			"LOGOUT_REDIRECT_URL", "/x", "SOCIAL_AUTH_LOGOUT_REDIRECT_URL", true},
		{"without the filter nil wins",
			New(Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": nil, "LOGOUT_REDIRECT_URL": "/bye"}),
			"LOGOUT_REDIRECT_URL", nil, "SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL", true},
		{"filtered key falls to a lower source for the same key",
			New(Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": "/env"}, Map{"SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL": ""}).WithFilter(urlFilter),
			"LOGOUT_REDIRECT_URL", "/env", "SOCIAL_AUTH_EDX_OAUTH2_LOGOUT_REDIRECT_URL", true},
		{"filtered key falls to the default for the same key (defaults not filtered)",
			New(Map{"LOGOUT_REDIRECT_URL": nil}).WithDefaults(edxDefaults).WithFilter(urlFilter),
			"LOGOUT_REDIRECT_URL", nil, "LOGOUT_REDIRECT_URL", true},
		{"all filtered and no default: unset",
			New(Map{"LOGOUT_REDIRECT_URL": ""}).WithFilter(urlFilter),
			"LOGOUT_REDIRECT_URL", nil, "", false},
		{"nil on a non-_URL setting is kept (upstream test_get_setting)",
			New(Map{"SOCIAL_AUTH_USER_FIELDS": nil}).WithDefaults(edxDefaults).WithFilter(urlFilter),
			"USER_FIELDS", nil, "SOCIAL_AUTH_USER_FIELDS", true},
		{"filter may rewrite a value",
			New(Map{"SOCIAL_AUTH_A": "x"}).WithFilter(func(k string, v any) (any, bool) { return k + "=" + v.(string), true }),
			"A", "SOCIAL_AUTH_A=x", "SOCIAL_AUTH_A", true},
		{"filters chain in order",
			New(Map{"SOCIAL_AUTH_A": "x"}).
				WithFilter(func(_ string, v any) (any, bool) { return v.(string) + "1", true }).
				WithFilter(func(_ string, v any) (any, bool) { return v.(string) + "2", true }),
			"A", "x12", "SOCIAL_AUTH_A", true},
		{"nil filter ignored", New(Map{"SOCIAL_AUTH_A": "x"}).WithFilter(nil), "A", "x", "SOCIAL_AUTH_A", true},
		{"filter applies to Env", New(envOf(map[string]string{"SOCIAL_AUTH_LOGIN_URL": ""})).WithFilter(urlFilter), "LOGIN_URL", nil, "", false},
		{"filter applies to sources added later with With",
			New().WithFilter(urlFilter).With(Map{"SOCIAL_AUTH_LOGIN_URL": nil}), "LOGIN_URL", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, key, ok := tt.s.Lookup("edx-oauth2", tt.key)
			if diff := cmp.Diff(tt.want, v); diff != "" || key != tt.wantKey || ok != tt.wantOK {
				t.Errorf("Lookup = (%v, %q, %v), want (%v, %q, %v)", v, key, ok, tt.want, tt.wantKey, tt.wantOK)
			}
		})
	}
}

func TestFilterSeesFullKey(t *testing.T) {
	var seen []string
	s := New(Map{"SOCIAL_AUTH_EDX_OAUTH2_A": 1}, envOf(map[string]string{"SOCIAL_AUTH_A": "2"})).
		WithFilter(func(k string, v any) (any, bool) { seen = append(seen, k); return v, false })
	s.Lookup("edx-oauth2", "A")
	if diff := cmp.Diff([]string{"SOCIAL_AUTH_EDX_OAUTH2_A", "SOCIAL_AUTH_A"}, seen); diff != "" {
		t.Errorf("filter keys (-want +got):\n%s", diff)
	}
}

func TestNilSettings(t *testing.T) {
	var s *Settings
	if _, _, ok := s.Lookup("b", "X"); ok {
		t.Error("nil Settings found a value")
	}
	if got, err := s.String("b", "X", "def"); got != "def" || err != nil {
		t.Errorf("String = %q, %v", got, err)
	}
	if s.WithFilter(urlFilter).IsSet("b", "X") {
		t.Error("IsSet on empty")
	}
}

func TestEnvDefaultsToOS(t *testing.T) {
	t.Setenv("SOCIAL_AUTH_SETTINGS_TEST_ENV", "from-os")
	got, err := New(Env{}).String("settings-test", "ENV", "def")
	if err != nil || got != "from-os" {
		t.Errorf("String = %q, %v; want from-os", got, err)
	}
	if v, ok := (Env{}).Lookup("SOCIAL_AUTH_SETTINGS_TEST_UNSET_XYZ"); ok || v != nil {
		t.Errorf("unset env var: (%v, %v)", v, ok)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New(Map{"SOCIAL_AUTH_L": []string{"a"}}, envOf(map[string]string{"SOCIAL_AUTH_E": "1"})).
		WithDefaults(Map{"D": "d"}).WithFilter(urlFilter)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				l, _ := s.StringList("x", "L", nil)
				l[0] = "mutated"
				if b, err := s.Bool("x", "E", false); !b || err != nil {
					t.Errorf("Bool = %v, %v", b, err)
				}
				_ = s.With(Map{"SOCIAL_AUTH_L": "z"})
			}
		})
	}
	wg.Wait()
	got, _ := s.StringList("x", "L", nil)
	if diff := cmp.Diff([]string{"a"}, got); diff != "" {
		t.Errorf("L (-want +got):\n%s", diff)
	}
}
