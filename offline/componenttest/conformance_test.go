package componenttest

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/offline/componenttest/internal/fakecomp"
)

// TestConformance feeds the kit a conforming component and, one rule at a
// time, one that breaks it: Check must pass the first and name each breach.
func TestConformance(t *testing.T) {
	good := func() Component[fakecomp.Args, *fakecomp.Fake] {
		return Component[fakecomp.Args, *fakecomp.Fake]{
			Type: fakecomp.Type,
			New:  fakecomp.New,
			Valid: func() fakecomp.Args {
				return fakecomp.Args{Size: 1, Tags: map[string]string{"project": "sluice", "stack": "dev"}}
			},
			Invalid: map[string]func(*fakecomp.Args){"Size": func(a *fakecomp.Args) { a.Size = 0 }},
			Dir:     "internal/fakecomp",
		}
	}
	valid := func(change func(*fakecomp.Args)) func() fakecomp.Args {
		return func() fakecomp.Args { a := good().Valid(); change(&a); return a }
	}
	tests := []struct {
		name   string
		change func(*Component[fakecomp.Args, *fakecomp.Fake])
		want   string // in one of the problems; empty: none
	}{
		{"conforms", func(*Component[fakecomp.Args, *fakecomp.Fake]) {}, ""},
		{"type token not the Go type", func(c *Component[fakecomp.Args, *fakecomp.Fake]) { c.Type = "sluice:fake:Other" }, `Type "sluice:fake:Other"`},
		{"Invalid names another field", func(c *Component[fakecomp.Args, *fakecomp.Fake]) {
			c.Invalid = map[string]func(*fakecomp.Args){"Tags": func(a *fakecomp.Args) { a.Size = 0 }}
		}, "want an error naming Tags"},
		{"no Invalid changes", func(c *Component[fakecomp.Args, *fakecomp.Fake]) { c.Invalid = nil }, "no Invalid changes"},
		{"New does not wrap", func(c *Component[fakecomp.Args, *fakecomp.Fake]) {
			c.New = func(ctx *pulumi.Context, name string, a fakecomp.Args, opts ...pulumi.ResourceOption) (*fakecomp.Fake, error) {
				if err := a.Validate(); err != nil {
					return nil, err
				}
				return fakecomp.New(ctx, name, a, opts...)
			}
		}, "want the Validate error wrapped"},
		{"New registers before validating", func(c *Component[fakecomp.Args, *fakecomp.Fake]) {
			c.New = func(ctx *pulumi.Context, name string, a fakecomp.Args, opts ...pulumi.ResourceOption) (*fakecomp.Fake, error) {
				f := &fakecomp.Fake{}
				if err := ctx.RegisterComponentResource(fakecomp.Type, name, f, opts...); err != nil {
					return nil, err
				}
				if err := a.Validate(); err != nil {
					return nil, fmt.Errorf("fake %s: %w", name, err)
				}
				return f, nil
			}
		}, "registered 1 resources, want none"},
		{"untagged child", func(c *Component[fakecomp.Args, *fakecomp.Fake]) {
			c.Valid = valid(func(a *fakecomp.Args) { a.Tags = nil })
		}, "want project sluice and stack dev"},
		{"unparented child", func(c *Component[fakecomp.Args, *fakecomp.Fake]) {
			c.Valid = valid(func(a *fakecomp.Args) { a.Unparented = true })
		}, "want a sluice:fake:Fake component"},
		{"empty output", func(c *Component[fakecomp.Args, *fakecomp.Fake]) {
			c.Valid = valid(func(a *fakecomp.Args) { a.NoURL = true })
		}, "output url is"},
		{"output not registered", func(c *Component[fakecomp.Args, *fakecomp.Fake]) { c.Dir = "testdata/oneoutput" }, `registers ["url"]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := good()
			tt.change(&c)
			got := conformance(c)
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
