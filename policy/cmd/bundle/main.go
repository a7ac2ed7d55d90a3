// Command bundle writes the policy pack as a self-contained directory that
// `pulumi policy publish` can upload. Publish archives only the pack's
// directory, and Pulumi compiles a Go pack from that archive wherever the
// pack is enforced, so the archive needs the go.mod and go.sum that live at
// the repository root, next to the pack's main package and the packages it
// imports (policy/analyzer, policy/rules). The bundle keeps the module path,
// so the import paths stay as they are.
//
//	go run ./policy/cmd/bundle -o dist/policy-pack
//	cd dist/policy-pack && pulumi policy publish <org>
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// packages are the pack's packages besides main, relative to the module root.
var packages = []string{"policy/analyzer", "policy/rules"}

func main() {
	out := flag.String("o", "dist/policy-pack", "directory to write the pack to (must not exist)")
	root := flag.String("root", ".", "module root holding go.mod and policy/")
	flag.Parse()
	if err := bundle(*root, *out); err != nil {
		fmt.Fprintf(os.Stderr, "bundle: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("policy pack written to %s\n", *out)
}

func bundle(root, out string) error {
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s already exists", out)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	copies := map[string]string{
		"go.mod":                   "go.mod",
		"go.sum":                   "go.sum",
		"policy/PulumiPolicy.yaml": "PulumiPolicy.yaml",
		"policy/main.go":           "main.go",
	}
	for _, pkg := range packages {
		entries, err := os.ReadDir(filepath.Join(root, pkg))
		if err != nil {
			return fmt.Errorf("read %s: %w", pkg, err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			copies[filepath.Join(pkg, name)] = filepath.Join(pkg, name)
		}
	}
	for src, dst := range copies {
		if err := copyFile(filepath.Join(root, src), filepath.Join(out, dst)); err != nil {
			return err
		}
	}
	return nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("open %s: %w", src, err)
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return fmt.Errorf("create %s: %w", filepath.Dir(dst), err)
	}
	outf, err := os.Create(dst)
	if err != nil {
		return fmt.Errorf("create %s: %w", dst, err)
	}
	if _, err := io.Copy(outf, in); err != nil {
		outf.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	if err := outf.Close(); err != nil {
		return fmt.Errorf("write %s: %w", dst, err)
	}
	return nil
}
