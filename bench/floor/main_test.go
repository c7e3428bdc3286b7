package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

// started is a floor serving over loopback against a fake LMS.
type started struct {
	base string
	lms  *fakelms.LMS
	db   *sql.DB // the floor's database, for counting rows
}

func start(t *testing.T, target dbtest.Target) *started {
	t.Helper()
	lms := fakelms.NewServer(t, fakelms.Options{Audience: "lms-key"})
	var dbURL, driverDSN string
	if target.Name == dbtest.SQLite {
		path := filepath.Join(t.TempDir(), "floor.db")
		dbURL, driverDSN = "sqlite:"+path, dbtest.SQLiteDSN(path)
	} else {
		dbURL = dbtest.Fresh(t, target)
		driverDSN = dbURL
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var logs bytes.Buffer
	args := []string{"-addr", "127.0.0.1:0", "-lms-url", lms.URL(), "-database-url", dbURL, "-log-level", "debug"}
	go func() {
		done <- run(ctx, args, func(string) (string, bool) { return "", false }, &logs, func(b string) { ready <- b })
	}()
	var base string
	select {
	case base = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("floor did not start: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("floor did not start in time")
	}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("floor: %v", err)
		}
	})
	if err := lms.AddClient(fakelms.Client{ID: "demo-client", Secret: "demo-secret", RedirectURIs: []string{base + "/complete/edx-oauth2/"}}); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open(target.DriverName(), driverDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &started{base: base, lms: lms, db: db}
}

func browser(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// redirect GETs target and returns the Location of its 302.
func redirect(t *testing.T, c *http.Client, target string) *url.URL {
	t.Helper()
	res, err := c.Get(target)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusFound {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("GET %s: status %d, want 302: %s", target, res.StatusCode, b)
	}
	loc, err := res.Location()
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// callback starts a sign-in as the LMS's auto-approved user and returns the
// callback URL the LMS sends the browser to.
func (s *started) callback(t *testing.T, c *http.Client, user string) *url.URL {
	t.Helper()
	s.lms.AutoApprove(user)
	authz := redirect(t, c, s.base+"/login/edx-oauth2/?next=%2Fme")
	if q := authz.Query(); q.Get("code_challenge_method") != "S256" || q.Get("state") == "" {
		t.Fatalf("authorize URL without S256 PKCE or state: %s", authz)
	}
	return redirect(t, c, authz.String())
}

func me(t *testing.T, c *http.Client, base string) (int, map[string]any) {
	t.Helper()
	res, err := c.Get(base + "/me")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("/me: %v", err)
	}
	return res.StatusCode, body
}

func rows(t *testing.T, db *sql.DB) int {
	t.Helper()
	var n int
	if err := db.QueryRow("SELECT COUNT(*) FROM floor_users").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFloorSignIn(t *testing.T) {
	for _, target := range dbtest.Targets(t) {
		t.Run(target.Name, func(t *testing.T) {
			s := start(t, target)
			var firstID any
			for i := range 2 { // first, then returning
				c := browser(t)
				if code, _ := me(t, c, s.base); code != http.StatusUnauthorized {
					t.Fatalf("/me before sign-in: %d, want 401", code)
				}
				landing := redirect(t, c, s.callback(t, c, "alice").String())
				if landing.Path != "/me" {
					t.Fatalf("landed on %s, want /me", landing)
				}
				code, body := me(t, c, s.base)
				if code != http.StatusOK || body["username"] != "alice" {
					t.Fatalf("/me = %d %v, want alice", code, body)
				}
				if i == 0 {
					firstID = body["id"]
				} else if body["id"] != firstID {
					t.Errorf("returning sign-in got id %v, first %v", body["id"], firstID)
				}
				// Signed out, /me refuses.
				redirect(t, c, s.base+"/logout/")
				if code, _ := me(t, c, s.base); code != http.StatusUnauthorized {
					t.Errorf("/me after logout: %d, want 401", code)
				}
			}
			c := browser(t)
			redirect(t, c, s.callback(t, c, "bob").String())
			if n := rows(t, s.db); n != 2 {
				t.Errorf("%d users, want 2 (alice once, bob)", n)
			}
		})
	}
}

func TestFloorRefusesForgeries(t *testing.T) {
	s := start(t, dbtest.Targets(t)[0])
	complete := func(c *http.Client, u *url.URL) int {
		t.Helper()
		res, err := c.Get(u.String())
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}

	t.Run("state", func(t *testing.T) {
		c := browser(t)
		cb := s.callback(t, c, "mallory")
		q := cb.Query()
		q.Set("state", "X"+q.Get("state")[1:])
		if q.Get("state") == cb.Query().Get("state") {
			q.Set("state", "Y"+q.Get("state")[1:])
		}
		cb.RawQuery = q.Encode()
		if code := complete(c, cb); code != http.StatusBadRequest {
			t.Errorf("forged state: %d, want 400", code)
		}
	})
	t.Run("no flow cookie", func(t *testing.T) {
		cb := s.callback(t, browser(t), "mallory")
		if code := complete(browser(t), cb); code != http.StatusBadRequest {
			t.Errorf("callback in another browser: %d, want 400", code)
		}
	})
	t.Run("replayed callback", func(t *testing.T) {
		c := browser(t)
		cb := s.callback(t, c, "carol")
		if code := complete(c, cb); code != http.StatusFound {
			t.Fatalf("callback: %d, want 302", code)
		}
		if code := complete(c, cb); code != http.StatusBadRequest {
			t.Errorf("replayed callback: %d, want 400", code)
		}
	})
	if n := rows(t, s.db); n != 1 {
		t.Errorf("%d users, want 1 (carol only: nothing written for a refused sign-in)", n)
	}

	t.Run("forged session", func(t *testing.T) {
		c := browser(t)
		redirect(t, c, s.callback(t, c, "dave").String())
		u, _ := url.Parse(s.base)
		var sess *http.Cookie
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == sessCookie {
				sess = ck
			}
		}
		if sess == nil {
			t.Fatal("no session cookie after sign-in")
		}
		payload, sig, _ := strings.Cut(sess.Value, ".")
		other, _ := json.Marshal(session{ID: 1, Username: "admin", Expires: time.Now().Add(time.Hour).Unix()})
		// A flow cookie, validly signed, in place of the session.
		fc := browser(t)
		s.lms.AutoApprove("erin")
		redirect(t, fc, s.base+"/login/edx-oauth2/?next=%2Fme")
		var flow string
		for _, ck := range fc.Jar.Cookies(u) {
			if ck.Name == flowCookie {
				flow = ck.Value
			}
		}
		if flow == "" {
			t.Fatal("no flow cookie after /login/")
		}
		for name, v := range map[string]string{
			"flow cookie":   flow,
			"other payload": strings.TrimRight(encode(other), "=") + "." + sig,
			"bad signature": payload + "." + strings.Repeat("A", len(sig)),
			"no signature":  payload,
		} {
			forged := browser(t)
			forged.Jar.SetCookies(u, []*http.Cookie{{Name: sessCookie, Value: v, Path: "/"}})
			if code, _ := me(t, forged, s.base); code != http.StatusUnauthorized {
				t.Errorf("%s: /me %d, want 401", name, code)
			}
		}
	})
}

func encode(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
