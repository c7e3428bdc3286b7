package examples_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// maxDocExampleLines is the promise of docs/custom-backend.md: a custom
// backend, built and registered, in at most 30 lines of Go.
const maxDocExampleLines = 30

const docPath = "../../docs/custom-backend.md"

// The first Go block of docs/custom-backend.md is, line for line, the code
// that Example compiles and runs, and it stays within 30 lines.
func TestDocMainExample(t *testing.T) {
	blocks := goBlocks(t, readFile(t, docPath))
	if len(blocks) == 0 {
		t.Fatal("docs/custom-backend.md has no Go block")
	}
	doc := blocks[0]

	src := readFile(t, "example_test.go")
	_, code, ok := strings.Cut(src, "// begin docs/custom-backend.md\n")
	if !ok {
		t.Fatal("example_test.go has no begin marker")
	}
	code, _, ok = strings.Cut(code, "\t// end docs/custom-backend.md")
	if !ok {
		t.Fatal("example_test.go has no end marker")
	}
	var example []string
	for _, l := range lines(code) {
		example = append(example, strings.TrimPrefix(l, "\t"))
	}

	if diff := cmp.Diff(example, doc); diff != "" {
		t.Errorf("the doc's first Go block differs from Example (-example +doc):\n%s", diff)
	}
	if len(doc) > maxDocExampleLines {
		t.Errorf("the doc's main example has %d lines, want at most %d", len(doc), maxDocExampleLines)
	}
	t.Logf("main example: %d lines", len(doc))
}

// Every other Go block of the doc is code of this package (indentation
// aside), so that it compiles and is tested too.
func TestDocBlocksCompile(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var srcs [][]string
	for _, f := range files {
		srcs = append(srcs, trimmed(lines(readFile(t, f))))
	}
	for i, block := range goBlocks(t, readFile(t, docPath)) {
		want := trimmed(block)
		found := false
		for _, src := range srcs {
			if containsRun(src, want) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("Go block %d of the doc is in no file of backends/examples:\n%s", i+1, strings.Join(block, "\n"))
		}
	}
}

// goBlocks returns the lines of each ```go block of a Markdown text.
func goBlocks(t *testing.T, md string) [][]string {
	t.Helper()
	var out [][]string
	for {
		_, rest, ok := strings.Cut(md, "```go\n")
		if !ok {
			return out
		}
		block, after, ok := strings.Cut(rest, "```")
		if !ok {
			t.Fatal("unterminated Go block")
		}
		out = append(out, lines(block))
		md = after
	}
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// trimmed drops each line's indentation (a snippet of a struct literal is
// indented less in the doc than in the code).
func trimmed(ls []string) []string {
	out := make([]string, len(ls))
	for i, l := range ls {
		out[i] = strings.TrimLeft(l, "\t ")
	}
	return out
}

// containsRun reports whether run occurs as consecutive lines of src.
func containsRun(src, run []string) bool {
	for i := 0; i+len(run) <= len(src); i++ {
		if cmp.Equal(src[i:i+len(run)], run) {
			return true
		}
	}
	return false
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
