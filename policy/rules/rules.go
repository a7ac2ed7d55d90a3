// Package rules holds Sluice's policies as a plain Go library: each policy
// inspects resources shaped exactly as the Pulumi engine sends them to an
// analyzer (pulumi-aws v6 input property maps, with computed and secret
// values) and reports violations. The policy pack binary (policy/analyzer)
// and the offline preview (offline/preview) both run these same functions.
package rules

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// Level is a policy's enforcement level. The values match the analyzer
// protocol's EnforcementLevel enum.
type Level int32

const (
	Advisory  Level = 0
	Mandatory Level = 1
	Disabled  Level = 2
)

func (l Level) String() string {
	switch l {
	case Advisory:
		return "advisory"
	case Mandatory:
		return "mandatory"
	case Disabled:
		return "disabled"
	}
	return fmt.Sprintf("Level(%d)", int32(l))
}

// ParseLevel reads the enforcement level names used in policy config.
func ParseLevel(s string) (Level, error) {
	switch s {
	case "advisory":
		return Advisory, nil
	case "mandatory":
		return Mandatory, nil
	case "disabled":
		return Disabled, nil
	}
	return 0, fmt.Errorf("unknown enforcement level %q (want advisory, mandatory or disabled)", s)
}

// Severity is how bad a violation is; it prefixes every message because the
// Pulumi CLI does not show the protocol's severity field.
type Severity int32

// The values match the analyzer protocol's PolicySeverity enum.
const (
	Low      Severity = 1
	Medium   Severity = 2
	High     Severity = 3
	Critical Severity = 4
)

func (s Severity) String() string {
	switch s {
	case Low:
		return "low"
	case Medium:
		return "medium"
	case High:
		return "high"
	case Critical:
		return "critical"
	}
	return "unspecified"
}

// Resource is one resource as an analyzer sees it. Dependencies and
// PropertyDependencies are only filled by the engine for stack analysis.
// ID and Outputs are optional: the engine sends neither for new resources,
// but a mocked run knows them, and references resolve through them.
type Resource struct {
	Type                 string
	Name                 string
	URN                  string
	Parent               string
	Properties           resource.PropertyMap
	Dependencies         []string
	PropertyDependencies map[string][]string
	ID                   string
	Outputs              resource.PropertyMap
}

// Env is what the engine tells the pack about the run (ConfigureStack).
type Env struct {
	// Stack is the stack name, used for the production-only checks.
	Stack string
	// Project is the stack's project name, the namespace of its own
	// config keys.
	Project string
	// Config is the stack's configuration (full keys, such as
	// "sluice:publicRoutes"), without secret values, as the engine sends it
	// in ConfigureStack: the stack file with the project's declared
	// defaults applied. Policies read a stack's declarations about itself
	// from it (see StackList).
	Config map[string]string
	// DryRun is true during preview, when values computed from other
	// resources are still unknown.
	DryRun bool
}

// StackList returns the stack's own config key name (in its project's
// namespace) as a comma-separated list, and whether the stack sets it.
func (e Env) StackList(name string) ([]string, bool) {
	v, ok := e.Config[e.Project+":"+name]
	if !ok {
		return nil, false
	}
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out, true
}

// Violation is one reported problem.
type Violation struct {
	Policy           string
	EnforcementLevel Level
	Severity         Severity
	ResourceType     string
	ResourceName     string
	URN              string
	Message          string
}

// Config is the policy config of one policy: its properties as JSON values.
type Config map[string]any

// PolicyConfig is one entry of a pack config: an optional enforcement level
// override and the policy's properties.
type PolicyConfig struct {
	EnforcementLevel *Level
	Properties       Config
}

// PackConfig maps policy names to their config. The key "all" sets the
// enforcement level of every policy, as in Pulumi policy config files.
type PackConfig map[string]PolicyConfig

// Reporter collects the violations of one policy.
type Reporter struct {
	policy *Policy
	level  Level
	out    []Violation
}

// Report records a violation on r. The message is prefixed with the
// policy's severity and must say how to fix the problem.
func (rep *Reporter) Report(r Resource, format string, args ...any) {
	rep.add(rep.level, r, format, args...)
}

// Advise records a finding on r at advisory level whatever the policy's
// level: for what the policy cannot decide, such as a reference to a
// resource the stack does not manage. The message must say why it cannot
// be decided and how to make it decidable.
func (rep *Reporter) Advise(r Resource, format string, args ...any) {
	rep.add(Advisory, r, format, args...)
}

func (rep *Reporter) add(level Level, r Resource, format string, args ...any) {
	rep.out = append(rep.out, Violation{
		Policy:           rep.policy.Name,
		EnforcementLevel: level,
		Severity:         rep.policy.Severity,
		ResourceType:     r.Type,
		ResourceName:     r.Name,
		URN:              r.URN,
		Message:          fmt.Sprintf("[%s] ", rep.policy.Severity) + fmt.Sprintf(format, args...),
	})
}

// Check is what a policy function receives besides the resources.
type Check struct {
	*Reporter
	Config Config
	Env    Env
}

// Policy is one rule. At least one of ValidateResource and ValidateStack is
// set. A resource policy may also set ValidateStack for what only the
// stack can tell (following a reference to the resource it inherits a
// property from); the engine runs that part in AnalyzeStack.
type Policy struct {
	Name             string
	Description      string
	EnforcementLevel Level
	Severity         Severity
	// Remediation says in general how to fix a violation; each message
	// says how to fix that one.
	Remediation string
	// ConfigSchema is the JSON schema of each config property.
	ConfigSchema map[string]map[string]any
	// Defaults are the config values used when the config does not set them.
	Defaults Config
	// Reads are the type tokens of the resources the policy inspects,
	// including those it only follows references to; docs/policy-pack.md
	// lists them per policy.
	Reads            []string
	ValidateResource func(c Check, r Resource)
	ValidateStack    func(c Check, s *Stack)
}

// IsStack reports whether the policy is a stack policy: it validates only
// the whole stack, never a single resource.
func (p *Policy) IsStack() bool { return p.ValidateResource == nil && p.ValidateStack != nil }

// Effective returns the enforcement level and merged config of p under cfg.
func (p *Policy) Effective(cfg PackConfig) (Level, Config) {
	level := p.EnforcementLevel
	if all, ok := cfg["all"]; ok && all.EnforcementLevel != nil {
		level = *all.EnforcementLevel
	}
	merged := Config{}
	for k, v := range p.Defaults {
		merged[k] = v
	}
	if pc, ok := cfg[p.Name]; ok {
		if pc.EnforcementLevel != nil {
			level = *pc.EnforcementLevel
		}
		for k, v := range pc.Properties {
			merged[k] = v
		}
	}
	return level, merged
}

// CheckResource runs a resource policy on one resource. A panic inside the
// policy becomes a violation of that policy, never a failed analysis.
func (p *Policy) CheckResource(r Resource, cfg PackConfig, env Env) []Violation {
	level, conf := p.Effective(cfg)
	if level == Disabled || p.ValidateResource == nil {
		return nil
	}
	rep := &Reporter{policy: p, level: level}
	func() {
		defer func() {
			if v := recover(); v != nil {
				rep.Report(r, "the policy could not evaluate this resource (internal error: %v); fix the resource's "+
					"inputs or report the bug to the pack's maintainers", v)
			}
		}()
		p.ValidateResource(Check{Reporter: rep, Config: conf, Env: env}, r)
	}()
	return rep.out
}

// CheckStack runs a stack policy over all resources, recovering panics as
// CheckResource does.
func (p *Policy) CheckStack(resources []Resource, cfg PackConfig, env Env) []Violation {
	level, conf := p.Effective(cfg)
	if level == Disabled || p.ValidateStack == nil {
		return nil
	}
	rep := &Reporter{policy: p, level: level}
	func() {
		defer func() {
			if v := recover(); v != nil {
				rep.Report(Resource{}, "the policy could not evaluate the stack (internal error: %v); report the bug "+
					"to the pack's maintainers", v)
			}
		}()
		p.ValidateStack(Check{Reporter: rep, Config: conf, Env: env}, NewStack(resources))
	}()
	return rep.out
}

// Evaluate runs every policy over resources: resource policies on each
// resource, then stack policies once. The result is sorted by policy,
// resource type and name so output is stable.
func Evaluate(policies []Policy, resources []Resource, cfg PackConfig, env Env) []Violation {
	out := []Violation{}
	for i := range policies {
		p := &policies[i]
		if p.ValidateResource != nil {
			for _, r := range resources {
				out = append(out, p.CheckResource(r, cfg, env)...)
			}
		}
		if p.ValidateStack != nil {
			out = append(out, p.CheckStack(resources, cfg, env)...)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Policy != b.Policy {
			return a.Policy < b.Policy
		}
		if a.ResourceType != b.ResourceType {
			return a.ResourceType < b.ResourceType
		}
		return a.ResourceName < b.ResourceName
	})
	return out
}

// HasMandatory reports whether any violation blocks a deployment.
func HasMandatory(vs []Violation) bool {
	return slices.ContainsFunc(vs, func(v Violation) bool { return v.EnforcementLevel == Mandatory })
}

func (c Check) number(key string) float64 {
	switch v := c.Config[key].(type) {
	case float64:
		return v
	case int:
		return float64(v)
	}
	panic(fmt.Sprintf("config %q is %T, want a number", key, c.Config[key]))
}

func (c Check) boolean(key string) bool {
	v, ok := c.Config[key].(bool)
	if !ok {
		panic(fmt.Sprintf("config %q is %T, want a boolean", key, c.Config[key]))
	}
	return v
}

func (c Check) strings(key string) []string {
	switch v := c.Config[key].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				panic(fmt.Sprintf("config %q holds %T, want strings", key, e))
			}
			out = append(out, s)
		}
		return out
	case nil:
		return nil
	}
	panic(fmt.Sprintf("config %q is %T, want a list of strings", key, c.Config[key]))
}
