// Package migration defines the migration step of `pulumi up`: the
// migrator Lambda (built from ./migrations/cmd/migrator) in the VPC, and
// the aws.lambda.Invocation that runs {"action":"up"} through it.
//
// The step runs again whenever the migrator's code or the SQL files
// change, or the application user's password does. A failed migration
// makes the migrator return an error; Lambda reports it as a function
// error, the provider fails the Invocation, and `pulumi up` stops before
// anything that depends on the step (the consumer's event source mapping)
// is created or updated.
package migration

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/lambda"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/migrations"
)

// Type is the component's Pulumi type token.
const Type = "sluice:migration:Migration"

// MinTimeout is the smallest migrator timeout Validate accepts: an ALTER
// TABLE that rebuilds a large users table, plus the lock wait, must finish
// well inside the timeout.
const MinTimeout = 300 * time.Second

// Args configures the migration step.
type Args struct {
	// Database is the stack's Database settings (docs/configuration.md),
	// declared and bounded once in infra/settings. The migrator logs in
	// to schema Name as MasterUser (the user that may run DDL and create
	// users), creates or updates AppUser with AppUserAuthPlugin, and runs
	// again when AppPasswordGeneration changes, so a rotation sets the new
	// password on the user in the same `pulumi up` that writes the new
	// secret version.
	settings.Database
	// Function configures the migrator Lambda; its DBName and DBUser are
	// Database's Name and MasterUser. Its Archive is built from
	// ./migrations/cmd/migrator; Timeout must be at least MinTimeout;
	// ReservedConcurrency 0 (none) or 1: the migration lock (GET_LOCK)
	// already keeps two migrations from running at once, and any
	// reservation needs an account quota of 100 more (docs/deploying.md,
	// Prerequisites).
	Function dbfunction.Args
	// AppPassword is the application user's password: the value of the
	// Secrets Manager secret the RDS Proxy logs in with. It must be a
	// Pulumi secret; the invocation input that carries it is marked
	// secret either way.
	AppPassword pulumi.StringInput
	// SQLDir holds the migration files (migrations/sql); a hash of its
	// *.sql files re-runs the step when they change.
	SQLDir string
	// DependsOn lists what must exist before the migrator runs: the proxy
	// target (so the proxy can reach the database) and the app user's
	// secret version.
	DependsOn []pulumi.Resource
}

// function is Function logging in as Database's master user.
func (a Args) function() dbfunction.Args {
	f := a.Function
	f.DBName, f.DBUser = a.Name, a.MasterUser
	return f
}

// Validate reports every invalid setting, then what is invalid in
// Function and the first other invalid input, by field name.
func (a Args) Validate() error {
	if err := a.Database.Validate(); err != nil {
		return err // Function takes some of its fields: they would fail twice
	}
	var function, input error
	if err := a.function().Validate(); err != nil {
		function = fmt.Errorf("%s.%w", "Function", err)
	}
	switch {
	case a.Function.Timeout < MinTimeout:
		input = limits.Invalid("Function.Timeout", "%v: want at least %v, well above the slowest DDL", a.Function.Timeout, MinTimeout)
	case a.Function.ReservedConcurrency > 1:
		input = limits.Invalid("Function.ReservedConcurrency", "%d: want 0 (none) or 1, one migration at a time", a.Function.ReservedConcurrency)
	case a.AppPassword == nil:
		input = limits.Invalid("AppPassword", "required")
	case a.SQLDir == "":
		input = limits.Invalid("SQLDir", "required")
	}
	return errors.Join(function, input)
}

// eventAuthPlugin is the event's plugin: empty for the default, so that
// the invocation's input (and whether it runs again) changes only for the
// fallback.
func (a Args) eventAuthPlugin() string {
	if a.AppUserAuthPlugin == migrations.PluginCachingSHA2 {
		return ""
	}
	return a.AppUserAuthPlugin
}

// Migration is the migrator Lambda and its invocation.
type Migration struct {
	pulumi.ResourceState

	Function *dbfunction.DBFunction
	// Invocation is what the consumer's event source mapping depends on.
	Invocation *lambda.Invocation

	// FunctionName is the migrator Lambda's name (the local CLI's
	// counterpart for `aws lambda invoke`).
	FunctionName pulumi.StringOutput `pulumi:"functionName"`
	// Result is the migrator's answer, {"action":"up","version":N,...}.
	Result pulumi.StringOutput `pulumi:"result"`
	// SQLHash is the hash of the migration files the step last ran with.
	SQLHash pulumi.StringOutput `pulumi:"sqlHash"`
}

// New registers the migration step (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Migration, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("migration %s: %w", name, err)
	}
	sqlHash, err := HashSQL(args.SQLDir)
	if err != nil {
		return nil, fmt.Errorf("migration %s: %w", name, err)
	}
	c := &Migration{}
	if err := ctx.RegisterComponentResource(Type, name, c, opts...); err != nil {
		return nil, fmt.Errorf("migration %s: %w", name, err)
	}
	child := pulumi.Parent(c)

	fn, err := dbfunction.New(ctx, name+"-migrator", args.function(), child)
	if err != nil {
		return nil, fmt.Errorf("migration %s: %w", name, err)
	}

	input := args.AppPassword.ToStringOutput().ApplyT(func(password string) (string, error) {
		b, err := json.Marshal(migrations.Event{Action: migrations.ActionUp, AppUser: args.AppUser, AppPassword: password, AppAuthPlugin: args.eventAuthPlugin()})
		if err != nil {
			return "", fmt.Errorf("migration event: %w", err)
		}
		return string(b), nil
	}).(pulumi.StringOutput)

	// The provider creates the function and waits for it to leave the
	// Pending state (VPC network interfaces ready) before the create
	// returns, and waits for LastUpdateStatus=Successful after an update;
	// the invocation takes the function's name as an input, so the engine
	// invokes only after that wait.
	invocation, err := lambda.NewInvocation(ctx, name+"-up", &lambda.InvocationArgs{
		FunctionName: fn.FunctionName,
		Input:        pulumi.ToSecret(input).(pulumi.StringOutput),
		// A changed trigger replaces the invocation, which invokes again.
		Triggers: pulumi.StringMap{
			"code":        pulumi.String(args.Function.Archive.SourceCodeHash),
			"migrations":  pulumi.String(sqlHash),
			"appPassword": pulumi.String(strconv.Itoa(args.AppPasswordGeneration)),
		},
	}, child, pulumi.DependsOn(append([]pulumi.Resource{fn}, args.DependsOn...)))
	if err != nil {
		return nil, fmt.Errorf("invocation %s: %w", name+"-up", err)
	}

	c.Function, c.Invocation = fn, invocation
	c.FunctionName, c.Result, c.SQLHash = fn.FunctionName, invocation.Result, pulumi.String(sqlHash).ToStringOutput()
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"functionName": fn.FunctionName,
		"result":       invocation.Result,
		"sqlHash":      pulumi.String(sqlHash),
	}); err != nil {
		return nil, fmt.Errorf("migration %s outputs: %w", name, err)
	}
	return c, nil
}

// HashSQL returns the hex SHA-256 over the names and contents of the *.sql
// files in dir, in name order. It fails when there are none, since a
// migration step without migrations is a wiring mistake.
func HashSQL(dir string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return "", fmt.Errorf("list migrations: %w", err)
	}
	if len(files) == 0 {
		return "", fmt.Errorf("no *.sql files in %s", dir)
	}
	sort.Strings(files)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("read migration: %w", err)
		}
		// Length-prefix each part so that moving bytes between a name and
		// a body cannot give the same hash.
		fmt.Fprintf(h, "%d:%s\n%d:", len(filepath.Base(f)), filepath.Base(f), len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
