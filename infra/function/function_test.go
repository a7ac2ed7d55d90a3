package function_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/function"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/lambdabuild"
	"github.com/sluicehq/sluice/infra/mocks"
)

func validFunctionArgs() function.DBFunctionArgs {
	return function.DBFunctionArgs{
		Name:                "sluice-dev-consumer",
		Archive:             lambdabuild.Archive{Path: "/tmp/consumer.zip", SourceCodeHash: "9NMreOYR3bt2AoBJauULov6udMJ9XdjF8dl2kTY5/tA="},
		SubnetIDs:           pulumi.ToStringArray([]string{"subnet-0a1", "subnet-0b2"}),
		SecurityGroupIDs:    pulumi.ToStringArray([]string{"sg-0c3"}),
		ProxyARN:            pulumi.String(mocks.ExampleProxyARN),
		ProxyEndpoint:       pulumi.String("sluice-dev.proxy-c0ffee.ap-northeast-1.rds.amazonaws.com"),
		DBName:              "sluice",
		DBUser:              "sluice_app",
		Env:                 map[string]string{"SLUICE_DB_MAX_OPEN_CONNS": "1"},
		TimeoutSeconds:      30,
		MemoryMB:            256,
		ReservedConcurrency: 10,
		LogRetentionDays:    14,
		Tags:                map[string]string{"project": "sluice", "stack": "dev"},
	}
}

func validConsumerArgs() function.ConsumerArgs {
	f := validFunctionArgs()
	f.Env = map[string]string{"SLUICE_LOG_LEVEL": "info"}
	return function.ConsumerArgs{
		Function:              f,
		QueueARN:              pulumi.String(mocks.ExampleQueueARN),
		BatchSize:             25,
		BatchingWindowSeconds: 2,
		MaximumConcurrency:    5,
	}
}

func TestConsumerArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*function.ConsumerArgs)
		field  string // the field the error must name; empty for valid
	}{
		{"valid", func(*function.ConsumerArgs) {}, ""},
		{"bad name", func(a *function.ConsumerArgs) { a.Function.Name = "has space" }, "Function.Name"},
		{"long description", func(a *function.ConsumerArgs) { a.Function.Description = strings.Repeat("x", 257) }, "Function.Description"},
		{"no archive", func(a *function.ConsumerArgs) { a.Function.Archive = lambdabuild.Archive{} }, "Function.Archive"},
		{"no subnets", func(a *function.ConsumerArgs) { a.Function.SubnetIDs = nil }, "Function.SubnetIDs"},
		{"no proxy", func(a *function.ConsumerArgs) { a.Function.ProxyARN = nil }, "Function.ProxyARN"},
		{"wildcard user", func(a *function.ConsumerArgs) { a.Function.DBUser = "*" }, "Function.DBUser"},
		{"timeout", func(a *function.ConsumerArgs) { a.Function.TimeoutSeconds = 901 }, "Function.TimeoutSeconds"},
		{"memory", func(a *function.ConsumerArgs) { a.Function.MemoryMB = 64 }, "Function.MemoryMB"},
		{"retention", func(a *function.ConsumerArgs) { a.Function.LogRetentionDays = 10 }, "Function.LogRetentionDays"},
		{"env overrides db", func(a *function.ConsumerArgs) { a.Function.Env = map[string]string{"SLUICE_DB_USER": "root"} }, "Function.Env"},
		{"env not sluice", func(a *function.ConsumerArgs) { a.Function.Env = map[string]string{"PATH": "/"} }, "Function.Env"},
		{"no queue", func(a *function.ConsumerArgs) { a.QueueARN = nil }, "QueueARN"},
		{"batch size", func(a *function.ConsumerArgs) { a.BatchSize = 0 }, "BatchSize"},
		{"window range", func(a *function.ConsumerArgs) { a.BatchingWindowSeconds = 301 }, "BatchingWindowSeconds"},
		{"big batch without window", func(a *function.ConsumerArgs) { a.BatchingWindowSeconds = 0 }, "BatchingWindowSeconds"},
		{"max concurrency low", func(a *function.ConsumerArgs) { a.MaximumConcurrency = 1 }, "MaximumConcurrency"},
		{"max concurrency high", func(a *function.ConsumerArgs) { a.MaximumConcurrency = 1001 }, "MaximumConcurrency"},
		{"reserved below max", func(a *function.ConsumerArgs) { a.Function.ReservedConcurrency = 4 }, "Function.ReservedConcurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { mocks.CheckValidate(t, validConsumerArgs, tt.modify, tt.field) })
	}
}

func TestNewConsumerRejectsBadArgsBeforeRegistering(t *testing.T) {
	a := validConsumerArgs()
	a.MaximumConcurrency = 0
	m, err := mocks.Record(mocks.ExampleRegion, func(ctx *pulumi.Context) error {
		_, err := function.NewConsumer(ctx, "consumer", a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "MaximumConcurrency") {
		t.Fatalf("error = %v, want one naming MaximumConcurrency", err)
	}
	if len(m.Registrations()) != 0 {
		t.Errorf("%d resources mocks.Registration before validation failed", len(m.Registrations()))
	}
}

// The mapping must wait for the migration step; an Invocation stands in
// for it (a custom resource, as DependsOn on a component means its
// children).
func TestConsumer(t *testing.T) {
	var gateURN string
	m, err := mocks.Record(mocks.ExampleRegion, func(ctx *pulumi.Context) error {
		g, err := lambda.NewInvocation(ctx, "migrated", &lambda.InvocationArgs{
			FunctionName: pulumi.String("sluice-dev-migrator"),
			Input:        pulumi.String(`{"action":"up"}`),
		})
		if err != nil {
			return err
		}
		g.URN().ApplyT(func(u pulumi.URN) string { gateURN = string(u); return "" })
		a := validConsumerArgs()
		a.DependsOn = []pulumi.Resource{g}
		c, err := function.NewConsumer(ctx, "consumer", a)
		if err != nil {
			return err
		}
		ctx.Export("fn", c.FunctionARN)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	fn := m.One(t, "aws:lambda/function:Function", "consumer-function")
	in := fn.Inputs
	for key, want := range map[string]string{
		"runtime": "provided.al2023", "handler": "bootstrap", "name": "sluice-dev-consumer",
		"sourceCodeHash": "9NMreOYR3bt2AoBJauULov6udMJ9XdjF8dl2kTY5/tA=",
	} {
		if got := in[resource.PropertyKey(key)].StringValue(); got != want {
			t.Errorf("function %s = %q, want %q", key, got, want)
		}
	}
	if a := in["architectures"].ArrayValue(); len(a) != 1 || a[0].StringValue() != "arm64" {
		t.Errorf("architectures = %v, want [arm64]", a)
	}
	if in["loggingConfig"].ObjectValue()["logFormat"].StringValue() != "JSON" {
		t.Errorf("loggingConfig = %v, want JSON log format", in["loggingConfig"])
	}
	logGroup := m.One(t, "aws:cloudwatch/logGroup:LogGroup", "consumer-function-logs")
	if got, want := in["loggingConfig"].ObjectValue()["logGroup"].StringValue(), logGroup.Inputs["name"].StringValue(); got != want {
		t.Errorf("function logs to %q, want its own log group %q", got, want)
	}
	if logGroup.Inputs["retentionInDays"].NumberValue() != 14 {
		t.Errorf("log group retention = %v, want 14", logGroup.Inputs["retentionInDays"])
	}
	if !fn.DependsOnName("consumer-function-logs") || !fn.DependsOnName("consumer-function-policy") {
		t.Errorf("function deps %v: want the log group and the role policy first", fn.Dependencies)
	}

	env := in["environment"].ObjectValue()["variables"].ObjectValue()
	wantEnv := map[string]string{
		"SLUICE_DB_ENDPOINT": "sluice-dev.proxy-c0ffee.ap-northeast-1.rds.amazonaws.com:3306",
		"SLUICE_DB_NAME":     "sluice",
		"SLUICE_DB_USER":     "sluice_app",
		"SLUICE_DB_AUTH":     "iam",
		"SLUICE_DB_TLS":      "true",
		"SLUICE_LOG_LEVEL":   "info",
	}
	for k, want := range wantEnv {
		if got := env[resource.PropertyKey(k)]; !got.IsString() || got.StringValue() != want {
			t.Errorf("env %s = %v, want %q", k, got, want)
		}
	}
	if _, ok := env["SLUICE_DB_PASSWORD"]; ok {
		t.Error("SLUICE_DB_PASSWORD is set: IAM auth must not carry a password")
	}
	vpc := in["vpcConfig"].ObjectValue()
	if len(vpc["subnetIds"].ArrayValue()) != 2 || vpc["securityGroupIds"].ArrayValue()[0].StringValue() != "sg-0c3" {
		t.Errorf("vpcConfig = %v", vpc)
	}

	// Role policy: logs of this log group only, ENIs (named exception),
	// rds-db:connect derived from the proxy ARN.
	policy := parsePolicy(t, m.One(t, "aws:iam/rolePolicy:RolePolicy", "consumer-function-policy"))
	if err := policy.CheckWildcards(function.VPCNetworkInterfacesSid); err != nil {
		t.Error(err)
	}
	connect, ok := policy.Find(function.DBConnectSid)
	wantConnect := "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0f1e2d3c4b5a69788/sluice_app"
	if !ok || len(connect.Resource) != 1 || connect.Resource[0] != wantConnect || len(connect.Action) != 1 || connect.Action[0] != "rds-db:connect" {
		t.Errorf("connect statement %+v, want rds-db:connect on %s", connect, wantConnect)
	}
	logs, _ := policy.Find(function.LogsSid)
	wantLogs := "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/sluice-dev-consumer:log-stream:*"
	if len(logs.Resource) != 1 || logs.Resource[0] != wantLogs {
		t.Errorf("logs statement resources %v, want [%s]", logs.Resource, wantLogs)
	}

	// Queue policy: the four consumer actions on this queue only.
	queue := parsePolicy(t, m.One(t, "aws:iam/rolePolicy:RolePolicy", "consumer-queue-policy"))
	if err := queue.CheckWildcards(); err != nil {
		t.Error(err)
	}
	qs, _ := queue.Find(function.QueueSid)
	if len(queue.Statement) != 1 || len(qs.Resource) != 1 || qs.Resource[0] != mocks.ExampleQueueARN || strings.Join(qs.Action, ",") != strings.Join(function.ConsumerActions, ",") {
		t.Errorf("queue policy %+v, want %v on %s only", queue, function.ConsumerActions, mocks.ExampleQueueARN)
	}

	// The mapping: partial batch responses, max concurrency within the
	// reserved concurrency, created after the gate and the queue policy.
	esm := m.One(t, "aws:lambda/eventSourceMapping:EventSourceMapping", "consumer-mapping")
	rt := esm.Inputs["functionResponseTypes"].ArrayValue()
	if len(rt) != 1 || rt[0].StringValue() != "ReportBatchItemFailures" {
		t.Errorf("functionResponseTypes = %v, want [ReportBatchItemFailures]", rt)
	}
	maxConc := esm.Inputs["scalingConfig"].ObjectValue()["maximumConcurrency"].NumberValue()
	reserved := in["reservedConcurrentExecutions"].NumberValue()
	if maxConc < 2 || maxConc > reserved {
		t.Errorf("maximumConcurrency %v, reserved %v: want 2 ≤ max ≤ reserved", maxConc, reserved)
	}
	if esm.Inputs["eventSourceArn"].StringValue() != mocks.ExampleQueueARN {
		t.Errorf("eventSourceArn = %v", esm.Inputs["eventSourceArn"])
	}
	if got, want := esm.Inputs["functionName"].StringValue(), "arn:aws:lambda:ap-northeast-1:123456789012:function:sluice-dev-consumer"; got != want {
		t.Errorf("mapping functionName = %q, want the consumer's ARN %q", got, want)
	}
	if esm.Inputs["batchSize"].NumberValue() != 25 || esm.Inputs["maximumBatchingWindowInSeconds"].NumberValue() != 2 {
		t.Errorf("batching = %v / %v", esm.Inputs["batchSize"], esm.Inputs["maximumBatchingWindowInSeconds"])
	}
	if !contains(esm.Dependencies, gateURN) || gateURN == "" {
		t.Errorf("mapping deps %v do not include the migration gate %s", esm.Dependencies, gateURN)
	}
	if !esm.DependsOnName("consumer-queue-policy") {
		t.Errorf("mapping deps %v do not include the queue policy", esm.Dependencies)
	}

	// Every AWS resource sits under the component and is tagged.
	for _, r := range m.Registrations() {
		if !strings.HasPrefix(r.Type, "aws:") || r.Name == "migrated" {
			continue
		}
		if !strings.Contains(r.Parent, "sluice:function:") {
			t.Errorf("%s %s has parent %q, want a sluice:function component", r.Type, r.Name, r.Parent)
		}
		if tags, ok := r.Inputs["tags"]; ok {
			if tags.ObjectValue()["stack"].StringValue() != "dev" {
				t.Errorf("%s %s tags %v lack stack", r.Type, r.Name, tags)
			}
		} else if taggable[r.Type] {
			t.Errorf("%s %s is untagged", r.Type, r.Name)
		}
	}
}

var taggable = map[string]bool{
	"aws:lambda/function:Function":                     true,
	"aws:iam/role:Role":                                true,
	"aws:cloudwatch/logGroup:LogGroup":                 true,
	"aws:lambda/eventSourceMapping:EventSourceMapping": true,
}

func parsePolicy(t *testing.T, r mocks.Registration) iamdoc.Document {
	t.Helper()
	d, err := iamdoc.Parse(r.Inputs["policy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
