package consumerfn_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/consumerfn"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/offline/componenttest"
	"github.com/sluicehq/sluice/offline/mocks"
)

func validConsumerArgs() consumerfn.Args {
	c := componenttest.Settings().Consumer
	c.BatchSize, c.BatchingWindow, c.MaxConcurrency, c.ReservedConcurrency = 25, 2*time.Second, 5, 10
	return consumerfn.Args{
		Consumer: c,
		Function: componenttest.ExampleDBFunction("sluice-dev-consumer", "sluice_app"),
		QueueARN: pulumi.String(componenttest.ExampleQueueARN),
	}
}

func TestConsumerArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*consumerfn.Args)
		field  string // the field the error must name; empty for valid
	}{
		{"valid", func(*consumerfn.Args) {}, ""},
		{"timeout", func(a *consumerfn.Args) { a.Timeout = 901 * time.Second }, "Consumer.Timeout"},
		{"no queue", func(a *consumerfn.Args) { a.QueueARN = nil }, "QueueARN"},
		{"batch size", func(a *consumerfn.Args) { a.BatchSize = 0 }, "Consumer.BatchSize"},
		{"window range", func(a *consumerfn.Args) { a.BatchingWindow = 301 * time.Second }, "Consumer.BatchingWindow"},
		{"big batch without window", func(a *consumerfn.Args) { a.BatchingWindow = 0 }, "Consumer.BatchingWindow"},
		{"max concurrency low", func(a *consumerfn.Args) { a.MaxConcurrency = 1 }, "Consumer.MaxConcurrency"},
		{"max concurrency high", func(a *consumerfn.Args) { a.MaxConcurrency = 1001 }, "Consumer.MaxConcurrency"},
		{"reserved below max", func(a *consumerfn.Args) { a.ReservedConcurrency = 4 }, "Consumer.MaxConcurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, validConsumerArgs, tt.modify, tt.field) })
	}
}

func TestNewConsumerRejectsBadArgsBeforeRegistering(t *testing.T) {
	a := validConsumerArgs()
	a.MaxConcurrency = 0
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		_, err := consumerfn.New(ctx, "consumer", a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "MaxConcurrency") {
		t.Fatalf("error = %v, want one naming MaxConcurrency", err)
	}
	if len(m.Registrations()) != 0 {
		t.Errorf("%d resources registered before validation failed", len(m.Registrations()))
	}
}

// The mapping must wait for the migration step; an Invocation stands in
// for it (a custom resource, as DependsOn on a component means its
// children).
func TestConsumer(t *testing.T) {
	var gateURN string
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
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
		c, err := consumerfn.New(ctx, "consumer", a)
		if err != nil {
			return err
		}
		ctx.Export("fn", c.FunctionARN)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The function is a DBFunction (tested in infra/dbfunction); here only
	// what the mapping needs of it.
	fn := m.One(t, "aws:lambda/function:Function", "consumer-function")
	in := fn.Inputs

	// Queue policy: the four consumer actions on this queue only.
	queue := parsePolicy(t, m.One(t, "aws:iam/rolePolicy:RolePolicy", "consumer-queue-policy"))
	if err := queue.CheckWildcards(); err != nil {
		t.Error(err)
	}
	role := m.One(t, "aws:iam/role:Role", "consumer-function-role")
	if got := m.One(t, "aws:iam/rolePolicy:RolePolicy", "consumer-queue-policy").Inputs["role"].StringValue(); got != role.ID {
		t.Errorf("queue policy attached to %q, want the function's role %q", got, role.ID)
	}
	qs, _ := queue.Find(consumerfn.QueueSid)
	if len(queue.Statement) != 1 || len(qs.Resource) != 1 || qs.Resource[0] != componenttest.ExampleQueueARN || strings.Join(qs.Action, ",") != strings.Join(consumerfn.ConsumerActions, ",") {
		t.Errorf("queue policy %+v, want %v on %s only", queue, consumerfn.ConsumerActions, componenttest.ExampleQueueARN)
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
	if esm.Inputs["eventSourceArn"].StringValue() != componenttest.ExampleQueueARN {
		t.Errorf("eventSourceArn = %v", esm.Inputs["eventSourceArn"])
	}
	if got, want := esm.Inputs["functionName"].StringValue(), "arn:aws:lambda:ap-northeast-1:123456789012:function:sluice-dev-consumer"; got != want {
		t.Errorf("mapping functionName = %q, want the consumer's ARN %q", got, want)
	}
	if esm.Inputs["batchSize"].NumberValue() != 25 || esm.Inputs["maximumBatchingWindowInSeconds"].NumberValue() != 2 {
		t.Errorf("batching = %v / %v", esm.Inputs["batchSize"], esm.Inputs["maximumBatchingWindowInSeconds"])
	}
	if !slices.Contains(esm.Dependencies, gateURN) || gateURN == "" {
		t.Errorf("mapping deps %v do not include the migration gate %s", esm.Dependencies, gateURN)
	}
	if !esm.DependsOnName("consumer-queue-policy") {
		t.Errorf("mapping deps %v do not include the queue policy", esm.Dependencies)
	}

	m.CheckParentedAndTagged(t, "sluice:function:", "dev", "migrated")
}

func parsePolicy(t *testing.T, r mocks.Registration) iamdoc.Document {
	t.Helper()
	d, err := iamdoc.Parse(r.Inputs["policy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	return d
}
