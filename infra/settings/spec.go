package settings

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"time"

	"github.com/sluicehq/sluice/infra/limits"
)

// Type is how a key's value is written in a stack file.
type Type string

// The types of keys.
const (
	Integer Type = "integer"
	Number  Type = "number" // a decimal, e.g. 12.5
	Boolean Type = "boolean"
	String  Type = "string"
	List    Type = "list" // comma-separated strings
)

// Spec declares one `sluice:` key, in the manner of a Terraform variable
// block: type, default and documentation together with what the key
// accepts and the Settings field it fills.
type Spec struct {
	Key string // without the namespace
	// Section is the Settings field (Network, …, Observability) whose
	// struct holds the key's field: the component it configures. Keys sets
	// it from field, so a key is not declared in one section and filled
	// in another.
	Section string
	Type    Type
	// Default is the value of an unset key, written as in a stack file. An
	// empty Default means the key is optional (unset) or Derived; for such
	// keys an empty value is the same as no value, which is what the
	// engine passes for Pulumi.yaml's `default: ""`.
	Default string
	// Derived says in words how the default follows from other keys; the
	// loader then computes it with derive.
	Derived string
	Doc     string // one line
	// DevProd says why dev and prod set different values; a test checks it
	// is there exactly for the keys whose values differ.
	DevProd string

	// What the key accepts (see check): Range for an Integer, Max for a
	// Number (above 0), Values for a String, an Integer or each List item,
	// Pattern for a String or each List item (described by Allowed), Items
	// for how many List items, and Check for what a pattern cannot say.
	Range   limits.Range
	Max     float64
	Values  []string
	Pattern *regexp.Regexp
	Allowed string
	Items   limits.Range
	Check   func(value string) (problem string)

	field     func(*Settings) any // *int, *bool, *string, *float64, *[]string, *time.Duration (in unit) or *routeauth.Mode
	unit      time.Duration
	derive    func(*Settings)
	fieldName string // the field's name in its section (set by located)
}

// FullKey is the key with its namespace, e.g. "sluice:batchSize".
func (k Spec) FullKey() string { return Key(k.Key) }

// Optional reports whether an empty value means the key is unset.
func (k Spec) Optional() bool { return k.Default == "" }

// Key returns the full config key for a sluice key name.
func Key(name string) string { return Namespace + ":" + name }

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	emailPattern  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	nonBlank      = regexp.MustCompile(`^\S+$`)
)

// Keys is every `sluice:` key, in the order the documentation lists them.
// Each section's keys are declared next to its struct (network.go, …).
var Keys = located(networkKeys, databaseKeys, proxyKeys, queueKeys, consumerKeys, apiKeys, observabilityKeys)

// located concatenates the sections' keys, setting each key's Section and
// the name of the field it fills from where its field points in Settings.
func located(sections ...[]Spec) []Spec {
	keys := slices.Concat(sections...)
	for i, k := range keys {
		var s Settings
		target := reflect.ValueOf(k.field(&s)).Pointer()
		v := reflect.ValueOf(&s).Elem()
		for f := range v.NumField() {
			section := v.Field(f)
			if section.Kind() != reflect.Struct {
				continue
			}
			for j := range section.NumField() {
				if section.Field(j).Addr().Pointer() == target {
					keys[i].Section, keys[i].fieldName = v.Type().Field(f).Name, section.Type().Field(j).Name
				}
			}
		}
		if keys[i].fieldName == "" {
			panic(fmt.Sprintf("settings: key %s fills no field of a section of Settings", k.Key))
		}
	}
	return keys
}
