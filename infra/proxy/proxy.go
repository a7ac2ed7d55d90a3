// Package proxy owns the RDS Proxy in front of the database: clients log in
// with IAM tokens over TLS (iamAuth REQUIRED, requireTls), the proxy logs in
// to MySQL with the two secrets (master and application user) through a role
// that can read exactly those secrets, and its pool is sized from settings.
//
// pulumi-aws v6 has no DefaultAuthScheme (end-to-end IAM is v7 only), so the
// standard scheme applies: auth_scheme SECRETS with one auth per user.
package proxy

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/settings"
)

// Type is the component's Pulumi type token.
const Type = "sluice:proxy:Proxy"

// Args configures the proxy.
type Args struct {
	Settings           settings.Proxy
	SubnetIDs          pulumi.StringArrayInput
	SecurityGroupIDs   pulumi.StringArrayInput
	InstanceIdentifier pulumi.StringInput
	MasterSecretARN    pulumi.StringInput
	AppSecretARN       pulumi.StringInput
	Tags               pulumi.StringMap
}

// Proxy is the component.
type Proxy struct {
	pulumi.ResourceState

	Name     pulumi.StringOutput
	ARN      pulumi.StringOutput // arn:aws:rds:<region>:<account>:db-proxy:prx-<id>
	Endpoint pulumi.StringOutput // host name; clients connect on 3306
	RoleARN  pulumi.StringOutput
}

// New creates the proxy component.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Proxy, error) {
	p := &Proxy{}
	if err := ctx.RegisterComponentResource(Type, name, p, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(p)
	s := args.Settings

	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Description:      pulumi.String("Sluice RDS Proxy: read the two database login secrets"),
		AssumeRolePolicy: pulumi.String(iamdoc.AssumeRole("rds.amazonaws.com")),
		Tags:             args.Tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("role: %w", err)
	}
	// Both secrets are encrypted with the AWS managed key aws/secretsmanager,
	// whose key policy already lets Secrets Manager decrypt for callers of
	// this account, so no kms:Decrypt statement is needed.
	policy := pulumi.All(args.MasterSecretARN, args.AppSecretARN).ApplyT(func(v []any) (string, error) {
		return SecretsPolicy(v[0].(string), v[1].(string))
	}).(pulumi.StringOutput)
	rolePolicy, err := iam.NewRolePolicy(ctx, name+"-secrets", &iam.RolePolicyArgs{
		Role:   role.Name,
		Policy: policy,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("role policy: %w", err)
	}

	proxy, err := rds.NewProxy(ctx, name, &rds.ProxyArgs{
		EngineFamily:        pulumi.String("MYSQL"),
		RequireTls:          pulumi.Bool(true),
		DebugLogging:        pulumi.Bool(false), // it would log SQL text
		IdleClientTimeout:   pulumi.Int(int(s.IdleClientTimeout.Seconds())),
		RoleArn:             role.Arn,
		VpcSubnetIds:        args.SubnetIDs,
		VpcSecurityGroupIds: args.SecurityGroupIDs,
		Auths: rds.ProxyAuthArray{
			rds.ProxyAuthArgs{
				AuthScheme:  pulumi.String("SECRETS"),
				IamAuth:     pulumi.String("REQUIRED"),
				SecretArn:   args.MasterSecretARN,
				Description: pulumi.String("master user (migrations)"),
			},
			rds.ProxyAuthArgs{
				AuthScheme:  pulumi.String("SECRETS"),
				IamAuth:     pulumi.String("REQUIRED"),
				SecretArn:   args.AppSecretARN,
				Description: pulumi.String("application user (consumer)"),
			},
		},
		Tags: args.Tags,
	}, child, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}

	tg, err := rds.NewProxyDefaultTargetGroup(ctx, name+"-default", &rds.ProxyDefaultTargetGroupArgs{
		DbProxyName: proxy.Name,
		ConnectionPoolConfig: rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs{
			ConnectionBorrowTimeout:   pulumi.Int(int(s.BorrowTimeout.Seconds())),
			MaxConnectionsPercent:     pulumi.Int(s.MaxConnectionsPercent),
			MaxIdleConnectionsPercent: pulumi.Int(s.MaxIdleConnectionsPercent),
		},
	}, child)
	if err != nil {
		return nil, fmt.Errorf("default target group: %w", err)
	}
	if _, err := rds.NewProxyTarget(ctx, name+"-target", &rds.ProxyTargetArgs{
		DbProxyName:          proxy.Name,
		TargetGroupName:      tg.Name,
		DbInstanceIdentifier: args.InstanceIdentifier,
	}, child); err != nil {
		return nil, fmt.Errorf("proxy target: %w", err)
	}

	p.Name = proxy.Name
	p.ARN = proxy.Arn
	p.Endpoint = proxy.Endpoint
	p.RoleARN = role.Arn
	if err := ctx.RegisterResourceOutputs(p, pulumi.Map{
		"name":     p.Name,
		"arn":      p.ARN,
		"endpoint": p.Endpoint,
		"roleArn":  p.RoleARN,
	}); err != nil {
		return nil, err
	}
	return p, nil
}

// SecretsPolicy is the proxy role's policy: secretsmanager:GetSecretValue on
// exactly the given secrets.
func SecretsPolicy(secretARNs ...string) (string, error) {
	for _, arn := range secretARNs {
		if !strings.HasPrefix(arn, "arn:") || strings.Contains(arn, "*") {
			return "", fmt.Errorf("proxy: %q is not an exact secret ARN", arn)
		}
	}
	return iamdoc.New(iamdoc.Allow("ReadLoginSecrets", []string{"secretsmanager:GetSecretValue"}, secretARNs...)).JSON()
}
