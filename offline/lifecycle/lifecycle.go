// Package lifecycle rehearses a deployment of Sluice with the users' own
// commands: the real `pulumi` CLI and Go language host, on a copy of the
// repository as a user checks it out (Pulumi.yaml, Pulumi.<stack>.yaml,
// `--policy-pack policy` as a directory), a file backend in a temporary
// directory, and the stand-in aws provider (offline/fakeaws) in place of AWS:
//
//	pulumi preview --stack dev --policy-pack policy     (and prod)
//	pulumi up --stack dev --yes --policy-pack policy     the migrator's arm64 bootstrap runs
//	pulumi preview --stack dev --policy-pack policy --expect-no-changes
//	pulumi config set sluice:batchSize …; preview; up    one update: the event source mapping
//	pulumi config set sluice:appPasswordGeneration …; up the migration re-runs, the password rotates
//	pulumi destroy --stack dev --yes                     nothing left
//
// with the account's Lambda concurrency quota at 10 (a reservation is
// refused), then the refusals (an invalid stack setting, a broken migration
// in a copy of the repository, an empty answer of AWS), a proxy that is not
// ready when its target is created (the migrator waits; without the wait
// `up` fails), prod's protection of its database with the documented
// delete procedure, twice (two final snapshots), and `pulumi policy
// publish` of the pack against a loopback Pulumi Cloud (offline/fakecloud). Each step checks what the users rely on in
// the state, in the stand-in's AWS and in the MySQL server standing in for
// RDS (a private mariadbd), and is timed.
//
// Run is what both the test (TestLifecycle) and `make rehearse` run.
package lifecycle

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/sluicehq/sluice/offline/fakeaws"
	"github.com/sluicehq/sluice/offline/mariadbd"
)

// Options configure a rehearsal.
type Options struct {
	// Root is the repository to rehearse (where Pulumi.yaml is).
	Root string
	// Work holds everything the rehearsal writes; empty: a new temporary
	// directory, removed afterwards unless Keep.
	Work string
	Keep bool
	// Log receives the progress: each step, each command and its time.
	Log io.Writer
}

// Passphrase protects the secrets of the rehearsal's file backend
// (PULUMI_CONFIG_PASSPHRASE); the backend lives and dies with the run.
const Passphrase = "sluice-rehearsal"

// Lifecycle is one rehearsal in progress.
type Lifecycle struct {
	opts   Options
	work   string
	repo   string // the copy of the repository the commands run in
	tools  Tools
	env    []string
	db     *mariadbd.Server
	store  *fakeaws.Store
	report *Report
	// prodSnapshot is the final snapshot the prod delete step left.
	prodSnapshot string
}

// Run rehearses the lifecycle and reports every step; a step that fails
// says why in the report, and later steps that depend on it are not run.
// The error is for a rehearsal that could not start.
func Run(ctx context.Context, opts Options) (*Report, error) {
	l := &Lifecycle{opts: opts, report: newReport()}
	if l.opts.Log == nil {
		l.opts.Log = io.Discard
	}
	started := time.Now()
	defer func() { l.report.Seconds = time.Since(started).Round(time.Second).Seconds() }()
	cleanup, err := l.setup(ctx)
	if cleanup != nil {
		defer cleanup()
	}
	if err != nil {
		l.report.notRun("setup failed: " + firstLine(err))
		return l.report, err
	}
	before, err := stackFiles(l.opts.Root)
	if err != nil {
		return l.report, err
	}
	l.steps(ctx)
	// Every command ran in the copy: the repository's own stack files must
	// be as they were.
	after, err := stackFiles(l.opts.Root)
	if err != nil {
		return l.report, err
	}
	if !maps.Equal(before, after) {
		return l.report, fmt.Errorf("the rehearsal changed the repository's stack files in %s", l.opts.Root)
	}
	return l.report, nil
}

// stackFiles returns the contents of the Pulumi*.yaml files in root.
func stackFiles(root string) (map[string]string, error) {
	files, err := filepath.Glob(filepath.Join(root, "Pulumi*.yaml"))
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(f)] = string(data)
	}
	return out, nil
}

// setup finds the tools, starts the database server and copies the
// repository.
func (l *Lifecycle) setup(ctx context.Context) (cleanup func(), err error) {
	defer l.timed("setup", func() error { return err })()
	root, err := filepath.Abs(l.opts.Root)
	if err != nil {
		return nil, err
	}
	l.opts.Root = root
	l.work = l.opts.Work
	var cleanups []func()
	cleanup = func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	if l.work == "" {
		if l.work, err = os.MkdirTemp("", "sluice-rehearsal-"); err != nil {
			return nil, err
		}
		if !l.opts.Keep {
			dir := l.work
			cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		}
	}
	l.logf("work directory %s", l.work)
	for _, d := range []string{"bin", "state", "aws", "cache", "pulumi-home", "mariadb"} {
		if err := os.MkdirAll(filepath.Join(l.work, d), 0o700); err != nil {
			return cleanup, err
		}
	}
	if l.tools, err = findTools(root, filepath.Join(l.work, "bin")); err != nil {
		return cleanup, err
	}
	if l.db, err = mariadbd.Start(filepath.Join(l.work, "mariadb")); err != nil {
		return cleanup, err
	}
	cleanups = append(cleanups, l.db.Close)
	if l.store, err = fakeaws.OpenStore(filepath.Join(l.work, "aws")); err != nil {
		return cleanup, err
	}
	l.repo = filepath.Join(l.work, "repo")
	if err := copyRepository(root, l.repo); err != nil {
		return cleanup, fmt.Errorf("copy the repository: %w", err)
	}
	if l.env, err = l.environment(filepath.Join(l.work, "state")); err != nil {
		return cleanup, err
	}
	return cleanup, nil
}

// environment is the CLI's environment: the user's, without any Pulumi or
// stand-in settings of its own, plus a private file backend and home, the
// tools first on PATH, and what the stand-in needs.
func (l *Lifecycle) environment(state string) ([]string, error) {
	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOCACHE: %w", err)
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "PULUMI_") || strings.HasPrefix(k, "SLUICE_FAKEAWS_") || k == "PATH" || k == "XDG_CACHE_HOME" || k == "GOCACHE" {
			continue
		}
		env = append(env, kv)
	}
	path := strings.Join([]string{filepath.Dir(l.tools.Provider), filepath.Dir(l.tools.LanguageHost),
		filepath.Dir(l.tools.CLI), os.Getenv("PATH")}, string(os.PathListSeparator))
	return append(env,
		"PATH="+path,
		"PULUMI_BACKEND_URL=file://"+filepath.ToSlash(state),
		"PULUMI_CONFIG_PASSPHRASE="+Passphrase,
		"PULUMI_HOME="+filepath.Join(l.work, "pulumi-home"),
		"PULUMI_SKIP_UPDATE_CHECK=true",
		// The aws plugin must be the stand-in on PATH; never download one.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true",
		// Makes the CLI accept --event-log, as the Automation API does.
		"PULUMI_DEBUG_COMMANDS=true",
		fakeaws.EnvState+"="+l.store.Dir(),
		fakeaws.EnvMySQL+"="+l.db.Endpoint(),
		// dev is deployed in a young account; prod's steps raise the
		// quota (prodEnv).
		fmt.Sprintf("%s=%d", fakeaws.EnvLambdaConcurrency, YoungAccountConcurrency),
		"SLUICE_LAMBDA_RIE="+l.tools.RIE,
		// The program builds the Lambda archives into the user cache; a
		// private one keeps another checkout's build on this machine
		// from replacing an archive between the build and the engine's
		// read. The Go build cache stays the shared one.
		"XDG_CACHE_HOME="+filepath.Join(l.work, "cache"),
		"GOCACHE="+strings.TrimSpace(string(gocache)),
	), nil
}

// withEnv returns the CLI's environment with kv... replacing their keys.
func (l *Lifecycle) withEnv(kvs ...string) []string {
	env := append([]string(nil), l.env...)
	for _, kv := range kvs {
		k, _, _ := strings.Cut(kv, "=")
		for i, e := range env {
			if strings.HasPrefix(e, k+"=") {
				env = append(env[:i], env[i+1:]...)
				break
			}
		}
		env = append(env, kv)
	}
	return env
}

func (l *Lifecycle) logf(format string, a ...any) {
	fmt.Fprintf(l.opts.Log, format+"\n", a...)
}

// timed logs a step's start and, when the returned function runs, its time
// and result (the error errf returns then).
func (l *Lifecycle) timed(name string, errf func() error) func() {
	l.logf("== %s", name)
	start := time.Now()
	return func() {
		d := time.Since(start)
		result := "ok"
		if err := errf(); err != nil {
			result = firstLine(err)
		}
		l.report.Steps = append(l.report.Steps, Step{Name: name, Seconds: d.Round(100 * time.Millisecond).Seconds(), Result: result})
		l.logf("== %s: %s (%.1f s)", name, result, d.Seconds())
	}
}

// firstLine is the first line of err, for the one-line results.
func firstLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	return s
}
