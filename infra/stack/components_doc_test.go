package stack_test

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/testkit/doccheck"
)

// update rewrites the components block of docs/infrastructure.md:
//
//	go test ./infra/stack -run TestComponentsDoc -update
var update = flag.Bool("update", false, "rewrite the components block of docs/infrastructure.md from the components' source")

// components are the packages of infra/ that define a component, in the
// order the stack wires them.
var components = []string{"network", "database", "proxy", "queue", "dbfunction", "migration", "consumerfn", "api", "observability"}

// TestComponentsDoc: docs/infrastructure.md lists every Args field and
// every output of every component with its doc comment, as the source
// declares them, and every one of them has a doc comment.
func TestComponentsDoc(t *testing.T) {
	var b strings.Builder
	for _, name := range components {
		c, err := parseComponent(filepath.Join("..", name))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range append(c.args, c.outputs...) {
			if f.doc == "" {
				t.Errorf("infra/%s: %s has no doc comment", name, f.name)
			}
		}
		b.WriteString(c.markdown(name))
	}
	const begin, end = "<!-- components:begin (generated from the components' source) -->\n", "<!-- components:end -->"
	path := filepath.Join("..", "..", "docs", "infrastructure.md")
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	before, rest, ok1 := strings.Cut(string(raw), begin)
	got, after, ok2 := strings.Cut(rest, end)
	if !ok1 || !ok2 {
		t.Fatalf("docs/infrastructure.md lacks the markers %q … %q", strings.TrimSpace(begin), end)
	}
	if *update {
		if err := os.WriteFile(path, []byte(before+begin+b.String()+end+after), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != b.String() {
		t.Errorf("docs/infrastructure.md's components differ from their source (- doc, + source); regenerate with:\n\tmake generate\n%s", doccheck.Diff(got, b.String()))
	}
}

type field struct{ name, typ, tag, doc string }

type component struct {
	typeName, token string
	args, outputs   []field
}

func (c component) markdown(pkg string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "### `infra/%s`: %s (`%s`)\n\n", pkg, c.typeName, c.token)
	b.WriteString("| Args field, or output | type | description |\n|---|---|---|\n")
	for _, f := range c.args {
		fmt.Fprintf(&b, "| `%s` | `%s` | %s |\n", f.name, f.typ, f.doc)
	}
	for _, f := range c.outputs {
		registered := "not registered"
		if f.tag != "" {
			registered = "`" + f.tag + "`"
		}
		fmt.Fprintf(&b, "| output `%s` (%s) | `%s` | %s |\n", f.name, registered, f.typ, f.doc)
	}
	b.WriteString("\n")
	return b.String()
}

// parseComponent reads a component package's Args struct, its component
// struct (the type that embeds pulumi.ResourceState) and the type token it
// registers.
func parseComponent(dir string) (component, error) {
	fset := token.NewFileSet()
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return component{}, err
	}
	var files []*ast.File
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			return component{}, err
		}
		files = append(files, f)
	}
	var c component
	consts := map[string]string{}
	for _, file := range files {
		ast.Inspect(file, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.ValueSpec:
				for i, name := range n.Names {
					if i < len(n.Values) {
						if lit, ok := n.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
							consts[name.Name], _ = strconv.Unquote(lit.Value)
						}
					}
				}
			case *ast.TypeSpec:
				st, ok := n.Type.(*ast.StructType)
				if !ok {
					return true
				}
				if n.Name.Name == "Args" {
					c.args = fields(fset, st, false)
				} else if embedsResourceState(st) && c.typeName == "" {
					c.typeName, c.outputs = n.Name.Name, fields(fset, st, true)
				}
			case *ast.CallExpr:
				if sel, ok := n.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "RegisterComponentResource" && len(n.Args) > 0 {
					switch a := n.Args[0].(type) {
					case *ast.BasicLit:
						c.token, _ = strconv.Unquote(a.Value)
					case *ast.Ident:
						c.token = "=" + a.Name
					}
				}
			}
			return true
		})
	}
	if name, ok := strings.CutPrefix(c.token, "="); ok {
		c.token = consts[name]
	}
	if c.typeName == "" || c.token == "" || len(c.args) == 0 {
		return component{}, fmt.Errorf("%s: no component (Args %d fields, component %q, token %q)", dir, len(c.args), c.typeName, c.token)
	}
	return c, nil
}

// cellEscaper keeps a doc comment one Markdown table cell: no column
// separator, and <placeholders> shown rather than taken for HTML.
var cellEscaper = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;")

func embedsResourceState(st *ast.StructType) bool {
	for _, f := range st.Fields.List {
		if sel, ok := f.Type.(*ast.SelectorExpr); ok && len(f.Names) == 0 && sel.Sel.Name == "ResourceState" {
			return true
		}
	}
	return false
}

// fields lists a struct's exported fields, named or embedded, with their
// doc comments as one line. For a component, only the pulumi outputs count (the child
// resources it also exposes are Go conveniences).
func fields(fset *token.FileSet, st *ast.StructType, outputsOnly bool) []field {
	var out []field
	var last field
	for _, f := range st.Fields.List {
		var typ strings.Builder
		_ = printer.Fprint(&typ, fset, f.Type)
		if outputsOnly && !strings.HasPrefix(typ.String(), "pulumi.") {
			continue
		}
		tag := ""
		if f.Tag != nil {
			raw, _ := strconv.Unquote(f.Tag.Value)
			tag = reflect.StructTag(raw).Get("pulumi")
		}
		doc := cellEscaper.Replace(strings.Join(strings.Fields(f.Doc.Text()), " "))
		names := f.Names
		if sel, ok := f.Type.(*ast.SelectorExpr); ok && len(names) == 0 && !outputsOnly {
			names = []*ast.Ident{sel.Sel} // an embedded settings section
		}
		for _, n := range names {
			if !n.IsExported() {
				continue
			}
			d := doc
			if d == "" && strings.Contains(last.doc, n.Name) {
				d = "See `" + last.name + "`." // "QueueARN and QueueURL …" documents both
			}
			out = append(out, field{name: n.Name, typ: typ.String(), tag: tag, doc: d})
			if doc != "" {
				last = out[len(out)-1]
			}
		}
	}
	return out
}
