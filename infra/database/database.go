// Package database owns the RDS for MySQL 8.0 instance (private, encrypted,
// TLS-only, IAM database authentication on, master password managed by RDS
// in Secrets Manager) and the Secrets Manager secret of the least-privileged
// application user that the RDS Proxy logs in with.
package database

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/settings"
)

// Type is the component's Pulumi type token.
const Type = "sluice:database:Database"

// ParameterFamily is the parameter group family of the engine version the
// settings allow (8.0.x).
const ParameterFamily = "mysql8.0"

// Parameters are set on the instance's parameter group: TLS is required for
// every connection (MySQL error 3159 otherwise) and text is utf8mb4.
var Parameters = map[string]string{
	"require_secure_transport": "1",
	"character_set_server":     "utf8mb4",
	"collation_server":         "utf8mb4_0900_ai_ci",
}

// PerformanceInsightsRetentionDays is the free tier.
const PerformanceInsightsRetentionDays = 7

// Args configures the database.
type Args struct {
	Settings         settings.Database
	SubnetIDs        pulumi.StringArrayInput
	SecurityGroupIDs pulumi.StringArrayInput
	Tags             pulumi.StringMap
}

// Database is the component.
type Database struct {
	pulumi.ResourceState

	InstanceIdentifier pulumi.StringOutput
	InstanceARN        pulumi.StringOutput
	Address            pulumi.StringOutput
	// MasterSecretARN is the RDS-managed secret of the master user.
	MasterSecretARN pulumi.StringOutput
	// AppSecretARN is the secret {"username","password"} of the application
	// user; the proxy logs in with it and the migration step creates the user.
	AppSecretARN pulumi.StringOutput
	// AppPassword is the application user's password, read back from the
	// secret version's state; always a Pulumi secret.
	AppPassword pulumi.StringOutput
}

// New creates the database component.
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Database, error) {
	d := &Database{}
	if err := ctx.RegisterComponentResource(Type, name, d, opts...); err != nil {
		return nil, err
	}
	child := pulumi.Parent(d)
	s := args.Settings

	var params rds.ParameterGroupParameterArray
	for _, k := range slices.Sorted(maps.Keys(Parameters)) {
		params = append(params, rds.ParameterGroupParameterArgs{Name: pulumi.String(k), Value: pulumi.String(Parameters[k])})
	}
	pg, err := rds.NewParameterGroup(ctx, name+"-params", &rds.ParameterGroupArgs{
		Family:      pulumi.String(ParameterFamily),
		Description: pulumi.String("Sluice MySQL 8.0: TLS required, utf8mb4"),
		Parameters:  params,
		Tags:        args.Tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("parameter group: %w", err)
	}
	sg, err := rds.NewSubnetGroup(ctx, name+"-subnets", &rds.SubnetGroupArgs{
		Description: pulumi.String("Sluice private subnets"),
		SubnetIds:   args.SubnetIDs,
		Tags:        args.Tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("subnet group: %w", err)
	}

	instanceArgs := &rds.InstanceArgs{
		Engine:                           pulumi.String("mysql"),
		EngineVersion:                    pulumi.String(s.EngineVersion),
		InstanceClass:                    pulumi.String(s.InstanceClass),
		AllocatedStorage:                 pulumi.Int(s.AllocatedStorageGiB),
		StorageType:                      pulumi.String("gp3"),
		StorageEncrypted:                 pulumi.Bool(true),
		DbName:                           pulumi.String(s.Name),
		Username:                         pulumi.String(s.MasterUser),
		ManageMasterUserPassword:         pulumi.Bool(true),
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),
		PubliclyAccessible:               pulumi.Bool(false),
		DbSubnetGroupName:                sg.Name,
		VpcSecurityGroupIds:              args.SecurityGroupIDs,
		ParameterGroupName:               pg.Name,
		MultiAz:                          pulumi.Bool(s.MultiAZ),
		DeletionProtection:               pulumi.Bool(s.DeletionProtection),
		BackupRetentionPeriod:            pulumi.Int(s.BackupRetentionDays),
		SkipFinalSnapshot:                pulumi.Bool(!s.FinalSnapshot),
		CopyTagsToSnapshot:               pulumi.Bool(true),
		AutoMinorVersionUpgrade:          pulumi.Bool(true),
		PerformanceInsightsEnabled:       pulumi.Bool(s.PerformanceInsights),
		EnabledCloudwatchLogsExports:     pulumi.StringArray{pulumi.String("error")},
		Tags:                             args.Tags,
	}
	if s.MaxAllocatedStorageGiB > 0 {
		instanceArgs.MaxAllocatedStorage = pulumi.Int(s.MaxAllocatedStorageGiB)
	}
	if s.FinalSnapshot {
		instanceArgs.FinalSnapshotIdentifier = pulumi.String(name + "-final")
	}
	if s.PerformanceInsights {
		instanceArgs.PerformanceInsightsRetentionPeriod = pulumi.Int(PerformanceInsightsRetentionDays)
	}
	inst, err := rds.NewInstance(ctx, name+"-mysql", instanceArgs, child)
	if err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}

	appSecretARN, appPassword, err := newAppUserSecret(ctx, name, s.AppUser, s.AppPasswordGeneration, args.Tags, child)
	if err != nil {
		return nil, err
	}

	d.InstanceIdentifier = inst.Identifier
	d.InstanceARN = inst.Arn
	d.Address = inst.Address
	d.MasterSecretARN = inst.MasterUserSecrets.Index(pulumi.Int(0)).SecretArn().Elem()
	d.AppSecretARN = appSecretARN
	d.AppPassword = appPassword
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"instanceIdentifier": d.InstanceIdentifier,
		"instanceArn":        d.InstanceARN,
		"address":            d.Address,
		"masterSecretArn":    d.MasterSecretARN,
		"appSecretArn":       d.AppSecretARN,
	}); err != nil {
		return nil, err
	}
	return d, nil
}

// AppSecret is the JSON shape RDS Proxy expects in a login secret.
type AppSecret struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

// newAppUserSecret stores the application user's credentials. The password
// is generated here (crypto/rand, 130 bits) because pulumi-random is not
// available; IgnoreChanges on the version's value keeps the first one, so
// later runs' fresh passwords are discarded and the stored one is what the
// proxy and the migration step use.
//
// Rotation is a deliberate act, not a side effect of `pulumi up`: the
// generation is part of the version's name, so a new generation is a new
// resource, created from the program's fresh value (IgnoreChanges would carry
// the old value into an update or a replacement of the same resource).
func newAppUserSecret(ctx *pulumi.Context, name, user string, generation int, tags pulumi.StringMap, child pulumi.ResourceOption) (pulumi.StringOutput, pulumi.StringOutput, error) {
	secret, err := secretsmanager.NewSecret(ctx, name+"-app-user", &secretsmanager.SecretArgs{
		Description:          pulumi.Sprintf("Sluice: MySQL credentials of the application user %s (RDS Proxy login)", user),
		RecoveryWindowInDays: pulumi.Int(7),
		Tags:                 tags,
	}, child)
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("app user secret: %w", err)
	}
	value, err := json.Marshal(AppSecret{Username: user, Password: rand.Text()})
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("app user secret value: %w", err)
	}
	version, err := secretsmanager.NewSecretVersion(ctx, fmt.Sprintf("%s-app-user-%d", name, generation), &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(pulumi.String(string(value))).(pulumi.StringOutput),
	}, child, pulumi.IgnoreChanges([]string{"secretString"}))
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("app user secret version: %w", err)
	}
	password := pulumi.ToSecret(version.SecretString.Elem().ApplyT(func(v string) (string, error) {
		var s AppSecret
		if err := json.Unmarshal([]byte(v), &s); err != nil {
			// Never echo v: it holds the password.
			return "", fmt.Errorf("app user secret: stored value is not {\"username\",\"password\"} JSON")
		}
		return s.Password, nil
	})).(pulumi.StringOutput)
	// The ARN is taken from the version so that dependents (the proxy) wait
	// until a value exists.
	arn := pulumi.All(secret.Arn, version.ID()).ApplyT(func(v []any) string { return v[0].(string) }).(pulumi.StringOutput)
	return arn, password, nil
}
