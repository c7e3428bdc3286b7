package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth"
	"github.com/socialauth-go/socialauth/storage"
)

func TestRun(t *testing.T) {
	url := "sqlite:" + filepath.Join(t.TempDir(), "c.db")
	s, err := storage.Open(t.Context(), url, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AutoMigrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePartial(t.Context(), &socialauth.Partial{Token: "p1", Backend: "b"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.MakeCode(t.Context(), "a@example.com"); err != nil {
		t.Fatal(err)
	}
	s.Close()
	env := func(k string) string {
		if k == "DATABASE_URL" {
			return url
		}
		return ""
	}
	var out, errOut bytes.Buffer
	// Fresh records survive the default 14 days.
	if code := run(context.Background(), nil, env, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "partials: 0\ncodes: 0\n") {
		t.Errorf("default age output = %q", out.String())
	}
	out.Reset()
	if code := run(context.Background(), []string{"-age", "0"}, env, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "partials: 1\ncodes: 1\n") {
		t.Errorf("-age 0 output = %q", out.String())
	}
	if code := run(context.Background(), []string{"-age", "-1"}, env, &out, &errOut); code != 2 {
		t.Errorf("-age -1 exit = %d; want 2", code)
	}
	errOut.Reset()
	if code := run(context.Background(), []string{"-database-url", "redis://u:hunter2@x"}, env, &out, &errOut); code != 1 || strings.Contains(errOut.String(), "hunter2") {
		t.Errorf("bad URL exit = %d, stderr %q; want 1 without the password", code, errOut.String())
	}
}
