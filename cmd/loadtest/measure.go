package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx database/sql driver, for -pg-dsn
)

// userHZ is the unit of utime and stime in /proc/<pid>/stat: USER_HZ, 100
// on every Linux architecture Go supports (the kernel ABI fixes it).
const userHZ = 100

// ErrProc is returned when a process's /proc entry cannot be read or parsed.
var ErrProc = errors.New("cannot read /proc/<pid>")

// procSample is what /proc tells of one process at one time.
type procSample struct {
	cpu   time.Duration // utime + stime, all threads
	rssKB int64         // VmRSS
}

// readProc reads the CPU time and resident set of pid from procRoot
// ("/proc" outside tests).
func readProc(procRoot string, pid int) (procSample, error) {
	stat, err := os.ReadFile(fmt.Sprintf("%s/%d/stat", procRoot, pid))
	if err != nil {
		return procSample{}, fmt.Errorf("%w: %w", ErrProc, err)
	}
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses: the fields that follow start after the last ')'.
	i := bytes.LastIndexByte(stat, ')')
	if i < 0 {
		return procSample{}, fmt.Errorf("%w: %d/stat has no command field", ErrProc, pid)
	}
	f := strings.Fields(string(stat[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return procSample{}, fmt.Errorf("%w: %d/stat is too short", ErrProc, pid)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return procSample{}, fmt.Errorf("%w: %d/stat: %w", ErrProc, pid, err)
	}
	s := procSample{cpu: time.Duration(utime+stime) * time.Second / userHZ}
	status, err := os.ReadFile(fmt.Sprintf("%s/%d/status", procRoot, pid))
	if err != nil {
		return procSample{}, fmt.Errorf("%w: %w", ErrProc, err)
	}
	for line := range strings.SplitSeq(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				return procSample{}, fmt.Errorf("%w: %d/status VmRSS: %w", ErrProc, pid, err)
			}
			s.rssKB = kb
		}
	}
	return s, nil
}

// hostCPU is the first line of /proc/stat: the machine's busy and total
// time in ticks, all CPUs together.
type hostCPU struct{ busy, total int64 }

// readHostCPU reads procRoot/stat; idle and iowait are not busy.
func readHostCPU(procRoot string) (hostCPU, error) {
	b, err := os.ReadFile(procRoot + "/stat")
	if err != nil {
		return hostCPU{}, fmt.Errorf("%w: %w", ErrProc, err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 6 || f[0] != "cpu" {
		return hostCPU{}, fmt.Errorf("%w: stat has no cpu line", ErrProc)
	}
	var h hostCPU
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return hostCPU{}, fmt.Errorf("%w: stat: %w", ErrProc, err)
		}
		if i >= 8 { // guest and guest_nice are already in user and nice
			break
		}
		h.total += n
		if i != 3 && i != 4 { // idle, iowait
			h.busy += n
		}
	}
	return h, nil
}

// sampleProcs reads every pid; the CPU times are summed, the RSS kept per
// process.
func sampleProcs(procRoot string, pids []int) (time.Duration, []int64, error) {
	var cpu time.Duration
	rss := make([]int64, 0, len(pids))
	for _, pid := range pids {
		s, err := readProc(procRoot, pid)
		if err != nil {
			return 0, nil, err
		}
		cpu += s.cpu
		rss = append(rss, s.rssKB)
	}
	return cpu, rss, nil
}

// statementsQuery counts the statements pg_stat_statements has recorded for
// the current database: top-level ones only (what clients sent; with
// pg_stat_statements.track = all the server's own nested statements, such
// as a foreign key's check, are recorded too), without transaction control
// (BEGIN, COMMIT, ROLLBACK, SAVEPOINT …) and without its own queries.
const statementsQuery = `SELECT COALESCE(SUM(calls), 0)::bigint FROM pg_stat_statements
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
  AND toplevel
  AND query !~* '^\s*(BEGIN|COMMIT|ROLLBACK|START TRANSACTION|SAVEPOINT|RELEASE|END)\y'
  AND query NOT LIKE '%pg_stat_statements%'`

// pgCounter reads the statement count of one PostgreSQL database.
type pgCounter struct{ db *sql.DB }

func openPGCounter(ctx context.Context, dsn string) (*pgCounter, error) {
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, fmt.Errorf("-pg-dsn: %w", err)
	}
	db.SetMaxOpenConns(1)
	c := &pgCounter{db: db}
	if _, err := c.count(ctx); err != nil {
		// The view is missing in this database: create it (a database
		// created from template1 of .ci/services has it already; creating
		// it takes a superuser).
		if _, cerr := db.ExecContext(ctx, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements"); cerr != nil {
			db.Close()
			return nil, fmt.Errorf("-pg-dsn: pg_stat_statements is not available (shared_preload_libraries, CREATE EXTENSION): %w", errors.Join(err, cerr))
		}
		if _, err := c.count(ctx); err != nil {
			db.Close()
			return nil, err
		}
	}
	return c, nil
}

func (c *pgCounter) count(ctx context.Context) (int64, error) {
	var n int64
	if err := c.db.QueryRowContext(ctx, statementsQuery).Scan(&n); err != nil {
		return 0, fmt.Errorf("-pg-dsn: reading pg_stat_statements: %w", err)
	}
	return n, nil
}

func (c *pgCounter) Close() error { return c.db.Close() }
