package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
)

// TestProcessScript runs bench/process.sh with a handful of sign-ins: the
// script path of make bench-process (build, fake LMS, floor, demo,
// cmd/loadtest, the tables). On PostgreSQL it also pins what the floor is:
// one statement per sign-in, none for /me.
func TestProcessScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds four binaries")
	}
	for _, tool := range []string{"bash", "jq", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("bench/process.sh needs %s", tool)
		}
	}
	db := dbtest.SQLite
	pg := ""
	for _, tg := range dbtest.Targets(t) {
		if tg.Name == dbtest.Postgres {
			if _, err := exec.LookPath("psql"); err == nil {
				db, pg = dbtest.Postgres, tg.DSN
			}
		}
	}
	// Five consecutive loopback ports from a free one (the script's
	// PORT_BASE): a collision fails the run loudly, never silently.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	if port > 65000 {
		port -= 1000
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "../process.sh")
	cmd.Env = append(os.Environ(), "N=6", "USERS=2", "DBS="+db, "PG_DSN="+pg, "PORT_BASE="+strconv.Itoa(port), "TMPDIR="+t.TempDir())
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("bench/process.sh: %v\n%s\n%s", err, out.String(), stderr.String())
	}
	rows := map[string][]string{} // "variant kind c" → cells
	for line := range strings.SplitSeq(out.String(), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) == 12 && strings.TrimSpace(cells[1]) == db {
			trim := make([]string, 0, 10)
			for _, c := range cells[1:11] {
				trim = append(trim, strings.TrimSpace(c))
			}
			rows[trim[1]+" "+trim[2]+" "+trim[3]] = trim
		}
	}
	for _, v := range []string{"floor", "demo"} {
		for _, k := range []string{"returning 1", "returning 8", "first 1", "first 8", "/me only 1"} {
			r, ok := rows[v+" "+k]
			if !ok {
				t.Errorf("no row for %s %s in:\n%s", v, k, out.String())
				continue
			}
			if cpu, err := strconv.ParseFloat(r[4], 64); err != nil || cpu < 0 {
				t.Errorf("%s %s: service CPU %q", v, k, r[4])
			}
		}
	}
	if db == dbtest.Postgres {
		for k, want := range map[string]string{"returning 1": "1", "first 8": "1", "/me only 1": "0"} {
			if got := rows["floor "+k][9]; got != want {
				t.Errorf("floor %s: %s SQL statements per sign-in, want %s", k, got, want)
			}
		}
	}
	if !strings.Contains(out.String(), "| "+db+" | returning | 1 |") {
		t.Errorf("no demo/floor ratio row:\n%s", out.String())
	}
}
