package lifecycle

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/offline/fakeaws"
	"github.com/sluicehq/sluice/testkit/lambdarie"
)

// Tools are the executables a rehearsal runs.
type Tools struct {
	CLI          string // the pulumi CLI (scripts/pulumi-cli.sh)
	LanguageHost string // pulumi-language-go (scripts/pulumi-language-go.sh)
	Provider     string // the stand-in pulumi-resource-aws, built from offline/fakeaws
	RIE          string // aws-lambda-rie (testkit/lambdarie)
	QEMU         string // qemu-aarch64-static
}

// findTools finds or builds every tool; the stand-in provider is built into
// binDir.
func findTools(root, binDir string) (Tools, error) {
	var t Tools
	var err error
	if t.CLI, err = ToolPath(root, "pulumi-cli.sh"); err != nil {
		return t, err
	}
	if t.LanguageHost, err = ToolPath(root, "pulumi-language-go.sh"); err != nil {
		return t, err
	}
	if t.Provider, err = fakeaws.BuildPlugin(root, binDir); err != nil {
		return t, err
	}
	if t.RIE, err = lambdarie.Install(); err != nil {
		return t, err
	}
	if t.QEMU, err = exec.LookPath(fakeaws.QEMUAarch64); err != nil {
		return t, fmt.Errorf("the migrator's arm64 bootstrap runs through %s (Debian: apt-get install qemu-user-static): %w", fakeaws.QEMUAarch64, err)
	}
	return t, nil
}

// ToolPath runs scripts/<name> of the repository at root, which prints
// the path of a tool it finds or builds (pulumi-cli.sh,
// pulumi-language-go.sh).
func ToolPath(root, name string) (string, error) {
	cmd := exec.Command("bash", filepath.Join(root, "scripts", name))
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("scripts/%s: %w\n%s", name, err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

// copyRepository copies the working tree of the repository at root into
// dst, as a user's checkout holds it: the files git tracks and the
// untracked ones it does not ignore (every file but .git outside git).
// The engine rewrites the stack files it is given (it adds an
// encryptionsalt), so it never runs in the repository itself.
func copyRepository(root, dst string) error {
	files, err := workingTree(root)
	if err != nil {
		return err
	}
	for _, rel := range files {
		src := filepath.Join(root, rel)
		info, err := os.Lstat(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue // deleted in the working tree
		}
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			continue
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
}

func workingTree(root string) ([]string, error) {
	cmd := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	cmd.Dir = root
	if out, err := cmd.Output(); err == nil {
		var files []string
		for _, f := range strings.Split(string(out), "\x00") {
			if f != "" {
				files = append(files, f)
			}
		}
		return files, nil
	}
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		if !d.IsDir() {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return err
			}
			files = append(files, rel)
		}
		return nil
	})
	return files, err
}
