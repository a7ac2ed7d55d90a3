// Package answer checks the values the program reads back from a provider
// and cannot do without (a managed secret's ARN, the proxy's endpoint, the
// first element of an array): an empty answer becomes an error that names
// the resource and the property, instead of a panic or an empty string
// passed on to other resources.
//
// The check runs inside the output's apply, so it runs only once the value
// is known (during `pulumi up`, not in a preview where it is unknown), and a
// failure fails every resource that takes the value as an input before it is
// registered: the update stops before those dependents are created.
package answer

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// MissingError reports a property a provider left empty.
type MissingError struct {
	Type     string // resource type token, e.g. aws:rds/proxy:Proxy
	Name     string // the resource's logical name
	Property string // e.g. endpoint, masterUserSecrets[0].secretArn
	Why      string // why the program needs it
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s %q: the provider's answer has no %s, which %s", e.Type, e.Name, e.Property, e.Why)
}

// String returns o, failed with a MissingError when its value is empty.
func String(o pulumi.StringOutput, typ, name, property, why string) pulumi.StringOutput {
	return o.ApplyT(func(v string) (string, error) {
		if v == "" {
			return "", &MissingError{Type: typ, Name: name, Property: property, Why: why}
		}
		return v, nil
	}).(pulumi.StringOutput)
}

// StringPtr returns the value o points to, failed with a MissingError when
// it is nil or empty.
func StringPtr(o pulumi.StringPtrOutput, typ, name, property, why string) pulumi.StringOutput {
	return o.ApplyT(func(v *string) (string, error) {
		if v == nil || *v == "" {
			return "", &MissingError{Type: typ, Name: name, Property: property, Why: why}
		}
		return *v, nil
	}).(pulumi.StringOutput)
}

// First returns pick applied to the first element of the array o holds,
// failed with a MissingError naming property (e.g. "masterUserSecrets[0]")
// when the array is empty or pick finds nothing in it.
func First[T any](o pulumi.Output, typ, name, property, why string, pick func(T) *string) pulumi.StringOutput {
	return o.ApplyT(func(v []T) (string, error) {
		if len(v) == 0 {
			return "", &MissingError{Type: typ, Name: name, Property: property, Why: why}
		}
		if s := pick(v[0]); s != nil && *s != "" {
			return *s, nil
		}
		return "", &MissingError{Type: typ, Name: name, Property: property, Why: why}
	}).(pulumi.StringOutput)
}
