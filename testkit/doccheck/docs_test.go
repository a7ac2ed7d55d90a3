package doccheck

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// pages returns README.md and docs/*.md, relative to the repository root.
func pages(t *testing.T, root string) []string {
	t.Helper()
	docs, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := []string{"README.md"}
	for _, d := range docs {
		rel, _ := filepath.Rel(root, d)
		out = append(out, filepath.ToSlash(rel))
	}
	return out
}

// TestEveryOutputBlockIsChecked fails for a marker in the docs that no test
// checks: a test counts for a marker when one of its files imports this
// package and holds both the page path and the marker name as string
// literals (so a table of pages and names counts too).
func TestEveryOutputBlockIsChecked(t *testing.T) {
	root := Root(t)
	literals := testLiterals(t, root)
	count := 0
	for _, page := range pages(t, root) {
		raw, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range Markers(raw) {
			count++
			if _, err := find(raw, m.Name); err != nil {
				t.Errorf("%s:%d: %v", page, m.Line, err)
			}
			covered := slices.ContainsFunc(literals, func(lits map[string]bool) bool { return lits[page] && lits[m.Name] })
			if !covered {
				t.Errorf("%s:%d: no test checks the %q block (call doccheck.Check(t, %q, %q, output) next to the code that prints it)", page, m.Line, m.Name, page, m.Name)
			}
		}
	}
	if count == 0 {
		t.Fatal("no output markers in the docs: the scan found nothing to check")
	}
}

// testLiterals returns, per _test.go file of the module that imports this
// package (outside it), the set of its string literals.
func testLiterals(t *testing.T, root string) []map[string]bool {
	t.Helper()
	const importPath = "github.com/sluicehq/sluice/testkit/doccheck"
	var out []map[string]bool
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, "_test.go") || filepath.Dir(path) == filepath.Join(root, "internal", "doccheck") {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(f.Imports, func(s *ast.ImportSpec) bool { return s.Path.Value == strconv.Quote(importPath) }) {
			return nil
		}
		lits := map[string]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			if b, ok := n.(*ast.BasicLit); ok && b.Kind == token.STRING {
				if s, err := strconv.Unquote(b.Value); err == nil {
					lits[s] = true
				}
			}
			return true
		})
		out = append(out, lits)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLinks checks every relative link of README.md and docs/*.md: the file
// exists, and a #fragment names a heading of the target page (GitHub's
// anchors), so moving a section cannot leave a dead link behind.
func TestLinks(t *testing.T) {
	root := Root(t)
	linkRE := regexp.MustCompile(`\]\(([^)\s]+)\)`)
	anchors := map[string]map[string]bool{}
	for _, page := range pages(t, root) {
		raw, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range prose(string(raw), false) {
			for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
				link := m[1]
				if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
					continue
				}
				file, frag, _ := strings.Cut(link, "#")
				target := page
				if file != "" {
					target = filepath.ToSlash(filepath.Join(filepath.Dir(page), file))
				}
				if _, err := os.Stat(filepath.Join(root, target)); err != nil {
					t.Errorf("%s:%d: link %s: no file %s", page, i+1, link, target)
					continue
				}
				if frag == "" || !strings.HasSuffix(target, ".md") {
					continue
				}
				if anchors[target] == nil {
					b, err := os.ReadFile(filepath.Join(root, target))
					if err != nil {
						t.Fatal(err)
					}
					anchors[target] = headingAnchors(string(b))
				}
				if !anchors[target][frag] {
					t.Errorf("%s:%d: link %s: %s has no heading with the anchor #%s", page, i+1, link, target, frag)
				}
			}
		}
	}
}

// prose returns the page's lines with fenced blocks blanked out and, unless
// keepCode, inline code too, so that code which looks like a link or a
// heading is not taken for one.
func prose(page string, keepCode bool) []string {
	lines := strings.Split(page, "\n")
	inlineCode := regexp.MustCompile("`[^`]*`")
	fence := ""
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		switch {
		case fence != "":
			if trimmed == fence {
				fence = ""
			}
			lines[i] = ""
		case strings.HasPrefix(trimmed, "```"):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
			lines[i] = ""
		case !keepCode:
			lines[i] = inlineCode.ReplaceAllString(l, "")
		}
	}
	return lines
}

// headingAnchors returns the anchors GitHub gives the page's headings:
// lower case, punctuation dropped, spaces to hyphens, "-1", "-2"… for
// repeats.
func headingAnchors(page string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	for _, line := range prose(page, true) {
		text, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(strings.TrimSpace(text)) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		a := b.String()
		if n := seen[a]; n > 0 {
			out[fmt.Sprintf("%s-%d", a, n)] = true
		} else {
			out[a] = true
		}
		seen[a]++
	}
	return out
}

func TestHeadingAnchors(t *testing.T) {
	got := headingAnchors("# Sluice\n## Lambda build (`infra/lambdabuild`)\n## Rotate the user's password\n```\n# not a heading\n```\n## Tests\n### Tests\n")
	for _, want := range []string{"sluice", "lambda-build-infralambdabuild", "rotate-the-users-password", "tests", "tests-1"} {
		if !got[want] {
			t.Errorf("no anchor %q in %v", want, got)
		}
	}
	if got["not-a-heading"] {
		t.Error("a line in a code block was taken for a heading")
	}
}

// TestReadmeIsShort: the README is the overview; everything else belongs in
// a page of docs/.
func TestReadmeIsShort(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(Root(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\n"); n > 150 {
		t.Errorf("README.md has %d lines; keep it at most 150 and move the rest into docs/", n)
	}
}
