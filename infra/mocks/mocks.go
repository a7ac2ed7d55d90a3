// Package mocks stands in for AWS when the Sluice program runs under the
// Pulumi Go SDK's mock monitor, and runs the real program for a stack file
// that way (see Run). The mocks answer like the AWS provider would after a
// create: the inputs echoed back plus the attributes AWS computes, shaped as
// AWS shapes them (ARNs with partition, region and account, `prx-…` proxy
// ids, SQS queue URLs, `rds!db-…` managed secrets, execute-api URLs), so
// tests can check relationships between resources rather than values they
// set themselves.
//
// Identifiers are derived from a hash of the resource's type and name, so a
// run is deterministic and the offline preview prints the same every time.
package mocks

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
)

// Account is the AWS account id every mocked ARN carries.
const Account = "123456789012"

// Partition is the AWS partition of every mocked ARN.
const Partition = "aws"

// Registration is what the mock monitor saw for one resource.
type Registration struct {
	Type                 string
	Name                 string
	URN                  string
	Parent               string // parent URN; the stack's URN for top-level resources
	Custom               bool   // false for component resources
	ID                   string
	Inputs               resource.PropertyMap // as the provider would receive them (secrets kept as secrets)
	Outputs              resource.PropertyMap // what the mocked provider returned
	Dependencies         []string             // URNs of explicit and implicit dependencies
	PropertyDependencies map[string][]string  // input name → URNs it was computed from
	IgnoreChanges        []string             // inputs whose changes the engine ignores after create
}

// Mocks implements pulumi.MockResourceMonitor for AWS resources.
type Mocks struct {
	Project, Stack, Region string

	mu            sync.Mutex
	registrations []Registration
	generic       map[string]bool
}

var _ pulumi.MockResourceMonitor = (*Mocks)(nil)

// GenericTypes lists the registered types the mocks know nothing about
// (they got a generic id and their inputs echoed), sorted.
func (m *Mocks) GenericTypes() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(maps.Keys(m.generic))
}

// Registrations returns the resources registered so far, in order.
func (m *Mocks) Registrations() []Registration {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]Registration(nil), m.registrations...)
}

// NewResource answers a resource registration.
func (m *Mocks) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	reg := Registration{Type: args.TypeToken, Name: args.Name, Custom: args.Custom, Inputs: args.Inputs}
	if rpc := args.RegisterRPC; rpc != nil {
		reg.Parent = rpc.GetParent()
		reg.Dependencies = rpc.GetDependencies()
		reg.IgnoreChanges = rpc.GetIgnoreChanges()
		if deps := rpc.GetPropertyDependencies(); len(deps) > 0 {
			reg.PropertyDependencies = map[string][]string{}
			for k, v := range deps {
				reg.PropertyDependencies[k] = v.GetUrns()
			}
		}
	}
	reg.URN = m.urn(reg.Parent, reg.Type, reg.Name)

	var id string
	shaped := true
	outputs := args.Inputs.Copy()
	if args.Custom {
		id, shaped = m.compute(reg.Type, reg.Name, outputs)
	}
	reg.ID, reg.Outputs = id, outputs

	m.mu.Lock()
	m.registrations = append(m.registrations, reg)
	if !shaped {
		if m.generic == nil {
			m.generic = map[string]bool{}
		}
		m.generic[reg.Type] = true
	}
	m.mu.Unlock()
	return id, outputs, nil
}

// urn computes the URN the mock monitor gives a resource (the same rule as
// the engine: the parent's type is part of a child's URN unless the parent
// is the stack).
func (m *Mocks) urn(parent, typ, name string) string {
	parentType := ""
	if p := resource.URN(parent); p != "" && p.QualifiedType() != resource.RootStackType {
		parentType = string(p.QualifiedType())
	}
	prefix := "urn:pulumi:" + m.Stack + "::" + m.Project + "::"
	if parentType != "" {
		return prefix + parentType + "$" + typ + "::" + name
	}
	return prefix + typ + "::" + name
}

// Call answers provider functions (invokes).
func (m *Mocks) Call(args pulumi.MockCallArgs) (resource.PropertyMap, error) {
	switch args.Token {
	case "aws:index/getCallerIdentity:getCallerIdentity":
		return resource.PropertyMap{
			"accountId": resource.NewProperty(Account),
			"arn":       resource.NewProperty(fmt.Sprintf("arn:%s:iam::%s:user/sluice-ci", Partition, Account)),
			"userId":    resource.NewProperty("AIDAEXAMPLEUSERID0001"),
			"id":        resource.NewProperty(Account),
		}, nil
	case "aws:index/getRegion:getRegion":
		return resource.PropertyMap{
			"name":        resource.NewProperty(m.Region),
			"id":          resource.NewProperty(m.Region),
			"endpoint":    resource.NewProperty("ec2." + m.Region + ".amazonaws.com"),
			"description": resource.NewProperty(m.Region),
		}, nil
	case "aws:index/getPartition:getPartition":
		return resource.PropertyMap{
			"partition":        resource.NewProperty(Partition),
			"dnsSuffix":        resource.NewProperty("amazonaws.com"),
			"reverseDnsPrefix": resource.NewProperty("com.amazonaws"),
			"id":               resource.NewProperty(Partition),
		}, nil
	case "aws:index/getAvailabilityZones:getAvailabilityZones":
		zones := []resource.PropertyValue{}
		for _, z := range []string{"a", "c", "d"} {
			zones = append(zones, resource.NewProperty(m.Region+z))
		}
		return resource.PropertyMap{"names": resource.NewProperty(zones), "id": resource.NewProperty(m.Region)}, nil
	}
	return nil, fmt.Errorf("mocks: no mock for function %s", args.Token)
}

// hexID is a deterministic lowercase hex string of n characters.
func hexID(n int, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	s := hex.EncodeToString(sum[:])
	for len(s) < n {
		s += s
	}
	return s[:n]
}

// alnumID is a deterministic id of n characters from alphabet.
func alnumID(n int, alphabet string, parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	out := make([]byte, n)
	for i := range out {
		out[i] = alphabet[int(sum[i%len(sum)]+byte(i/len(sum)))%len(alphabet)]
	}
	return string(out)
}

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	mixedAlnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
)

func uuid(parts ...string) string {
	h := hexID(32, parts...)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:32]
}
