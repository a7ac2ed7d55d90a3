package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestBundleBuildsOnItsOwn bundles the pack and compiles the bundle as the
// Go language host would where the pack is enforced: in its own directory,
// with only what the bundle holds.
func TestBundleBuildsOnItsOwn(t *testing.T) {
	out := filepath.Join(t.TempDir(), "pack")
	if err := bundle("../../..", out); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"PulumiPolicy.yaml", "go.mod", "go.sum", "main.go", "policy/rules/rules.go", "policy/analyzer/serve.go"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("bundle lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "policy/rules/rules_test.go")); err == nil {
		t.Error("bundle holds test files")
	}
	build := exec.Command("go", "build", "-mod=readonly", "-o", filepath.Join(t.TempDir(), "pack-bin"), ".")
	build.Dir = out
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building the bundle: %v\n%s", err, b)
	}
	if err := bundle("../../..", out); err == nil {
		t.Error("bundling over an existing directory succeeded")
	}
}
