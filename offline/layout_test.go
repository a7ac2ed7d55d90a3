package offline

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/sluicehq/sluice"

// pkg is what the layout rules read of `go list -json`.
type pkg struct {
	ImportPath, Name                   string
	Imports, TestImports, XTestImports []string
}

// testKits may import testing outside offline/ and testkit/: policy/ is its
// own module (the directory `pulumi policy publish` uploads builds on its
// own), so the pack's kit lives next to its rules, as httptest next to http.
var testKits = []string{module + "/policy/rules/rulestest"}

// layoutProblems returns every breach of the layout rules in pkgs (the
// packages of both modules):
//   - outside offline/ and testkit/, a non-test file imports testing;
//   - a package of infra/ other than the program and the stack links
//     infra/stack in its tests (a component's test must not build the
//     whole program);
//   - two packages other than commands share a name.
func layoutProblems(pkgs []pkg) []string {
	var problems []string
	byPath := make(map[string]pkg, len(pkgs))
	for _, p := range pkgs {
		byPath[p.ImportPath] = p
	}
	names := map[string][]string{}
	for _, p := range pkgs {
		rel := strings.TrimPrefix(p.ImportPath, module+"/")
		proof := strings.HasPrefix(rel, "offline/") || strings.HasPrefix(rel, "testkit/") || slices.Contains(testKits, p.ImportPath)
		if !proof && slices.Contains(p.Imports, "testing") {
			problems = append(problems, fmt.Sprintf("%s imports testing in a non-test file: move the helper to a _test.go file, offline/ or testkit/", rel))
		}
		if strings.HasPrefix(rel, "infra/") && rel != "infra/stack" {
			roots := slices.Concat(p.Imports, p.TestImports, p.XTestImports)
			if via, ok := reaches(byPath, roots, module+"/infra/stack", p.ImportPath); ok {
				problems = append(problems, fmt.Sprintf("the tests of %s link infra/stack (through %s): a component's tests build the component, not the program", rel, strings.TrimPrefix(via, module+"/")))
			}
		}
		if p.Name != "main" {
			names[p.Name] = append(names[p.Name], rel)
		}
	}
	for name, paths := range names {
		if len(paths) > 1 {
			slices.Sort(paths)
			problems = append(problems, fmt.Sprintf("package name %s is used by %s", name, strings.Join(paths, " and ")))
		}
	}
	slices.Sort(problems)
	return problems
}

// reaches reports whether target is among roots or their imports within
// the module (other modules cannot import it), and which root leads there.
// self, the package under test, is skipped: its external tests import it.
func reaches(byPath map[string]pkg, roots []string, target, self string) (string, bool) {
	for _, root := range roots {
		seen := map[string]bool{self: true}
		stack := []string{root}
		for len(stack) > 0 {
			path := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if seen[path] {
				continue
			}
			seen[path] = true
			if path == target {
				return root, true
			}
			stack = append(stack, byPath[path].Imports...)
		}
	}
	return "", false
}

func TestLayoutProblems(t *testing.T) {
	clean := []pkg{
		{ImportPath: module + "/infra/stack", Name: "stack", Imports: []string{module + "/infra/queue"}},
		{ImportPath: module + "/infra/queue", Name: "queue", XTestImports: []string{module + "/infra/queue", module + "/offline/componenttest"}},
		{ImportPath: module + "/offline/componenttest", Name: "componenttest", Imports: []string{"testing", module + "/offline/mocks"}},
		{ImportPath: module + "/offline/mocks", Name: "mocks"},
		{ImportPath: module + "/offline/stackrun", Name: "stackrun", Imports: []string{module + "/infra/stack"}},
		{ImportPath: module + "/consumer/cmd/consumer", Name: "main"},
		{ImportPath: module + "/infra", Name: "main", Imports: []string{module + "/infra/stack"}},
	}
	tests := []struct {
		name string
		pkgs []pkg
		want string // a problem must contain it; empty: no problem
	}{
		{"clean", clean, ""},
		{"testing outside the proof tree", append(slices.Clone(clean),
			pkg{ImportPath: module + "/infra/limits", Name: "limits", Imports: []string{"testing"}}), "infra/limits imports testing"},
		{"a component's test links the stack", append(slices.Clone(clean),
			pkg{ImportPath: module + "/infra/api", Name: "api", TestImports: []string{module + "/offline/stackrun"}}), "the tests of infra/api link infra/stack (through offline/stackrun)"},
		{"a kit that links the stack", append(slices.Clone(clean)[1:],
			pkg{ImportPath: module + "/infra/stack", Name: "stack"},
			pkg{ImportPath: module + "/offline/mocks", Name: "mocks", Imports: []string{module + "/infra/stack"}}), "the tests of infra/queue link infra/stack (through offline/componenttest)"},
		{"two packages named consumer", append(slices.Clone(clean),
			pkg{ImportPath: module + "/consumer", Name: "consumer"}, pkg{ImportPath: module + "/infra/consumerfunc", Name: "consumer"}), "package name consumer is used by consumer and infra/consumerfunc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := layoutProblems(tt.pkgs)
			if tt.want == "" {
				if len(got) != 0 {
					t.Errorf("problems %q, want none", got)
				}
				return
			}
			if !slices.ContainsFunc(got, func(p string) bool { return strings.Contains(p, tt.want) }) {
				t.Errorf("problems %q, want one containing %q", got, tt.want)
			}
		})
	}
}

// TestLayout holds the repository to the layout of the package comment
// (`make lint` runs it).
func TestLayout(t *testing.T) {
	cmd := exec.Command("go", "list", "-e", "-json", "./...", "./policy/...")
	cmd.Dir = ".."
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []pkg
	for dec := json.NewDecoder(bytes.NewReader(out)); ; {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 40 {
		t.Fatalf("go list found %d packages; run from offline/ in the repository", len(pkgs))
	}
	for _, p := range layoutProblems(pkgs) {
		t.Error(p)
	}
}
