// Package stack is the Sluice Pulumi program: it loads the stack's settings
// once, then wires one component per concern (network, database, proxy,
// queue, consumer, migration step, API, observability) and exports what an
// operator needs. infra/main.go runs it under the Pulumi engine; the mocks
// runner and the offline preview run the very same function.
package stack

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/api"
	"github.com/sluicehq/sluice/infra/consumerfn"
	"github.com/sluicehq/sluice/infra/database"
	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/infra/lambdabuild"
	"github.com/sluicehq/sluice/infra/migration"
	"github.com/sluicehq/sluice/infra/mysqlversion"
	"github.com/sluicehq/sluice/infra/network"
	"github.com/sluicehq/sluice/infra/observability"
	"github.com/sluicehq/sluice/infra/proxy"
	"github.com/sluicehq/sluice/infra/queue"
	"github.com/sluicehq/sluice/infra/settings"
)

// Stack output names: what an operator needs, read with
// `pulumi stack output <name>` (the runbooks in docs/operating.md use them
// instead of reconstructing names).
const (
	OutputAPIURL        = "apiUrl"
	OutputQueueURL      = "queueUrl"
	OutputDLQURL        = "dlqUrl"
	OutputDLQARN        = "dlqArn"
	OutputProxyEndpoint = "proxyEndpoint"
	OutputProxyName     = "proxyName"
	OutputDBInstanceID  = "dbInstanceIdentifier"
	OutputDashboardURL  = "dashboardUrl"
	OutputAlarmTopicARN = "alarmTopicArn"

	OutputConsumerFunction = "consumerFunctionName"
	OutputConsumerLogGroup = "consumerLogGroupName"
	OutputMigratorFunction = "migratorFunctionName"
	OutputMigratorLogGroup = "migratorLogGroupName"
	// OutputSchemaVersion is the schema version the migration step's last
	// run left the database at, from the invocation's result.
	OutputSchemaVersion = "schemaVersion"
)

// Program returns the Pulumi program for a stack whose complete
// configuration (full keys, as the engine passes it in PULUMI_CONFIG) is
// config. Settings are loaded and validated before any resource is
// registered, so a bad value stops the run with nothing created.
func Program(config map[string]string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		_, err := Run(ctx, config)
		return err
	}
}

// Run is the program's body: it loads the settings from config, defines the
// stack, exports its outputs and returns them (the mocks runner awaits them).
func Run(ctx *pulumi.Context, config map[string]string) (pulumi.Map, error) {
	s, err := settings.LoadConfig(config)
	if err != nil {
		return nil, fmt.Errorf("stack %s: invalid settings:\n%w", ctx.Stack(), err)
	}
	outputs, err := Define(ctx, s)
	if err != nil {
		return nil, err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return outputs, nil
}

// The Lambda functions' main packages, relative to the module root.
const (
	ConsumerPackage = "./consumer/cmd/consumer"
	MigratorPackage = "./migrations/cmd/migrator"
)

// projectRoot is the directory of Pulumi.yaml: the engine (and the mocks
// runner) say where it is; otherwise it is found above the working directory.
func projectRoot(ctx *pulumi.Context) (string, error) {
	if dir := ctx.RootDirectory(); dir != "" {
		return dir, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding Pulumi.yaml: %w", err)
	}
	return FindProjectRoot(dir)
}

// FindProjectRoot returns the nearest directory at or above dir that holds
// Pulumi.yaml.
func FindProjectRoot(dir string) (string, error) {
	for {
		if _, err := os.Stat(filepath.Join(dir, "Pulumi.yaml")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no Pulumi.yaml in this directory or any above it")
		}
		dir = parent
	}
}

// Tags returns the tags every resource carries.
func Tags(ctx *pulumi.Context) map[string]string {
	return map[string]string{"project": ctx.Project(), "stack": ctx.Stack()}
}

// Define registers every resource of the stack and returns the stack
// outputs. It is the one place where settings become component Args.
func Define(ctx *pulumi.Context, s settings.Settings) (pulumi.Map, error) {
	tags := Tags(ctx)
	prefix := ctx.Project() + "-" + ctx.Stack()
	// The settings allow only supported versions; the components refuse
	// an empty one.
	engine, _ := mysqlversion.Lookup(s.Database.EngineVersion)

	net, err := network.New(ctx, prefix+"-network", network.Args{Network: s.Network, Region: s.Region, Tags: tags})
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	db, err := database.New(ctx, prefix+"-db", database.Args{
		Database:         s.Database,
		LogRetentionDays: s.Observability.LogRetentionDays,
		SubnetIDs:        net.SubnetIDs,
		SecurityGroupIDs: pulumi.StringArray{net.DatabaseSecurityGroupID},
		Tags:             tags,
	})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	px, err := proxy.New(ctx, prefix+"-proxy", proxy.Args{
		Proxy:                  s.Proxy,
		ClientPasswordAuthType: engine.ProxyClientAuth,
		SubnetIDs:              net.SubnetIDs,
		SecurityGroupIDs:       pulumi.StringArray{net.ProxySecurityGroupID},
		InstanceIdentifier:     db.InstanceIdentifier,
		MasterSecretARN:        db.MasterSecretARN,
		AppSecretARN:           db.AppSecretARN,
		Tags:                   tags,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	q, err := queue.New(ctx, prefix+"-queue", queue.Args{
		Queue:           s.Queue,
		MaxMessageBytes: s.API.MaxBodyBytes,
		Tags:            tags,
	})
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}

	root, err := projectRoot(ctx)
	if err != nil {
		return nil, err
	}
	consumerZip, err := lambdabuild.Build(ctx.Context(), lambdabuild.Options{Package: ConsumerPackage, Dir: root})
	if err != nil {
		return nil, fmt.Errorf("building the consumer: %w", err)
	}
	migratorZip, err := lambdabuild.Build(ctx.Context(), lambdabuild.Options{Package: MigratorPackage, Dir: root})
	if err != nil {
		return nil, fmt.Errorf("building the migrator: %w", err)
	}
	// The migration component sets its function's database login from its
	// settings, the consumer component its timeout, memory and reservation.
	dbFunction := func(name, description string, archive lambdabuild.Archive) dbfunction.Args {
		return dbfunction.Args{
			Name:             name,
			Description:      description,
			Archive:          archive,
			SubnetIDs:        net.SubnetIDs,
			SecurityGroupIDs: pulumi.StringArray{net.ClientSecurityGroupID},
			ProxyARN:         px.ARN,
			ProxyEndpoint:    px.Endpoint,
			LogRetentionDays: s.Observability.LogRetentionDays,
			Tags:             tags,
		}
	}

	migratorFn := dbFunction(prefix+"-migrator", "Sluice: applies the schema migrations and sets up the application user", migratorZip)
	migratorFn.Timeout = migration.MinTimeout
	migratorFn.MemoryMB = 256
	// No reservation: the migration lock serialises migrators, and a
	// reservation would need an account quota of 100 more (young accounts
	// have 10).
	migratorFn.ReservedConcurrency = 0
	mig, err := migration.New(ctx, prefix+"-migration", migration.Args{
		Database:    s.Database,
		Function:    migratorFn,
		AppPassword: db.AppPassword,
		SQLDir:      filepath.Join(root, "migrations", "sql"),
		// The proxy's target must be registered (the database reachable)
		// and the app user's secret must hold its value; depending on the
		// components waits for all their children.
		DependsOn: []pulumi.Resource{px, db},
	})
	if err != nil {
		return nil, fmt.Errorf("migration: %w", err)
	}

	consumerFn := dbFunction(prefix+"-consumer", "Sluice: stores queued submissions in MySQL", consumerZip)
	// The consumer logs in as the least-privileged application user.
	consumerFn.DBName, consumerFn.DBUser = s.Database.Name, s.Database.AppUser
	consumerLambda, err := consumerfn.New(ctx, prefix+"-consumer", consumerfn.Args{
		Consumer: s.Consumer,
		Function: consumerFn,
		QueueARN: q.ARN,
		// No message is consumed before the schema is in place.
		DependsOn: []pulumi.Resource{mig.Invocation},
	})
	if err != nil {
		return nil, fmt.Errorf("consumer: %w", err)
	}

	edge, err := api.New(ctx, prefix+"-api", api.Args{
		API:              s.API,
		Name:             prefix + "-api",
		QueueARN:         q.ARN,
		QueueURL:         q.URL,
		LogRetentionDays: s.Observability.LogRetentionDays,
		Tags:             tags,
	})
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}

	obs, err := observability.New(ctx, prefix+"-observability", observability.Args{
		Observability:     s.Observability,
		Name:              prefix,
		QueueARN:          q.ARN,
		DLQARN:            q.DLQARN,
		FunctionName:      consumerLambda.FunctionName,
		ProxyName:         px.Name,
		DBInstanceID:      db.InstanceIdentifier,
		APIID:             edge.APIID,
		VisibilityTimeout: s.Queue.VisibilityTimeout,
		FunctionTimeout:   s.Consumer.Timeout,
		PinnedConnections: expectedProxySessions(s.Consumer),
		ClientConnections: expectedProxySessions(s.Consumer),
		Tags:              tags,
	})
	if err != nil {
		return nil, fmt.Errorf("observability: %w", err)
	}

	return pulumi.Map{
		OutputAPIURL:        edge.SubmitURL,
		OutputDashboardURL:  obs.DashboardURL,
		OutputAlarmTopicARN: obs.TopicARN,
		OutputQueueURL:      q.URL,
		OutputDLQURL:        q.DLQURL,
		OutputDLQARN:        q.DLQARN,
		OutputProxyEndpoint: px.Endpoint,
		OutputProxyName:     px.Name,
		OutputDBInstanceID:  db.InstanceIdentifier,

		OutputConsumerFunction: consumerLambda.FunctionName,
		OutputConsumerLogGroup: consumerLambda.Function.LogGroupName,
		OutputMigratorFunction: mig.FunctionName,
		OutputMigratorLogGroup: mig.Function.LogGroupName,
		OutputSchemaVersion:    schemaVersion(mig.Invocation),

		"region":    pulumi.String(s.Region),
		"dbName":    pulumi.String(s.Database.Name),
		"dbAppUser": pulumi.String(s.Database.AppUser),
	}, nil
}

// schemaVersion reads the schema version from the migration invocation's
// result (migrations.Result as JSON, e.g. {"action":"up","version":5,
// "dirty":false}). A result without a version, or one that says the
// schema is dirty, is an error naming the invocation and its property: the
// output would otherwise claim a schema the database does not have.
func schemaVersion(inv *lambda.Invocation) pulumi.IntOutput {
	return pulumi.All(inv.URN(), inv.Result).ApplyT(func(v []any) (int, error) {
		return parseSchemaVersion(resource.URN(v[0].(pulumi.URN)), v[1].(string))
	}).(pulumi.IntOutput)
}

func parseSchemaVersion(invocation resource.URN, raw string) (int, error) {
	what := fmt.Sprintf("%s %s: property result %q", invocation.Type(), invocation.Name(), raw)
	var r struct {
		Version *int  `json:"version"`
		Dirty   *bool `json:"dirty"`
	}
	if err := json.Unmarshal([]byte(raw), &r); err != nil {
		return 0, fmt.Errorf("%s is not the migrator's JSON answer: %w", what, err)
	}
	switch {
	case r.Version == nil:
		return 0, fmt.Errorf("%s has no \"version\"", what)
	case r.Dirty != nil && *r.Dirty:
		return 0, fmt.Errorf("%s says version %d is dirty (docs/operating.md, dirty database)", what, *r.Version)
	}
	return *r.Version, nil
}

// expectedProxySessions is how many client sessions the proxy has, and may
// have pinned, in normal operation: the migrator's, whose advisory lock
// pins it, and two per consumer instance the mapping may run (its maximum
// concurrency): a statement longer than the proxy's threshold pins (a
// whole batch by default, or a long quarantined body whatever
// consumerMaxStatementBytes is), and a sandbox Lambda recycles keeps its
// connection open until the proxy's idle client timeout closes it, while
// its successor opens another. More than that means something else
// connects or pins, which is worth an alarm.
func expectedProxySessions(c settings.Consumer) int {
	return 1 + 2*c.MaxConcurrency
}
