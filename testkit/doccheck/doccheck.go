// Package doccheck keeps the output shown in the documentation true. A page
// under docs/ (or README.md) marks a fenced block with a line
//
//	<!-- output: NAME -->
//
// directly above it, and a test next to the code that produces that output
// calls Check with the real output: the test fails when the two differ, and
// with SLUICE_UPDATE_DOCS=1 in the environment it rewrites the block from
// the real output instead. TestEveryOutputBlockIsChecked (in this package)
// fails for a marker that no test checks, so a block cannot be left behind
// when its test goes away.
package doccheck

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// UpdateEnv is the environment variable that makes Check rewrite the block
// instead of comparing: SLUICE_UPDATE_DOCS=1 go test ./offline/preview/.
const UpdateEnv = "SLUICE_UPDATE_DOCS"

// markerRE matches a marker line and captures its name.
var markerRE = regexp.MustCompile(`^<!-- output: ([a-z0-9][a-z0-9-]*) -->$`)

// Option changes how Check compares.
type Option func(*options)

type options struct {
	ignore []*regexp.Regexp
}

// Ignore makes Check compare the block and the output with every match of
// re replaced by "…" on both sides: for values that change on every run
// (timestamps, durations, random ports). The block keeps the values of the
// run that last wrote it.
func Ignore(re *regexp.Regexp) Option {
	return func(o *options) { o.ignore = append(o.ignore, re) }
}

// SchemaVersions is the Ignore options for output that quotes the
// database's schema version: a version number ("version 5", "version":5,
// schemaVersion 5) and a run of golang-migrate's progress lines ("4/u
// users_submitted_at (3.9ms)"), as slog text or JSON lines, each become
// "…". The number of migrations and the latest version change with every
// migration added (docs/contributing.md); the migrations tests check them,
// so a block that shows them need not be rewritten for each one.
func SchemaVersions() []Option {
	return []Option{
		Ignore(regexp.MustCompile(`(?m)(^.*msg=?"?:?"?[0-9]+/[ud] [a-z0-9_]+ \([^)]*\)"?\}?\n)+`)),
		Ignore(regexp.MustCompile(`(?i)(version"?:? *|schemaVersion"?:? *)[0-9]+`)),
	}
}

// Check compares got with the block that follows the marker name in page (a
// path relative to the repository root, e.g. "docs/infrastructure.md"). With
// SLUICE_UPDATE_DOCS=1 it writes got into the block instead and logs that it
// did.
func Check(tb testing.TB, page, name, got string, opts ...Option) {
	tb.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if got != "" && !strings.HasSuffix(got, "\n") {
		got += "\n"
	}
	path := filepath.Join(Root(tb), page)
	if os.Getenv(UpdateEnv) == "1" {
		changed, err := rewrite(path, name, got)
		if err != nil {
			tb.Fatalf("doccheck: %v", err)
		}
		if changed {
			tb.Logf("doccheck: rewrote the %q block of %s", name, page)
		}
		return
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("doccheck: %v", err)
	}
	b, err := find(raw, name)
	if err != nil {
		tb.Fatalf("doccheck: %s: %v", page, err)
	}
	want := string(raw[b.start:b.end])
	mask := func(s string) string {
		for _, re := range o.ignore {
			s = re.ReplaceAllString(s, "…")
		}
		return s
	}
	if mask(want) != mask(got) {
		tb.Errorf("doccheck: the %q block of %s (line %d) is not what the code prints; "+
			"if the new output is right, run the test again with %s=1 to rewrite the block:\n%s",
			name, page, b.line, UpdateEnv, Diff(mask(want), mask(got)))
	}
}

// Block returns the content of the fenced block that follows the marker name
// in page, one line per line, each ending in "\n".
func Block(tb testing.TB, page, name string) string {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(Root(tb), page))
	if err != nil {
		tb.Fatalf("doccheck: %v", err)
	}
	b, err := find(raw, name)
	if err != nil {
		tb.Fatalf("doccheck: %s: %v", page, err)
	}
	return string(raw[b.start:b.end])
}

// Root returns the repository root: the nearest directory at or above the
// working directory (a test's package directory) that holds go.mod.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatalf("doccheck: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("doccheck: no go.mod at or above the working directory")
		}
		dir = parent
	}
}

// block locates a fenced block's content in a page: raw[start:end], which
// starts on the line after the opening fence and ends before the closing one.
type block struct {
	start, end int
	fence      string // the opening fence's backticks
	line       int    // 1-based line of the marker
}

// Marker is one <!-- output: NAME --> line of a page.
type Marker struct {
	Name string
	Line int
}

// Markers lists the output markers of a page's content, in order.
func Markers(raw []byte) []Marker {
	var out []Marker
	for i, line := range strings.Split(string(raw), "\n") {
		if m := markerRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			out = append(out, Marker{Name: m[1], Line: i + 1})
		}
	}
	return out
}

// find returns the block after the only marker called name. The line after
// the marker must open a fence.
func find(raw []byte, name string) (block, error) {
	var found []block
	offset := 0
	lines := strings.SplitAfter(string(raw), "\n")
	for i, line := range lines {
		next := offset + len(line)
		if m := markerRE.FindStringSubmatch(strings.TrimSpace(line)); m != nil && m[1] == name {
			if i+1 >= len(lines) {
				return block{}, fmt.Errorf("marker %q at line %d: no fenced block follows", name, i+1)
			}
			open := strings.TrimRight(lines[i+1], "\n")
			fence := open[:len(open)-len(strings.TrimLeft(open, "`"))]
			if len(fence) < 3 {
				return block{}, fmt.Errorf("marker %q at line %d: the next line %q does not open a fenced block", name, i+1, open)
			}
			b := block{start: next + len(lines[i+1]), fence: fence, line: i + 1}
			pos := b.start
			closed := false
			for _, l := range lines[i+2:] {
				if strings.TrimRight(l, "\n") == fence {
					b.end, closed = pos, true
					break
				}
				pos += len(l)
			}
			if !closed {
				return block{}, fmt.Errorf("marker %q at line %d: the block is not closed with %s", name, i+1, fence)
			}
			found = append(found, b)
		}
		offset = next
	}
	switch len(found) {
	case 0:
		return block{}, fmt.Errorf("no <!-- output: %s --> marker", name)
	case 1:
		return found[0], nil
	}
	return block{}, fmt.Errorf("%d <!-- output: %s --> markers; a name must be unique in its page", len(found), name)
}

// rewrite replaces the content of the block name in the page at path with
// got, under an exclusive lock on the page: test binaries of different
// packages run at the same time and may rewrite blocks of the same page.
func rewrite(path, name, got string) (bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return false, err
	}
	defer f.Close()
	// Closing the file releases the lock.
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		return false, fmt.Errorf("lock %s: %w", path, err)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(f); err != nil {
		return false, fmt.Errorf("read %s: %w", path, err)
	}
	raw := buf.Bytes()
	b, err := find(raw, name)
	if err != nil {
		return false, fmt.Errorf("%s: %w", path, err)
	}
	for _, line := range strings.Split(got, "\n") {
		if strings.HasPrefix(line, b.fence) {
			return false, fmt.Errorf("%s: the output for %q has a line starting with %s, which would close its block; use a longer fence", path, name, b.fence)
		}
	}
	if string(raw[b.start:b.end]) == got {
		return false, nil
	}
	out := make([]byte, 0, len(raw)+len(got))
	out = append(out, raw[:b.start]...)
	out = append(out, got...)
	out = append(out, raw[b.end:]...)
	if err := f.Truncate(0); err != nil {
		return false, fmt.Errorf("truncate %s: %w", path, err)
	}
	if _, err := f.WriteAt(out, 0); err != nil {
		return false, fmt.Errorf("write %s: %w", path, err)
	}
	return true, nil
}

// Diff returns a line diff of want (the docs) and got (the code): lines only
// in the docs start with "- ", lines only in the output with "+ ", common
// lines with "  ". Runs of more than three common lines are elided.
func Diff(want, got string) string {
	a := strings.Split(strings.TrimSuffix(want, "\n"), "\n")
	b := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	// lcs[i][j] is the length of the longest common subsequence of a[i:]
	// and b[j:]; docs blocks are short, so the quadratic table is fine.
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	type line struct {
		op   byte
		text string
	}
	var lines []line
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			lines = append(lines, line{' ', a[i]})
			i, j = i+1, j+1
		case j < len(b) && (i == len(a) || lcs[i][j+1] > lcs[i+1][j]):
			lines = append(lines, line{'+', b[j]})
			j++
		default:
			lines = append(lines, line{'-', a[i]})
			i++
		}
	}
	var out strings.Builder
	near := func(k int) bool {
		for d := -1; d <= 1; d++ {
			if k+d >= 0 && k+d < len(lines) && lines[k+d].op != ' ' {
				return true
			}
		}
		return false
	}
	elided := false
	for k, l := range lines {
		if l.op == ' ' && !near(k) {
			if !elided {
				out.WriteString("  …\n")
				elided = true
			}
			continue
		}
		elided = false
		fmt.Fprintf(&out, "%c %s\n", l.op, l.text)
	}
	return out.String()
}
