// Package database owns the RDS for MySQL instance (8.4 LTS or 8.0; private,
// encrypted, TLS-only, IAM database authentication on, master password
// managed by RDS in Secrets Manager), its parameter group, and the Secrets
// Manager secret of the least-privileged application user that the RDS
// Proxy logs in with.
//
// The parameter group's family follows the engine's major version, so a
// change of major version replaces the group (a new one is created, the
// instance moves to it, the old one is deleted) and updates the instance
// in place, which RDS allows only with AllowMajorVersionUpgrade; see the
// upgrade runbook in docs/operating.md.
package database

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/rds"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/secretsmanager"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/answer"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/mysqlversion"
	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
)

// Type is the component's Pulumi type token.
const Type = "sluice:database:Database"

// Parameters are set on the instance's parameter group: TLS is required for
// every connection (MySQL error 3159 otherwise), text is utf8mb4 with its
// MySQL 8 default collation, and sql_mode is pinned strict
// (dbconn.StrictSQLMode). Each is valid in both families, mysql8.0 and
// mysql8.4.
//
// sql_mode is pinned because RDS leaves it to the engine: "RDS for MySQL
// parameters are set to the default values of the storage engine that you
// have selected" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Appendix.MySQL.Parameters.html),
// so the mode would be whatever a later engine version or an operator's
// edit of the group makes it, and without STRICT_TRANS_TABLES MySQL stores
// a truncated or clamped value with a warning where the consumer expects
// an error to quarantine.
var Parameters = map[string]string{
	"require_secure_transport": "1",
	"character_set_server":     "utf8mb4",
	"collation_server":         "utf8mb4_0900_ai_ci",
	"sql_mode":                 dbconn.StrictSQLMode,
}

// PerformanceInsightsRetentionDays is what Database Insights Standard
// keeps at no charge (through the Performance Insights API).
const PerformanceInsightsRetentionDays = 7

// ErrorLogExport is the log RDS exports to CloudWatch Logs, into the group
// ErrorLogGroup names; RDS creates that group itself, without retention,
// when it does not exist (RDS User Guide: Publishing MySQL logs to Amazon
// CloudWatch Logs), so the component creates it first.
const ErrorLogExport = "error"

// ErrorLogGroup is the log group RDS exports instance's error log to.
func ErrorLogGroup(instance string) string {
	return "/aws/rds/instance/" + instance + "/" + ErrorLogExport
}

// instanceIdentifierPattern is what RDS accepts as a DB instance
// identifier: 1–63 letters, digits or hyphens, a letter first, no hyphen
// last and no two in a row (CreateDBInstance, DBInstanceIdentifier).
var instanceIdentifierPattern = regexp.MustCompile(`^[a-z](?:[a-z0-9]|-[a-z0-9]){0,62}$`)

// Args configures the database.
type Args struct {
	// Database is the stack's Database settings (docs/configuration.md),
	// declared and bounded once in infra/settings: the instance, its
	// storage, backups and protection, the schema and its users, and the
	// application user's authentication plugin (mysql_native_password is
	// turned on for the fallback; a static parameter: an existing instance
	// needs a reboot).
	settings.Database
	// LogRetentionDays is the retention of the error log's group.
	LogRetentionDays int
	// SubnetIDs are the private subnets of the DB subnet group.
	SubnetIDs pulumi.StringArrayInput
	// SecurityGroupIDs are the instance's security groups.
	SecurityGroupIDs pulumi.StringArrayInput
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports every invalid setting, and the first invalid input, by
// field name.
func (a Args) Validate() error {
	var input error
	switch {
	case !limits.ValidLogRetention(a.LogRetentionDays):
		input = limits.Invalid("LogRetentionDays", "%d: want one of %v", a.LogRetentionDays, limits.LogRetentionDays)
	case a.SubnetIDs == nil:
		input = limits.Invalid("SubnetIDs", "required")
	case a.SecurityGroupIDs == nil:
		input = limits.Invalid("SecurityGroupIDs", "required")
	}
	return errors.Join(a.Database.Validate(), input)
}

// Database is the component.
type Database struct {
	pulumi.ResourceState

	// InstanceIdentifier is the RDS instance identifier (the proxy target
	// and the alarms' DBInstanceIdentifier dimension).
	InstanceIdentifier pulumi.StringOutput `pulumi:"instanceIdentifier"`
	// InstanceARN is the instance's ARN.
	InstanceARN pulumi.StringOutput `pulumi:"instanceArn"`
	// Address is the instance's host name; only the proxy connects to it.
	Address pulumi.StringOutput `pulumi:"address"`
	// ParameterGroupName is the instance's parameter group, of the family
	// of EngineVersion.
	ParameterGroupName pulumi.StringOutput `pulumi:"parameterGroupName"`
	// MasterSecretARN is the RDS-managed secret of the master user.
	MasterSecretARN pulumi.StringOutput `pulumi:"masterSecretArn"`
	// AppSecretARN is the secret {"username","password"} of the application
	// user; the proxy logs in with it and the migration step creates the user.
	AppSecretARN pulumi.StringOutput `pulumi:"appSecretArn"`
	// AppPassword is the application user's password, read back from the
	// secret version's state; always a Pulumi secret, and not registered
	// as an output of the component.
	AppPassword pulumi.StringOutput
}

// New registers the database (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Database, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	d := &Database{}
	if err := ctx.RegisterComponentResource(Type, name, d, opts...); err != nil {
		return nil, fmt.Errorf("database %s: %w", name, err)
	}
	child := pulumi.Parent(d)
	version, _ := mysqlversion.Lookup(args.EngineVersion)
	tags := pulumi.ToStringMap(args.Tags)

	// The instance is named after the component (not autonamed) so that
	// its error log group can be created before it.
	if !instanceIdentifierPattern.MatchString(name) {
		return nil, fmt.Errorf("database %s: the name is the RDS instance identifier: want %s", name, instanceIdentifierPattern)
	}
	var params rds.ParameterGroupParameterArray
	for _, k := range slices.Sorted(maps.Keys(Parameters)) {
		params = append(params, rds.ParameterGroupParameterArgs{Name: pulumi.String(k), Value: pulumi.String(Parameters[k])})
	}
	if args.AppUserAuthPlugin == migrations.PluginNativeLegacy && version.AuthPlugin != "mysql_native_password" {
		// Static: applied at the next reboot (pending-reboot), at once on
		// a new instance.
		params = append(params, rds.ParameterGroupParameterArgs{Name: pulumi.String("mysql_native_password"), Value: pulumi.String("ON"),
			ApplyMethod: pulumi.String("pending-reboot")})
	}
	// The group is auto-named, so a new family's group can be created
	// before the old one is deleted (Pulumi's default for a replacement).
	pg, err := rds.NewParameterGroup(ctx, name+"-params", &rds.ParameterGroupArgs{
		Family:      pulumi.String(version.ParameterFamily),
		Description: pulumi.Sprintf("Sluice MySQL %s: TLS required, utf8mb4", version.Major),
		Parameters:  params,
		Tags:        tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("parameter group: %w", err)
	}
	sg, err := rds.NewSubnetGroup(ctx, name+"-subnets", &rds.SubnetGroupArgs{
		Description: pulumi.String("Sluice private subnets"),
		SubnetIds:   args.SubnetIDs,
		Tags:        tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("subnet group: %w", err)
	}

	logs, err := cloudwatch.NewLogGroup(ctx, name+"-error-logs", &cloudwatch.LogGroupArgs{
		Name:            pulumi.String(ErrorLogGroup(name)),
		RetentionInDays: pulumi.Int(args.LogRetentionDays),
		Tags:            tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("error log group: %w", err)
	}

	instanceArgs := &rds.InstanceArgs{
		Identifier:                       pulumi.String(name),
		Engine:                           pulumi.String("mysql"),
		EngineVersion:                    pulumi.String(version.Major),
		InstanceClass:                    pulumi.String(args.InstanceClass),
		AllocatedStorage:                 pulumi.Int(args.AllocatedStorageGiB),
		StorageType:                      pulumi.String("gp3"),
		StorageEncrypted:                 pulumi.Bool(true),
		DbName:                           pulumi.String(args.Name),
		Username:                         pulumi.String(args.MasterUser),
		ManageMasterUserPassword:         pulumi.Bool(true),
		IamDatabaseAuthenticationEnabled: pulumi.Bool(true),
		PubliclyAccessible:               pulumi.Bool(false),
		DbSubnetGroupName:                sg.Name,
		VpcSecurityGroupIds:              args.SecurityGroupIDs,
		ParameterGroupName:               pg.Name,
		MultiAz:                          pulumi.Bool(args.MultiAZ),
		DeletionProtection:               pulumi.Bool(args.DeletionProtection),
		BackupRetentionPeriod:            pulumi.Int(args.BackupRetentionDays),
		SkipFinalSnapshot:                pulumi.Bool(!args.FinalSnapshot),
		CopyTagsToSnapshot:               pulumi.Bool(true),
		AutoMinorVersionUpgrade:          pulumi.Bool(true),
		PerformanceInsightsEnabled:       pulumi.Bool(args.PerformanceInsights),
		EnabledCloudwatchLogsExports:     pulumi.StringArray{pulumi.String(ErrorLogExport)},
		Tags:                             tags,
	}
	if args.AllowMajorVersionUpgrade {
		// Applied now: pending until the maintenance window, the instance
		// would keep the old group, which Pulumi then fails to delete.
		instanceArgs.AllowMajorVersionUpgrade = pulumi.Bool(true)
		instanceArgs.ApplyImmediately = pulumi.Bool(true)
	}
	if args.MaxAllocatedStorageGiB > 0 {
		instanceArgs.MaxAllocatedStorage = pulumi.Int(args.MaxAllocatedStorageGiB)
	}
	if args.FinalSnapshot {
		instanceArgs.FinalSnapshotIdentifier = pulumi.String(FinalSnapshotIdentifier(name, rand.Text()))
	}
	if args.PerformanceInsights {
		instanceArgs.PerformanceInsightsRetentionPeriod = pulumi.Int(PerformanceInsightsRetentionDays)
	}
	// With deletion protection on, the engine refuses to delete the
	// instance too (protect): `pulumi destroy` stops before it deletes
	// anything, instead of deleting everything else and failing at the
	// database.
	// IgnoreChanges keeps the final snapshot name drawn at create (as the
	// terraform-aws-modules rds module keeps its random_id suffix): later
	// runs draw new ones, which must not update the instance.
	inst, err := rds.NewInstance(ctx, name+"-mysql", instanceArgs, child, pulumi.Protect(args.DeletionProtection),
		pulumi.DependsOn([]pulumi.Resource{logs}), pulumi.IgnoreChanges([]string{"finalSnapshotIdentifier"}))
	if err != nil {
		return nil, fmt.Errorf("instance: %w", err)
	}

	appSecretARN, appPassword, err := newAppUserSecret(ctx, name, args.AppUser, args.AppPasswordGeneration, tags, child)
	if err != nil {
		return nil, err
	}

	d.InstanceIdentifier = inst.Identifier
	d.InstanceARN = inst.Arn
	d.Address = inst.Address
	d.ParameterGroupName = pg.Name
	// RDS reports the secret it manages for the master user in
	// masterUserSecrets; an answer without it stops the update here.
	d.MasterSecretARN = answer.First(inst.MasterUserSecrets, "aws:rds/instance:Instance", name+"-mysql",
		"masterUserSecrets[0].secretArn", "RDS creates when manageMasterUserPassword is true and the proxy logs in with",
		func(s rds.InstanceMasterUserSecret) *string { return s.SecretArn })
	d.AppSecretARN = appSecretARN
	d.AppPassword = appPassword
	if err := ctx.RegisterResourceOutputs(d, pulumi.Map{
		"instanceIdentifier": d.InstanceIdentifier,
		"instanceArn":        d.InstanceARN,
		"address":            d.Address,
		"parameterGroupName": d.ParameterGroupName,
		"masterSecretArn":    d.MasterSecretARN,
		"appSecretArn":       d.AppSecretARN,
	}); err != nil {
		return nil, fmt.Errorf("database %s outputs: %w", name, err)
	}
	return d, nil
}

// FinalSnapshotIdentifier is the final snapshot of instance, with a
// suffix of 8 characters derived from seed (random at create): RDS refuses
// a snapshot identifier that exists (DBSnapshotAlreadyExists), and a
// stack's instance is deleted with a final snapshot more than once when
// the stack is re-created.
func FinalSnapshotIdentifier(instance, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return instance + "-final-" + hex.EncodeToString(sum[:4])
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
	versionName := fmt.Sprintf("%s-app-user-%d", name, generation)
	version, err := secretsmanager.NewSecretVersion(ctx, versionName, &secretsmanager.SecretVersionArgs{
		SecretId:     secret.ID(),
		SecretString: pulumi.ToSecret(pulumi.String(string(value))).(pulumi.StringOutput),
	}, child, pulumi.IgnoreChanges([]string{"secretString"}))
	if err != nil {
		return pulumi.StringOutput{}, pulumi.StringOutput{}, fmt.Errorf("app user secret version: %w", err)
	}
	stored := answer.StringPtr(version.SecretString, "aws:secretsmanager/secretVersion:SecretVersion", versionName,
		"secretString", "holds the application user's password")
	password := pulumi.ToSecret(stored.ApplyT(func(v string) (string, error) {
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
