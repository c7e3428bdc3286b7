package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/socialauth-go/socialauth"
)

// defaultUserFields is upstream's USER_FIELDS.
var defaultUserFields = []string{socialauth.FieldUsername, socialauth.FieldEmail}

// defaultProtected are the fields user_details never overwrites unless
// NO_DEFAULT_PROTECTED_USER_FIELDS is true.
var defaultProtected = []string{"username", "id", "pk", "email", "password", "is_active", "is_staff", "is_superuser"}

// maxUsernameAttempts bounds get_username's search for a free name.
const maxUsernameAttempts = 100

// GetUsername is get_username with the default clean and slug functions
// (see Steps and the options for the configured one).
func GetUsername(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	return (&config{}).getUsername(ctx, st)
}

// getUsername: nothing unless "username" is in USER_FIELDS; a known user's
// own username; else a free username from the email (USERNAME_IS_FULL_EMAIL),
// the username detail or a random uuid hex, cut to the maximum length,
// cleaned (CLEAN_USERNAMES, default on) and slugified (SLUGIFY_USERNAMES),
// with uuid hex suffixes of UUID_LENGTH (16) while empty or taken.
func (c *config) getUsername(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	s := confOf(st)
	fields, err := s.list("USER_FIELDS", defaultUserFields)
	if err != nil {
		return nil, err
	}
	if !contains(fields, socialauth.FieldUsername) {
		return nil, nil
	}
	if st.User != nil {
		st.Username = st.User.Username
		return nil, nil
	}
	emailAsUsername, err := s.bool("USERNAME_IS_FULL_EMAIL", false)
	if err != nil {
		return nil, err
	}
	uuidLength, err := s.int("UUID_LENGTH", 16)
	if err != nil {
		return nil, err
	}
	doSlugify, err := s.bool("SLUGIFY_USERNAMES", false)
	if err != nil {
		return nil, err
	}
	doClean, err := s.bool("CLEAN_USERNAMES", true)
	if err != nil {
		return nil, err
	}
	maxLength := c.usernameMaxLength(st.Storage)
	clean, slug := identity, identity
	if doClean {
		clean = CleanUsername
		if c.clean != nil {
			clean = c.clean
		}
	}
	if doSlugify {
		slug = Slugify
		if c.slugify != nil {
			slug = c.slugify
		}
	}

	var username string
	switch {
	case emailAsUsername && st.Details.String("email") != "":
		username = st.Details.String("email")
	case st.Details.String("username") != "":
		username = st.Details.String("username")
	default:
		username = uuidHex()
	}
	short := truncate(username, maxLength-uuidLength)
	final := slug(clean(truncate(username, maxLength)))
	for attempt := 0; ; attempt++ {
		if final != "" {
			taken, err := st.Storage.UserExists(ctx, final)
			if err != nil {
				return nil, err
			}
			if !taken {
				break
			}
		}
		if attempt == maxUsernameAttempts {
			return nil, socialauth.NewError(socialauth.CodeImproperlyConfigured, st.Backend.Name(),
				"could not find a free username (check UUID_LENGTH and the clean/slug functions)", nil)
		}
		username = short + truncate(uuidHex(), uuidLength)
		final = slug(clean(truncate(username, maxLength)))
	}
	st.Username = final
	return nil, nil
}

func (c *config) usernameMaxLength(s socialauth.Storage) int {
	if m, ok := s.(UsernameMaxLengther); ok {
		if n := m.UsernameMaxLength(); n > 0 {
			return n
		}
	}
	if c.maxLength > 0 {
		return c.maxLength
	}
	return DefaultUsernameMaxLength
}

func identity(s string) string { return s }

// truncate keeps the first n characters of s (none when n <= 0).
func truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	i := 0
	for j := range s {
		if i == n {
			return s[:j]
		}
		i++
	}
	return s
}

// uuidHex is uuid4().hex: 32 lower-case hex digits of a random version-4 UUID.
func uuidHex() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails (Go 1.24+)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// CleanUsername is upstream's clean_username: it drops every non-ASCII
// character, then everything outside [A-Za-z0-9_.@+-].
func CleanUsername(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r < 0x80 && (isASCIIWord(r) || strings.ContainsRune(".@+-", r)) {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Slugify is social_core.utils.slugify: NFKD to ASCII (dropping what does
// not fold), drop characters that are neither word characters, whitespace
// nor '-', trim, lower-case, and turn runs of '-' and whitespace into one '-'.
func Slugify(s string) string {
	var ascii strings.Builder
	for _, r := range norm.NFKD.String(s) {
		if r < 0x80 && (isASCIIWord(r) || isPySpace(r) || r == '-') {
			ascii.WriteRune(r)
		}
	}
	v := strings.ToLower(strings.TrimFunc(ascii.String(), isPySpace))
	var b strings.Builder
	dash := false
	for _, r := range v {
		if r == '-' || isPySpace(r) {
			dash = true
			continue
		}
		if dash {
			b.WriteByte('-')
			dash = false
		}
		b.WriteRune(r)
	}
	if dash {
		b.WriteByte('-')
	}
	return b.String()
}

func isASCIIWord(r rune) bool {
	return r == '_' || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9')
}

// isPySpace is Python's str whitespace restricted to ASCII.
func isPySpace(r rune) bool {
	return r == ' ' || ('\t' <= r && r <= '\r') || ('\x1c' <= r && r <= '\x1f')
}

// CreateUser is create_user: with a user it only clears IsNew; otherwise it
// creates one from USER_FIELDS, each taken from the state (Username, or
// Values[name]) else from details, leaving out nil values; FORCE_EMAIL_LOWERCASE
// lower-cases the email. A collision is an AuthAlreadyAssociated error
// wrapping ErrDuplicate (never the existing user).
func CreateUser(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	if st.User != nil {
		st.IsNew = false
		return nil, nil
	}
	s := confOf(st)
	names, err := s.list("USER_FIELDS", defaultUserFields)
	if err != nil {
		return nil, err
	}
	fields := map[string]any{}
	for _, name := range names {
		var v any
		var ok bool
		if name == socialauth.FieldUsername && st.Username != "" {
			v, ok = st.Username, true
		} else if v, ok = st.Values[name]; !ok {
			v, ok = st.Details[name]
		}
		if ok && v != nil {
			fields[name] = v
		}
	}
	if len(fields) == 0 {
		return nil, nil
	}
	lower, err := s.bool("FORCE_EMAIL_LOWERCASE", false)
	if err != nil {
		return nil, err
	}
	if email, ok := fields[socialauth.FieldEmail].(string); ok && lower && email != "" {
		fields[socialauth.FieldEmail] = strings.ToLower(email)
	}
	u, err := st.Storage.CreateUser(ctx, fields)
	if err != nil {
		if errors.Is(err, socialauth.ErrDuplicate) {
			return nil, socialauth.NewError(socialauth.CodeAuthAlreadyAssociated, st.Backend.Name(), "", err)
		}
		return nil, err
	}
	st.User = u
	st.IsNew = true
	st.Log().Debug("socialauth: user created", "backend", st.Backend.Name(), "user_id", u.ID)
	return nil, nil
}

// UserDetails is user_details: each detail (renamed by USER_FIELD_MAPPING)
// is copied onto the user unless it is nil, the user has no such field, the
// field is protected (the defaults unless NO_DEFAULT_PROTECTED_USER_FIELDS,
// plus PROTECTED_USER_FIELDS), the value is unchanged, or the field is in
// IMMUTABLE_USER_FIELDS and already has a value. Only changed fields are
// saved, with one UpdateUser call.
func UserDetails(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	if st.User == nil {
		return nil, nil
	}
	s := confOf(st)
	noDefaults, err := s.bool("NO_DEFAULT_PROTECTED_USER_FIELDS", false)
	if err != nil {
		return nil, err
	}
	extraProtected, err := s.list("PROTECTED_USER_FIELDS", nil)
	if err != nil {
		return nil, err
	}
	mapping, err := s.stringMap("USER_FIELD_MAPPING")
	if err != nil {
		return nil, err
	}
	immutable, err := s.list("IMMUTABLE_USER_FIELDS", nil)
	if err != nil {
		return nil, err
	}
	var protected []string
	if !noDefaults {
		protected = append(protected, defaultProtected...)
	}
	protected = append(protected, extraProtected...)

	keys := make([]string, 0, len(st.Details))
	for k := range st.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	user := st.User.Clone()
	var changed []string
	for _, k := range keys {
		value := st.Details[k]
		name := k
		if m, ok := mapping[k]; ok {
			name = m
		}
		if value == nil || contains(protected, name) {
			continue
		}
		current, ok := user.Get(name)
		if !ok || reflect.DeepEqual(current, value) {
			continue
		}
		if contains(immutable, name) && truthy(current) {
			continue
		}
		if err := user.Set(name, value); err != nil {
			st.Log().Warn("socialauth: user detail of the wrong type skipped", "backend", st.Backend.Name(), "field", name)
			continue
		}
		if !contains(changed, name) {
			changed = append(changed, name)
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	sort.Strings(changed)
	if err := st.Storage.UpdateUser(ctx, user, changed); err != nil {
		return nil, err
	}
	st.User = user
	return nil, nil
}

// truthy is Python truthiness for user field values.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case bool:
		return x
	case int:
		return x != 0
	case int64:
		return x != 0
	case float64:
		return x != 0
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.String:
		return rv.Len() > 0
	}
	return !rv.IsZero()
}
