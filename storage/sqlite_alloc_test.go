package storage

import "testing"

// TestPinSQLiteAllocator: one block of every size class, freed by Close
// (twice is harmless).
func TestPinSQLiteAllocator(t *testing.T) {
	p := pinSQLiteAllocator()
	if got, want := len(p.ptrs), sqliteAllocMaxLog-sqliteAllocMinLog+1; got != want {
		t.Fatalf("%d blocks pinned, want %d", got, want)
	}
	seen := map[uintptr]bool{}
	for _, ptr := range p.ptrs {
		if ptr == 0 || seen[ptr] {
			t.Fatalf("blocks %v: a null or repeated pointer", p.ptrs)
		}
		seen[ptr] = true
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if len(p.ptrs) != 0 {
		t.Errorf("Close kept %d blocks", len(p.ptrs))
	}
	if err := p.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
