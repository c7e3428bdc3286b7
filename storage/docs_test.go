package storage_test

import (
	"os"
	"strings"
	"testing"

	"github.com/socialauth-go/socialauth/storage"
)

// TestDocsSchema keeps docs/storage.md's CREATE statements equal to the code's.
func TestDocsSchema(t *testing.T) {
	b, err := os.ReadFile("../docs/storage.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, d := range []storage.Dialect{storage.SQLite, storage.Postgres, storage.MySQL} {
		for _, stmt := range storage.SchemaSQL(d, nil) {
			if !strings.Contains(doc, stmt+";") {
				t.Errorf("docs/storage.md lacks the %s statement:\n%s", d, stmt)
			}
		}
	}
}
