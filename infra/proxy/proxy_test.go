package proxy_test

import (
	"slices"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/mysqlversion"
	"github.com/sluicehq/sluice/infra/proxy"
	"github.com/sluicehq/sluice/offline/componenttest"
)

const (
	masterARN = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:rds!db-abc-AbCdEf"
	appARN    = "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:sluice-dev-app-XyZ123"
)

func validArgs() proxy.Args {
	p := componenttest.Settings().Proxy
	p.IdleClientTimeout, p.BorrowTimeout, p.MaxConnectionsPercent, p.MaxIdleConnectionsPercent = 900*time.Second, 10*time.Second, 90, 50
	return proxy.Args{
		Proxy:                  p,
		ClientPasswordAuthType: "MYSQL_CACHING_SHA2_PASSWORD",
		SubnetIDs:              pulumi.ToStringArray([]string{"subnet-0123456789abcdef0", "subnet-0123456789abcdef1"}),
		SecurityGroupIDs:       pulumi.ToStringArray([]string{"sg-0123456789abcdef0"}),
		InstanceIdentifier:     pulumi.String("sluice-dev-db-mysql"),
		MasterSecretARN:        pulumi.String(masterARN),
		AppSecretARN:           pulumi.String(appARN),
		Tags:                   map[string]string{"project": "sluice", "stack": "dev"},
	}
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*proxy.Args)
		field  string
	}{
		{"valid", func(*proxy.Args) {}, ""},
		{"mysql 8.0 clients", func(a *proxy.Args) { a.ClientPasswordAuthType = "MYSQL_NATIVE_PASSWORD" }, ""},
		{"no idle connections", func(a *proxy.Args) { a.MaxIdleConnectionsPercent = 0 }, ""},
		{"idle timeout", func(a *proxy.Args) { a.IdleClientTimeout = 28801 * time.Second }, "Proxy.IdleClientTimeout"},
		{"borrow timeout", func(a *proxy.Args) { a.BorrowTimeout = 0 }, "Proxy.BorrowTimeout"},
		{"max connections", func(a *proxy.Args) { a.MaxConnectionsPercent = 101 }, "Proxy.MaxConnectionsPercent"},
		{"idle above max", func(a *proxy.Args) { a.MaxConnectionsPercent, a.MaxIdleConnectionsPercent = 40, 50 }, "Proxy.MaxIdleConnectionsPercent"},
		{"postgres auth", func(a *proxy.Args) { a.ClientPasswordAuthType = "POSTGRES_SCRAM_SHA_256" }, "ClientPasswordAuthType"},
		{"no auth type", func(a *proxy.Args) { a.ClientPasswordAuthType = "" }, "ClientPasswordAuthType"},
		{"no subnets", func(a *proxy.Args) { a.SubnetIDs = nil }, "SubnetIDs"},
		{"no security groups", func(a *proxy.Args) { a.SecurityGroupIDs = nil }, "SecurityGroupIDs"},
		{"no target", func(a *proxy.Args) { a.InstanceIdentifier = nil }, "InstanceIdentifier"},
		{"no master secret", func(a *proxy.Args) { a.MasterSecretARN = nil }, "MasterSecretARN"},
		{"no app secret", func(a *proxy.Args) { a.AppSecretARN = nil }, "AppSecretARN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, validArgs, tt.modify, tt.field) })
	}
}

// TestProxy: clients must use IAM over TLS, the proxy logs in with the two
// secrets through a role that can read exactly those, the pool follows the
// Args, and the target joins this proxy and the instance.
func TestProxy(t *testing.T) {
	for _, v := range mysqlversion.Versions {
		t.Run(v.Major, func(t *testing.T) {
			a := validArgs()
			a.ClientPasswordAuthType = v.ProxyClientAuth
			var outputs map[string]any
			m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
				p, err := proxy.New(ctx, "proxy", a)
				if err != nil {
					return err
				}
				outputs, err = componenttest.Await(ctx, map[string]pulumi.Output{"name": p.Name, "arn": p.ARN, "endpoint": p.Endpoint, "roleArn": p.RoleARN})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			px := m.One(t, "aws:rds/proxy:Proxy", "proxy")
			in := px.Inputs
			if in["engineFamily"].StringValue() != "MYSQL" || !in["requireTls"].BoolValue() || in["debugLogging"].BoolValue() || in["idleClientTimeout"].NumberValue() != 900 {
				t.Errorf("proxy %v", in)
			}
			var secrets []string
			for _, auth := range in["auths"].ArrayValue() {
				o := auth.ObjectValue()
				if o["authScheme"].StringValue() != "SECRETS" || o["iamAuth"].StringValue() != "REQUIRED" || o["clientPasswordAuthType"].StringValue() != v.ProxyClientAuth {
					t.Errorf("auth %v: want SECRETS, iamAuth REQUIRED, client auth %s", o, v.ProxyClientAuth)
				}
				if _, ok := o["username"]; ok {
					t.Errorf("auth %v names a username; SECRETS takes it from the secret", o)
				}
				secrets = append(secrets, o["secretArn"].StringValue())
			}
			if slices.Sort(secrets); !slices.Equal(secrets, slices.Sorted(slices.Values([]string{appARN, masterARN}))) {
				t.Errorf("auth secrets %v", secrets)
			}

			role := m.One(t, "aws:iam/role:Role", "proxy-role")
			if in["roleArn"].StringValue() != role.Outputs["arn"].StringValue() || outputs["roleArn"] != role.Outputs["arn"].StringValue() {
				t.Errorf("proxy role %v, output %v, want %v", in["roleArn"], outputs["roleArn"], role.Outputs["arn"])
			}
			trust, err := iamdoc.Parse(role.Inputs["assumeRolePolicy"].StringValue())
			if err != nil || len(trust.Statement) != 1 || trust.Statement[0].Principal.Service != "rds.amazonaws.com" {
				t.Errorf("trust %+v (%v)", trust, err)
			}
			policy := m.One(t, "aws:iam/rolePolicy:RolePolicy", "proxy-secrets")
			if policy.Inputs["role"].StringValue() != role.Outputs["name"].StringValue() || !px.DependsOnName("proxy-secrets") {
				t.Errorf("secrets policy on %v; proxy waits for it: %v", policy.Inputs["role"], px.DependsOnName("proxy-secrets"))
			}
			doc, err := iamdoc.Parse(policy.Inputs["policy"].StringValue())
			if err != nil || len(doc.Statement) != 1 || !slices.Equal(doc.Statement[0].Action, []string{"secretsmanager:GetSecretValue"}) ||
				!slices.Equal(doc.Statement[0].Resource, []string{masterARN, appARN}) {
				t.Errorf("secrets policy %+v (%v)", doc, err)
			}

			pool := m.One(t, "aws:rds/proxyDefaultTargetGroup:ProxyDefaultTargetGroup", "proxy-default")
			cfg := pool.Inputs["connectionPoolConfig"].ObjectValue()
			if pool.Inputs["dbProxyName"].StringValue() != px.Outputs["name"].StringValue() || cfg["connectionBorrowTimeout"].NumberValue() != 10 ||
				cfg["maxConnectionsPercent"].NumberValue() != 90 || cfg["maxIdleConnectionsPercent"].NumberValue() != 50 {
				t.Errorf("pool %v", pool.Inputs)
			}
			target := m.One(t, "aws:rds/proxyTarget:ProxyTarget", "proxy-target")
			if target.Inputs["dbInstanceIdentifier"].StringValue() != "sluice-dev-db-mysql" || target.Inputs["dbProxyName"].StringValue() != px.Outputs["name"].StringValue() ||
				target.Inputs["targetGroupName"].StringValue() != pool.Outputs["name"].StringValue() {
				t.Errorf("target %v", target.Inputs)
			}
			if outputs["arn"] != px.Outputs["arn"].StringValue() || outputs["endpoint"] != px.Outputs["endpoint"].StringValue() || outputs["name"] != px.Outputs["name"].StringValue() {
				t.Errorf("outputs %v", outputs)
			}
			m.CheckParentedAndTagged(t, proxy.Type, "dev")
		})
	}
}

func TestSecretsPolicy(t *testing.T) {
	js, err := proxy.SecretsPolicy(masterARN, appARN)
	if err != nil {
		t.Fatal(err)
	}
	d, err := iamdoc.Parse(js)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Statement) != 1 || !slices.Equal(d.Statement[0].Action, []string{"secretsmanager:GetSecretValue"}) || !slices.Equal(d.Statement[0].Resource, []string{masterARN, appARN}) {
		t.Errorf("policy %s", js)
	}
	if err := d.CheckWildcards(); err != nil {
		t.Error(err)
	}
	for _, bad := range []string{"", "*", "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:*"} {
		if _, err := proxy.SecretsPolicy(masterARN, bad); err == nil {
			t.Errorf("SecretsPolicy accepted %q", bad)
		}
	}
}
