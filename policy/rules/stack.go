package rules

import (
	"slices"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Stack indexes the resources of one stack so that stack policies can follow
// references between them.
type Stack struct {
	Resources []Resource
	byURN     map[string]int
	idents    []map[string]bool
}

// NewStack indexes resources.
func NewStack(resources []Resource) *Stack {
	s := &Stack{Resources: resources, byURN: map[string]int{}, idents: make([]map[string]bool, len(resources))}
	for i, r := range resources {
		if r.URN != "" {
			s.byURN[r.URN] = i
		}
		s.idents[i] = identifiers(r)
	}
	return s
}

// identifiers are the strings another resource may use to refer to r: its
// id, ARN, name, URL or RDS identifier as far as they are known.
func identifiers(r Resource) map[string]bool {
	ids := map[string]bool{}
	add := func(v string) {
		if v != "" {
			ids[v] = true
		}
	}
	add(r.ID)
	for _, m := range []resource.PropertyMap{r.Outputs, r.Properties} {
		for _, k := range []string{"id", "arn", "name", "url", "identifier", "clusterIdentifier"} {
			if v, st := stringAt(m, k); st == Known {
				add(v)
			}
		}
	}
	return ids
}

// OfType returns the resources with one of the type tokens, in stack order.
func (s *Stack) OfType(types ...string) []*Resource {
	var out []*Resource
	for i := range s.Resources {
		if slices.Contains(types, s.Resources[i].Type) {
			out = append(out, &s.Resources[i])
		}
	}
	return out
}

// ByURN returns the resource with the given URN.
func (s *Stack) ByURN(urn string) *Resource {
	i, ok := s.byURN[urn]
	if !ok {
		return nil
	}
	return &s.Resources[i]
}

// Find returns the resource of one of types that value names, matching ids,
// ARNs, names and URLs, and the last segment of an ARN or URL against names.
func (s *Stack) Find(value string, types ...string) *Resource {
	if value == "" {
		return nil
	}
	tail := value
	if i := strings.LastIndexAny(value, ":/"); i >= 0 && i < len(value)-1 {
		tail = value[i+1:]
	}
	for i, r := range s.Resources {
		if len(types) > 0 && !slices.Contains(types, r.Type) {
			continue
		}
		if s.idents[i][value] {
			return &s.Resources[i]
		}
	}
	if tail == value {
		return nil
	}
	for i, r := range s.Resources {
		if len(types) > 0 && !slices.Contains(types, r.Type) {
			continue
		}
		if s.idents[i][tail] {
			return &s.Resources[i]
		}
	}
	return nil
}

// DependsOn returns the resources of one of types that property key of r
// depends on, according to the engine's property dependencies.
func (s *Stack) DependsOn(r *Resource, key string, types ...string) []*Resource {
	var out []*Resource
	for _, urn := range r.PropertyDependencies[key] {
		if d := s.ByURN(urn); d != nil && (len(types) == 0 || slices.Contains(types, d.Type)) && !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out
}

// Refs resolves the resources that the string or string-list property key of
// r refers to. It uses the engine's property dependencies first, then the
// known values. unresolved is true when some referring value is computed or
// names nothing in the stack, so the caller cannot see the whole picture.
func (s *Stack) Refs(r *Resource, key string, types ...string) (refs []*Resource, unresolved bool) {
	refs = s.DependsOn(r, key, types...)
	v, st := lookup(r.Properties, key)
	switch st {
	case Absent:
		return refs, false
	case Unknown, Invalid:
		return refs, len(refs) == 0
	}
	var values []string
	if v.IsArray() {
		vals, anyUnknown, _ := stringsAt(r.Properties, key)
		values = vals
		if anyUnknown && len(refs) == 0 {
			unresolved = true
		}
	} else if sv, sst := asString(v); sst == Known {
		values = []string{sv}
	}
	for _, val := range values {
		d := s.Find(val, types...)
		if d == nil {
			if len(refs) == 0 {
				unresolved = true
			}
			continue
		}
		if !slices.Contains(refs, d) {
			refs = append(refs, d)
		}
	}
	return refs, unresolved
}

// Ref resolves a single-valued reference.
func (s *Stack) Ref(r *Resource, key string, types ...string) (*Resource, bool) {
	refs, unresolved := s.Refs(r, key, types...)
	if len(refs) == 0 {
		return nil, unresolved
	}
	return refs[0], unresolved
}
