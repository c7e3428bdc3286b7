package bench

import (
	"strings"
	"sync/atomic"
	"testing"

	"gorm.io/gorm"

	"github.com/socialauth-go/socialauth/storage"
)

// statements counts the SQL statements run on a rig's database: all of them
// (storage.CountStatements) and, separately, those of the scs session store
// (the sessions table), so that a login's own statements are the
// difference.
type statements struct {
	all      *storage.Counter
	sessions atomic.Int64
}

func countStatements(tb testing.TB, db *gorm.DB) *statements {
	tb.Helper()
	all, err := storage.CountStatements(db)
	if err != nil {
		tb.Fatal(err)
	}
	s := &statements{all: all}
	name := "bench:count-sessions"
	inc := func(tx *gorm.DB) {
		if isSessionStatement(tx) {
			s.sessions.Add(1)
		}
	}
	cb := db.Callback()
	for _, err := range []error{
		cb.Create().After("*").Register(name, inc),
		cb.Query().After("*").Register(name, inc),
		cb.Update().After("*").Register(name, inc),
		cb.Delete().After("*").Register(name, inc),
		cb.Row().After("*").Register(name, inc),
		cb.Raw().After("*").Register(name, inc),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return s
}

func isSessionStatement(tx *gorm.DB) bool {
	if tx.Statement == nil {
		return false
	}
	if tx.Statement.Table != "" {
		return tx.Statement.Table == storage.TableSessions
	}
	sql := strings.ToLower(tx.Statement.SQL.String())
	return strings.Contains(sql, `"`+storage.TableSessions+`"`) || strings.Contains(sql, "`"+storage.TableSessions+"`") ||
		strings.Contains(sql, " "+storage.TableSessions+" ")
}

// statementCount is a snapshot: the login's own statements and the session
// store's.
type statementCount struct{ login, sessions int64 }

func (s *statements) reset() {
	s.all.Reset()
	s.sessions.Store(0)
}

func (s *statements) load() statementCount {
	ss := s.sessions.Load()
	return statementCount{login: s.all.Load() - ss, sessions: ss}
}
