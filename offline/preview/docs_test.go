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

// TestPreviewDevAsDocumented: docs/infrastructure.md shows the whole text
// preview of dev.
func TestPreviewDevAsDocumented(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--stack", "dev", "--dir", "../.."}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	doccheck.Check(t, "docs/infrastructure.md", "preview-dev", normaliseHashes(stdout.String()), doccheck.SchemaVersions()...)
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
