package dbfunction_test

import (
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/lambdabuild"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func validArgs() dbfunction.Args {
	a := componenttest.ExampleDBFunction("sluice-dev-consumer", "sluice_app")
	a.Env = map[string]string{"SLUICE_LOG_LEVEL": "info"}
	return a
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*dbfunction.Args)
		field  string // the field the error must name; empty for valid
	}{
		{"valid", func(*dbfunction.Args) {}, ""},
		{"unreserved", func(a *dbfunction.Args) { a.ReservedConcurrency = 0 }, ""},
		{"bad name", func(a *dbfunction.Args) { a.Name = "has space" }, "Name"},
		{"long description", func(a *dbfunction.Args) { a.Description = strings.Repeat("x", 257) }, "Description"},
		{"no archive", func(a *dbfunction.Args) { a.Archive = lambdabuild.Archive{} }, "Archive"},
		{"no subnets", func(a *dbfunction.Args) { a.SubnetIDs = nil }, "SubnetIDs"},
		{"no security groups", func(a *dbfunction.Args) { a.SecurityGroupIDs = nil }, "SecurityGroupIDs"},
		{"no proxy", func(a *dbfunction.Args) { a.ProxyARN = nil }, "ProxyARN"},
		{"no proxy endpoint", func(a *dbfunction.Args) { a.ProxyEndpoint = nil }, "ProxyEndpoint"},
		{"no database", func(a *dbfunction.Args) { a.DBName = "" }, "DBName"},
		{"wildcard user", func(a *dbfunction.Args) { a.DBUser = "*" }, "DBUser"},
		{"timeout", func(a *dbfunction.Args) { a.Timeout = 901 * time.Second }, "Timeout"},
		{"memory", func(a *dbfunction.Args) { a.MemoryMB = 64 }, "MemoryMB"},
		{"negative reserved", func(a *dbfunction.Args) { a.ReservedConcurrency = -1 }, "ReservedConcurrency"},
		{"retention", func(a *dbfunction.Args) { a.LogRetentionDays = 10 }, "LogRetentionDays"},
		{"env overrides db", func(a *dbfunction.Args) { a.Env = map[string]string{"SLUICE_DB_USER": "root"} }, "Env"},
		{"env not sluice", func(a *dbfunction.Args) { a.Env = map[string]string{"PATH": "/"} }, "Env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, validArgs, tt.modify, tt.field) })
	}
}

func TestNewRejectsBadArgsBeforeRegistering(t *testing.T) {
	a := validArgs()
	a.MemoryMB = 0
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		_, err := dbfunction.New(ctx, "fn", a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "MemoryMB") {
		t.Fatalf("error = %v, want one naming MemoryMB", err)
	}
	if n := len(m.Registrations()); n != 0 {
		t.Errorf("%d resources registered before validation failed", n)
	}
}

func TestDBFunction(t *testing.T) {
	var out map[string]any
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		f, err := dbfunction.New(ctx, "consumer-function", validArgs())
		if err != nil {
			return err
		}
		out, err = componenttest.Await(ctx, map[string]pulumi.Output{"dbConnectArn": f.DBConnectARN})
		return err
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
	if in["reservedConcurrentExecutions"].NumberValue() != 10 || in["timeout"].NumberValue() != 30 || in["memorySize"].NumberValue() != 256 {
		t.Errorf("reserved %v timeout %v memory %v", in["reservedConcurrentExecutions"], in["timeout"], in["memorySize"])
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
	policy, err := iamdoc.Parse(m.One(t, "aws:iam/rolePolicy:RolePolicy", "consumer-function-policy").Inputs["policy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.CheckWildcards(dbfunction.VPCNetworkInterfacesSid); err != nil {
		t.Error(err)
	}
	connect, ok := policy.Find(dbfunction.DBConnectSid)
	wantConnect := "arn:aws:rds-db:ap-northeast-1:123456789012:dbuser:prx-0f1e2d3c4b5a69788/sluice_app"
	if !ok || len(connect.Resource) != 1 || connect.Resource[0] != wantConnect || len(connect.Action) != 1 || connect.Action[0] != "rds-db:connect" {
		t.Errorf("connect statement %+v, want rds-db:connect on %s", connect, wantConnect)
	}
	if out["dbConnectArn"] != wantConnect {
		t.Errorf("DBConnectARN output %v, want %q", out["dbConnectArn"], wantConnect)
	}
	logs, _ := policy.Find(dbfunction.LogsSid)
	wantLogs := "arn:aws:logs:ap-northeast-1:123456789012:log-group:/aws/lambda/sluice-dev-consumer:log-stream:*"
	if len(logs.Resource) != 1 || logs.Resource[0] != wantLogs {
		t.Errorf("logs statement resources %v, want [%s]", logs.Resource, wantLogs)
	}
	m.CheckParentedAndTagged(t, dbfunction.Type, "dev")
}
