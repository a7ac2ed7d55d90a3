package main

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/offline/mocks"
	"github.com/sluicehq/sluice/offline/stackrun"
)

// Secret is how every secret value is shown.
const Secret = "[secret]"

// Unknown is how a value shows that would only be known after `pulumi up`.
const Unknown = "[unknown]"

// Report is what the preview prints, as text or as one JSON object.
type Report struct {
	Project   string         `json:"project"`
	Stack     string         `json:"stack"`
	Region    string         `json:"region"`
	Resources []Resource     `json:"resources"`
	Outputs   map[string]any `json:"outputs"`
	// Sections are added by the SectionFuncs registered in this command
	// (for example the policy verdicts); each becomes a top-level JSON key.
	Sections []Section `json:"-"`
}

// Resource is one resource `pulumi up` would create.
type Resource struct {
	Type   string         `json:"type"`
	Name   string         `json:"name"`
	URN    string         `json:"urn"`
	Parent string         `json:"parent,omitempty"` // parent URN, empty for top-level resources
	Custom bool           `json:"custom"`           // false for component resources
	Inputs map[string]any `json:"inputs"`           // as the provider would receive them
}

// Section is extra content another file of this command contributes: a
// top-level JSON key and a block of text printed after the outputs.
type Section struct {
	Key  string // JSON key, e.g. "policies"
	JSON any
	Text string
	// Failed makes the command exit non-zero after printing.
	Failed bool
}

// SectionFunc computes a section from the program's run under mocks.
type SectionFunc func(run *stackrun.Result) (Section, error)

// sectionFuncs are appended to by init functions of other files of this
// command; the policy pack's verdicts plug in here.
var sectionFuncs []SectionFunc

// MarshalJSON writes the report's fields and every section as one object.
func (r Report) MarshalJSON() ([]byte, error) {
	type plainReport Report
	base, err := json.Marshal(plainReport(r))
	if err != nil {
		return nil, err
	}
	if len(r.Sections) == 0 {
		return base, nil
	}
	var merged map[string]json.RawMessage
	if err := json.Unmarshal(base, &merged); err != nil {
		return nil, err
	}
	for _, s := range r.Sections {
		if _, taken := merged[s.Key]; taken {
			return nil, fmt.Errorf("preview: section key %q is already used", s.Key)
		}
		raw, err := json.Marshal(s.JSON)
		if err != nil {
			return nil, fmt.Errorf("preview: section %s: %w", s.Key, err)
		}
		merged[s.Key] = raw
	}
	return json.Marshal(merged)
}

// NewReport turns a run into a report, resources in tree order (each
// component followed by its children), sections computed.
func NewReport(run *stackrun.Result, region string) (Report, error) {
	r := Report{Project: run.Project, Stack: run.Stack, Region: region, Outputs: map[string]any{}}
	for _, reg := range treeOrder(run.Resources) {
		r.Resources = append(r.Resources, Resource{
			Type:   reg.Type,
			Name:   reg.Name,
			URN:    reg.URN,
			Parent: parentURN(reg.Parent),
			Custom: reg.Custom,
			Inputs: PlainMap(reg.Inputs),
		})
	}
	for k, v := range run.Outputs {
		r.Outputs[string(k)] = Plain(v)
	}
	for _, f := range sectionFuncs {
		s, err := f(run)
		if err != nil {
			return Report{}, err
		}
		r.Sections = append(r.Sections, s)
	}
	return r, nil
}

// parentURN hides the root stack, the implicit parent of top-level resources.
func parentURN(urn string) string {
	if resource.URN(urn).QualifiedType() == resource.RootStackType {
		return ""
	}
	return urn
}

// treeOrder sorts resources depth-first: top-level resources by type and
// name, each followed by its children in the same order.
func treeOrder(regs []mocks.Registration) []mocks.Registration {
	children := map[string][]mocks.Registration{}
	known := map[string]bool{}
	for _, r := range regs {
		known[r.URN] = true
	}
	for _, r := range regs {
		parent := r.Parent
		if !known[parent] {
			parent = ""
		}
		children[parent] = append(children[parent], r)
	}
	var out []mocks.Registration
	var walk func(parent string)
	walk = func(parent string) {
		kids := children[parent]
		sort.Slice(kids, func(i, j int) bool {
			if ri, rj := pipelineRank(kids[i].Type), pipelineRank(kids[j].Type); ri != rj {
				return ri < rj
			}
			if kids[i].Custom != kids[j].Custom {
				return kids[i].Custom // resources before nested components
			}
			if kids[i].Type != kids[j].Type {
				return kids[i].Type < kids[j].Type
			}
			return kids[i].Name < kids[j].Name
		})
		for _, k := range kids {
			out = append(out, k)
			walk(k.URN)
		}
	}
	walk("")
	return out
}

// pipelineOrder ranks the components in the order data flows and is
// provisioned, so the preview reads top to bottom like the architecture.
var pipelineOrder = []string{"network", "database", "proxy", "queue", "migration", "function", "api", "observability"}

// pipelineRank returns a component type's place in pipelineOrder; AWS
// resources and unknown components rank after them.
func pipelineRank(typ string) int {
	if mod, ok := strings.CutPrefix(typ, "sluice:"); ok {
		mod, _, _ = strings.Cut(mod, ":")
		if i := slices.Index(pipelineOrder, mod); i >= 0 {
			return i
		}
	}
	return len(pipelineOrder)
}

// Plain converts a property value to plain JSON-able data as a provider
// would receive it, with secrets replaced by Secret.
func Plain(v resource.PropertyValue) any {
	switch {
	case v.IsSecret():
		return Secret
	case v.IsComputed():
		return Unknown
	case v.IsOutput():
		o := v.OutputValue()
		if o.Secret {
			return Secret
		}
		if !o.Known {
			return Unknown
		}
		return Plain(o.Element)
	case v.IsNull():
		return nil
	case v.IsBool():
		return v.BoolValue()
	case v.IsNumber():
		return v.NumberValue()
	case v.IsString():
		return v.StringValue()
	case v.IsArray():
		out := []any{}
		for _, e := range v.ArrayValue() {
			out = append(out, Plain(e))
		}
		return out
	case v.IsObject():
		return PlainMap(v.ObjectValue())
	case v.IsAsset():
		a := v.AssetValue()
		return map[string]any{"asset": firstNonEmpty(a.Path, a.URI, "text"), "hash": a.Hash}
	case v.IsArchive():
		a := v.ArchiveValue()
		return map[string]any{"archive": firstNonEmpty(a.Path, a.URI, "assets"), "hash": a.Hash}
	case v.IsResourceReference():
		return string(v.ResourceReferenceValue().URN)
	}
	return v.String()
}

// PlainMap converts a property map with Plain.
func PlainMap(m resource.PropertyMap) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[string(k)] = Plain(v)
	}
	return out
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// keySettings are the inputs the text preview shows per type: what a
// reviewer checks before `pulumi up`.
var keySettings = map[string][]string{
	"aws:ec2/vpc:Vpc":       {"cidrBlock"},
	"aws:ec2/subnet:Subnet": {"availabilityZone", "cidrBlock", "mapPublicIpOnLaunch"},
	"aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": {"ipProtocol", "fromPort", "toPort", "description"},
	"aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule":   {"ipProtocol", "fromPort", "toPort", "description"},
	"aws:rds/parameterGroup:ParameterGroup":                     {"family", "parameters"},
	"aws:rds/instance:Instance":                                 {"identifier", "engine", "engineVersion", "instanceClass", "allocatedStorage", "maxAllocatedStorage", "multiAz", "publiclyAccessible", "storageEncrypted", "iamDatabaseAuthenticationEnabled", "manageMasterUserPassword", "deletionProtection", "backupRetentionPeriod", "skipFinalSnapshot", "finalSnapshotIdentifier", "performanceInsightsEnabled"},
	"aws:secretsmanager/secretVersion:SecretVersion":            {"secretString"},
	"aws:rds/proxy:Proxy":                                       {"engineFamily", "requireTls", "idleClientTimeout", "auths"},
	"aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup":   {"connectionPoolConfig"},
	"aws:sqs/queue:Queue":                                       {"visibilityTimeoutSeconds", "messageRetentionSeconds", "maxMessageSize", "sqsManagedSseEnabled", "redrivePolicy"},
	"aws:sqs/redriveAllowPolicy:RedriveAllowPolicy":             {"redriveAllowPolicy"},
	"aws:lambda/function:Function":                              {"runtime", "architectures", "handler", "timeout", "memorySize", "reservedConcurrentExecutions"},
	"aws:lambda/eventSourceMapping:EventSourceMapping":          {"batchSize", "maximumBatchingWindowInSeconds", "functionResponseTypes", "scalingConfig"},
	"aws:lambda/invocation:Invocation":                          {"input", "triggers"},
	"aws:cloudwatch/logGroup:LogGroup":                          {"name", "retentionInDays"},
	"aws:cloudwatch/metricAlarm:MetricAlarm":                    {"metricName", "statistic", "comparisonOperator", "threshold"},
	"aws:kms/key:Key":                                           {"deletionWindowInDays"},
	"aws:ec2/vpcEndpoint:VpcEndpoint":                           {"serviceName", "vpcEndpointType", "privateDnsEnabled"},
	"aws:apigatewayv2/api:Api":                                  {"protocolType", "corsConfiguration"},
	"aws:apigatewayv2/integration:Integration":                  {"integrationType", "integrationSubtype", "payloadFormatVersion", "requestParameters"},
	"aws:apigatewayv2/route:Route":                              {"routeKey", "authorizationType"},
	"aws:apigatewayv2/stage:Stage":                              {"name", "autoDeploy", "defaultRouteSettings"},
	"aws:sns/topicSubscription:TopicSubscription":               {"protocol"},
}

// Text renders the report for a terminal.
func (r Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Offline preview of stack %q (project %s, region %s): AWS is mocked, nothing is deployed.\n", r.Stack, r.Project, r.Region)
	fmt.Fprintf(&b, "pulumi up would create:\n\n")
	depth := map[string]int{"": 0}
	components, custom := 0, 0
	for _, res := range r.Resources {
		d := depth[res.Parent] + 1
		depth[res.URN] = d
		indent := strings.Repeat("    ", d-1)
		if res.Custom {
			custom++
		} else {
			components++
		}
		fmt.Fprintf(&b, "%s+ %-58s %s\n", indent, res.Type, res.Name)
		for _, key := range keySettings[res.Type] {
			v, ok := res.Inputs[key]
			if !ok {
				continue
			}
			fmt.Fprintf(&b, "%s      %s: %s\n", indent, key, compact(v))
		}
	}
	fmt.Fprintf(&b, "\n%d resources (%d AWS resources, %d components)\n\nOutputs:\n", len(r.Resources), custom, components)
	keys := slices.Sorted(maps.Keys(r.Outputs))
	width := 0
	for _, k := range keys {
		width = max(width, len(k))
	}
	for _, k := range keys {
		fmt.Fprintf(&b, "    %-*s %s\n", width, k, compact(r.Outputs[k]))
	}
	for _, s := range r.Sections {
		if s.Text != "" {
			fmt.Fprintf(&b, "\n%s", strings.TrimRight(s.Text, "\n")+"\n")
		}
	}
	return b.String()
}

// compact renders a value on one line; JSON documents held in strings (IAM
// and redrive policies) are shown as they are.
func compact(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
