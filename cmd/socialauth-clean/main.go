// Command socialauth-clean deletes expired socialauth records: partial
// pipelines and unverified email codes older than -age days (social-app-
// django's clearsocial), old OpenID nonces, and expired sessions.
//
//	socialauth-clean [-database-url URL] [-age DAYS]
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
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := storage.Open(ctx, *dbURL, storage.Options{Logger: log})
	if err != nil {
		fmt.Fprintf(stderr, "socialauth-clean: %v\n", err)
		return 1
	}
	defer s.Close()
	if err := s.AutoMigrate(ctx); err != nil {
		fmt.Fprintf(stderr, "socialauth-clean: %v\n", err)
		return 1
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
