package storage

import (
	"fmt"
	"sync/atomic"

	"gorm.io/gorm"
)

// Counter counts the SQL statements GORM runs on a *gorm.DB (queries,
// inserts, updates, deletes, raw statements). BEGIN and COMMIT are not
// statements GORM runs through callbacks and are not counted.
type Counter struct {
	n atomic.Int64
}

// Load returns the count so far.
func (c *Counter) Load() int64 { return c.n.Load() }

// Reset sets the count to zero and returns what it was.
func (c *Counter) Reset() int64 { return c.n.Swap(0) }

// CountStatements registers after-callbacks on db that count every
// statement run through it (and through sessions and transactions derived
// from it). Each call adds a new, independent counter.
func CountStatements(db *gorm.DB) (*Counter, error) {
	c := &Counter{}
	name := fmt.Sprintf("socialauth:count:%p", c)
	inc := func(*gorm.DB) { c.n.Add(1) }
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
			return nil, fmt.Errorf("storage: register statement counter: %w", err)
		}
	}
	return c, nil
}
