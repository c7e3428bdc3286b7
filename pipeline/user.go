package pipeline

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"reflect"
	"slices"
	"sort"
	"strings"

	"golang.org/x/text/unicode/norm"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/settings"
)

// defaultUserFields is upstream's USER_FIELDS.
var defaultUserFields = []string{socialauth.FieldUsername, socialauth.FieldEmail}

// defaultProtected are the fields user_details never overwrites unless
// NO_DEFAULT_PROTECTED_USER_FIELDS is true.
var defaultProtected = []string{"username", "id", "pk", "email", "password", "is_active", "is_staff", "is_superuser"}

// maxUsernameAttempts bounds get_username's search for a free name.
const maxUsernameAttempts = 100

// getUsername is get_username: nothing unless "username" is in USER_FIELDS;
// a known user's own username; else a free username from the email
// (USERNAME_IS_FULL_EMAIL), the username detail or a random uuid hex, cut to
// the maximum length, cleaned (CLEAN_USERNAMES, default on) and slugified
// (SLUGIFY_USERNAMES), with uuid hex suffixes of UUID_LENGTH (16, at least 1)
// while empty or taken.
type getUsername struct {
	enabled         bool // "username" is in USER_FIELDS
	emailAsUsername bool
	uuidLength      int
	clean, slug     func(string) string
	maxLength       int // WithUsernameMaxLength; the storage's length wins
}

func (o *options) newGetUsername(backend string, s *settings.Settings) (socialauth.StepFunc, error) {
	r := s.Reader(backend)
	g := &getUsername{
		enabled:         slices.Contains(r.StringList("USER_FIELDS", defaultUserFields), socialauth.FieldUsername),
		emailAsUsername: r.Bool("USERNAME_IS_FULL_EMAIL", false),
		uuidLength:      r.Int("UUID_LENGTH", 16),
		clean:           identity,
		slug:            identity,
		maxLength:       o.maxLength,
	}
	if r.Bool("CLEAN_USERNAMES", true) {
		g.clean = CleanUsername
		if o.clean != nil {
			g.clean = o.clean
		}
	}
	if r.Bool("SLUGIFY_USERNAMES", false) {
		g.slug = Slugify
		if o.slugify != nil {
			g.slug = o.slugify
		}
	}
	if g.uuidLength < 1 {
		// Upstream loops forever on a taken username with a UUID_LENGTH of 0.
		r.Invalid("UUID_LENGTH", "must be at least 1")
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return g.run, nil
}

func (g *getUsername) run(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	if !g.enabled {
		return nil, nil
	}
	if st.User != nil {
		st.Username = st.User.Username
		return nil, nil
	}
	maxLength := g.usernameMaxLength(st.Storage)
	var username string
	switch {
	case g.emailAsUsername && st.Details.String("email") != "":
		username = st.Details.String("email")
	case st.Details.String("username") != "":
		username = st.Details.String("username")
	default:
		username = uuidHex()
	}
	short := truncate(username, maxLength-g.uuidLength)
	final := g.slug(g.clean(truncate(username, maxLength)))
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
			return nil, socialauth.NewError(socialauth.CodeAuthException, st.Backend.Name(),
				"could not find a free username (check the clean and slug functions)", nil)
		}
		username = short + truncate(uuidHex(), g.uuidLength)
		final = g.slug(g.clean(truncate(username, maxLength)))
	}
	st.Username = final
	return nil, nil
}

func (g *getUsername) usernameMaxLength(s socialauth.Storage) int {
	if m, ok := s.(UsernameMaxLengther); ok {
		if n := m.UsernameMaxLength(); n > 0 {
			return n
		}
	}
	if g.maxLength > 0 {
		return g.maxLength
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

// createUser is create_user: with a user it only clears IsNew; otherwise it
// creates one from USER_FIELDS, each taken from the state (Username, or
// Values[name]) else from details, leaving out nil values;
// FORCE_EMAIL_LOWERCASE lower-cases the email. A collision is an
// AuthAlreadyAssociated error wrapping ErrDuplicate (never the existing
// user).
type createUser struct {
	fields     []string
	lowerEmail bool
}

func newCreateUser(backend string, s *settings.Settings) (socialauth.StepFunc, error) {
	r := s.Reader(backend)
	c := &createUser{
		fields:     r.StringList("USER_FIELDS", defaultUserFields),
		lowerEmail: r.Bool("FORCE_EMAIL_LOWERCASE", false),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	return c.run, nil
}

func (c *createUser) run(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	if st.User != nil {
		st.IsNew = false
		return nil, nil
	}
	fields := map[string]any{}
	for _, name := range c.fields {
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
	if email, ok := fields[socialauth.FieldEmail].(string); ok && c.lowerEmail && email != "" {
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

// userDetails is user_details: each detail (renamed by USER_FIELD_MAPPING)
// is copied onto the user unless it is nil, the user model does not map the
// field (UserFieldMapper; CreateUser skips those too), the field is
// protected (the defaults unless NO_DEFAULT_PROTECTED_USER_FIELDS, plus
// PROTECTED_USER_FIELDS), the value is unchanged, or the field is in
// IMMUTABLE_USER_FIELDS and already has a value. Only changed fields are
// saved, with one UpdateUser call.
type userDetails struct {
	protected []string
	mapping   map[string]string
	immutable []string
}

func newUserDetails(backend string, s *settings.Settings) (socialauth.StepFunc, error) {
	r := s.Reader(backend)
	noDefaults := r.Bool("NO_DEFAULT_PROTECTED_USER_FIELDS", false)
	extraProtected := r.StringList("PROTECTED_USER_FIELDS", nil)
	u := &userDetails{
		mapping:   r.StringMap("USER_FIELD_MAPPING", nil),
		immutable: r.StringList("IMMUTABLE_USER_FIELDS", nil),
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if !noDefaults {
		u.protected = append(u.protected, defaultProtected...)
	}
	u.protected = append(u.protected, extraProtected...)
	return u.run, nil
}

func (u *userDetails) run(ctx context.Context, st *socialauth.State) (*socialauth.Response, error) {
	if err := needs(st); err != nil {
		return nil, err
	}
	if st.User == nil {
		return nil, nil
	}
	mapper, _ := st.Storage.(UserFieldMapper)
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
		if m, ok := u.mapping[k]; ok {
			name = m
		}
		if value == nil || slices.Contains(u.protected, name) {
			continue
		}
		if mapper != nil && !mapper.MapsUserField(name) {
			continue
		}
		current, ok := user.Get(name)
		if !ok || reflect.DeepEqual(current, value) {
			continue
		}
		if slices.Contains(u.immutable, name) && truthy(current) {
			continue
		}
		if err := user.Set(name, value); err != nil {
			st.Log().Warn("socialauth: user detail of the wrong type skipped", "backend", st.Backend.Name(), "field", name)
			continue
		}
		if !slices.Contains(changed, name) {
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
