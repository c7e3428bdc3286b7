package storage

import (
	"modernc.org/libc"
	ctypes "modernc.org/libc/sys/types"
)

// The pure-Go SQLite (modernc.org/sqlite under github.com/glebarez/sqlite)
// allocates its C memory from modernc.org/libc, whose allocator
// (modernc.org/memory) serves each size class from 1 MiB mmap'ed pages and
// unmaps a page as soon as its last block is freed. Parsing and running a
// statement allocates blocks of size classes nothing else holds, so every
// statement mapped a fresh page, faulted it in and unmapped it again: in the
// profile of a login, ~25 % of the SQLite CPU time was mmap/munmap. Keeping
// one block of every size class allocated for the life of the Store keeps
// one page of each class mapped, and statements reuse its free blocks.
// The cost is one mapping per class (15 × 1 MiB of address space, a few KiB
// resident).

// sqliteAllocMinLog and sqliteAllocMaxLog bound the allocator's size
// classes: 16-byte blocks up to a quarter page (larger blocks get a mapping
// of their own, which a pin would not help).
const (
	sqliteAllocMinLog = 4
	sqliteAllocMaxLog = 18
)

// allocPins holds one block of every size class of the C allocator.
type allocPins struct {
	tls  *libc.TLS
	ptrs []uintptr
}

// pinSQLiteAllocator allocates the blocks; Close frees them.
func pinSQLiteAllocator() *allocPins {
	p := &allocPins{tls: libc.NewTLS()}
	for log := sqliteAllocMinLog; log <= sqliteAllocMaxLog; log++ {
		// 1<<log - 8 rounds up to exactly 1<<log: the class of log.
		if ptr := libc.Xmalloc(p.tls, ctypes.Size_t(1<<log-8)); ptr != 0 {
			p.ptrs = append(p.ptrs, ptr)
		}
	}
	return p
}

// Close frees the blocks.
func (p *allocPins) Close() error {
	if p == nil || p.tls == nil {
		return nil
	}
	for _, ptr := range p.ptrs {
		libc.Xfree(p.tls, ptr)
	}
	p.ptrs = nil
	p.tls.Close()
	p.tls = nil
	return nil
}

// closers closes each of its members in order and returns the first error.
type closers []interface{ Close() error }

func (cs closers) Close() error {
	var first error
	for _, c := range cs {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
