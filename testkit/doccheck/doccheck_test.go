package doccheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const page = "# Page\n\nText.\n\n<!-- output: greeting -->\n```text\nhello\nworld\n```\n\nMore.\n\n<!-- output: other -->\n````console\n$ echo\n```\n````\n"

func TestFind(t *testing.T) {
	tests := []struct {
		name, page, block string
		want              string // block content, or the error's substring
		wantErr           bool
	}{
		{name: "block", page: page, block: "greeting", want: "hello\nworld\n"},
		{name: "longer fence holds a shorter one", page: page, block: "other", want: "$ echo\n```\n"},
		{name: "empty block", page: "<!-- output: e -->\n```\n```\n", block: "e", want: ""},
		{name: "no marker", page: page, block: "missing", want: "no <!-- output: missing --> marker", wantErr: true},
		{name: "twice", page: page + page, block: "greeting", want: "2 <!-- output: greeting --> markers", wantErr: true},
		{name: "no fence after marker", page: "<!-- output: x -->\n\n```\na\n```\n", block: "x", want: "does not open a fenced block", wantErr: true},
		{name: "marker on the last line", page: "<!-- output: x -->", block: "x", want: "no fenced block follows", wantErr: true},
		{name: "unclosed", page: "<!-- output: x -->\n```\na\n", block: "x", want: "not closed", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := find([]byte(tt.page), tt.block)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want one containing %q", err, tt.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.page[b.start:b.end]; got != tt.want {
				t.Errorf("block = %q, want %q", got, tt.want)
			}
		})
	}
}

// inRepo makes a throw-away repository (go.mod and docs/page.md) the
// working directory of the test.
func inRepo(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module example.com/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "docs", "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "docs", "page.md")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(filepath.Join(dir, "docs", "sub")) // Root must walk up to go.mod
	return path
}

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	errors []string
	fatal  bool
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errors = append(r.errors, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	r.fatal = true
	panic(r)
}
func (r *recorder) Logf(string, ...any) {}

// run calls f with a recorder and returns it after f returned or failed.
func run(t *testing.T, f func(tb testing.TB)) (r *recorder) {
	r = &recorder{TB: t}
	defer func() {
		if p := recover(); p != nil && p != any(r) {
			panic(p)
		}
	}()
	f(r)
	return r
}

func TestCheck(t *testing.T) {
	inRepo(t, page)
	if r := run(t, func(tb testing.TB) { Check(tb, "docs/page.md", "greeting", "hello\nworld") }); len(r.errors) > 0 {
		t.Errorf("same output (without the final newline) reported: %v", r.errors)
	}
	r := run(t, func(tb testing.TB) { Check(tb, "docs/page.md", "greeting", "hello\nthere\n") })
	if len(r.errors) != 1 || !strings.Contains(r.errors[0], "- world\n+ there") || !strings.Contains(r.errors[0], UpdateEnv+"=1") || !strings.Contains(r.errors[0], "line 5") {
		t.Errorf("changed output: errors %q", r.errors)
	}
	r = run(t, func(tb testing.TB) { Check(tb, "docs/page.md", "nope", "x") })
	if !r.fatal || !strings.Contains(r.errors[0], "no <!-- output: nope --> marker") {
		t.Errorf("missing marker: %q", r.errors)
	}
}

func TestCheckIgnore(t *testing.T) {
	inRepo(t, "<!-- output: log -->\n```\ntime=2026-01-01T00:00:00Z took 31ms\nlast\n```\n")
	ts := Ignore(regexp.MustCompile(`time=\S+`))
	ms := Ignore(regexp.MustCompile(`\d+ms`))
	if r := run(t, func(tb testing.TB) {
		Check(tb, "docs/page.md", "log", "time=2027-05-05T10:10:10Z took 7ms\nlast\n", ts, ms)
	}); len(r.errors) > 0 {
		t.Errorf("ignored values reported: %v", r.errors)
	}
	if r := run(t, func(tb testing.TB) {
		Check(tb, "docs/page.md", "log", "time=2027-05-05T10:10:10Z took 7ms\nfirst\n", ts, ms)
	}); len(r.errors) != 1 {
		t.Errorf("a changed line next to ignored values: errors %q", r.errors)
	}
}

func TestCheckUpdate(t *testing.T) {
	path := inRepo(t, page)
	t.Setenv(UpdateEnv, "1")
	if r := run(t, func(tb testing.TB) { Check(tb, "docs/page.md", "greeting", "bonjour\n") }); len(r.errors) > 0 {
		t.Fatal(r.errors)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Replace(page, "hello\nworld\n", "bonjour\n", 1); string(raw) != want {
		t.Errorf("rewritten page:\n%s\nwant:\n%s", raw, want)
	}
	// Output that would close the fence is refused, and the page is kept.
	r := run(t, func(tb testing.TB) { Check(tb, "docs/page.md", "greeting", "a\n```\nb\n") })
	if !r.fatal || !strings.Contains(r.errors[0], "use a longer fence") {
		t.Errorf("fence in output: %q", r.errors)
	}
	if again, _ := os.ReadFile(path); string(again) != string(raw) {
		t.Error("the page changed after a refused rewrite")
	}
	// After the update the comparison passes.
	t.Setenv(UpdateEnv, "")
	if r := run(t, func(tb testing.TB) { Check(tb, "docs/page.md", "greeting", "bonjour\n") }); len(r.errors) > 0 {
		t.Errorf("after update: %v", r.errors)
	}
}

func TestDiff(t *testing.T) {
	tests := []struct{ want, got, diff string }{
		{"a\nb\nc\n", "a\nB\nc\n", "  a\n- b\n+ B\n  c\n"},
		{"a\n", "a\nb\n", "  a\n+ b\n"},
		{"1\n2\n3\n4\n5\nx\n", "1\n2\n3\n4\n5\ny\n", "  …\n  5\n- x\n+ y\n"},
	}
	for _, tt := range tests {
		if got := Diff(tt.want, tt.got); got != tt.diff {
			t.Errorf("Diff(%q, %q) =\n%s\nwant\n%s", tt.want, tt.got, got, tt.diff)
		}
	}
}

func TestMarkers(t *testing.T) {
	got := Markers([]byte(page))
	if len(got) != 2 || got[0] != (Marker{"greeting", 5}) || got[1] != (Marker{"other", 13}) {
		t.Errorf("Markers = %v", got)
	}
}

func TestSchemaVersionsMasksVersionsAndProgress(t *testing.T) {
	mask := func(s string) string {
		var o options
		for _, opt := range SchemaVersions() {
			opt(&o)
		}
		for _, re := range o.ignore {
			s = re.ReplaceAllString(s, "…")
		}
		return s
	}
	for _, pair := range [][2]string{
		{"$ up\ntime=a level=INFO msg=\"1/u create_users (3ms)\"\ntime=b level=INFO msg=\"5/u create_quarantine (1ms)\"\ndatabase d: version 5 (clean)\n",
			"$ up\ntime=a level=INFO msg=\"1/u create_users (3ms)\"\ntime=b level=INFO msg=\"5/u create_quarantine (1ms)\"\ntime=c level=INFO msg=\"6/u users_phone (2ms)\"\ndatabase d: version 6 (clean)\n"},
		{`{"time":"x","level":"INFO","msg":"5/u create_quarantine (71.3ms)"}` + "\n" + `{"action":"up","version":5,"dirty":false}`,
			`{"time":"x","level":"INFO","msg":"5/u create_quarantine (71.3ms)"}` + "\n" + `{"time":"y","level":"INFO","msg":"6/u users_phone (1ms)"}` + "\n" + `{"action":"up","version":6,"dirty":false}`},
		{`"schemaVersion":5,"publish"`, `"schemaVersion":6,"publish"`},
		{"    schemaVersion    5\n", "    schemaVersion    6\n"},
	} {
		if a, b := mask(pair[0]), mask(pair[1]); a != b {
			t.Errorf("masked differently:\n%s\n---\n%s", a, b)
		}
	}
	if mask("dirty: false, version 5") == mask("dirty: true, version 5") {
		t.Error("SchemaVersions masks more than versions")
	}
}

// nextMigration is block as it would read with one more migration: each
// run of progress lines gains a line, and every schema version changes.
func nextMigration(block string) string {
	progress := regexp.MustCompile(`[0-9]+/[ud] [a-z0-9_]+ `)
	lines := strings.SplitAfter(block, "\n")
	var out []string
	for i, l := range lines {
		out = append(out, l)
		if progress.MatchString(l) && (i+1 == len(lines) || !progress.MatchString(lines[i+1])) {
			out = append(out, progress.ReplaceAllString(l, "99/u users_phone "))
		}
	}
	return regexp.MustCompile(`(?i)(version"?:? *)[0-9]+`).ReplaceAllString(strings.Join(out, ""), "${1}99")
}

// TestSchemaVersionsCoverTheDocs: every block that shows the schema version
// matches itself as it would read with one more migration once
// SchemaVersions masks both, so adding a migration needs no doc rewrite
// (internal/recipe proves it for the migrator's and the preview's blocks by
// running them; the lifecycle's are checked here on their text).
func TestSchemaVersionsCoverTheDocs(t *testing.T) {
	var o options
	for _, opt := range SchemaVersions() {
		opt(&o)
	}
	mask := func(s string) string {
		for _, re := range o.ignore {
			s = re.ReplaceAllString(s, "…")
		}
		return s
	}
	for _, b := range []struct{ page, name string }{
		{"docs/database.md", "migrator-cli"}, {"docs/database.md", "migrator-lambda"}, {"docs/database.md", "migrator-lambda-log"},
		{"docs/operating.md", "dirty-database"}, {"docs/infrastructure.md", "preview-dev"},
		{"docs/deploying.md", "rehearse-summary"}, {"docs/testing.md", "migration-run"},
	} {
		block := Block(t, b.page, b.name)
		next := nextMigration(block)
		if next == block {
			t.Errorf("%s %s shows no schema version", b.page, b.name)
		}
		if mask(block) != mask(next) {
			t.Errorf("%s %s: one more migration changes the masked block:\n%s", b.page, b.name, Diff(mask(block), mask(next)))
		}
	}
}
