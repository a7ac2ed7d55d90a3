package componenttest

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"
)

// Component is what Check needs of one component package: its exported
// Type, New and valid Args, and the changes each of which Validate must
// refuse, naming the field.
type Component[A interface{ Validate() error }, C pulumi.ComponentResource] struct {
	// Type is the package's exported Type constant.
	Type string
	// New is the package's New.
	New func(ctx *pulumi.Context, name string, args A, opts ...pulumi.ResourceOption) (C, error)
	// Valid returns valid arguments (a fresh value per call).
	Valid func() A
	// Invalid maps an Args field to a change of valid arguments that
	// Validate must refuse with an error naming that field.
	Invalid map[string]func(*A)
	// Dir is the component package's source directory, where Check reads
	// New's RegisterResourceOutputs; "." (the test's package) when empty.
	Dir string
}

// typeToken is the shape of every Sluice component's type token.
var typeToken = regexp.MustCompile(`^sluice:[a-z]+:([A-Z][A-Za-z]*)$`)

// Check runs the conformance every component of infra/ shares, as
// golang-migrate's database/testing runs a driver's:
//   - Type is sluice:<module>:<Name>, Name being the component's Go type;
//   - Validate refuses zero Args and each Invalid change, naming a field of
//     Args; New refuses them too, with the error wrapped under the
//     component's name, before registering anything;
//   - New with valid Args registers the component once, under the stack,
//     and every AWS resource under it, tagged with project and stack
//     (CheckParentedAndTagged);
//   - the outputs New registers (RegisterResourceOutputs) are exactly the
//     component's `pulumi:"…"` fields, and each is known and not empty.
func Check[A interface{ Validate() error }, C pulumi.ComponentResource](t *testing.T, c Component[A, C]) {
	t.Helper()
	for _, p := range conformance(c) {
		t.Error(p)
	}
}

func conformance[A interface{ Validate() error }, C pulumi.ComponentResource](c Component[A, C]) []string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	rt := reflect.TypeFor[C]()
	if rt.Kind() != reflect.Pointer || rt.Elem().Kind() != reflect.Struct {
		fail("New returns %v, want a pointer to the component's struct", rt)
		return problems
	}
	rt = rt.Elem()
	if m := typeToken.FindStringSubmatch(c.Type); m == nil || !strings.EqualFold(m[1], rt.Name()) {
		fail("Type %q, want sluice:<module>:%s", c.Type, rt.Name())
	}
	problems = append(problems, validateProblems(c)...)

	const name = "sluice-dev-conformance"
	var outputs map[string]pulumi.Output
	r, err := Record(ExampleRegion, func(ctx *pulumi.Context) error {
		comp, err := c.New(ctx, name, c.Valid())
		if err != nil {
			return err
		}
		outputs = taggedOutputs(reflect.ValueOf(comp).Elem())
		for field, o := range outputs {
			res, err := internals.UnsafeAwaitOutput(ctx.Context(), o)
			if err != nil {
				fail("output %s: %v", field, err)
				continue
			}
			if !res.Known || res.Value == nil || reflect.ValueOf(res.Value).IsZero() {
				fail("output %s is %v (known %v), want a value", field, res.Value, res.Known)
			}
		}
		return nil
	})
	if err != nil {
		fail("New with valid Args: %v", err)
		return problems
	}
	var top []string
	for _, reg := range r.Registrations() {
		if reg.Type == c.Type && resource.URN(reg.Parent).QualifiedType() == resource.RootStackType {
			top = append(top, reg.Name)
		}
	}
	if len(top) != 1 || top[0] != name {
		fail("registered %q of type %s under the stack, want one named %s", top, c.Type, name)
	}
	problems = append(problems, r.parentedAndTagged(c.Type, "dev")...)

	fields := slices.Sorted(maps.Keys(outputs))
	registered, err := registeredOutputs(c.Dir)
	if err != nil {
		fail("reading RegisterResourceOutputs: %v", err)
	} else if !slices.Equal(fields, registered) {
		fail("RegisterResourceOutputs registers %q, the struct's pulumi fields are %q", registered, fields)
	}
	return problems
}

func validateProblems[A interface{ Validate() error }, C pulumi.ComponentResource](c Component[A, C]) []string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, fmt.Sprintf(format, a...)) }
	if err := c.Valid().Validate(); err != nil {
		fail("Validate() of the valid Args = %v", err)
		return problems
	}
	argFields := map[string]bool{}
	for f := range reflect.TypeFor[A]().Fields() {
		argFields[f.Name] = true
	}
	names := func(err error, field string) bool {
		if err == nil {
			return false
		}
		got, _, ok := strings.Cut(err.Error(), ":")
		return ok && argFields[strings.Split(got, ".")[0]] && (field == "" || got == field)
	}
	var zero A
	if err := zero.Validate(); !names(err, "") {
		fail("Validate() of zero Args = %v, want an error naming a field of Args", err)
	}
	if len(c.Invalid) == 0 {
		fail("no Invalid changes: list at least one per field Validate checks")
	}
	for _, field := range slices.Sorted(maps.Keys(c.Invalid)) {
		a := c.Valid()
		c.Invalid[field](&a)
		if err := a.Validate(); !names(err, field) {
			fail("Validate() after changing %s = %v, want an error naming %s", field, err, field)
		}
	}
	// New refuses what Validate refuses, wrapped, before registering anything.
	const name = "sluice-dev-refused"
	var newErr error
	r, _ := Record(ExampleRegion, func(ctx *pulumi.Context) error {
		_, newErr = c.New(ctx, name, zero)
		return nil
	})
	if newErr == nil || errors.Unwrap(newErr) == nil || !names(errors.New(after(newErr.Error(), name+": ")), "") {
		fail("New with zero Args: %v, want the Validate error wrapped under %s", newErr, name)
	}
	if n := len(r.Registrations()); n != 0 {
		fail("New with zero Args registered %d resources, want none", n)
	}
	return problems
}

// after returns what follows the first sep in s, "" when there is none.
func after(s, sep string) string {
	_, rest, _ := strings.Cut(s, sep)
	return rest
}

// taggedOutputs returns the component's `pulumi:"…"` output fields by tag.
func taggedOutputs(v reflect.Value) map[string]pulumi.Output {
	out := map[string]pulumi.Output{}
	for i, f := range slices.Collect(v.Type().Fields()) {
		tag, ok := f.Tag.Lookup("pulumi")
		if !ok || !f.IsExported() {
			continue
		}
		if o, ok := v.Field(i).Interface().(pulumi.Output); ok {
			out[strings.Split(tag, ",")[0]] = o
		}
	}
	return out
}

// registeredOutputs reads, in the non-test Go files of dir, the keys of
// the pulumi.Map literal passed to RegisterResourceOutputs.
func registeredOutputs(dir string) ([]string, error) {
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	fset := token.NewFileSet()
	var keys []string
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, 0)
		if err != nil {
			return nil, err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok || len(call.Args) != 2 {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "RegisterResourceOutputs" {
				return true
			}
			lit, ok := call.Args[1].(*ast.CompositeLit)
			if !ok {
				return true
			}
			for _, e := range lit.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					if s, ok := kv.Key.(*ast.BasicLit); ok {
						k, _ := strconv.Unquote(s.Value)
						keys = append(keys, k)
					}
				}
			}
			return true
		})
	}
	slices.Sort(keys)
	return keys, nil
}
