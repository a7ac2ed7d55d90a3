// Package dbfunction defines DBFunction: a Go Lambda function of Sluice
// that runs in the VPC and logs in to MySQL through the RDS Proxy with IAM
// authentication as one database user, with its execution role and log
// group. The consumer (infra/consumerfn) and the migrator (infra/migration)
// are both DBFunctions.
package dbfunction

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/iam"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/lambdabuild"
	"github.com/sluicehq/sluice/infra/limits"
)

// Type is the component's Pulumi type token. It keeps the name of the
// package it was first defined in, so that existing stacks keep their
// resources' URNs.
const Type = "sluice:function:DBFunction"

// Sids of the statements in a DBFunction role policy. VPCNetworkInterfacesSid
// is the one statement with Resource "*": see the comment where it is built.
const (
	LogsSid                 = "WriteOwnLogGroup"
	VPCNetworkInterfacesSid = "ManageVpcNetworkInterfaces"
	DBConnectSid            = "ConnectThroughProxyAsDBUser"
)

// ProxyPort is the MySQL port of the RDS Proxy endpoint.
const ProxyPort = 3306

var functionName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Args configures a DBFunction. Plain fields are validated by
// Validate; pulumi inputs must be set.
type Args struct {
	// Name is the Lambda function name (1–64 of A-Z a-z 0-9 _ -); the log
	// group is /aws/lambda/<Name>.
	Name string
	// Description is shown in the Lambda console.
	Description string
	// Archive is the built deployment package (see lambdabuild.Build).
	Archive lambdabuild.Archive
	// SubnetIDs are the private subnets the function's ENIs live in.
	SubnetIDs pulumi.StringArrayInput
	// SecurityGroupIDs are the function's security groups (allowed to
	// reach the proxy on 3306).
	SecurityGroupIDs pulumi.StringArrayInput
	// ProxyARN is the RDS Proxy ARN (arn:aws:rds:…:db-proxy:prx-…); the
	// rds-db:connect permission is derived from it.
	ProxyARN pulumi.StringInput
	// ProxyEndpoint is the proxy's host name; the function connects to
	// <ProxyEndpoint>:3306.
	ProxyEndpoint pulumi.StringInput
	// DBName is the MySQL database (schema) name.
	DBName string
	// DBUser is the MySQL user the function logs in as with an IAM token.
	DBUser string
	// Env holds extra environment variables; keys must start with SLUICE_
	// and must not be one of the SLUICE_DB_* variables set here.
	Env map[string]string
	// Timeout is the function timeout, whole seconds
	// (limits.FunctionTimeoutSeconds).
	Timeout time.Duration
	// MemoryMB is the function memory (limits.FunctionMemoryMB).
	MemoryMB int
	// ReservedConcurrency caps the function's concurrent executions; 0
	// means unreserved.
	ReservedConcurrency int
	// LogRetentionDays is the log group retention, one of
	// limits.LogRetentionDays.
	LogRetentionDays int
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports the first invalid field by name.
func (a Args) Validate() error {
	switch {
	case !functionName.MatchString(a.Name):
		return limits.Invalid("Name", "%q: want 1–64 characters of A-Z a-z 0-9 _ -", a.Name)
	case len(a.Description) > 256:
		return limits.Invalid("Description", "%d characters: want at most 256", len(a.Description))
	case a.Archive.Path == "" || a.Archive.SourceCodeHash == "":
		return limits.Invalid("Archive", "Path and SourceCodeHash are required (build it with lambdabuild.Build)")
	case a.SubnetIDs == nil:
		return limits.Invalid("SubnetIDs", "required")
	case a.SecurityGroupIDs == nil:
		return limits.Invalid("SecurityGroupIDs", "required")
	case a.ProxyARN == nil:
		return limits.Invalid("ProxyARN", "required")
	case a.ProxyEndpoint == nil:
		return limits.Invalid("ProxyEndpoint", "required")
	case a.DBName == "":
		return limits.Invalid("DBName", "required")
	case a.DBUser == "" || strings.ContainsAny(a.DBUser, "/*?:"):
		return limits.Invalid("DBUser", "%q: want a non-empty MySQL user name without the characters / * ? or a colon", a.DBUser)
	case a.Timeout%time.Second != 0 || !limits.FunctionTimeoutSeconds.Contains(int(a.Timeout/time.Second)):
		return limits.Invalid("Timeout", "%v: want whole seconds, %v", a.Timeout, limits.FunctionTimeoutSeconds)
	case !limits.FunctionMemoryMB.Contains(a.MemoryMB):
		return limits.Invalid("MemoryMB", "%d: want %v", a.MemoryMB, limits.FunctionMemoryMB)
	case a.ReservedConcurrency < 0:
		return limits.Invalid("ReservedConcurrency", "%d: want 0 (unreserved) or more", a.ReservedConcurrency)
	case !limits.ValidLogRetention(a.LogRetentionDays):
		return limits.Invalid("LogRetentionDays", "%d: want %s", a.LogRetentionDays, limits.OneOf(limits.LogRetentionDays))
	}
	for k := range a.Env {
		if !strings.HasPrefix(k, "SLUICE_") || strings.HasPrefix(k, "SLUICE_DB_") {
			return limits.Invalid("Env", "key %q: want SLUICE_* other than SLUICE_DB_* (those come from the DB fields)", k)
		}
	}
	return nil
}

// DBFunction is a Lambda function in the VPC that logs in to MySQL through
// the RDS Proxy as one database user, with its role and log group.
type DBFunction struct {
	pulumi.ResourceState

	Function *lambda.Function
	Role     *iam.Role
	// Policy is the role's inline policy; resources that need the function
	// to hold its permissions depend on it.
	Policy   *iam.RolePolicy
	LogGroup *cloudwatch.LogGroup

	// FunctionName is the Lambda function's name, Args.Name.
	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	// FunctionARN is the function's ARN.
	FunctionARN pulumi.StringOutput `pulumi:"functionArn"`
	// RoleARN is the function's execution role.
	RoleARN pulumi.StringOutput `pulumi:"roleArn"`
	// LogGroupName is the function's log group, /aws/lambda/<Name>.
	LogGroupName pulumi.StringOutput `pulumi:"logGroupName"`
	// DBConnectARN is the only resource rds-db:connect is allowed on.
	DBConnectARN pulumi.StringOutput `pulumi:"dbConnectArn"`
}

// New registers a DBFunction (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*DBFunction, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	c := &DBFunction{}
	if err := ctx.RegisterComponentResource(Type, name, c, opts...); err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	child := pulumi.Parent(c)
	tags := pulumi.ToStringMap(args.Tags)

	// The log group exists before the function, so Lambda never creates
	// one without retention, and the role can be limited to it.
	logGroup, err := cloudwatch.NewLogGroup(ctx, name+"-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String("/aws/lambda/" + args.Name),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("log group %s: %w", name+"-logs", err)
	}

	role, err := iam.NewRole(ctx, name+"-role", &iam.RoleArgs{
		Description:      pulumi.Sprintf("Execution role of Lambda %s", args.Name),
		AssumeRolePolicy: pulumi.String(iamdoc.AssumeRole("lambda.amazonaws.com")),
		Tags:             tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("role %s: %w", name+"-role", err)
	}

	dbConnectARN := args.ProxyARN.ToStringOutput().ApplyT(func(proxyARN string) (string, error) {
		return ProxyDBUserARN(proxyARN, args.DBUser)
	}).(pulumi.StringOutput)

	policyJSON := pulumi.All(logGroup.Arn, dbConnectARN).ApplyT(func(v []any) (string, error) {
		logGroupARN, connectARN := v[0].(string), v[1].(string)
		return iamdoc.New(
			iamdoc.Allow(LogsSid, []string{"logs:CreateLogStream", "logs:PutLogEvents"},
				logGroupARN+":log-stream:*"),
			// Named exception to "no Resource *": Lambda creates and
			// deletes the function's ENIs in the VPC with these actions
			// before any ENI id exists, and the Describe actions support
			// no resource-level permissions. This is the statement of
			// the AWS-managed AWSLambdaVPCAccessExecutionRole.
			iamdoc.Allow(VPCNetworkInterfacesSid, []string{
				"ec2:CreateNetworkInterface",
				"ec2:DescribeNetworkInterfaces",
				"ec2:DescribeSubnets",
				"ec2:DeleteNetworkInterface",
				"ec2:AssignPrivateIpAddresses",
				"ec2:UnassignPrivateIpAddresses",
			}, "*"),
			iamdoc.Allow(DBConnectSid, []string{"rds-db:connect"}, connectARN),
		).JSON()
	}).(pulumi.StringOutput)

	policy, err := iam.NewRolePolicy(ctx, name+"-policy", &iam.RolePolicyArgs{
		Role:   role.ID(),
		Policy: policyJSON,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("role policy %s: %w", name+"-policy", err)
	}

	env := pulumi.StringMap{
		"SLUICE_DB_ENDPOINT": pulumi.Sprintf("%s:%d", args.ProxyEndpoint, ProxyPort),
		"SLUICE_DB_NAME":     pulumi.String(args.DBName),
		"SLUICE_DB_USER":     pulumi.String(args.DBUser),
		"SLUICE_DB_AUTH":     pulumi.String("iam"),
		"SLUICE_DB_TLS":      pulumi.String("true"),
	}
	for k, v := range args.Env {
		env[k] = pulumi.String(v)
	}
	var reserved pulumi.IntPtrInput
	if args.ReservedConcurrency > 0 {
		reserved = pulumi.Int(args.ReservedConcurrency)
	}

	fn, err := lambda.NewFunction(ctx, name, &lambda.FunctionArgs{
		Name:                         pulumi.String(args.Name),
		Description:                  pulumi.String(args.Description),
		Runtime:                      pulumi.String("provided.al2023"),
		Architectures:                pulumi.StringArray{pulumi.String("arm64")},
		Handler:                      pulumi.String("bootstrap"),
		Code:                         pulumi.NewFileArchive(args.Archive.Path),
		SourceCodeHash:               pulumi.String(args.Archive.SourceCodeHash),
		Role:                         role.Arn,
		Timeout:                      pulumi.Int(int(args.Timeout.Seconds())),
		MemorySize:                   pulumi.Int(args.MemoryMB),
		ReservedConcurrentExecutions: reserved,
		Environment:                  &lambda.FunctionEnvironmentArgs{Variables: env},
		VpcConfig: &lambda.FunctionVpcConfigArgs{
			SubnetIds:        args.SubnetIDs,
			SecurityGroupIds: args.SecurityGroupIDs,
		},
		LoggingConfig: &lambda.FunctionLoggingConfigArgs{
			LogFormat: pulumi.String("JSON"),
			LogGroup:  logGroup.Name,
		},
		Tags: tags,
	},
		child,
		// Without its ENI permissions the function cannot be created in
		// the VPC, and without the log permissions its first logs are lost.
		pulumi.DependsOn([]pulumi.Resource{policy, logGroup}),
		// The name is fixed, so a replacement must delete the old function
		// first.
		pulumi.DeleteBeforeReplace(true))
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}

	c.Function, c.Role, c.Policy, c.LogGroup = fn, role, policy, logGroup
	c.FunctionName, c.FunctionARN = fn.Name, fn.Arn
	c.RoleARN, c.LogGroupName, c.DBConnectARN = role.Arn, logGroup.Name, dbConnectARN
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"functionName": fn.Name,
		"functionArn":  fn.Arn,
		"roleArn":      role.Arn,
		"logGroupName": logGroup.Name,
		"dbConnectArn": dbConnectARN,
	}); err != nil {
		return nil, fmt.Errorf("function %s outputs: %w", name, err)
	}
	return c, nil
}
