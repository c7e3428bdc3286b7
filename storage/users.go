package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/socialauth-go/socialauth"
)

// UserColumns maps the socialauth user fields to the columns of the app's
// user table. An empty name means the table has no such column: the field
// reads as its zero value (IsActive as true) and cannot be written.
type UserColumns struct {
	ID          string // required
	Username    string
	Email       string
	FirstName   string
	LastName    string
	IsActive    string // absent: every user is active
	IsStaff     string
	IsSuperuser string
	DateJoined  string // set to now by CreateUser
	LastLogin   string
	// Password is read by AllowedToDisconnect: a value that is non-empty and
	// does not start with "!" is a usable password (Django's rule). Absent:
	// every user counts as having one, as upstream does for models without
	// has_usable_password.
	Password string
}

// UserAdapter describes the application's user table so the Store can read
// and create users in it. DjangoUsers is the built-in auth_user table; an app
// with its own GORM model describes that model's table and columns:
//
//	storage.Options{Users: &storage.UserAdapter{
//		Table:   "accounts",
//		Columns: storage.UserColumns{ID: "id", Username: "login", Email: "mail", IsActive: "enabled"},
//		ExtraColumns: []string{"locale"},
//	}}
//
// With a custom adapter AutoMigrate does not create the user table (the app
// migrates its own model); social_auth_usersocialauth.user_id gets IDType
// and a foreign key to Table(Columns.ID) ON DELETE CASCADE.
type UserAdapter struct {
	// Table is the user table name.
	Table string
	// Columns maps fields to columns.
	Columns UserColumns
	// ExtraColumns are further columns read into User.Extra and writable by
	// CreateUser and UpdateUser under their column name.
	ExtraColumns []string
	// StringIDs is true when the primary key is text (a UUID, say) rather
	// than an auto-increment integer. NewID must then make new ids.
	StringIDs bool
	// NewID returns the id of a new user (required with StringIDs; optional
	// otherwise, when the database does not generate ids).
	NewID func() string
	// IDType is the SQL type of social_auth_usersocialauth.user_id that
	// AutoMigrate uses ("" → bigint, or varchar(64) with StringIDs): the
	// user table's key type, such as uuid. On PostgreSQL the session join
	// (SessionStore.FindSignedInCtx) casts a session's text owner to it. A
	// plain SQL type name, with an optional length ("varchar(36)").
	IDType string
	// Defaults are column values CreateUser sets on every new row unless the
	// fields name them (the built-in table sets password "!", unusable).
	Defaults map[string]any

	builtin bool
}

// DjangoUsers is the built-in user table, auth_user, shaped like Django's:
// id, password ("!" for social users), last_login, is_superuser, username
// (unique, ≤150), first_name, last_name, email, is_staff, is_active,
// date_joined.
func DjangoUsers() *UserAdapter {
	return &UserAdapter{
		Table: TableUsers,
		Columns: UserColumns{ID: "id", Username: "username", Email: "email", FirstName: "first_name",
			LastName: "last_name", IsActive: "is_active", IsStaff: "is_staff", IsSuperuser: "is_superuser",
			DateJoined: "date_joined", LastLogin: "last_login", Password: "password"},
		Defaults: map[string]any{"password": "!"},
		builtin:  true,
	}
}

func validIdent(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

func (a *UserAdapter) validate() error {
	if !validIdent(a.Table) || !validIdent(a.Columns.ID) {
		return errors.New("storage: UserAdapter needs a Table and Columns.ID made of [A-Za-z0-9_]")
	}
	for _, c := range append(a.columnList(), a.ExtraColumns...) {
		if c != "" && !validIdent(c) {
			return fmt.Errorf("storage: UserAdapter column %q is not a plain identifier", c)
		}
	}
	for c := range a.Defaults {
		if !validIdent(c) {
			return fmt.Errorf("storage: UserAdapter default column %q is not a plain identifier", c)
		}
	}
	if a.StringIDs && a.NewID == nil {
		return errors.New("storage: UserAdapter with StringIDs needs NewID")
	}
	if !validSQLType(a.IDType) {
		return fmt.Errorf("storage: UserAdapter IDType %q is not an SQL type such as uuid or varchar(36)", a.IDType)
	}
	return nil
}

// sqlType is a plain SQL type name, with an optional length or precision:
// uuid, varchar(36), numeric(20, 0), character varying(64).
var sqlType = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_ ]*(\([0-9, ]+\))?$`)

// validSQLType reports whether t is "" or a plain SQL type (it is written
// into the schema and into the session join).
func validSQLType(t string) bool { return t == "" || sqlType.MatchString(t) }

func (a *UserAdapter) columnList() []string {
	c := a.Columns
	return []string{c.ID, c.Username, c.Email, c.FirstName, c.LastName, c.IsActive, c.IsStaff, c.IsSuperuser, c.DateJoined, c.LastLogin, c.Password}
}

// column returns the column of a socialauth field name ("" if absent).
func (a *UserAdapter) column(field string) string {
	c := a.Columns
	switch field {
	case "id", "pk":
		return c.ID
	case socialauth.FieldUsername:
		return c.Username
	case socialauth.FieldEmail:
		return c.Email
	case socialauth.FieldFirstName:
		return c.FirstName
	case socialauth.FieldLastName:
		return c.LastName
	case socialauth.FieldIsActive:
		return c.IsActive
	case socialauth.FieldIsStaff:
		return c.IsStaff
	case socialauth.FieldIsSuperuser:
		return c.IsSuperuser
	case "date_joined":
		return c.DateJoined
	case "last_login":
		return c.LastLogin
	}
	for _, x := range a.ExtraColumns {
		if x == field {
			return x
		}
	}
	return ""
}

// idArg converts a user id to the query argument; ok is false when the id
// cannot exist (empty, or not a number for integer keys).
func (a *UserAdapter) idArg(id string) (any, bool) {
	if id == "" {
		return nil, false
	}
	if a.StringIDs {
		return id, true
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return nil, false
	}
	return n, true
}

func (s *Store) qi(name string) string { return quoteIdent(s.dialect, name) }

// userSelect is the SELECT list and the scanners for one user row. alias,
// when not empty, qualifies every column (a joined query). The builder
// returns nil when the id column is NULL (no user on a LEFT JOIN).
func (s *Store) userSelect(alias string) (string, func() ([]any, func() *socialauth.User)) {
	a := s.users
	std := []string{a.Columns.ID, a.Columns.Username, a.Columns.Email, a.Columns.FirstName, a.Columns.LastName,
		a.Columns.IsActive, a.Columns.IsStaff, a.Columns.IsSuperuser, a.Columns.DateJoined, a.Columns.LastLogin}
	var cols []string
	prefix := ""
	if alias != "" {
		prefix = alias + "."
	}
	for _, c := range std {
		if c != "" {
			cols = append(cols, prefix+s.qi(c))
		}
	}
	for _, c := range a.ExtraColumns {
		cols = append(cols, prefix+s.qi(c))
	}
	mk := func() ([]any, func() *socialauth.User) {
		var (
			id, username, email, first, last sql.NullString
			active, staff, super             sql.NullBool
			joined, login                    timeScan
			extra                            = make([]any, len(a.ExtraColumns))
			dest                             []any
		)
		add := func(col string, p any) {
			if col != "" {
				dest = append(dest, p)
			}
		}
		add(a.Columns.ID, &id)
		add(a.Columns.Username, &username)
		add(a.Columns.Email, &email)
		add(a.Columns.FirstName, &first)
		add(a.Columns.LastName, &last)
		add(a.Columns.IsActive, &active)
		add(a.Columns.IsStaff, &staff)
		add(a.Columns.IsSuperuser, &super)
		add(a.Columns.DateJoined, &joined)
		add(a.Columns.LastLogin, &login)
		for i := range extra {
			dest = append(dest, &extra[i])
		}
		return dest, func() *socialauth.User {
			if !id.Valid {
				return nil
			}
			u := &socialauth.User{ID: id.String, Username: username.String, Email: email.String,
				FirstName: first.String, LastName: last.String, IsActive: active.Bool || a.Columns.IsActive == "",
				IsStaff: staff.Bool, IsSuperuser: super.Bool, DateJoined: joined.t, LastLogin: login.t}
			if len(extra) > 0 {
				u.Extra = make(map[string]any, len(extra))
				for i, c := range a.ExtraColumns {
					v := extra[i]
					if b, ok := v.([]byte); ok {
						v = string(b)
					}
					u.Extra[c] = v
				}
			}
			return u
		}
	}
	return strings.Join(cols, ", "), mk
}

// timeScan scans a nullable time stored natively or as text (SQLite).
type timeScan struct{ t time.Time }

func (ts *timeScan) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		ts.t = time.Time{}
	case time.Time:
		ts.t = x.UTC()
	case string:
		return ts.parse(x)
	case []byte:
		return ts.parse(string(x))
	default:
		return fmt.Errorf("storage: cannot scan %T into a time", v)
	}
	return nil
}

func (ts *timeScan) parse(s string) error {
	for _, f := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02"} {
		if t, err := time.Parse(f, s); err == nil {
			ts.t = t.UTC()
			return nil
		}
	}
	return fmt.Errorf("storage: unparsable time %q", s)
}

// queryUsers runs SELECT <user columns> FROM users WHERE <where>.
func (s *Store) queryUsers(ctx context.Context, op, where string, args ...any) ([]*socialauth.User, error) {
	cols, mk := s.userSelect("")
	query := "SELECT " + cols + " FROM " + s.qi(s.users.Table) + " WHERE " + where
	rows, err := s.q(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []*socialauth.User
	for rows.Next() {
		dest, build := mk()
		if err := rows.Scan(dest...); err != nil {
			return nil, s.wrap(op, err)
		}
		if u := build(); u != nil {
			out = append(out, u)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, s.wrap(op, err)
	}
	return out, nil
}

func (s *Store) activeFilter() string {
	if s.users.Columns.IsActive == "" {
		return ""
	}
	return " AND " + s.qi(s.users.Columns.IsActive) + " = ?"
}

// GetUser returns the active user with that id (upstream's default
// ACTIVE_USERS_FILTER, {"is_active": True}); ErrNotFound otherwise.
func (s *Store) GetUser(ctx context.Context, id string) (*socialauth.User, error) {
	arg, ok := s.users.idArg(id)
	if !ok {
		return nil, notFound("get user")
	}
	args := []any{arg}
	if s.users.Columns.IsActive != "" {
		args = append(args, true)
	}
	us, err := s.queryUsers(ctx, "get user", s.qi(s.users.Columns.ID)+" = ?"+s.activeFilter(), args...)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		if u.ID == id {
			return u, nil
		}
	}
	return nil, notFound("get user")
}

// GetUserByUsername returns the user (active or not) with exactly that
// username.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (*socialauth.User, error) {
	if username == "" || s.users.Columns.Username == "" {
		return nil, notFound("get user by username")
	}
	us, err := s.queryUsers(ctx, "get user by username", s.qi(s.users.Columns.Username)+" = ?", username)
	if err != nil {
		return nil, err
	}
	for _, u := range us {
		if u.Username == username {
			return u, nil
		}
	}
	return nil, notFound("get user by username")
}

// UserExists reports whether a user has exactly that username.
func (s *Store) UserExists(ctx context.Context, username string) (bool, error) {
	_, err := s.GetUserByUsername(ctx, username)
	if errors.Is(err, socialauth.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// GetUsersByEmail returns the active users whose email equals email
// case-insensitively (upstream's email__iexact). An empty email matches
// nobody.
func (s *Store) GetUsersByEmail(ctx context.Context, email string) ([]*socialauth.User, error) {
	if email == "" || s.users.Columns.Email == "" {
		return nil, nil
	}
	args := []any{email}
	if s.users.Columns.IsActive != "" {
		args = append(args, true)
	}
	us, err := s.queryUsers(ctx, "get users by email", "LOWER("+s.qi(s.users.Columns.Email)+") = LOWER(?)"+s.activeFilter(), args...)
	if err != nil {
		return nil, err
	}
	out := us[:0]
	for _, u := range us {
		if strings.EqualFold(u.Email, email) {
			out = append(out, u)
		}
	}
	return out, nil
}

// userValue checks the Go type of a field value for its column.
func userValue(field string, v any) (any, error) {
	switch field {
	case socialauth.FieldUsername, socialauth.FieldEmail, socialauth.FieldFirstName, socialauth.FieldLastName:
		if _, ok := v.(string); !ok {
			return nil, fmt.Errorf("storage: user field %q wants a string, got %T", field, v)
		}
	case socialauth.FieldIsActive, socialauth.FieldIsStaff, socialauth.FieldIsSuperuser:
		if _, ok := v.(bool); !ok {
			return nil, fmt.Errorf("storage: user field %q wants a bool, got %T", field, v)
		}
	case "date_joined", "last_login":
		if t, ok := v.(time.Time); ok {
			if t.IsZero() {
				return nil, nil
			}
			return t.UTC(), nil
		}
		return nil, fmt.Errorf("storage: user field %q wants a time.Time, got %T", field, v)
	}
	return v, nil
}

// CreateUser inserts a user from the known fields (username, email,
// first_name, last_name, is_active (default true), is_staff, is_superuser and
// the adapter's ExtraColumns; other keys are ignored). A unique collision
// returns an error wrapping ErrDuplicate; the existing user is never
// returned (CVE-2025-61783).
func (s *Store) CreateUser(ctx context.Context, fields map[string]any) (*socialauth.User, error) {
	a := s.users
	u := &socialauth.User{IsActive: true}
	cols := map[string]any{}
	for k, v := range a.Defaults {
		cols[k] = v
	}
	if a.Columns.IsActive != "" {
		cols[a.Columns.IsActive] = true
	}
	for field, v := range fields {
		col := a.column(field)
		if col == "" || field == "id" || field == "pk" {
			continue
		}
		val, err := userValue(field, v)
		if err != nil {
			return nil, err
		}
		cols[col] = val
		switch field {
		case "date_joined":
			u.DateJoined, _ = val.(time.Time)
		case "last_login":
			u.LastLogin, _ = val.(time.Time)
		default:
			if err := u.Set(field, v); err != nil {
				return nil, err
			}
		}
	}
	if a.Columns.Username != "" && u.Username == "" {
		return nil, missing("username")
	}
	if a.Columns.DateJoined != "" && u.DateJoined.IsZero() {
		u.DateJoined = s.nowUTC()
		cols[a.Columns.DateJoined] = u.DateJoined
	}
	if a.NewID != nil {
		u.ID = a.NewID()
		cols[a.Columns.ID] = u.ID
	}
	names := make([]string, 0, len(cols))
	for c := range cols {
		names = append(names, c)
	}
	slices.Sort(names)
	quoted := make([]string, len(names))
	marks := make([]string, len(names))
	args := make([]any, len(names))
	for i, c := range names {
		quoted[i], marks[i], args[i] = s.qi(c), "?", cols[c]
	}
	stmt := "INSERT INTO " + s.qi(a.Table) + " (" + strings.Join(quoted, ", ") + ") VALUES (" + strings.Join(marks, ", ") + ")"
	if u.ID != "" {
		if err := s.q(ctx).Exec(stmt, args...).Error; err != nil {
			return nil, s.wrap("create user", err)
		}
		return u, nil
	}
	if s.dialect == Postgres {
		var id int64
		if err := s.q(ctx).Raw(stmt+" RETURNING "+s.qi(a.Columns.ID), args...).Row().Scan(&id); err != nil {
			return nil, s.wrap("create user", err)
		}
		u.ID = strconv.FormatInt(id, 10)
		return u, nil
	}
	res := gorm.WithResult()
	if err := s.q(ctx).Clauses(res).Exec(stmt, args...).Error; err != nil {
		return nil, s.wrap("create user", err)
	}
	if res.Result == nil {
		return nil, errors.New("storage: create user: no insert id")
	}
	id, err := res.Result.LastInsertId()
	if err != nil {
		return nil, s.wrap("create user", err)
	}
	u.ID = strconv.FormatInt(id, 10)
	return u, nil
}

// MapsUserField reports whether the user table has a column for field (a
// socialauth.User field name such as "first_name" or "last_login", or one of
// the adapter's ExtraColumns). The user_details step skips the fields it
// does not map, as CreateUser and UpdateUser do.
func (s *Store) MapsUserField(field string) bool { return s.users.column(field) != "" }

// userFields are the fields of socialauth.User a UserAdapter may map.
var userFields = []string{socialauth.FieldUsername, socialauth.FieldEmail, socialauth.FieldFirstName,
	socialauth.FieldLastName, socialauth.FieldIsActive, socialauth.FieldIsStaff, socialauth.FieldIsSuperuser,
	"date_joined", "last_login"}

// UpdateUser saves the named fields of u (standard names, date_joined,
// last_login, or ExtraColumns). A field of socialauth.User that the user
// table has no column for is skipped, as CreateUser skips it: so
// UpdateUser(u, []string{"last_login"}) at every sign-in is a no-op on a
// table without last_login. An unknown name, or id/pk, is an error.
func (s *Store) UpdateUser(ctx context.Context, u *socialauth.User, fields []string) error {
	if u == nil {
		return notFound("update user")
	}
	arg, ok := s.users.idArg(u.ID)
	if !ok {
		return notFound("update user")
	}
	var sets []string
	var args []any
	seen := map[string]bool{}
	for _, f := range fields {
		col := s.users.column(f)
		if col == "" && slices.Contains(userFields, f) {
			continue
		}
		if col == "" || f == "id" || f == "pk" {
			return fmt.Errorf("storage: update user: unknown or read-only field %q", f)
		}
		if seen[col] {
			continue
		}
		seen[col] = true
		var v any
		switch f {
		case "date_joined":
			v = u.DateJoined
		case "last_login":
			v = u.LastLogin
		default:
			v, _ = u.Get(f)
		}
		val, err := userValue(f, v)
		if err != nil {
			return err
		}
		sets = append(sets, s.qi(col)+" = ?")
		args = append(args, val)
	}
	if len(sets) == 0 {
		return nil
	}
	args = append(args, arg)
	stmt := "UPDATE " + s.qi(s.users.Table) + " SET " + strings.Join(sets, ", ") + " WHERE " + s.qi(s.users.Columns.ID) + " = ?"
	return s.wrap("update user", s.q(ctx).Exec(stmt, args...).Error)
}
