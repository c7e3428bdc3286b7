package socialauth

import (
	"fmt"
	"net/http"
	"time"
)

// User is the application user as socialauth sees it: the fields of Django's
// auth_user that the pipeline reads and writes, plus Extra for an app's own
// fields. A Storage maps its own model to and from this value.
type User struct {
	ID          string // primary key, as text (numeric ids are formatted in base 10)
	Username    string
	Email       string
	FirstName   string
	LastName    string
	IsActive    bool
	IsStaff     bool
	IsSuperuser bool
	DateJoined  time.Time
	LastLogin   time.Time
	Extra       map[string]any // app-specific fields, by column name
}

// Standard user field names, as the pipeline settings (USER_FIELDS,
// PROTECTED_USER_FIELDS, IMMUTABLE_USER_FIELDS) spell them.
const (
	FieldUsername    = "username"
	FieldEmail       = "email"
	FieldFirstName   = "first_name"
	FieldLastName    = "last_name"
	FieldIsActive    = "is_active"
	FieldIsStaff     = "is_staff"
	FieldIsSuperuser = "is_superuser"
)

// Get returns the value of a user field by its column name.
func (u *User) Get(field string) (any, bool) {
	switch field {
	case "id", "pk":
		return u.ID, true
	case FieldUsername:
		return u.Username, true
	case FieldEmail:
		return u.Email, true
	case FieldFirstName:
		return u.FirstName, true
	case FieldLastName:
		return u.LastName, true
	case FieldIsActive:
		return u.IsActive, true
	case FieldIsStaff:
		return u.IsStaff, true
	case FieldIsSuperuser:
		return u.IsSuperuser, true
	}
	v, ok := u.Extra[field]
	return v, ok
}

// Set assigns a user field by its column name. Standard fields take their Go
// type (string or bool); anything else goes to Extra.
func (u *User) Set(field string, v any) error {
	str := func(dst *string) error {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("socialauth: user field %q wants a string, got %T", field, v)
		}
		*dst = s
		return nil
	}
	boolean := func(dst *bool) error {
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("socialauth: user field %q wants a bool, got %T", field, v)
		}
		*dst = b
		return nil
	}
	switch field {
	case "id", "pk":
		return fmt.Errorf("socialauth: user field %q cannot be set", field)
	case FieldUsername:
		return str(&u.Username)
	case FieldEmail:
		return str(&u.Email)
	case FieldFirstName:
		return str(&u.FirstName)
	case FieldLastName:
		return str(&u.LastName)
	case FieldIsActive:
		return boolean(&u.IsActive)
	case FieldIsStaff:
		return boolean(&u.IsStaff)
	case FieldIsSuperuser:
		return boolean(&u.IsSuperuser)
	}
	if u.Extra == nil {
		u.Extra = map[string]any{}
	}
	u.Extra[field] = v
	return nil
}

// Clone returns a deep-enough copy (Extra is copied one level).
func (u *User) Clone() *User {
	if u == nil {
		return nil
	}
	c := *u
	if u.Extra != nil {
		c.Extra = make(map[string]any, len(u.Extra))
		for k, v := range u.Extra {
			c.Extra[k] = v
		}
	}
	return &c
}

// UserSocialAuth links a user to one account at one provider (upstream's
// UserSocialAuth model): UNIQUE(provider, uid), uid never empty and compared
// exactly.
//
// A store that keeps secret members of extra_data encrypted (the GORM store
// with field encryption keys) gives them back decrypted in ExtraData. A
// member it cannot decrypt (a key no longer configured, a tampered or
// copied value) is left out of ExtraData and recorded in Unreadable, so
// that using it (Token, refresh, revoke) is a typed error and never the
// ciphertext taken for a token; a fresh sign-in rewrites it.
type UserSocialAuth struct {
	ID        int64
	UserID    string
	Provider  string
	UID       string
	ExtraData map[string]any
	Created   time.Time
	Modified  time.Time
	// Unreadable holds, by member name, the error of each secret member
	// the store could not decrypt (an *Error of code CodeFieldEncryption);
	// nil when every member was read.
	Unreadable map[string]error
}

// Token returns the string member name of extra_data (access_token,
// refresh_token, id_token, …): "" when absent, and the store's typed error
// (CodeFieldEncryption) when the member is stored encrypted and could not
// be decrypted. Refresh and revoke read tokens through it.
func (s *UserSocialAuth) Token(name string) (string, error) {
	if err, bad := s.Unreadable[name]; bad {
		return "", err
	}
	v, _ := s.ExtraData[name].(string)
	return v, nil
}

// AccessToken returns extra_data["access_token"] as a string ("" when
// absent or unreadable: use Token to tell these apart).
func (s *UserSocialAuth) AccessToken() string {
	v, _ := s.ExtraData["access_token"].(string)
	return v
}

// RefreshToken returns extra_data["refresh_token"] as a string ("" when
// absent or unreadable: use Token to tell these apart).
func (s *UserSocialAuth) RefreshToken() string {
	v, _ := s.ExtraData["refresh_token"].(string)
	return v
}

// Partial is a paused pipeline (upstream's Partial model, with the social-core
// 5.x session binding). Data holds the JSON-safe pipeline state.
type Partial struct {
	Token     string         // random, 32+ characters; the lookup key
	Backend   string         // the backend that ran the pipeline
	NextStep  int            // the index of the step to run again on resume
	Data      map[string]any // JSON-safe snapshot of the state (see State.Snapshot)
	Binding   string         // binds the partial to the session that paused it
	CreatedAt time.Time
}

// Nonce is a one-time value (OpenID 2 nonces): UNIQUE(server_url, timestamp, salt).
type Nonce struct {
	ServerURL string
	Timestamp int64
	Salt      string
}

// Association is an OpenID 2 association (also used for OIDC nonces upstream).
type Association struct {
	ID        int64
	ServerURL string
	Handle    string
	Secret    string // base64 text
	Issued    int64
	Lifetime  int64
	AssocType string
}

// EmailCode is an email-validation code (upstream's Code model).
type EmailCode struct {
	ID        int64
	Email     string
	Code      string
	Verified  bool
	CreatedAt time.Time
}

// Details are the normalised user details a backend derives from the provider
// response (username, email, fullname/full_name, first_name, last_name, …).
type Details map[string]any

// String returns details[key] when it is a string.
func (d Details) String(key string) string {
	s, _ := d[key].(string)
	return s
}

// Response is an HTTP answer produced by the framework-neutral layers (a
// redirect, a small page). It is an http.Handler so views can serve it as is.
type Response struct {
	Status   int
	Location string      // for redirects
	Header   http.Header // extra headers
	Body     []byte
}

// Redirect builds a 302 response to url.
func Redirect(url string) *Response {
	return &Response{Status: http.StatusFound, Location: url}
}

// HTML builds a 200 text/html response.
func HTML(body string) *Response {
	return &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"text/html; charset=utf-8"}}, Body: []byte(body)}
}

// ServeHTTP writes the response. Every answer on the auth paths is private:
// Cache-Control: no-store.
func (r *Response) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	for k, vs := range r.Header {
		h[k] = append([]string(nil), vs...)
	}
	h.Set("Cache-Control", "no-store")
	if r.Location != "" {
		h.Set("Location", r.Location)
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if len(r.Body) > 0 {
		_, _ = w.Write(r.Body)
	}
}
