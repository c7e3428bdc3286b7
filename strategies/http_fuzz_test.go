package strategies_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/alexedwards/scs/v2/memstore"

	"github.com/socialauth-go/socialauth/strategies"
)

// FuzzRequestData feeds arbitrary query strings and form bodies to
// RequestData: it must never panic, and form values come before query
// values of the same key.
func FuzzRequestData(f *testing.F) {
	f.Add("a=1&b=2", "a=3")
	f.Add("state=%zz&code=%", "state=x&&=&%3D=%26")
	f.Add("", strings.Repeat("k=v&", 100))
	f.Add(";a=1", "a;b=2")
	h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: "http://x"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, query, body string) {
		r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		r.URL.RawQuery = query
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		data := h.Strategy(r).RequestData()
		for k, vs := range data {
			if len(vs) == 0 {
				t.Errorf("key %q has no values", k)
			}
		}
	})
}

// FuzzSessionCodecDecode: malformed stored session data is an error, never
// a panic; what decodes re-encodes.
func FuzzSessionCodecDecode(f *testing.F) {
	c := strategies.SessionCodec{}
	good, err := c.Encode(time.Unix(0, 0).UTC(), map[string]any{"s": "x", "m": map[string]string{"a": "b"}, "l": []string{"z"}, "i": 3})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"values":{"k":{"t":"time","v":"bad"}}}`))
	f.Add([]byte(`{"values":null}`))
	f.Add([]byte{0xff, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, v, err := c.Decode(b)
		if err != nil {
			return
		}
		if _, err := c.Encode(d, v); err != nil {
			t.Errorf("decoded data does not re-encode: %v", err)
		}
	})
}

// FuzzNewHTTPBaseURL: any accepted base URL yields absolute URIs and a
// callback URL under itself.
func FuzzNewHTTPBaseURL(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:8000", "https://x/", "http://u@x", "http://x/a", "http://[::1]", "http://x:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		h, err := strategies.NewHTTP(strategies.HTTPConfig{SessionStore: memstore.New(), BaseURL: raw})
		if err != nil {
			return
		}
		got := h.Strategy(httptest.NewRequest(http.MethodGet, "/", nil)).AbsoluteURI("/complete/x/")
		if got != h.BaseURL()+"/complete/x/" {
			t.Errorf("AbsoluteURI = %q for base %q", got, h.BaseURL())
		}
		if got := h.CallbackURL("x"); got != h.BaseURL()+"/complete/x/" {
			t.Errorf("CallbackURL = %q for base %q", got, h.BaseURL())
		}
		if !strings.HasPrefix(h.BaseURL(), "http://") && !strings.HasPrefix(h.BaseURL(), "https://") {
			t.Errorf("base %q", h.BaseURL())
		}
	})
}
