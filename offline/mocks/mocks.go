// Package mocks stands in for AWS when the Sluice program runs under the
// Pulumi Go SDK's mock monitor (offline/stackrun runs the whole program that
// way, offline/componenttest one component). The mocks answer from
// offline/awsmodel, the model the stand-in provider of the engine tests
// answers from too: the inputs echoed back plus the attributes AWS computes,
// shaped as AWS shapes them (ARNs with partition, region and account,
// `prx-…` proxy ids, SQS queue URLs, `rds!db-…` managed secrets, execute-api
// URLs), so tests can check relationships between resources rather than
// values they set themselves.
//
// Identifiers are derived from a hash of the resource's type and name, so a
// run is deterministic and the offline preview prints the same every time.
package mocks

import (
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/offline/awsmodel"
)

// Account is the AWS account id every mocked ARN carries.
const Account = awsmodel.Account

// Partition is the AWS partition of every mocked ARN.
const Partition = awsmodel.Partition

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

	// Answer, when set, may change what AWS answered for a resource before
	// the program sees it (tests of the program's handling of an empty
	// answer use it).
	Answer func(typ, name string, outputs resource.PropertyMap)

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
		a, err := m.model().Create(reg.Type, reg.Name, args.Inputs)
		if err != nil {
			return "", nil, err
		}
		id, outputs, shaped = a.ID, a.Outputs, a.Modelled
		if m.Answer != nil {
			m.Answer(reg.Type, reg.Name, outputs)
		}
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
	return m.model().Invoke(args.Token, args.Args)
}

// model is the AWS model the mocks answer from; the migrator's invocation
// gets the answer the migrator gives (see migratorAnswer).
func (m *Mocks) model() awsmodel.Model {
	return awsmodel.Model{Region: m.Region, Lambda: migratorAnswer{}}
}

// DependsOnName reports whether r depends on a resource whose name ends
// in suffix.
func (r Registration) DependsOnName(suffix string) bool {
	for _, d := range r.Dependencies {
		if strings.HasSuffix(d, "::"+suffix) {
			return true
		}
	}
	return false
}
