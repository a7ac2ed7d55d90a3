// Package proxy owns the RDS Proxy in front of the database: clients log in
// with IAM tokens over TLS (iamAuth REQUIRED, requireTls), the proxy logs in
// to MySQL with the two secrets (master and application user) through a role
// that can read exactly those secrets, and its pool is sized by its Args.
//
// pulumi-aws v6 has no DefaultAuthScheme (end-to-end IAM is v7 only), so the
// standard scheme applies: auth_scheme SECRETS with one auth per user. Each
// auth names its ClientPasswordAuthType, the one matching the engine's
// default authentication plugin (mysqlversion.Version.ProxyClientAuth), so
// the proxy does not depend on a default AWS has changed before.
package proxy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/answer"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/mysqlversion"
	"github.com/sluicehq/sluice/infra/settings"
)

// Type is the component's Pulumi type token.
const Type = "sluice:proxy:Proxy"

// Args configures the proxy.
type Args struct {
	// Proxy is the stack's Proxy settings (docs/configuration.md): idle
	// client timeout, borrow timeout and the pool's size, declared and
	// bounded once in infra/settings.
	settings.Proxy
	// ClientPasswordAuthType is the auths' client authentication type, one
	// of mysqlversion.ProxyClientAuthTypes: the one of the engine version.
	ClientPasswordAuthType string
	// SubnetIDs are the private subnets the proxy runs in.
	SubnetIDs pulumi.StringArrayInput
	// SecurityGroupIDs are the proxy's security groups.
	SecurityGroupIDs pulumi.StringArrayInput
	// InstanceIdentifier is the RDS instance the proxy targets.
	InstanceIdentifier pulumi.StringInput
	// MasterSecretARN and AppSecretARN are the login secrets
	// {"username","password"} of the master and the application user.
	MasterSecretARN pulumi.StringInput
	AppSecretARN    pulumi.StringInput
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports every invalid setting, and the first invalid input, by
// field name.
func (a Args) Validate() error {
	var input error
	switch {
	case !slices.Contains(mysqlversion.ProxyClientAuthTypes(), a.ClientPasswordAuthType):
		input = limits.Invalid("ClientPasswordAuthType", "%q: want %s", a.ClientPasswordAuthType, limits.OneOf(mysqlversion.ProxyClientAuthTypes()))
	case a.SubnetIDs == nil:
		input = limits.Invalid("SubnetIDs", "required")
	case a.SecurityGroupIDs == nil:
		input = limits.Invalid("SecurityGroupIDs", "required")
	case a.InstanceIdentifier == nil:
		input = limits.Invalid("InstanceIdentifier", "required")
	case a.MasterSecretARN == nil:
		input = limits.Invalid("MasterSecretARN", "required")
	case a.AppSecretARN == nil:
		input = limits.Invalid("AppSecretARN", "required")
	}
	return errors.Join(a.Proxy.Validate(), input)
}

// Proxy is the component.
type Proxy struct {
	pulumi.ResourceState

	// Name is the proxy's name (the alarms' ProxyName dimension).
	Name pulumi.StringOutput `pulumi:"name"`
	// ARN is arn:aws:rds:<region>:<account>:db-proxy:prx-<id>; the
	// functions' rds-db:connect permission is derived from it.
	ARN pulumi.StringOutput `pulumi:"arn"`
	// Endpoint is the host name clients connect to on 3306.
	Endpoint pulumi.StringOutput `pulumi:"endpoint"`
	// RoleARN is the role the proxy reads the login secrets with.
	RoleARN pulumi.StringOutput `pulumi:"roleArn"`
}

// New registers the proxy (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Proxy, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	p := &Proxy{}
	if err := ctx.RegisterComponentResource(Type, name, p, opts...); err != nil {
		return nil, fmt.Errorf("proxy %s: %w", name, err)
	}
	child := pulumi.Parent(p)
	tags := pulumi.ToStringMap(args.Tags)

	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Description:      pulumi.String("Sluice RDS Proxy: read the two database login secrets"),
		AssumeRolePolicy: pulumi.String(iamdoc.AssumeRole("rds.amazonaws.com")),
		Tags:             tags,
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
		IdleClientTimeout:   pulumi.Int(int(args.IdleClientTimeout.Seconds())),
		RoleArn:             role.Arn,
		VpcSubnetIds:        args.SubnetIDs,
		VpcSecurityGroupIds: args.SecurityGroupIDs,
		Auths: rds.ProxyAuthArray{
			rds.ProxyAuthArgs{
				AuthScheme:             pulumi.String("SECRETS"),
				IamAuth:                pulumi.String("REQUIRED"),
				ClientPasswordAuthType: pulumi.String(args.ClientPasswordAuthType),
				SecretArn:              args.MasterSecretARN,
				Description:            pulumi.String("master user (migrations)"),
			},
			rds.ProxyAuthArgs{
				AuthScheme:             pulumi.String("SECRETS"),
				IamAuth:                pulumi.String("REQUIRED"),
				ClientPasswordAuthType: pulumi.String(args.ClientPasswordAuthType),
				SecretArn:              args.AppSecretARN,
				Description:            pulumi.String("application user (consumer)"),
			},
		},
		Tags: tags,
	}, child, pulumi.DependsOn([]pulumi.Resource{rolePolicy}))
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}

	tg, err := rds.NewProxyDefaultTargetGroup(ctx, name+"-default", &rds.ProxyDefaultTargetGroupArgs{
		DbProxyName: proxy.Name,
		ConnectionPoolConfig: rds.ProxyDefaultTargetGroupConnectionPoolConfigArgs{
			ConnectionBorrowTimeout:   pulumi.Int(int(args.BorrowTimeout.Seconds())),
			MaxConnectionsPercent:     pulumi.Int(args.MaxConnectionsPercent),
			MaxIdleConnectionsPercent: pulumi.Int(args.MaxIdleConnectionsPercent),
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
	// The functions connect to the endpoint and are allowed rds-db:connect
	// on the proxy's prx- id from the ARN: an answer without either stops
	// the update before the functions are created.
	p.ARN = answer.String(proxy.Arn, "aws:rds/proxy:Proxy", name, "arn", "the functions' rds-db:connect permission names")
	p.Endpoint = answer.String(proxy.Endpoint, "aws:rds/proxy:Proxy", name, "endpoint", "the functions connect to")
	p.RoleARN = role.Arn
	if err := ctx.RegisterResourceOutputs(p, pulumi.Map{
		"name":     p.Name,
		"arn":      p.ARN,
		"endpoint": p.Endpoint,
		"roleArn":  p.RoleARN,
	}); err != nil {
		return nil, fmt.Errorf("proxy %s outputs: %w", name, err)
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
