// Command socialauth-clean deletes expired socialauth records: partial
// pipelines and unverified email codes older than -age days (social-app-
// django's clearsocial), old OpenID nonces, and expired sessions.
//
//	socialauth-clean [-database-url URL] [-age DAYS]
//
// With -reencrypt it instead rewrites the provider tokens of every
// association under the first field encryption key (after a key rotation,
// or to encrypt rows written before encryption was turned on); with
// -decrypt it writes them back in plaintext (the way out of encryption):
//
//	socialauth-clean -reencrypt [-key-file FILE] [-batch N] [-after ID]
//
// The keys come from -key-file (one key per line, the first encrypts) or
// else $SOCIAL_AUTH_FIELD_ENCRYPTION_KEYS. The rows are walked by id, -batch
// per transaction, with a progress line per batch; an interrupted run
// resumes with -after and the last id printed.
//
// The database URL defaults to $DATABASE_URL, else sqlite:demo.db.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"time"

	"github.com/socialauth-go/socialauth/settings"
	"github.com/socialauth-go/socialauth/storage"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("socialauth-clean", flag.ContinueOnError)
	fs.SetOutput(stderr)
	defURL := getenv("DATABASE_URL")
	if defURL == "" {
		defURL = "sqlite:demo.db"
	}
	dbURL := fs.String("database-url", defURL, "database URL (sqlite:<path>, postgres://…, mysql://…); default $DATABASE_URL or sqlite:demo.db")
	age := fs.Int("age", 14, "delete partials, unverified codes and nonces older than this many days")
	reencrypt := fs.Bool("reencrypt", false, "instead of cleaning, rewrite every association's tokens under the first field encryption key")
	decrypt := fs.Bool("decrypt", false, "instead of cleaning, rewrite every association's tokens in plaintext (leaving field encryption)")
	keyFile := fs.String("key-file", "", "file of field encryption keys, one per line, the first encrypts (default: $"+storage.SettingFieldEncryptionKeys+")")
	batch := fs.Int("batch", 100, "associations per transaction for -reencrypt and -decrypt")
	after := fs.Int64("after", 0, "resume -reencrypt or -decrypt after this association id")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if *age < 0 || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "socialauth-clean: -age must be ≥ 0 and no arguments are accepted")
		return 2
	}
	if *reencrypt && *decrypt || *batch <= 0 || *after < 0 {
		fmt.Fprintln(stderr, "socialauth-clean: -reencrypt and -decrypt exclude each other; -batch must be > 0 and -after ≥ 0")
		return 2
	}
	var keys [][]byte
	if *reencrypt || *decrypt {
		var err error
		if keys, err = fieldKeys(*keyFile, getenv); err != nil {
			fmt.Fprintf(stderr, "socialauth-clean: %v\n", err)
			return 2
		}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := storage.Open(ctx, *dbURL, storage.Options{Logger: log, FieldKeys: keys})
	if err != nil {
		fmt.Fprintf(stderr, "socialauth-clean: %v\n", err)
		return 1
	}
	defer s.Close()
	if err := s.AutoMigrate(ctx); err != nil {
		fmt.Fprintf(stderr, "socialauth-clean: %v\n", err)
		return 1
	}
	if *reencrypt || *decrypt {
		return runReencrypt(ctx, s, storage.ReencryptOptions{Batch: *batch, After: *after, Decrypt: *decrypt}, stdout, stderr)
	}
	d := time.Duration(*age) * 24 * time.Hour
	if d == 0 {
		d = time.Nanosecond // -age 0: everything older than now
	}
	res, err := s.Cleanup(ctx, storage.CleanupOptions{Age: d})
	if err != nil {
		fmt.Fprintf(stderr, "socialauth-clean: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "partials: %d\ncodes: %d\nnonces: %d\nsessions: %d\n", res.Partials, res.Codes, res.Nonces, res.Sessions)
	return 0
}

// fieldKeys reads the keys of -key-file, else of the setting in the
// environment; encrypting or decrypting needs at least one.
func fieldKeys(file string, getenv func(string) string) ([][]byte, error) {
	if file != "" {
		data, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("-key-file: %w", err)
		}
		keys, err := storage.ParseFieldKeyFile(data)
		if err != nil {
			return nil, fmt.Errorf("-key-file %s: %w", file, err)
		}
		return keys, nil
	}
	set := settings.New(settings.Env{LookupEnv: func(k string) (string, bool) {
		v := getenv(k)
		return v, v != ""
	}})
	keys, _, err := storage.FieldKeysFrom(set)
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("-reencrypt and -decrypt need the keys: -key-file or $%s", storage.SettingFieldEncryptionKeys)
	}
	return keys, nil
}

// runReencrypt runs Store.Reencrypt with a progress line per batch.
func runReencrypt(ctx context.Context, s *storage.Store, opts storage.ReencryptOptions, stdout, stderr io.Writer) int {
	verb := "reencrypt"
	if opts.Decrypt {
		verb = "decrypt"
	}
	opts.Progress = func(r storage.ReencryptResult) {
		fmt.Fprintf(stdout, "%s: batch %d: %d rows, %d rewritten, %d unreadable, last id %d\n",
			verb, r.Batches, r.Rows, r.Rewritten, len(r.Unreadable), r.LastID)
	}
	res, err := s.Reencrypt(ctx, opts)
	if err != nil {
		fmt.Fprintf(stderr, "socialauth-clean: %s: %v (resume with -after %d)\n", verb, err, res.LastID)
		return 1
	}
	fmt.Fprintf(stdout, "%s: done: %d rows, %d rewritten, %d unreadable\n", verb, res.Rows, res.Rewritten, len(res.Unreadable))
	if len(res.Unreadable) > 0 {
		ids := res.Unreadable
		more := ""
		if len(ids) > 20 {
			ids, more = ids[:20], fmt.Sprintf(" and %d more", len(res.Unreadable)-20)
		}
		fmt.Fprintf(stderr, "socialauth-clean: %s: associations %v%s hold tokens no key decrypts (a retired key, or tampering): left as they are; the next sign-in of their users rewrites them\n", verb, ids, more)
		return 1
	}
	return 0
}
