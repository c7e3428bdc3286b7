package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/socialauth-go/socialauth/internal/dbtest"
)

func writeProc(t *testing.T, root string, pid int, stat, status string) {
	t.Helper()
	dir := filepath.Join(root, fmt.Sprint(pid))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"stat": stat, "status": status} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// statLine is a /proc/<pid>/stat line with the given command and utime,
// stime (in USER_HZ ticks).
func statLine(pid int, comm string, utime, stime int) string {
	return fmt.Sprintf("%d (%s) S 1 %d %d 0 -1 4194560 500 0 0 0 %d %d 0 0 20 0 9 0 100 1000000 2000 18446744073709551615\n",
		pid, comm, pid, pid, utime, stime)
}

func TestReadProc(t *testing.T) {
	root := t.TempDir()
	// A command name with spaces and a parenthesis must not shift the fields.
	writeProc(t, root, 42, statLine(42, "my ) svc", 250, 130), "Name:\tsvc\nVmRSS:\t   12345 kB\nThreads:\t9\n")
	writeProc(t, root, 43, statLine(43, "lms", 7, 3), "VmRSS:\t100 kB\n")
	s, err := readProc(root, 42)
	if err != nil {
		t.Fatal(err)
	}
	if s.cpu != 3800*time.Millisecond || s.rssKB != 12345 {
		t.Errorf("readProc = %+v, want 3.8s of CPU and 12345 KiB", s)
	}
	cpu, rss, err := sampleProcs(root, []int{42, 43})
	if err != nil || cpu != 3900*time.Millisecond || len(rss) != 2 || rss[1] != 100 {
		t.Errorf("sampleProcs = %v %v %v, want 3.9s, [12345 100]", cpu, rss, err)
	}
	writeProc(t, root, 44, "44 (x) S 1", "")
	for _, pid := range []int{44, 45} {
		if _, err := readProc(root, pid); !errors.Is(err, ErrProc) {
			t.Errorf("readProc(%d) = %v, want ErrProc", pid, err)
		}
	}
	// This process: a live /proc entry parses.
	if s, err := readProc("/proc", os.Getpid()); err != nil || s.rssKB <= 0 {
		t.Errorf("readProc(self) = %+v, %v", s, err)
	}
}

func TestMeasurePerFlow(t *testing.T) {
	cfg := &config{pids: []int{1, 2}, lmsPIDs: []int{3}, pgDSN: "postgres://x"}
	s := Summary{OK: 4}
	s.measure(cfg,
		sample{serviceCPU: time.Second, lmsCPU: 2 * time.Second, statements: 100},
		sample{serviceCPU: 1200 * time.Millisecond, lmsCPU: 2100 * time.Millisecond, rss: []int64{10, 20}, statements: 148})
	if s.ServiceCPUms == nil || *s.ServiceCPUms != 50 || *s.LMSCPUms != 25 || *s.SQLStatements != 12 || len(s.ServiceRSSKiB) != 2 {
		t.Errorf("measure = %+v", s)
	}
	none := Summary{OK: 4}
	none.measure(&config{}, sample{}, sample{})
	if none.ServiceCPUms != nil || none.LMSCPUms != nil || none.SQLStatements != nil {
		t.Errorf("measure without flags = %+v, want nothing", none)
	}
}

func TestFlagsMeasurement(t *testing.T) {
	cfg, err := parseFlags([]string{"-url", "http://127.0.0.1:8000,http://127.0.0.1:8002/", "-pid", "12, 13", "-lms-pid", "14"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.targets) != 2 || cfg.targets[1].String() != "http://127.0.0.1:8002" ||
		fmt.Sprint(cfg.pids) != "[12 13]" || fmt.Sprint(cfg.lmsPIDs) != "[14]" {
		t.Errorf("parseFlags = targets %v pids %v lms %v", cfg.targets, cfg.pids, cfg.lmsPIDs)
	}
	for _, args := range [][]string{
		{"-url", "http://127.0.0.1:8000,http://10.0.0.1:8000"},
		{"-pid", "12,x"},
		{"-pid", "0"},
		{"-lms-pid", "-3"},
	} {
		if _, err := parseFlags(args, &bytes.Buffer{}); err == nil {
			t.Errorf("parseFlags(%q) accepted", args)
		}
	}
}

// The statement counter sees the statements of its database only, without
// transaction control and without its own queries.
func TestPGCounter(t *testing.T) {
	var pgTarget *dbtest.Target
	for _, tg := range dbtest.Targets(t) {
		if tg.Name == dbtest.Postgres {
			pgTarget = &tg
		}
	}
	if pgTarget == nil {
		t.Skip("PostgreSQL not configured")
	}
	ctx := context.Background()
	admin, err := sql.Open("pgx", pgTarget.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := fmt.Sprintf("socialauth_t_lt%d", time.Now().UnixNano())
	// template1 carries pg_stat_statements (.ci/services creates it there).
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name+" TEMPLATE template1"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })
	u, err := url.Parse(pgTarget.DSN)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	c, err := openPGCounter(ctx, u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	db, err := sql.Open("pgx", u.String())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, "CREATE TABLE p (id int PRIMARY KEY); INSERT INTO p VALUES (0), (1), (2); CREATE TABLE t (id int REFERENCES p (id))"); err != nil {
		t.Fatal(err)
	}
	before, err := c.count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := tx.ExecContext(ctx, "INSERT INTO t (id) VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM t").Scan(&n); err != nil {
		t.Fatal(err)
	}
	// Statements of another database are not counted.
	if _, err := admin.ExecContext(ctx, "SELECT 1"); err != nil {
		t.Fatal(err)
	}
	after, err := c.count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := after - before; got != 4 {
		t.Errorf("counted %d statements, want 4 (3 inserts, 1 select; BEGIN/COMMIT, the foreign key's nested checks and other databases excluded)", got)
	}
}

func TestReadHostCPU(t *testing.T) {
	root := t.TempDir()
	stat := "cpu  100 5 50 800 20 3 2 0 7 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n"
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte(stat), 0o644); err != nil {
		t.Fatal(err)
	}
	h, err := readHostCPU(root)
	// busy: user+nice+system+irq+softirq+steal; guest is inside user.
	if err != nil || h.busy != 160 || h.total != 980 {
		t.Errorf("readHostCPU = %+v, %v; want busy 160 of 980", h, err)
	}
	if err := os.WriteFile(filepath.Join(root, "stat"), []byte("intr 1 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readHostCPU(root); !errors.Is(err, ErrProc) {
		t.Errorf("readHostCPU without a cpu line = %v, want ErrProc", err)
	}
}
