package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/testkit/doccheck"
)

// normaliseHashes replaces the migration invocation's triggers that hash the
// migrator's archive and the SQL files: they change with that code (and the
// Go toolchain), so the docs say what they are instead of showing a value.
func normaliseHashes(out string) string {
	out = regexp.MustCompile(`"code":"[^"]*"`).ReplaceAllString(out, `"code":"<migrator sourceCodeHash>"`)
	return regexp.MustCompile(`"migrations":"[^"]*"`).ReplaceAllString(out, `"migrations":"<SHA-256 of migrations/sql>"`)
}

// shownComponent is the one component whose resources the documented
// excerpt of the dev preview lists in full: the migration step, whose
// triggers and secret input are what a reader of the preview asks about.
const shownComponent = "sluice:migration:Migration"

// excerpt shortens the text preview for the docs, deterministically, so the
// block still fails on drift: every component keeps its own line, but only
// shownComponent keeps its resources (each other one says how many lines it
// hides, so a resource or property added anywhere changes the excerpt); the
// policy verdicts keep their heading and their totals (docs/policy-pack.md
// shows every verdict, for prod); header, resource count and outputs stay
// whole.
func excerpt(out string) string {
	var b []string
	hidden, inTree, shown, inPolicies := 0, false, false, false
	flush := func() {
		if hidden > 0 {
			b = append(b, fmt.Sprintf("    … %d more lines", hidden))
			hidden = 0
		}
	}
	for _, l := range strings.Split(out, "\n") {
		switch {
		case strings.HasPrefix(l, "+ "):
			flush()
			inTree, shown = true, strings.HasPrefix(l, "+ "+shownComponent+" ")
			b = append(b, l)
		case inTree && strings.HasPrefix(l, " "):
			if shown {
				b = append(b, l)
			} else {
				hidden++
			}
		case strings.HasPrefix(l, "Policies ("):
			inPolicies = true
			b = append(b, l, "  …")
		case inPolicies && strings.HasPrefix(l, "  "):
		default:
			flush()
			inTree = false
			b = append(b, l)
		}
	}
	return strings.Join(b, "\n")
}

// TestPreviewDevAsDocumented: docs/infrastructure.md shows an excerpt of the
// text preview of dev (see excerpt).
func TestPreviewDevAsDocumented(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--stack", "dev", "--dir", "../.."}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	doccheck.Check(t, "docs/infrastructure.md", "preview-dev", excerpt(normaliseHashes(stdout.String())), doccheck.SchemaVersions()...)
}

// TestExcerpt: the excerpt keeps the shown component's resources, counts the
// others' lines and keeps the verdicts' totals.
func TestExcerpt(t *testing.T) {
	in := "Offline preview\n\n+ sluice:queue:Queue  q\n    + aws:sqs/queue:Queue  q\n          a: 1\n" +
		"+ " + shownComponent + "  m\n    + aws:lambda/invocation:Invocation  up\n\n2 resources\n\nOutputs:\n    x  1\n\n" +
		"Policies (pack p):\n  pass  mandatory  a\nPolicy violations: 0 mandatory, 0 advisory.\n"
	want := "Offline preview\n\n+ sluice:queue:Queue  q\n    … 2 more lines\n" +
		"+ " + shownComponent + "  m\n    + aws:lambda/invocation:Invocation  up\n\n2 resources\n\nOutputs:\n    x  1\n\n" +
		"Policies (pack p):\n  …\nPolicy violations: 0 mandatory, 0 advisory.\n"
	if got := excerpt(in); got != want {
		t.Errorf("excerpt:\n%s", doccheck.Diff(want, got))
	}
}

// TestBadSettingsAsDocumented: docs/configuration.md shows what a stack
// file with a cross-field error and a misspelt key prints: dev with
// reservedConcurrency 2 and maxConcurrency 5 (above it) and maxReceiveCount
// written maxRecieveCount.
func TestBadSettingsAsDocumented(t *testing.T) {
	stackFile, err := os.ReadFile("../../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := string(stackFile)
	for old, repl := range map[string]string{
		"sluice:maxConcurrency: 2\n":      "sluice:maxConcurrency: 5\n",
		"sluice:reservedConcurrency: 0\n": "sluice:reservedConcurrency: 2\n",
		"sluice:maxReceiveCount: 5\n":     "sluice:maxRecieveCount: 3\n",
	} {
		if !strings.Contains(bad, old) {
			t.Fatalf("Pulumi.dev.yaml has no %q line to change", old)
		}
		bad = strings.Replace(bad, old, repl, 1)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.bad.yaml"), []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"--stack", "bad", "--dir", dir}, &stdout, &stderr)
	if code != exitBadSettings || stdout.Len() != 0 {
		t.Fatalf("exit %d, stdout %q", code, stdout.String())
	}
	shown := "$ go run ./offline/preview --stack bad --dir /tmp/x\n" +
		strings.ReplaceAll(stderr.String(), dir, "/tmp/x") +
		fmt.Sprintf("exit status %d\n", code) // what `go run` adds
	doccheck.Check(t, "docs/configuration.md", "bad-settings", shown)
}
