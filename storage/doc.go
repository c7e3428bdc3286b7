// Package storage is the GORM implementation of socialauth.Storage, on SQLite
// (pure Go, github.com/glebarez/sqlite), PostgreSQL and MySQL/MariaDB.
//
// The tables follow social-app-django (social_auth_usersocialauth,
// social_auth_partial, social_auth_nonce, social_auth_association,
// social_auth_code) with a Django-like auth_user table for users, plus a
// sessions table for the scs session store (SessionStore). Apps with their
// own user table describe it with a UserAdapter.
//
// Exact uids: UNIQUE(provider, uid) and a CHECK that uid is not empty. On
// MySQL/MariaDB the identifier columns (provider, uid, username, tokens,
// codes, handles) are VARBINARY: utf8mb4_bin is a PAD SPACE collation there,
// under which "jsmith" and "jsmith " are equal. Every lookup also re-checks
// uid == wanted in Go (CVE-2024-32879). So "jsmith", "JSmith", "jsmith " and
// "jsmîth" are four different accounts on every database.
//
// Empty keys are rejected before any SQL is built: GetSocialAuth and
// CreateSocialAuth with an empty provider or uid (or user id) return an
// *socialauth.Error with CodeAuthMissingParameter (a 400); lookups by an
// empty id, username, token or code return an error wrapping
// socialauth.ErrNotFound, because no row can have that key.
//
// Errors: missing rows wrap socialauth.ErrNotFound, unique violations wrap
// socialauth.ErrDuplicate (detected per dialect), and a database that cannot
// be reached gives an *socialauth.Error with CodeStorageUnavailable (503).
package storage
