package lambdabuild

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newModule copies testdata/hello into a throw-away module, with greeting
// replaced when greeting is not empty, and returns the module directory.
func newModule(t *testing.T, greeting string) string {
	t.Helper()
	dir := t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", "hello", "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	if greeting != "" {
		src = []byte(strings.Replace(string(src), `"hello"`, `"`+greeting+`"`, 1))
	}
	files := map[string]string{
		"go.mod":            "module example.com/hello\n\ngo 1.26\n",
		"cmd/hello/main.go": string(src),
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func build(t *testing.T, moduleDir string) Archive {
	t.Helper()
	a, err := Build(context.Background(), Options{Package: "./cmd/hello", Dir: moduleDir, OutDir: t.TempDir()})
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return a
}

func TestBuildIsReproducible(t *testing.T) {
	mod := newModule(t, "")
	first := build(t, mod)
	second := build(t, mod)
	if first.Path == second.Path {
		t.Fatalf("both builds wrote %s; want different output directories", first.Path)
	}
	if first.SourceCodeHash != second.SourceCodeHash {
		t.Errorf("same source, different hashes: %s vs %s", first.SourceCodeHash, second.SourceCodeHash)
	}
	// The same source in another directory must give the same bytes too
	// (-trimpath keeps the checkout path out of the binary).
	elsewhere := build(t, newModule(t, ""))
	if elsewhere.SourceCodeHash != first.SourceCodeHash {
		t.Errorf("same source in another directory, different hash: %s vs %s", elsewhere.SourceCodeHash, first.SourceCodeHash)
	}
	t.Logf("sourceCodeHash %s (three builds)", first.SourceCodeHash)
}

func TestBuildChangesWithSource(t *testing.T) {
	a := build(t, newModule(t, ""))
	b := build(t, newModule(t, "bonjour"))
	if a.SourceCodeHash == b.SourceCodeHash {
		t.Fatalf("different source, same hash %s", a.SourceCodeHash)
	}
}

func TestArchiveShape(t *testing.T) {
	a := build(t, newModule(t, ""))

	raw, err := os.ReadFile(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(raw)
	if got := base64.StdEncoding.EncodeToString(sum[:]); got != a.SourceCodeHash {
		t.Errorf("SourceCodeHash %s is not the base64 SHA-256 of the file (%s)", a.SourceCodeHash, got)
	}

	zr, err := zip.OpenReader(a.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("archive entries %v, want exactly [bootstrap]", names(zr.File))
	}
	entry := zr.File[0]
	if entry.Mode().Perm() != 0o755 {
		t.Errorf("bootstrap mode %v, want 0755", entry.Mode())
	}
	if !entry.Modified.Equal(entryTime) {
		t.Errorf("bootstrap time %v, want the fixed %v", entry.Modified, entryTime)
	}

	// The binary must be what provided.al2023 on arm64 can execute.
	extracted := filepath.Join(t.TempDir(), "bootstrap")
	rc, err := entry.Open()
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, entry.UncompressedSize64)
	if _, err := io.ReadFull(rc, data); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if err := os.WriteFile(extracted, data, 0o755); err != nil {
		t.Fatal(err)
	}
	ef, err := elf.Open(extracted)
	if err != nil {
		t.Fatalf("bootstrap is not an ELF binary: %v", err)
	}
	defer ef.Close()
	if ef.Machine != elf.EM_AARCH64 || ef.OSABI != elf.ELFOSABI_NONE && ef.OSABI != elf.ELFOSABI_LINUX {
		t.Errorf("bootstrap is %v/%v, want EM_AARCH64 for Linux", ef.Machine, ef.OSABI)
	}
	if interp := ef.Section(".interp"); interp != nil {
		t.Error("bootstrap has a dynamic loader (.interp): CGO_ENABLED=0 should give a static binary")
	}
}

func TestBuildErrors(t *testing.T) {
	mod := newModule(t, "")
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no package", Options{Dir: mod}, "Package is empty"},
		{"go missing", Options{Package: "./cmd/hello", Dir: mod, Go: filepath.Join(t.TempDir(), "go")}, "Go toolchain is needed"},
		{"not a module", Options{Package: "./cmd/hello", Dir: t.TempDir()}, "not inside a Go module"},
		{"compile error", Options{Package: "./cmd/missing", Dir: mod}, "go build ./cmd/missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.OutDir = t.TempDir()
			_, err := Build(context.Background(), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func names(files []*zip.File) []string {
	var out []string
	for _, f := range files {
		out = append(out, f.Name)
	}
	return out
}
