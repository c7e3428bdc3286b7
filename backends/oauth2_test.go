package backends

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/pipeline"
	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/testutil"
	"github.com/socialauth-go/socialauth/testutil/fakelms"
)

func TestOAuth2Login(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, nil)
	st := newStrategy()

	authURL := start(t, b, st)
	q := authURL.Query()
	if got := q.Get("redirect_uri"); got != testutil.DefaultBaseURL+"/complete/lms/" {
		t.Errorf("redirect_uri = %q", got)
	}
	if q.Get("client_id") != testClientID || q.Get("response_type") != "code" || q.Get("scope") != "profile email" {
		t.Errorf("authorization query = %v", q)
	}
	if len(q.Get("state")) < 43 {
		t.Errorf("state %q shorter than 32 random bytes", q.Get("state"))
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		t.Errorf("PKCE missing: %v", q)
	}
	if q.Has("redirect_state") || strings.Contains(q.Get("redirect_uri"), "redirect_state") {
		t.Errorf("redirect_state sent by default")
	}
	if _, ok := st.SessionGet(SessionKey("lms")); !ok {
		t.Fatal("no flow in the session after Start")
	}

	resp, err := callback(b, st, authorize(t, l, authURL.String()))
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if _, ok := st.SessionGet(SessionKey("lms")); ok {
		t.Error("flow still in the session after Complete")
	}
	if resp["access_token"] == "" || resp["preferred_username"] != "jsmith" || resp["email"] != "jsmith@example.com" {
		t.Errorf("response = %v", resp)
	}
	if l.Calls().UserInfo != 1 {
		t.Errorf("UserInfo calls = %d, want 1 (the base fetches UserInfoURL)", l.Calls().UserInfo)
	}
	details := b.UserDetails(resp)
	uid, err := b.UserID(details, resp)
	if err != nil || uid != "jsmith" {
		t.Errorf("UserID = %q, %v", uid, err)
	}
	extra := b.ExtraData(nil, uid, resp, details)
	for _, k := range []string{"auth_time", "access_token", "token_type", "refresh_token", "expires_in"} {
		if _, ok := extra[k]; !ok {
			t.Errorf("extra data lacks %s: %v", k, extra)
		}
	}
	trs := l.TokenRequests()
	if len(trs) != 1 {
		t.Fatalf("token requests = %d", len(trs))
	}
	tr := trs[0]
	if tr.BasicAuth || tr.Form.Get("client_secret") != testSecret || tr.Form.Get("client_id") != testClientID {
		t.Errorf("client auth: basic=%v form=%v", tr.BasicAuth, tr.Form)
	}
	if tr.Form.Get("grant_type") != "authorization_code" || tr.Form.Get("redirect_uri") != q.Get("redirect_uri") {
		t.Errorf("token form = %v", tr.Form)
	}
	if tr.UserAgent != DefaultUserAgent || !strings.Contains(tr.Accept, "application/json") {
		t.Errorf("headers: UA %q Accept %q", tr.UserAgent, tr.Accept)
	}
}

func TestAuthURLSettings(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	tests := []struct {
		name    string
		set     settings.Map
		mod     func(*OAuth2Config)
		opts    testutil.StrategyOptions
		request url.Values
		want    map[string]string // "" means absent
	}{
		{name: "scope setting before default", set: settings.Map{"SOCIAL_AUTH_LMS_SCOPE": []string{"read"}},
			want: map[string]string{"scope": "read profile email"}},
		{name: "ignore default scope", set: settings.Map{"SOCIAL_AUTH_LMS_SCOPE": []string{"read"}, "SOCIAL_AUTH_LMS_IGNORE_DEFAULT_SCOPE": true},
			want: map[string]string{"scope": "read"}},
		{name: "separator", mod: func(c *OAuth2Config) { c.ScopeSeparator = "," },
			want: map[string]string{"scope": "profile,email"}},
		{name: "no pkce by setting", set: settings.Map{"SOCIAL_AUTH_LMS_USE_PKCE": false},
			want: map[string]string{"code_challenge": "", "code_challenge_method": ""}},
		{name: "no pkce by backend", mod: func(c *OAuth2Config) { c.PKCEDisabled = true },
			want: map[string]string{"code_challenge": ""}},
		{name: "extra args, request may not override by default",
			set:     settings.Map{"SOCIAL_AUTH_LMS_AUTH_EXTRA_ARGUMENTS": map[string]string{"prompt": "login"}},
			request: url.Values{"prompt": {"none"}},
			want:    map[string]string{"prompt": "login"}},
		{name: "extra args, allowed override",
			set:     settings.Map{"SOCIAL_AUTH_LMS_AUTH_EXTRA_ARGUMENTS": map[string]string{"prompt": "login"}},
			mod:     func(c *OAuth2Config) { c.AllowedAuthExtraArgs = []string{"prompt"} },
			request: url.Values{"prompt": {"none"}},
			want:    map[string]string{"prompt": "none"}},
		{name: "extra args, allowlist setting; absent keys never come from the request",
			set: settings.Map{"SOCIAL_AUTH_LMS_AUTH_EXTRA_ARGUMENTS": map[string]string{"prompt": "login"},
				"SOCIAL_AUTH_AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST": []string{"prompt", "hd"}},
			request: url.Values{"prompt": {"consent"}, "hd": {"evil.example"}},
			want:    map[string]string{"prompt": "consent", "hd": ""}},
		{name: "extra args cannot replace protocol parameters",
			set: settings.Map{"SOCIAL_AUTH_LMS_AUTH_EXTRA_ARGUMENTS": map[string]string{
				"redirect_uri": "https://evil.example/", "state": "fixed", "client_id": "x"}},
			want: map[string]string{"redirect_uri": testutil.DefaultBaseURL + "/complete/lms/", "client_id": testClientID}},
		{name: "redirect_uri is the strategy's callback URL (https base)", opts: testutil.StrategyOptions{BaseURL: "https://testserver"},
			want: map[string]string{"redirect_uri": "https://testserver/complete/lms/"}},
		{name: "redirect_uri follows the mount prefix", opts: testutil.StrategyOptions{Prefix: "/auth"},
			want: map[string]string{"redirect_uri": testutil.DefaultBaseURL + "/auth/complete/lms/"}},
		{name: "settings before code: USE_PKCE over PKCEDisabled", set: settings.Map{"SOCIAL_AUTH_LMS_USE_PKCE": true},
			mod:  func(c *OAuth2Config) { c.PKCEDisabled = true },
			want: map[string]string{"code_challenge_method": "S256"}},
		{name: "redirect_state option", mod: func(c *OAuth2Config) { c.RedirectState = true },
			want: map[string]string{}},
		{name: "authorization URL setting keeps its query",
			set:  settings.Map{"SOCIAL_AUTH_LMS_AUTHORIZATION_URL": l.URL() + "/oauth2/authorize?tenant=t1"},
			want: map[string]string{"tenant": "t1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lmsOAuth2(t, l, tt.set, tt.mod)
			st := testutil.NewStrategy(tt.opts)
			if tt.request != nil {
				st.SetRequestData(tt.request)
			}
			u, err := b.AuthURL(context.Background(), st)
			if err != nil {
				t.Fatal(err)
			}
			pu, _ := url.Parse(u)
			q := pu.Query()
			for k, want := range tt.want {
				if got := q.Get(k); got != want {
					t.Errorf("%s = %q, want %q (url %s)", k, got, want, u)
				}
			}
			if q.Get("state") == "fixed" || len(q["state"]) != 1 {
				t.Errorf("state = %q", q["state"])
			}
			if tt.name == "redirect_state option" {
				ru, _ := url.Parse(q.Get("redirect_uri"))
				if ru.Query().Get("redirect_state") != q.Get("state") {
					t.Errorf("redirect_uri %q lacks redirect_state", q.Get("redirect_uri"))
				}
			}
		})
	}
}

// TestNewOAuth2Misconfigured: a backend configured in code fails at
// construction, naming the setting that would fix it; nothing is left for
// the first request to discover.
func TestNewOAuth2Misconfigured(t *testing.T) {
	ok := OAuth2Config{Name: "lms", Key: testClientID, Endpoints: Endpoints{
		AuthorizationURL: "https://idp.example/auth", AccessTokenURL: "https://idp.example/token"}}
	if _, err := NewOAuth2(ok); err != nil {
		t.Fatalf("NewOAuth2(valid) = %v", err)
	}
	tests := []struct {
		name string
		mod  func(*OAuth2Config)
		key  string
	}{
		{"no key", func(c *OAuth2Config) { c.Key = "" }, "SOCIAL_AUTH_LMS_KEY"},
		{"javascript authorization URL", func(c *OAuth2Config) { c.Endpoints.AuthorizationURL = "javascript:alert(1)" }, "SOCIAL_AUTH_LMS_AUTHORIZATION_URL"},
		{"relative token URL", func(c *OAuth2Config) { c.Endpoints.AccessTokenURL = "/token" }, "SOCIAL_AUTH_LMS_ACCESS_TOKEN_URL"},
		{"no token URL", func(c *OAuth2Config) { c.Endpoints.AccessTokenURL = "" }, "SOCIAL_AUTH_LMS_ACCESS_TOKEN_URL"},
		{"userinfo URL with userinfo", func(c *OAuth2Config) { c.Endpoints.UserInfoURL = "https://u:p@idp.example/me" }, "SOCIAL_AUTH_LMS_USERINFO_URL"},
		{"revoke URL not http", func(c *OAuth2Config) { c.Endpoints.RevokeURL = "ftp://idp.example/revoke" }, "SOCIAL_AUTH_LMS_REVOKE_TOKEN_URL"},
		{"token method", func(c *OAuth2Config) { c.AccessTokenMethod = "PUT" }, "SOCIAL_AUTH_LMS_ACCESS_TOKEN_METHOD"},
		{"negative state TTL", func(c *OAuth2Config) { c.StateTTL = -time.Second }, "SOCIAL_AUTH_LMS_STATE_TTL"},
		{"extra data without name", func(c *OAuth2Config) { c.ExtraData = []ExtraDataField{{Alias: "x"}} }, "SOCIAL_AUTH_LMS_EXTRA_DATA"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.mod(&cfg)
			b, err := NewOAuth2(cfg)
			if b != nil {
				t.Error("a backend returned with the error")
			}
			wantConfigErr(t, err, tt.key)
		})
	}
	_, err := NewOAuth2(OAuth2Config{Key: "k"})
	wantCode(t, err, socialauth.CodeImproperlyConfigured)
}

// TestOAuth2ConfigFromErrors: every missing or malformed setting fails
// OAuth2ConfigFrom with an error naming the key that answered (never its
// value), and all of them are reported together.
func TestOAuth2ConfigFromErrors(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	tests := []struct {
		name string
		set  settings.Map
		key  string
	}{
		{"STATE_TTL", settings.Map{"SOCIAL_AUTH_LMS_STATE_TTL": "abc"}, "SOCIAL_AUTH_LMS_STATE_TTL"},
		{"global STATE_TTL", settings.Map{"SOCIAL_AUTH_STATE_TTL": "-5s"}, "SOCIAL_AUTH_STATE_TTL"},
		{"USE_PKCE", settings.Map{"SOCIAL_AUTH_LMS_USE_PKCE": "maybe"}, "SOCIAL_AUTH_LMS_USE_PKCE"},
		{"IGNORE_DEFAULT_SCOPE", settings.Map{"SOCIAL_AUTH_LMS_IGNORE_DEFAULT_SCOPE": "perhaps"}, "SOCIAL_AUTH_LMS_IGNORE_DEFAULT_SCOPE"},
		{"GET_ALL_EXTRA_DATA", settings.Map{"SOCIAL_AUTH_GET_ALL_EXTRA_DATA": 3.5}, "SOCIAL_AUTH_GET_ALL_EXTRA_DATA"},
		{"SCOPE", settings.Map{"SOCIAL_AUTH_LMS_SCOPE": 42}, "SOCIAL_AUTH_LMS_SCOPE"},
		{"AUTH_EXTRA_ARGUMENTS", settings.Map{"SOCIAL_AUTH_LMS_AUTH_EXTRA_ARGUMENTS": []string{"prompt"}}, "SOCIAL_AUTH_LMS_AUTH_EXTRA_ARGUMENTS"},
		{"AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST", settings.Map{"SOCIAL_AUTH_AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST": true}, "SOCIAL_AUTH_AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST"},
		{"ACCESS_TOKEN_METHOD", settings.Map{"SOCIAL_AUTH_LMS_ACCESS_TOKEN_METHOD": "PATCH"}, "SOCIAL_AUTH_LMS_ACCESS_TOKEN_METHOD"},
		{"REQUESTS_TIMEOUT", settings.Map{"SOCIAL_AUTH_REQUESTS_TIMEOUT": "soon"}, "SOCIAL_AUTH_REQUESTS_TIMEOUT"},
		{"URLOPEN_TIMEOUT", settings.Map{"SOCIAL_AUTH_URLOPEN_TIMEOUT": "soon"}, "SOCIAL_AUTH_URLOPEN_TIMEOUT"},
		{"USER_AGENT", settings.Map{"SOCIAL_AUTH_USER_AGENT": []string{"a"}}, "SOCIAL_AUTH_USER_AGENT"},
		{"AUTHORIZATION_URL", settings.Map{"SOCIAL_AUTH_LMS_AUTHORIZATION_URL": "not a url"}, "SOCIAL_AUTH_LMS_AUTHORIZATION_URL"},
		{"ACCESS_TOKEN_URL", settings.Map{"SOCIAL_AUTH_LMS_ACCESS_TOKEN_URL": "/relative"}, "SOCIAL_AUTH_LMS_ACCESS_TOKEN_URL"},
		{"REFRESH_TOKEN_URL", settings.Map{"SOCIAL_AUTH_LMS_REFRESH_TOKEN_URL": "javascript:x"}, "SOCIAL_AUTH_LMS_REFRESH_TOKEN_URL"},
		{"REVOKE_TOKEN_URL", settings.Map{"SOCIAL_AUTH_LMS_REVOKE_TOKEN_URL": "https://idp.example/r#frag"}, "SOCIAL_AUTH_LMS_REVOKE_TOKEN_URL"},
		{"USERINFO_URL", settings.Map{"SOCIAL_AUTH_LMS_USERINFO_URL": "idp.example/me"}, "SOCIAL_AUTH_LMS_USERINFO_URL"},
		{"ID_KEY", settings.Map{"SOCIAL_AUTH_LMS_ID_KEY": []string{"a"}}, "SOCIAL_AUTH_LMS_ID_KEY"},
		{"EXTRA_DATA entry", settings.Map{"SOCIAL_AUTH_LMS_EXTRA_DATA": []any{"ok", []any{1, 2}}}, "SOCIAL_AUTH_LMS_EXTRA_DATA"},
		{"EXTRA_DATA type", settings.Map{"SOCIAL_AUTH_LMS_EXTRA_DATA": 7}, "SOCIAL_AUTH_LMS_EXTRA_DATA"},
		{"KEY empty", settings.Map{"SOCIAL_AUTH_LMS_KEY": ""}, "SOCIAL_AUTH_LMS_KEY"},
		{"KEY wrong type", settings.Map{"SOCIAL_AUTH_LMS_KEY": 12.5}, "SOCIAL_AUTH_LMS_KEY"},
		{"SECRET wrong type", settings.Map{"SOCIAL_AUTH_LMS_SECRET": []string{"s"}}, "SOCIAL_AUTH_LMS_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := OAuth2ConfigFrom(testSettings(tt.set), lmsConfig(l))
			wantConfigErr(t, err, tt.key)
			if !errors.Is(err, settings.ErrInvalid) && !errors.Is(err, settings.ErrWrongType) && !errors.Is(err, settings.ErrMissing) {
				t.Errorf("error %v is not a settings error", err)
			}
		})
	}
	t.Run("no KEY at all", func(t *testing.T) {
		_, err := OAuth2ConfigFrom(settings.New(), lmsConfig(l))
		wantConfigErr(t, err, "SOCIAL_AUTH_LMS_KEY")
		if !errors.Is(err, settings.ErrMissing) {
			t.Errorf("err = %v, want ErrMissing", err)
		}
	})
	t.Run("all reported together", func(t *testing.T) {
		_, err := OAuth2ConfigFrom(testSettings(settings.Map{"SOCIAL_AUTH_LMS_STATE_TTL": "abc", "SOCIAL_AUTH_LMS_USE_PKCE": "maybe"}), lmsConfig(l))
		for _, k := range []string{"SOCIAL_AUTH_LMS_STATE_TTL", "SOCIAL_AUTH_LMS_USE_PKCE"} {
			if !strings.Contains(err.Error(), k) {
				t.Errorf("error %q lacks %s", err, k)
			}
		}
	})
	t.Run("no name", func(t *testing.T) {
		_, err := OAuth2ConfigFrom(testSettings(nil), OAuth2Config{})
		wantCode(t, err, socialauth.CodeImproperlyConfigured)
	})
}

// TestOAuth2ConfigFrom: the settings land in typed fields, over the code's.
func TestOAuth2ConfigFrom(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	cfg, err := OAuth2ConfigFrom(testSettings(settings.Map{
		"SOCIAL_AUTH_LMS_SCOPE":                   "read, write",
		"SOCIAL_AUTH_IGNORE_DEFAULT_SCOPE":        true,
		"SOCIAL_AUTH_LMS_USE_PKCE":                false,
		"SOCIAL_AUTH_LMS_STATE_TTL":               "30s",
		"SOCIAL_AUTH_URLOPEN_TIMEOUT":             2,
		"SOCIAL_AUTH_USER_AGENT":                  "my-app/1",
		"SOCIAL_AUTH_LMS_ACCESS_TOKEN_METHOD":     "get",
		"SOCIAL_AUTH_LMS_ID_KEY":                  "sub",
		"SOCIAL_AUTH_LMS_EXTRA_DATA":              []any{"login", []any{"bio", "about", true}},
		"SOCIAL_AUTH_LMS_GET_ALL_EXTRA_DATA":      true,
		"SOCIAL_AUTH_LMS_AUTH_EXTRA_ARGUMENTS":    map[string]string{"prompt": "login"},
		"SOCIAL_AUTH_LMS_USERINFO_URL":            "https://idp.example/me",
		"SOCIAL_AUTH_LMS_REFRESH_TOKEN_URL":       "https://idp.example/refresh",
		"AUTH_EXTRA_ARGUMENTS_OVERRIDE_ALLOWLIST": []string{"prompt"},
	}), lmsConfig(l))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Key != testClientID || cfg.Secret != testSecret {
		t.Error("KEY/SECRET not read")
	}
	b, err := NewOAuth2(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := b.Config()
	want := []any{
		[]string{"read", "write"}, true, true, 30 * time.Second, 2 * time.Second, "my-app/1", "GET", "sub", true,
		map[string]string{"prompt": "login"}, []string{"prompt"}, "https://idp.example/me", "https://idp.example/refresh",
		[]ExtraDataField{{Name: "refresh_token"}, {Name: "expires_in"}, {Name: "login"}, {Name: "bio", Alias: "about", DiscardIfEmpty: true}},
	}
	have := []any{
		got.Scope, got.IgnoreDefaultScope, got.PKCEDisabled, got.StateTTL, got.Timeout, got.UserAgent, got.AccessTokenMethod, got.IDKey, got.GetAllExtraData,
		got.AuthExtraArguments, got.AllowedAuthExtraArgs, got.Endpoints.UserInfoURL, got.Endpoints.RefreshURL,
		got.ExtraData,
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
	if got := b.Scope(); !cmp.Equal(got, []string{"read", "write"}) {
		t.Errorf("Scope() = %v", got)
	}
}

// TestStateRules: every state failure is typed and makes no call to the
// token endpoint. A callback that names no pending flow consumes nothing:
// the genuine callback that follows completes. (The rule used to be "a
// failed callback consumes the flow"; issue 11 reversed it.) A callback
// that names a flow (expired, or with no code) does use it up.
func TestStateRules(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	clock := &fixedClock{t: time.Now()}
	mod := func(c *OAuth2Config) { c.Now = clock.Now }
	// stateCase is a flow started by b on st (its genuine callback good),
	// and the failing callback bad, sent to badB on badSt.
	type stateCase struct {
		b, badB   *OAuth2
		st, badSt *testutil.Strategy
		good, bad *url.URL
	}
	same := func(t *testing.T, change func(q url.Values)) stateCase {
		b, st, cb := flowTo(t, l, mod)
		return stateCase{b: b, badB: b, st: st, badSt: st, good: cb, bad: withQuery(cb, change)}
	}
	tests := []struct {
		name    string
		prepare func(t *testing.T) stateCase
		want    socialauth.Code
		status  int
		// consumes: the failing callback named the flow and used it up
		// (the genuine one then gets AuthStateMissing); otherwise the
		// genuine callback completes.
		consumes bool
		// broken: the session's flow itself was damaged, so the genuine
		// callback cannot complete either; it must still be pending.
		broken bool
	}{
		{name: "missing in callback", prepare: func(t *testing.T) stateCase {
			return same(t, func(q url.Values) { q.Del("state") })
		}, want: socialauth.CodeAuthMissingParameter, status: http.StatusBadRequest},
		{name: "empty in callback", prepare: func(t *testing.T) stateCase {
			return same(t, func(q url.Values) { q.Set("state", "") })
		}, want: socialauth.CodeAuthMissingParameter, status: http.StatusBadRequest},
		{name: "missing in session", prepare: func(t *testing.T) stateCase {
			c := same(t, func(url.Values) {})
			c.badSt = newStrategy() // a session with no flow at all
			return c
		}, want: socialauth.CodeAuthStateMissing, status: http.StatusBadRequest},
		{name: "wrong", prepare: func(t *testing.T) stateCase {
			return same(t, func(q url.Values) { q.Set("state", q.Get("state")[1:]+"A") })
		}, want: socialauth.CodeAuthStateForbidden, status: http.StatusForbidden},
		{name: "duplicated with different values", prepare: func(t *testing.T) stateCase {
			return same(t, func(q url.Values) { q.Add("state", "other") })
		}, want: socialauth.CodeAuthInvalidParameter, status: http.StatusBadRequest},
		{name: "expired", prepare: func(t *testing.T) stateCase {
			c := same(t, func(url.Values) {})
			clock.Add(DefaultStateTTL + time.Second)
			return c
		}, want: socialauth.CodeAuthStateMissing, status: http.StatusBadRequest, consumes: true},
		{name: "from another session", prepare: func(t *testing.T) stateCase {
			c := same(t, func(url.Values) {})
			c.badSt = newStrategy()
			start(t, c.b, c.badSt) // the other session has its own flow
			return c
		}, want: socialauth.CodeAuthStateForbidden, status: http.StatusForbidden},
		{name: "from another backend", prepare: func(t *testing.T) stateCase {
			c := same(t, func(url.Values) {})
			c.badB = lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.Name = "other"; c.Now = clock.Now })
			return c
		}, want: socialauth.CodeAuthStateMissing, status: http.StatusBadRequest},
		{name: "flow of another backend in this session", prepare: func(t *testing.T) stateCase {
			c := same(t, func(url.Values) {})
			c.badB = lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.Name = "other"; c.Now = clock.Now })
			start(t, c.badB, c.st) // "other" has a flow of its own here
			return c
		}, want: socialauth.CodeAuthStateForbidden, status: http.StatusForbidden},
		{name: "stored flow whose state is not the one hashed in its key", prepare: func(t *testing.T) stateCase {
			// (was "flow of another backend copied under this key": a flow no
			// longer names its backend, the session key does.)
			c := same(t, func(url.Values) {})
			v, _ := c.st.SessionGet(SessionKey("lms"))
			m := v.(map[string]string)
			for id, raw := range m {
				var f map[string]any
				if err := json.Unmarshal([]byte(raw), &f); err != nil {
					t.Fatal(err)
				}
				// change the first character (to one it is not: a
				// random state may begin with "A" itself)
				s := f["s"].(string)
				first := "A"
				if s[0] == 'A' {
					first = "B"
				}
				f["s"] = first + s[1:]
				b, _ := json.Marshal(f)
				m[id] = string(b)
			}
			c.st.SessionSet(SessionKey("lms"), m)
			return c
		}, want: socialauth.CodeAuthStateForbidden, status: http.StatusForbidden, broken: true},
		{name: "state too long", prepare: func(t *testing.T) stateCase {
			return same(t, func(q url.Values) { q.Set("state", strings.Repeat("a", maxStateLen+1)) })
		}, want: socialauth.CodeAuthInvalidParameter, status: http.StatusBadRequest},
		{name: "no code", prepare: func(t *testing.T) stateCase {
			return same(t, func(q url.Values) { q.Del("code") })
		}, want: socialauth.CodeAuthMissingParameter, status: http.StatusBadRequest, consumes: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.prepare(t)
			var pendingBefore int
			if !tt.broken {
				pendingBefore = len(pendingIn(t, c.st, "lms"))
			}
			before := l.Calls().Token
			_, err := callback(c.badB, c.badSt, c.bad)
			wantCode(t, err, tt.want)
			if got := socialauth.HTTPStatus(err); got != tt.status {
				t.Errorf("status = %d, want %d", got, tt.status)
			}
			if n := l.Calls().Token - before; n != 0 {
				t.Errorf("token endpoint called %d times for a local failure", n)
			}
			switch {
			case tt.consumes:
				if n := len(pendingIn(t, c.st, "lms")); n != 0 {
					t.Errorf("%d flows still pending after a callback that named the flow", n)
				}
				_, err := callback(c.b, c.st, c.good)
				wantCode(t, err, socialauth.CodeAuthStateMissing)
			case tt.broken:
				if _, ok := c.st.SessionGet(SessionKey("lms")); !ok {
					t.Error("a callback that names no flow consumed the damaged one")
				}
			default:
				if n := len(pendingIn(t, c.st, "lms")); n != pendingBefore {
					t.Errorf("pending flows %d → %d after a callback that names none", pendingBefore, n)
				}
				if _, err := callback(c.b, c.st, c.good); err != nil {
					t.Fatalf("the genuine callback after the failed one: %v", err)
				}
				if n := l.Calls().Token - before; n != 1 {
					t.Errorf("token requests = %d, want 1 (the genuine callback)", n)
				}
			}
		})
	}
}

// flowTo starts a flow and returns the LMS's callback for it (not yet sent).
func flowTo(t *testing.T, l *fakelms.LMS, mod func(*OAuth2Config)) (*OAuth2, *testutil.Strategy, *url.URL) {
	t.Helper()
	b := lmsOAuth2(t, l, nil, mod)
	st := newStrategy()
	return b, st, authorize(t, l, start(t, b, st).String())
}

func TestStateReplay(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b, st, cb := flowTo(t, l, nil)
	if _, err := callback(b, st, cb); err != nil {
		t.Fatal(err)
	}
	before := l.Calls().Token
	_, err := callback(b, st, cb)
	wantCode(t, err, socialauth.CodeAuthStateMissing)
	if l.Calls().Token != before {
		t.Error("replayed callback reached the token endpoint")
	}
}

func TestStateTTLSetting(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	clock := &fixedClock{t: time.Now()}
	b := lmsOAuth2(t, l, settings.Map{"SOCIAL_AUTH_STATE_TTL": "30s"}, func(c *OAuth2Config) { c.Now = clock.Now })
	if b.Config().StateTTL != 30*time.Second {
		t.Fatalf("StateTTL = %v", b.Config().StateTTL)
	}
	st := newStrategy()
	cb := authorize(t, l, start(t, b, st).String())
	clock.Add(31 * time.Second)
	_, err := callback(b, st, cb)
	wantCode(t, err, socialauth.CodeAuthStateMissing)
}

func TestPKCE(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b, st, cb := flowTo(t, l, nil)
	verifier := onlyFlow(t, st, "lms").Verifier
	if len(verifier) < 43 {
		t.Fatalf("verifier length %d", len(verifier))
	}
	// A code_verifier in the callback is never used.
	cb = withQuery(cb, func(q url.Values) { q.Set("code_verifier", strings.Repeat("x", 43)) })
	if _, err := callback(b, st, cb); err != nil {
		t.Fatal(err)
	}
	trs := l.TokenRequests()
	if got := trs[len(trs)-1].Form.Get("code_verifier"); got != verifier {
		t.Errorf("code_verifier sent = %q, want the session's", got)
	}

	b2 := lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.PKCEDisabled = true })
	st2 := newStrategy()
	if _, err := login(t, l, b2, st2); err != nil {
		t.Fatal(err)
	}
	trs = l.TokenRequests()
	if trs[len(trs)-1].Form.Has("code_verifier") {
		t.Error("code_verifier sent with PKCE off")
	}
}

func TestProviderErrorCallback(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	tests := []struct {
		q    url.Values
		want socialauth.Code
		msg  string
	}{
		{url.Values{"error": {"access_denied"}, "error_description": {"The resource owner <script>"}}, socialauth.CodeAuthCanceled, "access_denied"},
		{url.Values{"error": {"user_cancelled_login"}}, socialauth.CodeAuthCanceled, "user_cancelled_login"},
		{url.Values{"denied": {"x"}}, socialauth.CodeAuthCanceled, ""},
		{url.Values{"error": {"server_error"}, "error_description": {"The resource owner"}}, socialauth.CodeAuthFailed, "server_error"},
		{url.Values{"error": {"<b>evil</b> text"}}, socialauth.CodeAuthFailed, "provider_error"},
	}
	for _, tt := range tests {
		b := lmsOAuth2(t, l, nil, nil)
		st := newStrategy()
		au := start(t, b, st)
		tt.q.Set("state", au.Query().Get("state"))
		before := l.Calls().Token
		_, err := callback(b, st, &url.URL{Path: "/complete/lms/", RawQuery: tt.q.Encode()})
		wantCode(t, err, tt.want)
		if tt.msg != "" && err.(*socialauth.Error).Msg != tt.msg {
			t.Errorf("Msg = %q, want %q", err.(*socialauth.Error).Msg, tt.msg)
		}
		if strings.Contains(err.Error(), "evil") || strings.Contains(err.Error(), "script") {
			t.Errorf("provider text reflected: %v", err)
		}
		if l.Calls().Token != before {
			t.Error("token endpoint called after a provider error")
		}
		if _, ok := st.SessionGet(SessionKey("lms")); ok {
			t.Error("flow not consumed")
		}
	}
}

func TestPOSTCallback(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b, st, cb := flowTo(t, l, nil)
	r := httptest.NewRequest(http.MethodPost, "/complete/lms/", strings.NewReader(cb.RawQuery))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.Complete(context.Background(), st.WithRequest(r))
	if err != nil {
		t.Fatal(err)
	}
	if resp["preferred_username"] != "jsmith" {
		t.Errorf("response = %v", resp)
	}
}

func TestIssResponseParameter(t *testing.T) {
	l := newLMS(t, fakelms.Options{IssParameter: true})
	withIssuer := func(supported bool) func(*OAuth2Config) {
		return func(c *OAuth2Config) {
			c.Endpoints.Issuer = l.Issuer()
			c.Endpoints.IssParameterSupported = supported
		}
	}
	t.Run("exact match", func(t *testing.T) {
		b, st, cb := flowTo(t, l, withIssuer(true))
		if _, err := callback(b, st, cb); err != nil {
			t.Fatal(err)
		}
	})
	for _, tt := range []struct {
		name string
		mod  func(*OAuth2Config)
		q    func(url.Values)
		want socialauth.Code
	}{
		{"mix-up: other issuer", withIssuer(false), func(q url.Values) { q.Set("iss", l.Issuer()+"/") }, socialauth.CodeAuthForbidden},
		{"declared but missing", withIssuer(true), func(q url.Values) { q.Del("iss") }, socialauth.CodeAuthMissingParameter},
		{"sent but no issuer known", nil, func(url.Values) {}, socialauth.CodeAuthForbidden},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, st, cb := flowTo(t, l, tt.mod)
			before := l.Calls().Token
			_, err := callback(b, st, withQuery(cb, tt.q))
			wantCode(t, err, tt.want)
			if l.Calls().Token != before {
				t.Error("token endpoint called")
			}
		})
	}
}

func TestTokenEndpointFaults(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	var elsewhere int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere++
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"stolen","token_type":"Bearer"}`))
	}))
	defer other.Close()
	tests := []struct {
		name  string
		fault fakelms.Fault
		set   settings.Map
		want  socialauth.Code
		http  int
	}{
		{"500", fakelms.Fault{Status: 500, Body: `{"error":"server_error"}`}, nil, socialauth.CodeAuthUnreachableProvider, 502},
		{"503", fakelms.Fault{Status: 503, Body: "down", ContentType: "text/plain"}, nil, socialauth.CodeAuthUnreachableProvider, 502},
		{"400 invalid_grant", fakelms.Fault{Status: 400, Body: `{"error":"invalid_grant","error_description":"The resource owner"}`}, nil, socialauth.CodeAuthCanceled, 403},
		{"401", fakelms.Fault{Status: 401, Body: `{"error":"invalid_client"}`}, nil, socialauth.CodeAuthForbidden, 403},
		{"403", fakelms.Fault{Status: 403}, nil, socialauth.CodeAuthForbidden, 403},
		{"404", fakelms.Fault{Status: 404, Body: "<html>"}, nil, socialauth.CodeAuthFailed, 403},
		{"HTML 200", fakelms.Fault{Status: 200, Body: "<html><body>The resource owner</body></html>", ContentType: "text/html"}, nil, socialauth.CodeAuthUnknownError, 502},
		{"not JSON", fakelms.Fault{Status: 200, Body: "access_token", ContentType: "application/json"}, nil, socialauth.CodeAuthUnknownError, 502},
		{"JSON array", fakelms.Fault{Status: 200, Body: `["access_token"]`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"huge", fakelms.Fault{BodySize: 3 << 20}, nil, socialauth.CodeAuthUnknownError, 502},
		{"error in 200", fakelms.Fault{Status: 200, Body: `{"error":"access_denied","error_description":"The resource owner"}`}, nil, socialauth.CodeAuthCanceled, 403},
		{"no access_token", fakelms.Fault{Status: 200, Body: `{"token_type":"Bearer"}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"null access_token", fakelms.Fault{Status: 200, Body: `{"access_token":null,"token_type":"Bearer"}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"empty access_token", fakelms.Fault{Status: 200, Body: `{"access_token":"","token_type":"Bearer"}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"numeric access_token", fakelms.Fault{Status: 200, Body: `{"access_token":12345,"token_type":"Bearer"}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"object access_token", fakelms.Fault{Status: 200, Body: `{"access_token":{"v":"x"},"token_type":"Bearer"}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"token_type mac", fakelms.Fault{Status: 200, Body: `{"access_token":"at","token_type":"mac"}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"token_type DPoP", fakelms.Fault{Status: 200, Body: `{"access_token":"at","token_type":"DPoP"}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"token_type empty", fakelms.Fault{Status: 200, Body: `{"access_token":"at","token_type":""}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"token_type a number", fakelms.Fault{Status: 200, Body: `{"access_token":"at","token_type":1}`}, nil, socialauth.CodeAuthUnknownError, 502},
		{"form body with token_type mac", fakelms.Fault{Status: 200, Body: `access_token=at&token_type=mac`, ContentType: "application/x-www-form-urlencoded"}, nil, socialauth.CodeAuthUnknownError, 502},
		{"redirect elsewhere", fakelms.Fault{RedirectTo: other.URL + "/token", Status: 307}, nil, socialauth.CodeAuthUnknownError, 502},
		{"slow", fakelms.Fault{Delay: time.Second}, settings.Map{"SOCIAL_AUTH_REQUESTS_TIMEOUT": "50ms"}, socialauth.CodeAuthUnreachableProvider, 504},
		{"slow, legacy setting", fakelms.Fault{Delay: time.Second}, settings.Map{"SOCIAL_AUTH_URLOPEN_TIMEOUT": 0.05}, socialauth.CodeAuthUnreachableProvider, 504},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := lmsOAuth2(t, l, tt.set, nil)
			st := newStrategy()
			cb := authorize(t, l, start(t, b, st).String())
			tt.fault.Endpoint = "token"
			tt.fault.Times = 1
			l.Fault(tt.fault)
			defer l.ClearFaults()
			before := l.Calls().UserInfo
			_, err := callback(b, st, cb)
			wantCode(t, err, tt.want)
			if got := socialauth.HTTPStatus(err); got != tt.http {
				t.Errorf("HTTPStatus = %d, want %d", got, tt.http)
			}
			if l.Calls().UserInfo != before {
				t.Error("user data fetched after a failed exchange")
			}
			if strings.Contains(err.Error(), cb.Query().Get("code")) {
				t.Error("code in error text")
			}
		})
	}
	if elsewhere != 0 {
		t.Errorf("the token request was re-sent to the redirect target %d times", elsewhere)
	}
}

// The token types a token response may name (case-insensitive), and none
// at all, are accepted: the login goes on with the access token.
func TestTokenResponseAccepted(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	for _, body := range []string{
		`{"access_token":"at-1","token_type":"Bearer"}`,
		`{"access_token":"at-1","token_type":"bearer"}`,
		`{"access_token":"at-1","token_type":"BEARER"}`,
		`{"access_token":"at-1","token_type":"JWT"}`,
		`{"access_token":"at-1","token_type":"jwt"}`,
		`{"access_token":"at-1"}`,
		`{"access_token":"at-1","token_type":null}`,
	} {
		t.Run(body, func(t *testing.T) {
			b := lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.Endpoints.UserInfoURL = "" })
			st := newStrategy()
			cb := authorize(t, l, start(t, b, st).String())
			l.Fault(fakelms.Fault{Endpoint: "token", Times: 1, Status: 200, Body: body})
			defer l.ClearFaults()
			resp, err := callback(b, st, cb)
			if err != nil {
				t.Fatalf("callback: %v", err)
			}
			if resp["access_token"] != "at-1" {
				t.Errorf("access_token = %v", resp["access_token"])
			}
		})
	}
}

// checkTokenResponse's table, values never in the error text.
func TestCheckTokenResponse(t *testing.T) {
	for _, tc := range []struct {
		resp map[string]any
		ok   bool
	}{
		{map[string]any{"access_token": "s3cr3t", "token_type": "Bearer"}, true},
		{map[string]any{"access_token": "s3cr3t", "token_type": "jWt"}, true},
		{map[string]any{"access_token": "s3cr3t"}, true},
		{map[string]any{"access_token": "s3cr3t", "token_type": nil}, true},
		{map[string]any{}, false},
		{map[string]any{"access_token": nil}, false},
		{map[string]any{"access_token": ""}, false},
		{map[string]any{"access_token": true}, false},
		{map[string]any{"access_token": []any{"s3cr3t"}}, false},
		{map[string]any{"access_token": "s3cr3t", "token_type": "s3cr3t-type"}, false},
		{map[string]any{"access_token": "s3cr3t", "token_type": "Bearer "}, false},
		{map[string]any{"access_token": "s3cr3t", "token_type": []any{"Bearer"}}, false},
	} {
		err := checkTokenResponse("lms", tc.resp)
		if tc.ok {
			if err != nil {
				t.Errorf("%v: %v", tc.resp, err)
			}
			continue
		}
		wantCode(t, err, socialauth.CodeAuthUnknownError)
		if socialauth.HTTPStatus(err) != http.StatusBadGateway {
			t.Errorf("%v: HTTPStatus = %d", tc.resp, socialauth.HTTPStatus(err))
		}
		if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("a value reached the error: %v", err)
		}
	}
}

func TestConnectionError(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	dead := httptest.NewServer(http.NotFoundHandler())
	deadURL := dead.URL
	dead.Close()
	b := lmsOAuth2(t, l, nil, func(c *OAuth2Config) { c.Endpoints.AccessTokenURL = deadURL + "/token" })
	st := newStrategy()
	_, err := login(t, l, b, st)
	wantCode(t, err, socialauth.CodeAuthConnectionError)
	if socialauth.HTTPStatus(err) != http.StatusBadGateway {
		t.Errorf("HTTPStatus = %d", socialauth.HTTPStatus(err))
	}
}

func TestClientAuthAndExtraParams(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, func(c *OAuth2Config) {
		c.ClientAuth = ClientAuthBasic
		c.ExtraTokenParams = url.Values{"token_type": {"jwt"}, "grant_type": {"password"}}
		c.Endpoints.UserInfoURL = ""
	})
	st := newStrategy()
	resp, err := login(t, l, b, st)
	if err != nil {
		t.Fatal(err)
	}
	if resp["token_type"] != "JWT" || strings.Count(resp["access_token"].(string), ".") != 2 {
		t.Errorf("token_type=jwt not honoured: %v", resp["token_type"])
	}
	trs := l.TokenRequests()
	tr := trs[len(trs)-1]
	if !tr.BasicAuth || tr.BasicUser != testClientID || tr.BasicPassword != testSecret {
		t.Errorf("basic auth: %v %q", tr.BasicAuth, tr.BasicUser)
	}
	if tr.Form.Has("client_secret") || tr.Form.Get("grant_type") != "authorization_code" {
		t.Errorf("form = %v", tr.Form)
	}
}

func TestDoAuthWithExistingToken(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	b := lmsOAuth2(t, l, nil, nil)
	resp, err := login(t, l, b, newStrategy())
	if err != nil {
		t.Fatal(err)
	}
	out, err := b.DoAuth(context.Background(), resp["access_token"].(string), nil)
	if err != nil {
		t.Fatal(err)
	}
	if out["preferred_username"] != "jsmith" || out["access_token"] != resp["access_token"] {
		t.Errorf("DoAuth = %v", out)
	}
	_, err = b.DoAuth(context.Background(), "not-a-token", nil)
	wantCode(t, err, socialauth.CodeAuthForbidden)
	_, err = b.DoAuth(context.Background(), "", nil)
	wantCode(t, err, socialauth.CodeAuthMissingParameter)
}

func TestVerifyTokenHook(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	errBad := socialauth.NewError(socialauth.CodeAuthTokenError, "lms", "bad token", nil)
	b := lmsOAuth2(t, l, nil, func(c *OAuth2Config) {
		c.VerifyToken = func(context.Context, *OAuth2, string, map[string]any) (map[string]any, error) {
			return nil, errBad
		}
	})
	before := l.Calls().UserInfo
	_, err := login(t, l, b, newStrategy())
	if !errors.Is(err, socialauth.CodeAuthTokenError) {
		t.Fatalf("err = %v", err)
	}
	if l.Calls().UserInfo != before {
		t.Error("user data fetched for a token that failed verification")
	}
}

func TestServiceServesBothBases(t *testing.T) {
	l := newLMS(t, fakelms.Options{})
	svc, err := socialauth.New(socialauth.Options{Storage: testutil.NewStore(), Steps: pipeline.NewSteps(),
		Backends: []socialauth.Backend{lmsOAuth2(t, l, nil, nil), newOIDC(t, l, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"lms", "oidc"}, svc.BackendNames()); diff != "" {
		t.Error(diff)
	}
	if b, ok := svc.Backend("oidc"); !ok || b.Name() != "oidc" {
		t.Errorf("Backend(oidc) = %v, %v", b, ok)
	}
	_, err = svc.Begin(context.Background(), testutil.NewStrategy(testutil.StrategyOptions{}), "nope")
	if !errors.Is(err, socialauth.CodeMissingBackend) || !errors.Is(err, socialauth.CodeWrongBackend) {
		t.Errorf("Begin(nope) = %v", err)
	}
}
