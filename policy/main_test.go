package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource/plugin"
	"github.com/pulumi/pulumi/sdk/v3/go/common/workspace"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

// packBinary is the pack built once for all tests, named as the engine
// looks for a prebuilt Go pack on PATH.
var packBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-policy")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	packBinary = filepath.Join(dir, "pulumi-analyzer-policy-go")
	build := exec.Command("go", "build", "-o", packBinary, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// startPack starts the built pack with the arguments the engine passes and
// connects to the port it prints.
func startPack(t *testing.T) pulumirpc.AnalyzerClient {
	t.Helper()
	cmd := exec.Command(packBinary, "--logtostderr", "-v=9", "127.0.0.1:1", ".")
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start pack: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.Fatalf("read port: %v", err)
	}
	port, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		t.Fatalf("first stdout line %q is not a port: %v", line, err)
	}
	conn, err := grpc.NewClient("127.0.0.1:"+strconv.Itoa(port), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return pulumirpc.NewAnalyzerClient(conn)
}

func marshal(t *testing.T, pm resource.PropertyMap) *structpb.Struct {
	t.Helper()
	st, err := plugin.MarshalProperties(pm, plugin.MarshalOptions{KeepUnknowns: true, KeepSecrets: true, SkipInternalKeys: true})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func policiesOf(resp *pulumirpc.AnalyzeResponse) []string {
	var out []string
	for _, d := range resp.GetDiagnostics() {
		out = append(out, d.GetPolicyName())
	}
	return out
}

// TestPublishPath asks what `pulumi policy publish` asks, in its order:
// plugin and analyzer info, with no handshake and no ConfigureStack.
func TestPublishPath(t *testing.T) {
	client := startPack(t)
	ctx := context.Background()

	pi, err := client.GetPluginInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("GetPluginInfo before ConfigureStack: %v", err)
	}
	proj, err := workspace.LoadPolicyPack("PulumiPolicy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if pi.GetVersion() != rules.PackVersion || proj.Version != rules.PackVersion {
		t.Errorf("plugin version %q, PulumiPolicy.yaml version %q, want %q", pi.GetVersion(), proj.Version, rules.PackVersion)
	}

	info, err := client.GetAnalyzerInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatalf("GetAnalyzerInfo before ConfigureStack: %v", err)
	}
	if info.GetName() != rules.PackName || !info.GetSupportsConfig() {
		t.Errorf("pack %q supportsConfig %v", info.GetName(), info.GetSupportsConfig())
	}
	want := rules.All()
	if len(info.GetPolicies()) != len(want) {
		t.Fatalf("%d policies, want %d", len(info.GetPolicies()), len(want))
	}
	for i, p := range info.GetPolicies() {
		w := want[i]
		if p.GetName() != w.Name || p.GetEnforcementLevel() != pulumirpc.EnforcementLevel(w.EnforcementLevel) ||
			p.GetSeverity() != pulumirpc.PolicySeverity(w.Severity) || p.GetDescription() != w.Description {
			t.Errorf("policy %d: got %v", i, p)
		}
		if got := info.GetInitialConfig()[w.Name].GetEnforcementLevel(); got != pulumirpc.EnforcementLevel(w.EnforcementLevel) {
			t.Errorf("%s: initial enforcement %v", w.Name, got)
		}
		if p.GetRemediationSteps() == "" || p.GetRemediationSteps() != w.Remediation {
			t.Errorf("%s: remediation steps %q", w.Name, p.GetRemediationSteps())
		}
	}
	byName := map[string]*pulumirpc.PolicyInfo{}
	for _, p := range info.GetPolicies() {
		byName[p.GetName()] = p
	}
	for name, want := range map[string]struct {
		level pulumirpc.EnforcementLevel
		keys  []string
	}{
		"resource-policy-not-public":  {pulumirpc.EnforcementLevel_MANDATORY, []string{"narrowingConditionKeys"}},
		"rds-engine-standard-support": {pulumirpc.EnforcementLevel_ADVISORY, []string{"mysqlStandardSupportEnds", "auroraMysqlStandardSupportEnds", "asOf"}},
	} {
		p := byName[name]
		if p.GetEnforcementLevel() != want.level || p.GetPolicyType() != pulumirpc.PolicyType_POLICY_TYPE_RESOURCE {
			t.Errorf("%s: %v", name, p)
		}
		for _, k := range want.keys {
			if p.GetConfigSchema().GetProperties().GetFields()[k] == nil || info.GetInitialConfig()[name].GetProperties().GetFields()[k] == nil {
				t.Errorf("%s: config %q has no schema or default: %v / %v", name, k, p.GetConfigSchema(), info.GetInitialConfig()[name])
			}
		}
	}
	ends := info.GetInitialConfig()["rds-engine-standard-support"].GetProperties().GetFields()["mysqlStandardSupportEnds"].GetStructValue().AsMap()
	if ends["8.0"] != "2026-07-31" || ends["8.4"] != "2029-07-31" {
		t.Errorf("default MySQL support dates %v", ends)
	}
	dlq := info.GetPolicies()[slices.IndexFunc(want, func(p rules.Policy) bool { return p.Name == "sqs-queue-has-dlq" })]
	if dlq.GetPolicyType() != pulumirpc.PolicyType_POLICY_TYPE_STACK ||
		dlq.GetConfigSchema().GetProperties().GetFields()["minMaxReceiveCount"] == nil ||
		info.GetInitialConfig()["sqs-queue-has-dlq"].GetProperties().GetFields()["maxMaxReceiveCount"].GetNumberValue() != 20 {
		t.Errorf("sqs-queue-has-dlq info: %v / %v", dlq, info.GetInitialConfig()["sqs-queue-has-dlq"])
	}
}

// TestPreviewPath speaks as `pulumi preview` does: handshake, ConfigureStack
// with DryRun, Configure, GetAnalyzerInfo, Analyze per resource with
// computed and secret inputs, then AnalyzeStack with property dependencies.
func TestPreviewPath(t *testing.T) {
	client := startPack(t)
	ctx := context.Background()
	root := "."
	if _, err := client.Handshake(ctx, &pulumirpc.AnalyzerHandshakeRequest{EngineAddress: "127.0.0.1:1", RootDirectory: &root, ProgramDirectory: &root}); err != nil {
		t.Fatalf("Handshake: %v", err)
	}
	if _, err := client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{Stack: "dev", Project: "sluice", DryRun: true}); err != nil {
		t.Fatalf("ConfigureStack: %v", err)
	}
	props, _ := structpb.NewStruct(map[string]any{"maxMaxReceiveCount": 4})
	_, err := client.Configure(ctx, &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: map[string]*pulumirpc.PolicyConfig{
		"sqs-queue-has-dlq":         {EnforcementLevel: pulumirpc.EnforcementLevel_MANDATORY, Properties: props},
		"apigw-route-authorization": {EnforcementLevel: pulumirpc.EnforcementLevel_DISABLED},
	}})
	if err != nil {
		t.Fatalf("Configure: %v", err)
	}
	info, err := client.GetAnalyzerInfo(ctx, &emptypb.Empty{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range info.GetPolicies() {
		if p.GetName() == "apigw-route-authorization" && p.GetEnforcementLevel() != pulumirpc.EnforcementLevel_DISABLED {
			t.Errorf("configured level not reported: %v", p)
		}
	}

	stack := rulestest.Stack()
	byName := func(typ, name string) rules.Resource {
		for _, r := range stack {
			if r.Type == typ && r.Name == name {
				return r
			}
		}
		t.Fatalf("no %s %s", typ, name)
		return rules.Resource{}
	}
	analyze := func(r rules.Resource) *pulumirpc.AnalyzeResponse {
		t.Helper()
		resp, err := client.Analyze(ctx, &pulumirpc.AnalyzeRequest{Type: r.Type, Name: r.Name, Urn: r.URN, Properties: marshal(t, r.Properties)})
		if err != nil {
			t.Fatalf("Analyze %s: %v", r.Name, err)
		}
		return resp
	}

	// Every resource of the compliant stack passes; the route policy is disabled.
	for _, r := range stack {
		if got := policiesOf(analyze(r)); len(got) != 0 {
			t.Errorf("Analyze %s: %v", r.Name, got)
		}
	}

	// A computed security boolean fails closed; the secret password is read without error.
	db := byName("aws:rds/instance:Instance", "db")
	db.Properties = db.Properties.Copy()
	db.Properties["publiclyAccessible"] = rulestest.Computed()
	resp := analyze(db)
	if got := policiesOf(resp); !slices.Equal(got, []string{"rds-instance-not-public"}) {
		t.Fatalf("computed publiclyAccessible: %v", got)
	}
	d := resp.GetDiagnostics()[0]
	if d.GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY || d.GetUrn() != db.URN ||
		!strings.Contains(d.GetMessage(), "[critical]") || d.GetSeverity() != pulumirpc.PolicySeverity_POLICY_SEVERITY_CRITICAL {
		t.Errorf("diagnostic: %v", d)
	}

	// A policy document computed from other resources passes in preview.
	pol := byName("aws:iam/rolePolicy:RolePolicy", "consumer-policy")
	pol.Properties = pol.Properties.Copy()
	pol.Properties["policy"] = rulestest.Computed()
	if got := policiesOf(analyze(pol)); len(got) != 0 {
		t.Errorf("computed policy document in preview: %v", got)
	}

	// AnalyzeStack as in the preview of a new stack: every reference is
	// computed and comes with a property dependency (the source queue's
	// redrive policy holds the DLQ's unknown ARN); the stack passes. The
	// configured maxMaxReceiveCount is honoured once the count is known.
	var wire []*pulumirpc.AnalyzerResource
	queueURN := rulestest.URN("aws:sqs/queue:Queue", "queue")
	for _, r := range rulestest.Preview(stack) {
		ar := &pulumirpc.AnalyzerResource{Type: r.Type, Name: r.Name, Urn: r.URN, Properties: marshal(t, r.Properties),
			PropertyDependencies: map[string]*pulumirpc.AnalyzerPropertyDependencies{}}
		for k, urns := range r.PropertyDependencies {
			ar.PropertyDependencies[k] = &pulumirpc.AnalyzerPropertyDependencies{Urns: urns}
		}
		wire = append(wire, ar)
	}
	sresp, err := client.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: wire})
	if err != nil {
		t.Fatalf("AnalyzeStack: %v", err)
	}
	if got := policiesOf(sresp); len(got) != 0 {
		t.Errorf("AnalyzeStack with computed redrive policy in preview: %v", sresp.GetDiagnostics())
	}
	for _, ar := range wire {
		if ar.GetUrn() == queueURN {
			pm := byName("aws:sqs/queue:Queue", "queue").Properties
			ar.Properties = marshal(t, pm) // maxReceiveCount 5 > configured 4
		}
	}
	sresp, err = client.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: wire})
	if err != nil {
		t.Fatalf("AnalyzeStack: %v", err)
	}
	if got := policiesOf(sresp); !slices.Equal(got, []string{"sqs-queue-has-dlq"}) || sresp.GetDiagnostics()[0].GetUrn() != queueURN {
		t.Errorf("configured maxMaxReceiveCount 4: %v", sresp.GetDiagnostics())
	}

	// At `up` (DryRun false) a redrive policy that is still computed is a
	// violation.
	if _, err := client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{Stack: "dev", Project: "sluice"}); err != nil {
		t.Fatal(err)
	}
	for _, ar := range wire {
		if ar.GetUrn() == queueURN {
			pm := byName("aws:sqs/queue:Queue", "queue").Properties.Copy()
			pm["redrivePolicy"] = rulestest.Computed()
			ar.Properties = marshal(t, pm)
		}
	}
	sresp, err = client.AnalyzeStack(ctx, &pulumirpc.AnalyzeStackRequest{Resources: wire})
	if err != nil {
		t.Fatalf("AnalyzeStack: %v", err)
	}
	// (The queue policies are still computed too, so transport-tls-required
	// reports as well.)
	found := false
	for _, d := range sresp.GetDiagnostics() {
		found = found || d.GetPolicyName() == "sqs-queue-has-dlq" && d.GetUrn() == queueURN &&
			strings.Contains(d.GetMessage(), "redrivePolicy is unknown")
	}
	if !found {
		t.Errorf("computed redrive policy at up not reported: %v", sresp.GetDiagnostics())
	}

	// A config typo is refused instead of silently keeping the default.
	_, err = client.Configure(ctx, &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: map[string]*pulumirpc.PolicyConfig{
		"sqs-queue-has-dlq": {Properties: mustStruct(t, map[string]any{"maxReceiveCount": 3})},
	}})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("unknown config property: got %v, want InvalidArgument", err)
	}
}

// TestNewPoliciesOverTheWire sends the resources the two policies of
// issue 11 inspect as the engine would, with their config, in preview and
// at up.
func TestNewPoliciesOverTheWire(t *testing.T) {
	client := startPack(t)
	ctx := context.Background()
	configureStack := func(dryRun bool) {
		t.Helper()
		if _, err := client.ConfigureStack(ctx, &pulumirpc.AnalyzerStackConfigureRequest{Stack: "dev", Project: "sluice", DryRun: dryRun}); err != nil {
			t.Fatal(err)
		}
	}
	configureStack(true)
	if _, err := client.Configure(ctx, &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: map[string]*pulumirpc.PolicyConfig{
		"rds-engine-standard-support": {EnforcementLevel: pulumirpc.EnforcementLevel_ADVISORY, Properties: mustStruct(t, map[string]any{"asOf": "2026-12-01"})},
	}}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	analyze := func(typ string, props resource.PropertyMap) []*pulumirpc.AnalyzeDiagnostic {
		t.Helper()
		urn := rulestest.URN(typ, "r")
		resp, err := client.Analyze(ctx, &pulumirpc.AnalyzeRequest{Type: typ, Name: "r", Urn: urn, Properties: marshal(t, props)})
		if err != nil {
			t.Fatalf("Analyze %s: %v", typ, err)
		}
		return resp.GetDiagnostics()
	}
	db := resource.NewPropertyMapFromMap(map[string]any{"engine": "mysql", "engineVersion": "8.0", "publiclyAccessible": false,
		"storageEncrypted": true, "iamDatabaseAuthenticationEnabled": true})
	ds := analyze("aws:rds/instance:Instance", db)
	if len(ds) != 1 || ds[0].GetPolicyName() != "rds-engine-standard-support" || ds[0].GetEnforcementLevel() != pulumirpc.EnforcementLevel_ADVISORY ||
		!strings.Contains(ds[0].GetMessage(), "ended on 2026-07-31 (checked on 2026-12-01)") {
		t.Errorf("MySQL 8.0: %v", ds)
	}
	db["engineVersion"] = resource.NewProperty("8.4")
	if ds := analyze("aws:rds/instance:Instance", db); len(ds) != 0 {
		t.Errorf("MySQL 8.4: %v", ds)
	}

	public := resource.NewPropertyMapFromMap(map[string]any{"queueUrl": "https://sqs.ap-northeast-1.amazonaws.com/123456789012/q",
		"policy": `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sqs:SendMessage","Resource":"*"}]}`})
	ds = analyze("aws:sqs/queuePolicy:QueuePolicy", public)
	if len(ds) != 1 || ds[0].GetPolicyName() != "resource-policy-not-public" || ds[0].GetEnforcementLevel() != pulumirpc.EnforcementLevel_MANDATORY ||
		ds[0].GetSeverity() != pulumirpc.PolicySeverity_POLICY_SEVERITY_CRITICAL || !strings.Contains(ds[0].GetMessage(), "any principal") {
		t.Errorf("public queue policy: %v", ds)
	}
	computed := resource.PropertyMap{"arn": rulestest.Computed(), "policy": rulestest.Computed()}
	if ds := analyze("aws:sns/topicPolicy:TopicPolicy", computed); len(ds) != 0 {
		t.Errorf("computed topic policy in preview: %v", ds)
	}
	permission := resource.NewPropertyMapFromMap(map[string]any{"action": "lambda:InvokeFunction", "function": "f",
		"principal": "apigateway.amazonaws.com", "sourceArn": rulestest.Computed()})
	if ds := analyze("aws:lambda/permission:Permission", permission); len(ds) != 0 {
		t.Errorf("permission with a computed source ARN in preview: %v", ds)
	}

	configureStack(false)
	if ds := analyze("aws:sns/topicPolicy:TopicPolicy", computed); len(ds) != 1 || !strings.Contains(ds[0].GetMessage(), "still unknown") {
		t.Errorf("computed topic policy at up: %v", ds)
	}
	if ds := analyze("aws:lambda/permission:Permission", permission); len(ds) != 1 || ds[0].GetPolicyName() != "resource-policy-not-public" {
		t.Errorf("permission with a computed source ARN at up: %v", ds)
	}

	_, err := client.Configure(ctx, &pulumirpc.ConfigureAnalyzerRequest{PolicyConfig: map[string]*pulumirpc.PolicyConfig{
		"rds-engine-standard-support": {Properties: mustStruct(t, map[string]any{"asOf": "next week"})},
	}})
	if status.Code(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "asOf") {
		t.Errorf("malformed asOf: got %v, want InvalidArgument naming asOf", err)
	}
}

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
