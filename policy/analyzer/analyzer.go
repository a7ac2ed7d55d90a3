// Package analyzer serves the policies of package rules to the Pulumi engine
// over the analyzer gRPC protocol.
//
// It replaces policyx's server (sdk v3.274.1), which dereferences a nil
// policy pack when `pulumi policy publish` asks GetPluginInfo and
// GetAnalyzerInfo without calling ConfigureStack first, ignores the pack
// config for stack policies, and lets a panic kill the plugin. Here the pack
// is built once at start, every call works in any order, and each policy
// runs under recover (see rules.Policy.CheckResource).
package analyzer

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"sync"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sluicehq/sluice/policy/rules"
)

// Server is a pulumirpc.AnalyzerServer over a fixed set of policies.
type Server struct {
	pulumirpc.UnimplementedAnalyzerServer

	name     string
	version  string
	policies []rules.Policy

	mu  sync.RWMutex
	cfg rules.PackConfig
	env rules.Env
}

// New returns a server for the named pack. The default enforcement level
// of the whole pack can be changed through the policy config key "all".
func New(name, version string, policies []rules.Policy) *Server {
	return &Server{name: name, version: version, policies: policies, cfg: rules.PackConfig{}}
}

// Handshake accepts the engine's handshake; the pack needs nothing from it.
func (s *Server) Handshake(context.Context, *pulumirpc.AnalyzerHandshakeRequest) (*pulumirpc.AnalyzerHandshakeResponse, error) {
	return &pulumirpc.AnalyzerHandshakeResponse{}, nil
}

// GetPluginInfo answers before and without ConfigureStack, as publish needs.
func (s *Server) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: s.version}, nil
}

// GetAnalyzerInfo describes the pack and every policy with its effective
// enforcement level, severity, config schema and default config.
func (s *Server) GetAnalyzerInfo(context.Context, *emptypb.Empty) (*pulumirpc.AnalyzerInfo, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	info := &pulumirpc.AnalyzerInfo{
		Name:           s.name,
		DisplayName:    "Sluice pipeline safety",
		Version:        s.version,
		SupportsConfig: true,
		Description: "Keeps the API Gateway → SQS → Lambda → RDS Proxy → MySQL pipeline private, encrypted, " +
			"IAM-authenticated and lossless.",
		Provider:      "aws",
		InitialConfig: map[string]*pulumirpc.PolicyConfig{},
	}
	for i := range s.policies {
		p := &s.policies[i]
		level, conf := p.Effective(s.cfg)
		pi := &pulumirpc.PolicyInfo{
			Name:             p.Name,
			Description:      p.Description,
			EnforcementLevel: pulumirpc.EnforcementLevel(level),
			Severity:         pulumirpc.PolicySeverity(p.Severity),
			PolicyType:       pulumirpc.PolicyType_POLICY_TYPE_RESOURCE,
			RemediationSteps: p.Remediation,
		}
		if p.IsStack() {
			pi.PolicyType = pulumirpc.PolicyType_POLICY_TYPE_STACK
		}
		initial := &pulumirpc.PolicyConfig{EnforcementLevel: pulumirpc.EnforcementLevel(level)}
		if len(p.ConfigSchema) > 0 {
			schema, err := toStruct(p.ConfigSchema)
			if err != nil {
				return nil, status.Errorf(codes.Internal, "config schema of policy %q: %v", p.Name, err)
			}
			pi.ConfigSchema = &pulumirpc.PolicyConfigSchema{Properties: schema}
			if initial.Properties, err = toStruct(conf); err != nil {
				return nil, status.Errorf(codes.Internal, "default config of policy %q: %v", p.Name, err)
			}
		}
		info.Policies = append(info.Policies, pi)
		info.InitialConfig[p.Name] = initial
	}
	return info, nil
}

// toStruct converts Go maps to a protobuf Struct through JSON, which also
// turns []string and nested schema maps into JSON values.
func toStruct(v any) (*structpb.Struct, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	st := &structpb.Struct{}
	if err := st.UnmarshalJSON(b); err != nil {
		return nil, err
	}
	return st, nil
}

// ConfigureStack records the stack name (for the production-only checks),
// the project, whether this is a preview, and the stack's configuration,
// from which a policy reads what the stack declares about itself (such as
// its public routes). The engine sends the configuration decrypted; the
// keys it names secret are left out, so no secret is held here.
func (s *Server) ConfigureStack(_ context.Context, req *pulumirpc.AnalyzerStackConfigureRequest) (*pulumirpc.AnalyzerStackConfigureResponse, error) {
	config := make(map[string]string, len(req.GetConfig()))
	for k, v := range req.GetConfig() {
		if !slices.Contains(req.GetConfigSecretKeys(), k) {
			config[k] = v
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.env = rules.Env{Stack: req.GetStack(), Project: req.GetProject(), Config: config, DryRun: req.GetDryRun()}
	return &pulumirpc.AnalyzerStackConfigureResponse{}, nil
}

// Configure sets the policy config. Unknown policies and properties are
// rejected so that a typo does not silently keep a default.
func (s *Server) Configure(_ context.Context, req *pulumirpc.ConfigureAnalyzerRequest) (*emptypb.Empty, error) {
	cfg, err := ParseConfig(s.policies, req.GetPolicyConfig())
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	s.mu.Lock()
	s.cfg = cfg
	s.mu.Unlock()
	return &emptypb.Empty{}, nil
}

// ParseConfig converts the protocol's policy config to a rules.PackConfig.
func ParseConfig(policies []rules.Policy, in map[string]*pulumirpc.PolicyConfig) (rules.PackConfig, error) {
	byName := map[string]*rules.Policy{}
	for i := range policies {
		byName[policies[i].Name] = &policies[i]
	}
	cfg := rules.PackConfig{}
	for name, pc := range in {
		p, known := byName[name]
		if !known && name != "all" {
			return nil, fmt.Errorf("policy config names unknown policy %q", name)
		}
		level := rules.Level(pc.GetEnforcementLevel())
		if level != rules.Advisory && level != rules.Mandatory && level != rules.Disabled {
			return nil, fmt.Errorf("policy %q: enforcement level %v is not supported (advisory, mandatory, disabled)",
				name, pc.GetEnforcementLevel())
		}
		entry := rules.PolicyConfig{EnforcementLevel: &level, Properties: rules.Config{}}
		for k, v := range pc.GetProperties().AsMap() {
			if p == nil {
				return nil, fmt.Errorf("policy config \"all\" takes only an enforcement level, not %q", k)
			}
			schema, ok := p.ConfigSchema[k]
			if !ok {
				return nil, fmt.Errorf("policy %q has no config property %q", name, k)
			}
			if err := CheckValue(schema, v); err != nil {
				return nil, fmt.Errorf("policy %q config %q: %w", name, k, err)
			}
			entry.Properties[k] = v
		}
		cfg[name] = entry
	}
	return cfg, nil
}

// Analyze runs the resource policies on one resource.
func (s *Server) Analyze(_ context.Context, req *pulumirpc.AnalyzeRequest) (*pulumirpc.AnalyzeResponse, error) {
	r, err := fromProto(req.GetType(), req.GetName(), req.GetUrn(), "", req.GetProperties(), nil, nil)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	cfg, env := s.state()
	var vs []rules.Violation
	for i := range s.policies {
		if s.policies[i].ValidateResource != nil {
			vs = append(vs, s.policies[i].CheckResource(r, cfg, env)...)
		}
	}
	return s.response(vs, req.GetUrn()), nil
}

// AnalyzeStack runs the stack policies, and the stack part of resource
// policies that follow references, over every resource, with the
// dependencies the engine reports.
func (s *Server) AnalyzeStack(_ context.Context, req *pulumirpc.AnalyzeStackRequest) (*pulumirpc.AnalyzeResponse, error) {
	resources := make([]rules.Resource, 0, len(req.GetResources()))
	for _, pr := range req.GetResources() {
		deps := map[string][]string{}
		for k, d := range pr.GetPropertyDependencies() {
			deps[k] = d.GetUrns()
		}
		r, err := fromProto(pr.GetType(), pr.GetName(), pr.GetUrn(), pr.GetParent(), pr.GetProperties(),
			pr.GetDependencies(), deps)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, err.Error())
		}
		resources = append(resources, r)
	}
	cfg, env := s.state()
	var vs []rules.Violation
	for i := range s.policies {
		if s.policies[i].ValidateStack != nil {
			vs = append(vs, s.policies[i].CheckStack(resources, cfg, env)...)
		}
	}
	return s.response(vs, ""), nil
}

// Remediate changes nothing: every policy of this pack validates.
func (s *Server) Remediate(context.Context, *pulumirpc.AnalyzeRequest) (*pulumirpc.RemediateResponse, error) {
	return &pulumirpc.RemediateResponse{}, nil
}

// Cancel has nothing to stop: every call finishes on its own.
func (s *Server) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	return &emptypb.Empty{}, nil
}

func (s *Server) state() (rules.PackConfig, rules.Env) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.cfg, s.env
}

func (s *Server) response(vs []rules.Violation, urn string) *pulumirpc.AnalyzeResponse {
	descriptions := map[string]string{}
	for _, p := range s.policies {
		descriptions[p.Name] = p.Description
	}
	sort.SliceStable(vs, func(i, j int) bool { return vs[i].Policy < vs[j].Policy })
	ds := make([]*pulumirpc.AnalyzeDiagnostic, 0, len(vs))
	for _, v := range vs {
		u := v.URN
		if u == "" {
			u = urn
		}
		ds = append(ds, &pulumirpc.AnalyzeDiagnostic{
			PolicyName:        v.Policy,
			PolicyPackName:    s.name,
			PolicyPackVersion: s.version,
			Description:       descriptions[v.Policy],
			Message:           descriptions[v.Policy] + "\n" + v.Message,
			EnforcementLevel:  pulumirpc.EnforcementLevel(v.EnforcementLevel),
			Severity:          pulumirpc.PolicySeverity(v.Severity),
			Urn:               u,
		})
	}
	return &pulumirpc.AnalyzeResponse{Diagnostics: ds}
}

// fromProto unmarshals a resource as the engine sends it, keeping computed
// values, secrets and output values so that the policies can see them.
func fromProto(typ, name, urn, parent string, props *structpb.Struct, deps []string,
	propDeps map[string][]string,
) (rules.Resource, error) {
	pm, err := plugin.UnmarshalProperties(props, plugin.MarshalOptions{
		Label:            "sluice-policy." + name,
		KeepUnknowns:     true,
		KeepSecrets:      true,
		KeepResources:    true,
		KeepOutputValues: true,
	})
	if err != nil {
		return rules.Resource{}, fmt.Errorf("unmarshal properties of %s: %w", urn, err)
	}
	if pm == nil {
		pm = resource.PropertyMap{}
	}
	return rules.Resource{
		Type: typ, Name: name, URN: urn, Parent: parent, Properties: pm,
		Dependencies: deps, PropertyDependencies: propDeps,
	}, nil
}

// CheckValue checks a config value against the subset of JSON schema the
// pack's config schemas use (type, items, additionalProperties, pattern),
// so that a wrong value is refused at Configure instead of surfacing as a
// policy failure on every resource.
func CheckValue(schema map[string]any, v any) error {
	ok := true
	switch schema["type"] {
	case "integer":
		f, isNum := v.(float64)
		ok = isNum && f == float64(int64(f))
	case "number":
		_, ok = v.(float64)
	case "boolean":
		_, ok = v.(bool)
	case "string":
		_, ok = v.(string)
	case "array":
		list, isList := v.([]any)
		ok = isList
		items, _ := schema["items"].(map[string]any)
		for i, e := range list {
			if items == nil {
				break
			}
			if err := CheckValue(items, e); err != nil {
				return fmt.Errorf("element %d: %w", i, err)
			}
		}
	case "object":
		obj, isObj := v.(map[string]any)
		ok = isObj
		each, _ := schema["additionalProperties"].(map[string]any)
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if each == nil {
				break
			}
			if err := CheckValue(each, obj[k]); err != nil {
				return fmt.Errorf("%q: %w", k, err)
			}
		}
	}
	if !ok {
		return fmt.Errorf("%v is not of type %v", v, schema["type"])
	}
	if pattern, isString := schema["pattern"].(string); isString {
		re, err := regexp.Compile(pattern)
		if err != nil {
			return fmt.Errorf("schema pattern %q: %w", pattern, err)
		}
		if s, _ := v.(string); !re.MatchString(s) {
			return fmt.Errorf("%q does not match %s", s, pattern)
		}
	}
	return nil
}
