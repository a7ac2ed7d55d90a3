package settings

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/routeauth"
)

// LoadConfig loads the settings from a stack's complete configuration (full
// keys mapped to their values as strings, as the engine passes it in
// PULUMI_CONFIG). It applies the defaults of Keys, checks every value and
// every cross-field rule, and rejects unknown keys of the sluice namespace
// (a misspelt key would otherwise silently take its default), returning all
// problems at once (see Problems).
func LoadConfig(config map[string]string) (Settings, error) {
	l := &loader{config: config, failed: map[string]bool{}}
	var s Settings
	l.region(&s)
	for _, k := range Keys {
		l.parse(&s, k)
	}
	for _, k := range Keys {
		if k.derive != nil && (!l.set(k.Key) || l.failed[k.FullKey()]) {
			k.derive(&s)
		}
	}
	for _, r := range rules {
		l.apply(&s, r)
	}
	l.unknown()
	if len(l.errs) > 0 {
		return Settings{}, errors.Join(l.errs...)
	}
	return s, nil
}

// spec returns the declaration of a key named without its namespace.
func spec(name string) (Spec, bool) {
	i := slices.IndexFunc(Keys, func(k Spec) bool { return k.Key == name })
	if i < 0 {
		return Spec{}, false
	}
	return Keys[i], true
}

// loader reads one configuration, recording which keys failed so that a
// cross-field rule over a bad value does not add a second error.
type loader struct {
	config map[string]string
	failed map[string]bool // by full key
	errs   []error
}

func (l *loader) value(full string) (string, bool) {
	v, ok := l.config[full]
	return strings.TrimSpace(v), ok
}

// set reports whether a sluice key has a value: present, and not empty for
// a key whose empty value means unset.
func (l *loader) set(name string) bool {
	v, ok := l.value(Key(name))
	if !ok {
		return false
	}
	k, _ := spec(name)
	return v != "" || !k.Optional()
}

func (l *loader) fail(full, allowed string) {
	l.failed[full] = true
	v, _ := l.value(full)
	l.errs = append(l.errs, &Error{Key: full, Value: v, Allowed: allowed})
}

func (l *loader) region(s *Settings) {
	v, ok := l.value(RegionKey)
	if !ok || !regionPattern.MatchString(v) {
		l.fail(RegionKey, "required: an AWS region such as ap-northeast-1")
	}
	s.Region = v
}

// parse stores the key's value, or its default, in its Settings field.
func (l *loader) parse(s *Settings, k Spec) {
	raw := k.Default
	if l.set(k.Key) {
		raw, _ = l.value(k.FullKey())
	} else if k.Derived != "" {
		return // derive fills it in once every key is read
	}
	if raw == "" && k.Optional() {
		return
	}
	v, problem := k.parse(raw)
	if problem != "" {
		// Keep the default, so that keys derived from this one still get
		// a value; the settings are not returned anyway.
		l.fail(k.FullKey(), problem)
		v, _ = k.parse(k.Default)
	}
	if v != nil {
		k.store(s, v)
	}
}

// parse converts raw to the key's type and checks it, returning the value
// or, for a bad one, what the key allows ("must be …").
func (k Spec) parse(raw string) (any, string) {
	if raw == "" && k.Optional() {
		return nil, ""
	}
	switch k.Type {
	case Integer:
		n, err := strconv.Atoi(raw)
		if k.Values != nil {
			if err != nil || !slices.Contains(k.Values, raw) {
				return nil, "must be " + limits.OneOf(k.Values)
			}
			return n, ""
		}
		if err != nil || !k.Range.Contains(n) {
			return nil, fmt.Sprintf("must be an integer from %d to %d", k.Range.Min, k.Range.Max)
		}
		return n, ""
	case Number:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(f) || f <= 0 || f > k.Max {
			return nil, fmt.Sprintf("must be a number above 0 and at most %g", k.Max)
		}
		return f, ""
	case Boolean:
		if raw != "true" && raw != "false" {
			return nil, "must be true or false"
		}
		return raw == "true", ""
	case List:
		return k.parseList(raw)
	}
	if problem := k.checkItem(raw); problem != "" {
		return nil, problem
	}
	return raw, ""
}

// checkItem checks a String value or one List item.
func (k Spec) checkItem(v string) string {
	switch {
	case k.Values != nil && !slices.Contains(k.Values, v):
		return "must be " + limits.OneOf(k.Values)
	case k.Pattern != nil && !k.Pattern.MatchString(v):
		return "must be " + k.allowedWords()
	case k.Check != nil:
		return k.Check(v)
	}
	return ""
}

// parseList splits a comma-separated list; an empty value is an empty list.
func (k Spec) parseList(raw string) (any, string) {
	out := []string{}
	if raw == "" {
		return out, ""
	}
	for item := range strings.SplitSeq(raw, ",") {
		item = strings.TrimSpace(item)
		if k.checkItem(item) != "" || slices.Contains(out, item) {
			return nil, "must be " + k.allowedWords() + ", without duplicates"
		}
		out = append(out, item)
	}
	if k.Items != (limits.Range{}) && !k.Items.Contains(len(out)) {
		return nil, fmt.Sprintf("must list %d to %d items", k.Items.Min, k.Items.Max)
	}
	return out, ""
}

// allowedWords is Allowed, said to be optional where the key is.
func (k Spec) allowedWords() string {
	if k.Optional() && k.Derived == "" && k.Type == String {
		return k.Allowed + ", or unset"
	}
	return k.Allowed
}

// store puts a parsed value into the key's Settings field.
func (k Spec) store(s *Settings, v any) {
	switch f := k.field(s).(type) {
	case *int:
		*f = v.(int)
	case *time.Duration:
		*f = time.Duration(v.(int)) * k.unit
	case *float64:
		*f = v.(float64)
	case *bool:
		*f = v.(bool)
	case *string:
		*f = v.(string)
	case *routeauth.Mode:
		*f = routeauth.Mode(v.(string))
	case *[]string:
		if list := v.([]string); len(list) > 0 || k.Default != "" {
			*f = list
		}
	default:
		panic(fmt.Sprintf("settings: key %s is bound to a %T", k.Key, f))
	}
}

// Format returns the key's value in s as a stack file would write it.
func (k Spec) Format(s Settings) string {
	switch f := k.field(&s).(type) {
	case *int:
		return strconv.Itoa(*f)
	case *time.Duration:
		return strconv.Itoa(int(*f / k.unit))
	case *float64:
		return strconv.FormatFloat(*f, 'f', -1, 64)
	case *bool:
		return strconv.FormatBool(*f)
	case *string:
		return *f
	case *routeauth.Mode:
		return string(*f)
	case *[]string:
		return strings.Join(*f, ",")
	}
	panic(fmt.Sprintf("settings: key %s is bound to an unknown field type", k.Key))
}

// unknown rejects the sluice keys no Spec declares, naming the closest
// known key when the unknown one looks like a misspelling of it.
func (l *loader) unknown() {
	var names []string
	for _, k := range Keys {
		names = append(names, k.Key)
	}
	var unknown []error
	for _, full := range sortedKeys(l.config) {
		name, ok := strings.CutPrefix(full, Namespace+":")
		if !ok {
			continue
		}
		if _, known := spec(name); known {
			continue
		}
		allowed := "unknown key"
		if near := closest(name, names); near != "" {
			allowed += "; did you mean " + Key(near) + "?"
		}
		unknown = append(unknown, &Error{Key: full, Value: l.config[full], Allowed: allowed + " (every key is in docs/configuration.md)"})
	}
	l.errs = append(unknown, l.errs...)
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
