package rules

import (
	"encoding/json"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// State says what a policy can know about one property of a resource.
type State int

const (
	// Absent: the property is not set (or is null), so the provider default applies.
	Absent State = iota
	// Known: the property has a value of the expected type.
	Known
	// Unknown: the value is computed and will only be known during `pulumi up`.
	Unknown
	// Invalid: the property is set but does not have the expected type or shape.
	Invalid
)

func (s State) String() string {
	switch s {
	case Absent:
		return "absent"
	case Known:
		return "known"
	case Unknown:
		return "unknown"
	default:
		return "invalid"
	}
}

// unwrap removes the secret and output wrappers the engine sends, because a
// secret value is still a value a policy must check, and reports whether the
// result is computed.
func unwrap(v resource.PropertyValue) (resource.PropertyValue, State) {
	for {
		switch {
		case v.IsComputed():
			return v, Unknown
		case v.IsSecret():
			v = v.SecretValue().Element
		case v.IsOutput():
			o := v.OutputValue()
			if !o.Known {
				return v, Unknown
			}
			v = o.Element
		case v.IsNull():
			return v, Absent
		default:
			return v, Known
		}
	}
}

// lookup walks a dotted path of object keys. A computed object anywhere on
// the path makes the whole path unknown.
func lookup(m resource.PropertyMap, path string) (resource.PropertyValue, State) {
	keys := strings.Split(path, ".")
	cur := resource.NewProperty(m)
	for _, k := range keys {
		v, st := unwrap(cur)
		if st != Known {
			return v, st
		}
		if !v.IsObject() {
			return v, Invalid
		}
		next, ok := v.ObjectValue()[resource.PropertyKey(k)]
		if !ok {
			return resource.NewNullProperty(), Absent
		}
		cur = next
	}
	return unwrap(cur)
}

func boolAt(m resource.PropertyMap, path string) (bool, State) {
	v, st := lookup(m, path)
	if st != Known {
		return false, st
	}
	if !v.IsBool() {
		return false, Invalid
	}
	return v.BoolValue(), Known
}

func stringAt(m resource.PropertyMap, path string) (string, State) {
	v, st := lookup(m, path)
	if st != Known {
		return "", st
	}
	return asString(v)
}

func asString(v resource.PropertyValue) (string, State) {
	v, st := unwrap(v)
	if st != Known {
		return "", st
	}
	if !v.IsString() {
		return "", Invalid
	}
	return v.StringValue(), Known
}

// numberAt also accepts numeric strings, since config-derived values and
// some bridged properties arrive as strings.
func numberAt(m resource.PropertyMap, path string) (float64, State) {
	v, st := lookup(m, path)
	if st != Known {
		return 0, st
	}
	return asNumber(v)
}

func asNumber(v resource.PropertyValue) (float64, State) {
	v, st := unwrap(v)
	if st != Known {
		return 0, st
	}
	switch {
	case v.IsNumber():
		return v.NumberValue(), Known
	case v.IsString():
		var f float64
		if err := json.Unmarshal([]byte(v.StringValue()), &f); err != nil {
			return 0, Invalid
		}
		return f, Known
	}
	return 0, Invalid
}

func arrayAt(m resource.PropertyMap, path string) ([]resource.PropertyValue, State) {
	v, st := lookup(m, path)
	if st != Known {
		return nil, st
	}
	if !v.IsArray() {
		return nil, Invalid
	}
	return v.ArrayValue(), Known
}

func asObject(v resource.PropertyValue) (resource.PropertyMap, State) {
	v, st := unwrap(v)
	if st != Known {
		return nil, st
	}
	if !v.IsObject() {
		return nil, Invalid
	}
	return v.ObjectValue(), Known
}

// stringsAt returns the known string elements of a list and whether any
// element is computed.
func stringsAt(m resource.PropertyMap, path string) (vals []string, anyUnknown bool, st State) {
	arr, st := arrayAt(m, path)
	if st != Known {
		return nil, st == Unknown, st
	}
	for _, e := range arr {
		s, est := asString(e)
		switch est {
		case Known:
			vals = append(vals, s)
		case Unknown:
			anyUnknown = true
		}
	}
	return vals, anyUnknown, Known
}

// jsonAt parses a property holding a JSON document (redrivePolicy, IAM
// policies). The bridge passes these as strings; a program may also pass
// an object, which is accepted as the already-parsed document.
func jsonAt(m resource.PropertyMap, path string) (any, State) {
	v, st := lookup(m, path)
	if st != Known {
		return nil, st
	}
	return asJSON(v)
}

func asJSON(v resource.PropertyValue) (any, State) {
	v, st := unwrap(v)
	if st != Known {
		return nil, st
	}
	if v.IsString() {
		var doc any
		if err := json.Unmarshal([]byte(v.StringValue()), &doc); err != nil {
			return nil, Invalid
		}
		return doc, Known
	}
	if v.ContainsUnknowns() {
		return nil, Unknown
	}
	if v.IsObject() {
		return v.ObjectValue().Mappable(), Known
	}
	return nil, Invalid
}
