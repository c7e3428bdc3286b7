package settings

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// sourcesFor returns Settings where SOCIAL_AUTH_X holds v, plus the same through Env when v is a string.
func sourcesFor(v any) map[string]*Settings {
	out := map[string]*Settings{"map": New(Map{"SOCIAL_AUTH_X": v})}
	if str, ok := v.(string); ok {
		out["env"] = New(envOf(map[string]string{"SOCIAL_AUTH_X": str}))
	}
	return out
}

// checkErr asserts err is a *TypeError with the given Got ("" means no error), and that the
// error text does not contain the value.
func checkErr(t *testing.T, err error, wantGot string, v any) {
	t.Helper()
	if wantGot == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	var te *TypeError
	if !errors.As(err, &te) || !errors.Is(err, ErrWrongType) {
		t.Fatalf("error = %v, want a *TypeError matching ErrWrongType", err)
	}
	if te.Key != "SOCIAL_AUTH_X" || te.Got != wantGot {
		t.Errorf("TypeError = %+v, want Key SOCIAL_AUTH_X, Got %q", te, wantGot)
	}
	if str, ok := v.(string); ok && len(strings.TrimSpace(str)) > 2 && strings.Contains(err.Error(), strings.TrimSpace(str)) {
		t.Errorf("error %q leaks the value", err)
	}
}

func TestString(t *testing.T) {
	tests := []struct {
		v       any
		want    string
		wantGot string
	}{
		{"hello", "hello", ""},
		{"", "", ""},
		{" spaced ", " spaced ", ""},
		{nil, "", ""},
		{42, "def", "int"},
		{true, "def", "bool"},
		{[]string{"a"}, "def", "[]string"},
	}
	for _, tt := range tests {
		for src, s := range sourcesFor(tt.v) {
			got, err := s.String("", "X", "def")
			checkErr(t, err, tt.wantGot, tt.v)
			if got != tt.want {
				t.Errorf("%s: String(%#v) = %q, want %q", src, tt.v, got, tt.want)
			}
		}
	}
	if got, err := New().String("b", "X", "def"); got != "def" || err != nil {
		t.Errorf("unset: String = %q, %v", got, err)
	}
}

func TestBool(t *testing.T) {
	tests := []struct {
		v       any
		want    bool
		wantGot string
	}{
		{true, true, ""},
		{false, false, ""},
		{nil, false, ""},
		{1, true, ""},
		{0, false, ""},
		{int64(1), true, ""},
		{uint8(0), false, ""},
		{2, true, "malformed bool"}, // def returned with the error
		{1.0, true, ""},             // numbers decoded from JSON config are float64
		{0.0, false, ""},
		{0.5, true, "malformed bool"},
		{"1", true, ""}, {"0", false, ""},
		{"true", true, ""}, {"FALSE", false, ""}, {"True", true, ""},
		{"yes", true, ""}, {"No", false, ""},
		{"on", true, ""}, {"OFF", false, ""},
		{"t", true, ""}, {"F", false, ""},
		{"y", true, ""}, {"n", false, ""},
		{" yes\n", true, ""},
		{"", true, "malformed bool"},
		{"   ", true, "malformed bool"},
		{"maybe", true, "malformed bool"},
		{"2", true, "malformed bool"},
		{[]string{"true"}, true, "[]string"},
	}
	for _, tt := range tests {
		for src, s := range sourcesFor(tt.v) {
			got, err := s.Bool("", "X", true)
			checkErr(t, err, tt.wantGot, tt.v)
			if got != tt.want {
				t.Errorf("%s: Bool(%#v) = %v, want %v", src, tt.v, got, tt.want)
			}
		}
	}
	if got, err := New().Bool("b", "X", true); !got || err != nil {
		t.Errorf("unset: Bool = %v, %v", got, err)
	}
}

func TestInt(t *testing.T) {
	tests := []struct {
		v       any
		want    int
		wantGot string
	}{
		{5, 5, ""},
		{int8(-3), -3, ""},
		{int32(7), 7, ""},
		{int64(1 << 40), 1 << 40, ""},
		{uint16(9), 9, ""},
		{uint64(math.MaxUint64), -1, "malformed int"},
		{3.0, 3, ""},
		{float32(2), 2, ""},
		{3.5, -1, "malformed int"},
		{math.NaN(), -1, "malformed int"},
		{math.Inf(1), -1, "malformed int"},
		{1e300, -1, "malformed int"},
		{nil, 0, ""},
		{json.Number("12"), 12, ""},
		{json.Number("1.5"), -1, "malformed int"},
		{"42", 42, ""},
		{" -7 ", -7, ""},
		{"+8", 8, ""},
		{"", -1, "malformed int"},
		{"1.0", -1, "malformed int"},
		{"ten", -1, "malformed int"},
		{"99999999999999999999", -1, "malformed int"},
		{true, -1, "bool"},
		{time.Second, int(time.Second), ""}, // time.Duration is an int64 kind but a distinct type
	}
	for _, tt := range tests {
		for src, s := range sourcesFor(tt.v) {
			got, err := s.Int("", "X", -1)
			if tt.v == time.Second {
				// A Duration is not an int setting: it is rejected by type.
				checkErr(t, err, "time.Duration", tt.v)
				continue
			}
			checkErr(t, err, tt.wantGot, tt.v)
			if got != tt.want {
				t.Errorf("%s: Int(%#v) = %d, want %d", src, tt.v, got, tt.want)
			}
		}
	}
	if got, err := New().Int("b", "X", 11); got != 11 || err != nil {
		t.Errorf("unset: Int = %d, %v", got, err)
	}
}

func TestDuration(t *testing.T) {
	const def = 7 * time.Minute
	tests := []struct {
		v       any
		want    time.Duration
		wantGot string
	}{
		{90 * time.Second, 90 * time.Second, ""},
		{3600, time.Hour, ""},
		{int64(2), 2 * time.Second, ""},
		{uint32(1), time.Second, ""},
		{1.5, 1500 * time.Millisecond, ""},
		{float32(0.25), 250 * time.Millisecond, ""},
		{nil, 0, ""},
		{json.Number("30"), 30 * time.Second, ""},
		{json.Number("0.5"), 500 * time.Millisecond, ""},
		{"3600", time.Hour, ""},
		{" 1.5 ", 1500 * time.Millisecond, ""},
		{"-2", -2 * time.Second, ""},
		{"1e3", 1000 * time.Second, ""},
		{"1h", time.Hour, ""},
		{"1h30m", 90 * time.Minute, ""},
		{"250ms", 250 * time.Millisecond, ""},
		{"", def, "malformed duration"},
		{"soon", def, "malformed duration"},
		{"NaN", def, "malformed duration"},
		{"inf", def, "malformed duration"},
		{"9223372037", def, "malformed duration"}, // seconds overflow int64 nanoseconds
		{"9223372036", 9223372036 * time.Second, ""},
		{"1e10", def, "malformed duration"},
		{math.NaN(), def, "malformed duration"},
		{1e19, def, "malformed duration"},
		{int64(math.MaxInt64), def, "malformed duration"},
		{uint64(math.MaxUint64), def, "malformed duration"},
		{true, def, "bool"},
		{[]any{1}, def, "[]interface {}"},
	}
	for _, tt := range tests {
		for src, s := range sourcesFor(tt.v) {
			got, err := s.Duration("", "X", def)
			checkErr(t, err, tt.wantGot, tt.v)
			if got != tt.want {
				t.Errorf("%s: Duration(%#v) = %v, want %v", src, tt.v, got, tt.want)
			}
		}
	}
	if got, err := New().Duration("b", "X", def); got != def || err != nil {
		t.Errorf("unset: Duration = %v, %v", got, err)
	}
}

func TestStringList(t *testing.T) {
	def := []string{"def"}
	tests := []struct {
		v       any
		want    []string
		wantGot string
	}{
		{[]string{"a", "b"}, []string{"a", "b"}, ""},
		{[]string{}, []string{}, ""},
		{[]string(nil), nil, ""},
		{[]any{"a", "b"}, []string{"a", "b"}, ""},
		{[]any{}, []string{}, ""},
		{[]any{"a", 1}, def, "[]interface {} with a non-string element"},
		{nil, nil, ""},
		{"", []string{}, ""},
		{"  ", []string{}, ""},
		{"a", []string{"a"}, ""},
		{"a, b,,c ,", []string{"a", "b", "c"}, ""},
		{" , ,", []string{}, ""},
		{`["a", " b ", ""]`, []string{"a", " b ", ""}, ""},
		{` ["x,y"] `, []string{"x,y"}, ""},
		{`[]`, []string{}, ""},
		{`[1]`, def, "malformed string list"},
		{`[null]`, def, "malformed string list"},
		{`["a"`, def, "malformed string list"},
		{`["a"] x`, def, "malformed string list"},
		{42, def, "int"},
		{map[string]string{}, def, "map[string]string"},
	}
	for _, tt := range tests {
		for src, s := range sourcesFor(tt.v) {
			got, err := s.StringList("", "X", def)
			checkErr(t, err, tt.wantGot, tt.v)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: StringList(%#v) (-want +got):\n%s", src, tt.v, diff)
			}
			// Empty and nil are different answers: "" is a set, empty list.
			if (tt.want == nil) != (got == nil) {
				t.Errorf("%s: StringList(%#v) nil-ness = %v, want %v", src, tt.v, got == nil, tt.want == nil)
			}
		}
	}
	if got, err := New().StringList("b", "X", def); err != nil || !cmp.Equal(got, def) {
		t.Errorf("unset: StringList = %v, %v", got, err)
	}
	if got, err := New().StringList("b", "X", nil); err != nil || got != nil {
		t.Errorf("unset, nil def: StringList = %#v, %v", got, err)
	}
}

func TestStringMap(t *testing.T) {
	def := map[string]string{"d": "d"}
	tests := []struct {
		v       any
		want    map[string]string
		wantGot string
	}{
		{map[string]string{"a": "1"}, map[string]string{"a": "1"}, ""},
		{map[string]string(nil), nil, ""},
		{map[string]any{"a": "1"}, map[string]string{"a": "1"}, ""},
		{map[string]any{"a": 1}, def, "map[string]interface {} with a non-string value"},
		{nil, nil, ""},
		{"", map[string]string{}, ""},
		{`{}`, map[string]string{}, ""},
		{` {"a": "1", "b": ""} `, map[string]string{"a": "1", "b": ""}, ""},
		{`{"a": 1}`, def, "malformed string map"},
		{`{"a": null}`, def, "malformed string map"},
		{`null`, def, "malformed string map"},
		{`a=1`, def, "malformed string map"},
		{`{"a": "1"`, def, "malformed string map"},
		{[]string{}, def, "[]string"},
	}
	for _, tt := range tests {
		for src, s := range sourcesFor(tt.v) {
			got, err := s.StringMap("", "X", def)
			checkErr(t, err, tt.wantGot, tt.v)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("%s: StringMap(%#v) (-want +got):\n%s", src, tt.v, diff)
			}
			if (tt.want == nil) != (got == nil) {
				t.Errorf("%s: StringMap(%#v) nil-ness = %v, want %v", src, tt.v, got == nil, tt.want == nil)
			}
		}
	}
	if got, err := New().StringMap("b", "X", def); err != nil || !cmp.Equal(got, def) {
		t.Errorf("unset: StringMap = %v, %v", got, err)
	}
}

func TestTypeErrorMessage(t *testing.T) {
	const secret = "s3cr3t-client-secret-value"
	s := New(Map{"SOCIAL_AUTH_EDX_OAUTH2_SECRET": secret})
	for name, err := range map[string]error{
		"bool":     second(s.Bool("edx-oauth2", "SECRET", false)),
		"int":      second(s.Int("edx-oauth2", "SECRET", 0)),
		"duration": second(s.Duration("edx-oauth2", "SECRET", 0)),
		"map":      second(s.StringMap("edx-oauth2", "SECRET", nil)),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error %q contains the value", name, err)
		}
		if !strings.Contains(err.Error(), "SOCIAL_AUTH_EDX_OAUTH2_SECRET") {
			t.Errorf("%s: error %q does not name the key", name, err)
		}
	}
	// A plain string is a one-item list, so the list parser's error path needs malformed JSON.
	s = New(Map{"SOCIAL_AUTH_X": `["` + secret})
	if _, err := s.StringList("", "X", nil); err == nil || strings.Contains(err.Error(), secret) {
		t.Errorf("JSON list error = %v", err)
	}
	want := "settings: SOCIAL_AUTH_X: want bool, got int"
	if got := (&TypeError{Key: "SOCIAL_AUTH_X", Want: "bool", Got: "int"}).Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if errors.Is(errors.New("other"), ErrWrongType) {
		t.Error("unrelated error matches ErrWrongType")
	}
}

func second[T any](_ T, err error) error { return err }
