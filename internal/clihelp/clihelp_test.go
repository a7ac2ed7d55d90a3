package clihelp

import (
	"context"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRequested(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{nil, false},
		{[]string{"-h"}, true},
		{[]string{"-help"}, true},
		{[]string{"--help"}, true},
		{[]string{"up", "--help"}, true},
		{[]string{"help"}, false}, // a command word, for the commands that have one
		{[]string{"-v", "--helpful"}, false},
	}
	for _, tt := range tests {
		if got := Requested(tt.args); got != tt.want {
			t.Errorf("Requested(%q) = %t, want %t", tt.args, got, tt.want)
		}
	}
}

// commands lists every main package of the module with the help
// invocations it must answer with status 0 and what that help must say.
// A main package missing here fails TestEveryCommandAnswersHelp.
var commands = map[string]struct {
	invocations [][]string
	says        []string
}{
	"consumer/cmd/consumer":   {[][]string{{"-h"}, {"--help"}}, []string{"Lambda", "SLUICE_DB_ENDPOINT", "SLUICE_MAX_STATEMENT_BYTES"}},
	"migrations/cmd/migrator": {[][]string{{"-h"}, {"--help"}, {"help"}, {"up", "--help"}}, []string{"usage: migrator", "force V"}},
	"deploycheck":             {[][]string{{"-h"}, {"--help"}}, []string{"go run ./deploycheck --stack <stack>", "-probe-wait"}},
	"local":                   {[][]string{{"-h"}, {"--help"}, {"help"}}, []string{"go run ./local spike [flags]"}},
	"infra":                   {[][]string{{"-h"}, {"--help"}}, []string{"Pulumi program", "pulumi preview --stack dev --policy-pack policy"}},
	"offline/preview":         {[][]string{{"-h"}, {"--help"}}, []string{"go run ./offline/preview --stack dev", "-json"}},
	"offline/fakeaws/cmd/pulumi-resource-aws": {[][]string{{"-h"}, {"--help"}}, []string{"stands in for the pulumi-resource-aws provider", "-tracing"}},
	"offline/lifecycle/cmd/rehearse":          {[][]string{{"-h"}, {"--help"}}, []string{"make rehearse", "one JSON object", "-work"}},
	"policy":                                  {[][]string{{"-h"}, {"--help"}}, []string{"policy pack", "--policy-pack policy"}},
}

// hidden is what a command's help must not show: the flags glog registers
// on flag.CommandLine when the Pulumi SDK is linked are not the command's.
var hidden = map[string][]string{
	"offline/fakeaws/cmd/pulumi-resource-aws": {"-log_dir", "-vmodule", "-alsologtostderr"},
	"offline/lifecycle/cmd/rehearse":          {"-log_dir", "-vmodule", "-logtostderr"},
}

// TestEveryCommandAnswersHelp builds every main package of the
// repository's modules (the root module and policy/, the pack's own) and
// runs each help invocation: status 0, and the help says what the command
// is. The local command's flags per subcommand are checked in package
// main of ./local.
func TestEveryCommandAnswersHelp(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every command of the repository (about 90 s on the 2-core machine); make test runs it")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	bin := t.TempDir()
	built := map[string]bool{} // path relative to the repository root
	for _, module := range modules(t, root) {
		dir := filepath.Join(root, module)
		list := exec.Command("go", "list", "-f", `{{if eq .Name "main"}}{{.Dir}}{{end}}`, "./...")
		list.Dir = dir
		out, err := list.Output()
		if err != nil {
			t.Fatalf("go list in %s: %v", dir, err)
		}
		var pkgs []string
		for _, pkgDir := range strings.Fields(string(out)) {
			rel, err := filepath.Rel(root, pkgDir)
			if err != nil {
				t.Fatal(err)
			}
			rel = filepath.ToSlash(rel)
			if _, ok := commands[rel]; !ok {
				t.Errorf("command %s is not in the help table: add its help invocations", rel)
				continue
			}
			pkgs = append(pkgs, pkgDir)
			built[rel] = true
		}
		if len(pkgs) == 0 {
			continue
		}
		build := exec.Command("go", append([]string{"build", "-o", bin + string(os.PathSeparator)}, pkgs...)...)
		build.Dir = dir
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build in %s: %v\n%s", dir, err, out)
		}
	}
	for rel := range commands {
		if !built[rel] {
			t.Errorf("%s is in the help table but is not a main package of the repository", rel)
		}
	}
	for _, rel := range slices.Sorted(maps.Keys(built)) {
		c := commands[rel]
		for _, args := range c.invocations {
			t.Run(rel+" "+strings.Join(args, " "), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				cmd := exec.CommandContext(ctx, filepath.Join(bin, path.Base(rel)), args...)
				cmd.Dir = root
				// Nothing that would make a command do its job instead:
				// no Lambda runtime, no engine configuration.
				cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("%v\n%s", err, out)
				}
				for _, s := range c.says {
					if !strings.Contains(string(out), s) {
						t.Errorf("help lacks %q:\n%s", s, out)
					}
				}
				for _, s := range hidden[rel] {
					if strings.Contains(string(out), s) {
						t.Errorf("help shows %s, not a flag of this command:\n%s", s, out)
					}
				}
			})
		}
	}
}

// modules returns the directories, relative to root, that hold a go.mod.
func modules(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "go.mod" {
			rel, err := filepath.Rel(root, filepath.Dir(p))
			if err != nil {
				return err
			}
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(out, ".") {
		t.Fatalf("no go.mod at %s", root)
	}
	return out
}
