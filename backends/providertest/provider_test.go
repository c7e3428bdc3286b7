package providertest

import (
	"io"
	"net/http"
	"os"
	"testing"
)

// A replayed file keeps its status, headers and body, with the
// placeholders filled; unknown routes are 404; the request is recorded.
func TestReplay(t *testing.T) {
	dir := t.TempDir()
	p := NewProvider(t, dir)
	writeFile(t, dir+"/a.http", "HTTP/1.1 401 Unauthorized\r\nContent-Type: application/json\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\n\r\n{\"iss\":\"{{issuer}}\",\"u\":\"{{url}}\"}\n")
	p.Replay("GET /x", "a.http")
	resp, err := http.Get(p.URL() + "/x?q=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` ||
		string(body) != `{"iss":"`+p.URL()+`","u":"`+p.URL()+`"}` {
		t.Errorf("%d %v %s", resp.StatusCode, resp.Header, body)
	}
	if r, ok := p.Last("GET /x"); !ok || r.Form.Get("q") != "1" {
		t.Errorf("request not recorded: %+v", r)
	}
	if resp, _ := http.Get(p.URL() + "/unknown"); resp.StatusCode != 404 {
		t.Errorf("unknown route: %d", resp.StatusCode)
	}
	if resp, _ := http.Get(p.URL() + "/jwks"); resp.StatusCode != 200 {
		t.Errorf("jwks: %d", resp.StatusCode)
	}
}

func writeFile(t *testing.T, name, s string) {
	t.Helper()
	if err := writeString(name, s); err != nil {
		t.Fatal(err)
	}
}

func writeString(name, s string) error {
	return os.WriteFile(name, []byte(s), 0o600)
}
