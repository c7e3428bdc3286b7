package jwtverify_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/internal/jwtverify"
)

func TestResolveIssuer(t *testing.T) {
	const tmpl = "https://login.microsoftonline.com/{tenantid}/v2.0"
	for _, tc := range []struct {
		name string
		tmpl string
		tid  any
		want string
	}{
		{"guid", tmpl, "72f988bf-86f1-41af-91ab-2d7cd011db47", "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"},
		{"upper-case guid is lowered", tmpl, "72F988BF-86F1-41AF-91AB-2D7CD011DB47", "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"},
		{"no placeholder: unchanged", "https://accounts.google.com", "anything", "https://accounts.google.com"},
		{"domain name", tmpl, "contoso.onmicrosoft.com", ""},
		{"path", tmpl, "../72f988bf-86f1-41af-91ab-2d7cd011db4", ""},
		{"guid plus suffix", tmpl, "72f988bf-86f1-41af-91ab-2d7cd011db47/x", ""},
		{"not a string", tmpl, 42, ""},
		{"missing", tmpl, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := jwtverify.Claims{}
			if tc.tid != nil {
				c["tid"] = tc.tid
			}
			got, err := jwtverify.ResolveIssuer(tc.tmpl, c)
			if tc.want == "" {
				var je *jwtverify.Error
				if !errors.As(err, &je) || je.Reason != jwtverify.BadIssuer {
					t.Fatalf("err = %v, want BadIssuer", err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("= %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzResolveIssuer: whatever the tid, the resolved issuer is the template
// with a GUID in the slot, or an error.
func FuzzResolveIssuer(f *testing.F) {
	for _, s := range []string{"72f988bf-86f1-41af-91ab-2d7cd011db47", "", "../x", "{tenantid}", "72f988bf-86f1-41af-91ab-2d7cd011db4/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tid string) {
		got, err := jwtverify.ResolveIssuer("https://h/{tenantid}/v2.0", jwtverify.Claims{"tid": tid})
		if err != nil {
			return
		}
		mid := strings.TrimSuffix(strings.TrimPrefix(got, "https://h/"), "/v2.0")
		if !jwtverify.IsGUID(mid) || len(got) != len("https://h//v2.0")+36 {
			t.Fatalf("resolved %q from %q", got, tid)
		}
	})
}
