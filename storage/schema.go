package storage

import (
	"context"
	"fmt"
	"strings"
)

// Table names, as social-app-django names them.
const (
	TableSocialAuth  = "social_auth_usersocialauth"
	TablePartial     = "social_auth_partial"
	TableNonce       = "social_auth_nonce"
	TableAssociation = "social_auth_association"
	TableCode        = "social_auth_code"
	TableSessions    = "sessions"
	TableUsers       = "auth_user"
)

// column types per dialect.
type types struct {
	pk, bigint, boolean, datetime, json, blob string
	// exact is an identifier column compared byte for byte (case, accents,
	// trailing spaces). On MySQL/MariaDB that is VARBINARY: utf8mb4_bin is a
	// PAD SPACE collation, so "jsmith" and "jsmith " would collide there.
	exact  func(n int) string
	text   func(n int) string
	suffix string
	ifNot  bool // CREATE INDEX IF NOT EXISTS is available
}

func typesFor(d Dialect) types {
	varchar := func(n int) string { return fmt.Sprintf("varchar(%d)", n) }
	switch d {
	case Postgres:
		return types{pk: "bigserial PRIMARY KEY", bigint: "bigint", boolean: "boolean", datetime: "timestamptz",
			json: "jsonb", blob: "bytea", exact: varchar, text: varchar, ifNot: true}
	case MySQL:
		return types{pk: "bigint NOT NULL AUTO_INCREMENT PRIMARY KEY", bigint: "bigint", boolean: "bool",
			datetime: "datetime(6)", json: "json", blob: "longblob",
			exact:  func(n int) string { return fmt.Sprintf("varbinary(%d)", 4*n) },
			text:   varchar,
			suffix: " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"}
	default:
		return types{pk: "integer NOT NULL PRIMARY KEY AUTOINCREMENT", bigint: "bigint", boolean: "bool",
			datetime: "datetime", json: "text", blob: "blob", exact: varchar, text: varchar, ifNot: true}
	}
}

func quoteIdent(d Dialect, name string) string {
	if d == MySQL {
		return "`" + name + "`"
	}
	return `"` + name + `"`
}

// SchemaSQL returns the CREATE TABLE and CREATE INDEX statements that
// AutoMigrate runs for dialect, for teams that run their own migrations.
// users nil means the built-in auth_user table; with a custom UserAdapter the
// user table is the app's own and is not created, and user_id references it.
func SchemaSQL(d Dialect, users *UserAdapter) []string {
	t := typesFor(d)
	q := func(s string) string { return quoteIdent(d, s) }
	var out []string
	table := func(name string, cols []string, indexes [][2]string) {
		out = append(out, fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s (\n  %s\n)%s", q(name), strings.Join(cols, ",\n  "), t.suffix))
		for _, ix := range indexes {
			if t.ifNot {
				out = append(out, fmt.Sprintf("CREATE INDEX IF NOT EXISTS %s ON %s (%s)", q(ix[0]), q(name), qcols(d, ix[1])))
			}
		}
	}
	// MySQL has no CREATE INDEX IF NOT EXISTS: its indexes go inside CREATE TABLE.
	key := func(name, col string) string { return fmt.Sprintf("KEY %s (%s)", q(name), qcols(d, col)) }
	withKeys := func(cols []string, indexes [][2]string) []string {
		if d != MySQL {
			return cols
		}
		for _, ix := range indexes {
			cols = append(cols, key(ix[0], ix[1]))
		}
		return cols
	}

	userTable, userID, userIDType := TableUsers, "id", t.bigint
	if users == nil || users.builtin {
		uidx := [][2]string{}
		table(TableUsers, withKeys([]string{
			q("id") + " " + t.pk,
			q("password") + " " + t.text(128) + " NOT NULL DEFAULT '!'",
			q("last_login") + " " + t.datetime + " NULL",
			q("is_superuser") + " " + t.boolean + " NOT NULL DEFAULT " + boolLit(d, false),
			q("username") + " " + t.exact(150) + " NOT NULL",
			q("first_name") + " " + t.text(150) + " NOT NULL DEFAULT ''",
			q("last_name") + " " + t.text(150) + " NOT NULL DEFAULT ''",
			q("email") + " " + t.text(254) + " NOT NULL DEFAULT ''",
			q("is_staff") + " " + t.boolean + " NOT NULL DEFAULT " + boolLit(d, false),
			q("is_active") + " " + t.boolean + " NOT NULL DEFAULT " + boolLit(d, true),
			q("date_joined") + " " + t.datetime + " NOT NULL",
			"CONSTRAINT " + q("auth_user_username_key") + " UNIQUE (" + q("username") + ")",
		}, uidx), uidx)
	} else {
		userTable, userID = users.Table, users.Columns.ID
		userIDType = users.IDType
		if userIDType == "" {
			userIDType = t.bigint
			if users.StringIDs {
				userIDType = "varchar(64)"
			}
		}
	}

	sidx := [][2]string{{"social_auth_usersocialauth_uid_idx", "uid"}, {"social_auth_usersocialauth_user_id_idx", "user_id"}}
	table(TableSocialAuth, withKeys([]string{
		q("id") + " " + t.pk,
		q("provider") + " " + t.exact(32) + " NOT NULL",
		q("uid") + " " + t.exact(255) + " NOT NULL",
		q("extra_data") + " " + t.json + " NOT NULL",
		q("created") + " " + t.datetime + " NOT NULL",
		q("modified") + " " + t.datetime + " NOT NULL",
		q("user_id") + " " + userIDType + " NOT NULL",
		"CONSTRAINT " + q("social_auth_usersocialauth_provider_uid_uniq") + " UNIQUE (" + q("provider") + ", " + q("uid") + ")",
		"CONSTRAINT " + q("user_social_auth_uid_required") + " CHECK (" + q("uid") + " <> '')",
		"CONSTRAINT " + q("social_auth_usersocialauth_user_id_fk") + " FOREIGN KEY (" + q("user_id") + ") REFERENCES " +
			q(userTable) + " (" + q(userID) + ") ON DELETE CASCADE",
	}, sidx), sidx)

	pidx := [][2]string{{"social_auth_partial_timestamp_idx", "timestamp"}}
	table(TablePartial, withKeys([]string{
		q("id") + " " + t.pk,
		q("token") + " " + t.exact(64) + " NOT NULL",
		q("next_step") + " integer NOT NULL DEFAULT 0 CHECK (" + q("next_step") + " >= 0)",
		q("backend") + " " + t.exact(32) + " NOT NULL",
		q("data") + " " + t.json + " NOT NULL",
		q("binding") + " " + t.exact(255) + " NOT NULL DEFAULT ''",
		q("timestamp") + " " + t.datetime + " NOT NULL",
		"CONSTRAINT " + q("social_auth_partial_token_key") + " UNIQUE (" + q("token") + ")",
	}, pidx), pidx)

	nidx := [][2]string{}
	table(TableNonce, withKeys([]string{
		q("id") + " " + t.pk,
		q("server_url") + " " + t.exact(255) + " NOT NULL",
		q("timestamp") + " " + t.bigint + " NOT NULL",
		q("salt") + " " + t.exact(65) + " NOT NULL",
		"CONSTRAINT " + q("social_auth_nonce_server_url_timestamp_salt_uniq") + " UNIQUE (" + q("server_url") + ", " + q("timestamp") + ", " + q("salt") + ")",
	}, nidx), nidx)

	aidx := [][2]string{}
	table(TableAssociation, withKeys([]string{
		q("id") + " " + t.pk,
		q("server_url") + " " + t.exact(255) + " NOT NULL",
		q("handle") + " " + t.exact(255) + " NOT NULL",
		q("secret") + " " + t.text(255) + " NOT NULL",
		q("issued") + " " + t.bigint + " NOT NULL",
		q("lifetime") + " " + t.bigint + " NOT NULL",
		q("assoc_type") + " " + t.text(64) + " NOT NULL",
		"CONSTRAINT " + q("social_auth_association_server_url_handle_uniq") + " UNIQUE (" + q("server_url") + ", " + q("handle") + ")",
	}, aidx), aidx)

	cidx := [][2]string{{"social_auth_code_code_idx", "code"}, {"social_auth_code_timestamp_idx", "timestamp"}}
	table(TableCode, withKeys([]string{
		q("id") + " " + t.pk,
		q("email") + " " + t.text(254) + " NOT NULL",
		q("code") + " " + t.exact(32) + " NOT NULL",
		q("verified") + " " + t.boolean + " NOT NULL DEFAULT " + boolLit(d, false),
		q("timestamp") + " " + t.datetime + " NOT NULL",
		"CONSTRAINT " + q("social_auth_code_email_code_uniq") + " UNIQUE (" + q("email") + ", " + q("code") + ")",
	}, cidx), cidx)

	xidx := sessionIndexes()
	table(TableSessions, withKeys(append([]string{
		q("token") + " " + t.exact(64) + " NOT NULL PRIMARY KEY",
		q("data") + " " + t.blob + " NOT NULL",
		q("expiry") + " " + t.datetime + " NOT NULL",
	}, sessionOwnerColumns(d)...), xidx), xidx)
	return out
}

// sessionIndexes are the sessions table's indexes: expiry (cleanup), the
// owner's user id (Sessions, EndSessions) and (backend, sid) (back-channel
// logout).
func sessionIndexes() [][2]string {
	return [][2]string{
		{"sessions_expiry_idx", "expiry"},
		{"sessions_user_id_idx", "user_id"},
		{"sessions_backend_sid_idx", "backend,sid"},
	}
}

// sessionOwnerColumns are the columns that record who a session belongs
// to: empty strings and NULL times for an anonymous session.
func sessionOwnerColumns(d Dialect) []string {
	t := typesFor(d)
	q := func(s string) string { return quoteIdent(d, s) }
	return []string{
		q("user_id") + " " + t.exact(64) + " NOT NULL DEFAULT ''",
		q("backend") + " " + t.exact(32) + " NOT NULL DEFAULT ''",
		q("sid") + " " + t.exact(128) + " NOT NULL DEFAULT ''",
		q("created") + " " + t.datetime + " NULL",
		q("last_seen") + " " + t.datetime + " NULL",
	}
}

// MigrateSessionsSQL returns the statements that bring a sessions table
// created before sessions recorded their owner up to date: the user_id,
// backend, sid, created and last_seen columns and their indexes. AutoMigrate
// runs them when the table lacks user_id; teams that run their own
// migrations apply them once. Existing sessions stay valid and anonymous to
// the Sessions API until their next sign-in.
func MigrateSessionsSQL(d Dialect) []string {
	q := func(s string) string { return quoteIdent(d, s) }
	var out []string
	for _, col := range sessionOwnerColumns(d) {
		out = append(out, "ALTER TABLE "+q(TableSessions)+" ADD COLUMN "+col)
	}
	for _, ix := range sessionIndexes()[1:] {
		out = append(out, fmt.Sprintf("CREATE INDEX %s ON %s (%s)", q(ix[0]), q(TableSessions), qcols(d, ix[1])))
	}
	return out
}

// qcols quotes a comma-separated column list.
func qcols(d Dialect, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = quoteIdent(d, strings.TrimSpace(c))
	}
	return strings.Join(parts, ", ")
}

func boolLit(d Dialect, b bool) string {
	if d == Postgres {
		if b {
			return "true"
		}
		return "false"
	}
	if b {
		return "1"
	}
	return "0"
}

// AutoMigrate creates the tables and indexes that do not exist yet (it does
// not alter existing ones). The statements are those of SchemaSQL.
func (s *Store) AutoMigrate(ctx context.Context) error {
	// A sessions table from before sessions recorded their owner lacks
	// user_id (the probe fails; unquoted, as SQLite reads an unknown quoted
	// identifier as a string): it is brought up to date first, so that the
	// indexes below find their columns.
	if s.db.WithContext(ctx).Migrator().HasTable(TableSessions) {
		probe := "SELECT user_id FROM " + s.qi(TableSessions) + " WHERE 1 = 0"
		if err := s.q(ctx).Exec(probe).Error; err != nil {
			for _, stmt := range MigrateSessionsSQL(s.dialect) {
				if err := s.q(ctx).Exec(stmt).Error; err != nil {
					return s.wrap("migrate sessions", err)
				}
			}
		}
	}
	users := s.users
	for _, stmt := range SchemaSQL(s.dialect, users) {
		if err := s.q(ctx).Exec(stmt).Error; err != nil {
			return s.wrap("migrate", err)
		}
	}
	return nil
}
