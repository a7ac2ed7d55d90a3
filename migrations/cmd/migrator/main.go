// Command migrator applies Sluice's schema migrations and keeps the
// application user in step with them.
//
// Inside AWS Lambda (AWS_LAMBDA_RUNTIME_API is set) it serves the event
// contract of migrations.Handle and logs JSON; any failure is returned as
// the invocation's error, which fails the `pulumi up` that invoked it.
// Elsewhere it is a command-line tool over the same code:
//
//	migrator up | down N | version | force V
//
// Both connect with the SLUICE_DB_* variables read by dbconn.FromEnv.
package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/sluicehq/sluice/internal/clihelp"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
)

// Environment variables of the command-line mode (in Lambda the event
// carries the application user instead).
const (
	envAppUser     = "SLUICE_APP_USER"
	envAppPassword = "SLUICE_APP_PASSWORD"
	// envWait bounds how long the migrator waits for an unreachable
	// database (a Go duration; 0 tries once). Unset, the command line
	// waits defaultWait and the Lambda until its deadline less stopMargin.
	envWait = "SLUICE_DB_WAIT"
)

// defaultWait is the command line's wait when envWait is unset: long enough
// for an RDS Proxy target that is finishing its registration, short enough
// that a wrong endpoint is reported before the user gives up on it.
const defaultWait = 2 * time.Minute

// stopMargin is kept free at the end of a Lambda invocation so that a
// migration run out of time stops between two migrations (see
// migrations.Up) rather than being killed in the middle of one, which
// would leave the database dirty.
const stopMargin = 20 * time.Second

const usage = `usage: migrator <command>

commands:
  up          apply all pending migrations, then create or update the
              application user ($SLUICE_APP_USER, default sluice_app) with
              the password in $SLUICE_APP_PASSWORD (skipped when empty)
  down N      revert the last N migrations
  version     print the schema version
  force V     record version V as applied and clean without running SQL
              (repair after a failed migration; 0 means none applied)

The database is given by SLUICE_DB_ENDPOINT, SLUICE_DB_NAME, SLUICE_DB_USER,
SLUICE_DB_AUTH (iam|password), SLUICE_DB_PASSWORD, SLUICE_DB_TLS,
SLUICE_DB_TLS_CA and AWS_REGION. While the database is unreachable (refused,
timed out, RDS Proxy error 9501; with IAM also 1045 for up to 90s) the
migrator retries for up to SLUICE_DB_WAIT (a duration, default 2m; 0 tries
once).
`

func main() {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
		slog.SetDefault(logger)
		lambda.StartWithOptions(newLambdaHandler(os.Getenv, logger), lambdaOptions()...)
		return
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, nil)))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// lambdaOptions make a misspelt field (say "appPasword") an error instead
// of a silently skipped password.
func lambdaOptions() []lambda.Option {
	return []lambda.Option{lambda.WithDisallowUnknownFields(true)}
}

// newLambdaHandler returns the function lambda.Start serves. It reads the
// connection settings per invocation: the migrator runs rarely, and a
// configuration error then fails that invocation with a clear message
// instead of crashing the runtime at start-up.
func newLambdaHandler(getenv func(string) string, log *slog.Logger) func(context.Context, migrations.Event) (migrations.Result, error) {
	return func(ctx context.Context, ev migrations.Event) (migrations.Result, error) {
		cfg, err := dbconn.FromEnv(getenv)
		if err != nil {
			err = fmt.Errorf("migrator: database settings: %w", err)
			log.ErrorContext(ctx, "migrator failed", "event", ev, "error", err.Error())
			return migrations.Result{Action: ev.Action}, err
		}
		if cfg.ConnectWait, err = connectWait(getenv); err != nil {
			err = fmt.Errorf("migrator: %w", err)
			log.ErrorContext(ctx, "migrator failed", "event", ev, "error", err.Error())
			return migrations.Result{Action: ev.Action}, err
		}
		if deadline, ok := ctx.Deadline(); ok {
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline.Add(-stopMargin))
			defer cancel()
			// A first deploy invokes the migrator while the proxy's
			// target may still be registering: unless told otherwise,
			// wait as long as the invocation allows.
			if getenv(envWait) == "" {
				cfg.ConnectWait = time.Until(deadline.Add(-stopMargin))
			}
		}
		log.InfoContext(ctx, "migrator invoked", "event", ev, "database", cfg.String())
		res, err := migrations.Handle(ctx, cfg, ev)
		if err != nil {
			log.ErrorContext(ctx, "migrator failed", "event", ev, "database", cfg.String(), "error", err.Error())
			return res, err
		}
		log.InfoContext(ctx, "migrator done", "action", res.Action, "version", res.Version, "dirty", res.Dirty, "appUser", res.AppUser)
		return res, nil
	}
}

// run is the command-line mode. It returns the process exit code: 0 on
// success, 1 when the operation failed, 2 for a usage error.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	if cmd == "help" || clihelp.Requested(args) {
		fmt.Fprint(stdout, usage)
		return 0
	}
	wantArgs := map[string]int{"up": 0, "version": 0, "down": 1, "force": 1}
	n, known := wantArgs[cmd]
	if !known {
		fmt.Fprintf(stderr, "migrator: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	if len(rest) != n {
		fmt.Fprintf(stderr, "migrator: %s takes %d argument(s), got %d\n\n%s", cmd, n, len(rest), usage)
		return 2
	}
	var num int
	if n == 1 {
		var err error
		if num, err = strconv.Atoi(rest[0]); err != nil {
			fmt.Fprintf(stderr, "migrator: %s %s: not an integer\n", cmd, rest[0])
			return 2
		}
	}

	cfg, err := dbconn.FromEnv(getenv)
	if err != nil {
		fmt.Fprintf(stderr, "migrator: database settings: %v\n", err)
		return 2
	}
	if cfg.ConnectWait, err = connectWait(getenv); err != nil {
		fmt.Fprintf(stderr, "migrator: %v\n", err)
		return 2
	}
	if err := execute(ctx, cfg, cmd, num, getenv, stdout); err != nil {
		fmt.Fprintf(stderr, "migrator: %s: %v\n", cmd, err)
		return 1
	}
	return 0
}

func execute(ctx context.Context, cfg dbconn.Config, cmd string, num int, getenv func(string) string, stdout io.Writer) error {
	switch cmd {
	case "up":
		user := strings.TrimSpace(getenv(envAppUser))
		if user == "" {
			user = migrations.DefaultAppUser
		}
		if err := migrations.ValidateUserName(user); err != nil {
			return fmt.Errorf("%s: %w", envAppUser, err)
		}
		if err := migrations.Up(ctx, cfg); err != nil {
			return err
		}
		if password := getenv(envAppPassword); password == "" {
			fmt.Fprintf(stdout, "%s is empty: application user %s left as it is\n", envAppPassword, user)
		} else {
			if err := migrations.EnsureAppUser(ctx, cfg, user, password); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "application user %s: %s on %s\n", user,
				strings.Join(migrations.AppPrivileges, ", "), strings.Join(migrations.AppTables, ", "))
		}
	case "down":
		if err := migrations.Down(ctx, cfg, num); err != nil {
			return err
		}
	case "force":
		if err := migrations.Force(ctx, cfg, num); err != nil {
			return err
		}
	}
	st, err := migrations.Version(ctx, cfg)
	if err != nil {
		return err
	}
	if !st.Dirty {
		fmt.Fprintf(stdout, "database %s: version %d (clean)\n", cfg.Name, st.Version)
		return nil
	}
	fmt.Fprintf(stdout, "database %s: version %d (dirty)\n", cfg.Name, st.Version)
	dirty := migrations.DirtyAt(st.Version)
	if cmd == "version" {
		// Reporting a dirty state is what "version" is for: not a failure.
		fmt.Fprintln(stdout, dirty)
		return nil
	}
	return dirty
}

// connectWait reads envWait.
func connectWait(getenv func(string) string) (time.Duration, error) {
	v := strings.TrimSpace(getenv(envWait))
	if v == "" {
		return defaultWait, nil
	}
	if v == "0" {
		return 0, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s=%q: want a duration such as 2m or 90s, or 0 to try once", envWait, v)
	}
	return d, nil
}
