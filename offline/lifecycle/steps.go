package lifecycle

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/go-sql-driver/mysql"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"

	"github.com/sluicehq/sluice/infra/database"
	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/fakeaws"
	"github.com/sluicehq/sluice/offline/stackrun"
)

// Resource types the checks look at.
const (
	typeInstance   = "aws:rds/instance:Instance"
	typeFunction   = "aws:lambda/function:Function"
	typeMapping    = "aws:lambda/eventSourceMapping:EventSourceMapping"
	typeInvocation = "aws:lambda/invocation:Invocation"
	typeVersion    = "aws:secretsmanager/secretVersion:SecretVersion"
	typeStack      = "pulumi:pulumi:Stack"
	packName       = "sluice"
)

// steps runs every step in order; a step that needs an earlier one's
// result is reported as not run when that one failed.
func (l *Lifecycle) steps(ctx context.Context) {
	r := l.report
	ws := workspace{dir: l.repo, env: l.env}

	r.PreviewDev = l.count(func() (int, error) { return l.preview(ctx, ws, "dev") })
	r.PreviewProd = l.count(func() (int, error) { return l.preview(ctx, ws, "prod") })
	devCount, _ := r.PreviewDev.(int)

	var version int
	r.Up = l.step("up dev", func() (err error) { version, err = l.up(ctx, ws, devCount); return err })
	if r.Up == "ok" {
		r.SchemaVersion = version
		r.NoChanges = l.step("no-change preview", func() error { return l.noChanges(ctx, ws) })
		r.Update = l.step("update batchSize", func() error { return l.update(ctx, ws) })
		r.Rotation = l.step("rotate app password", func() error { return l.rotate(ctx, ws) })
		r.ConcurrencyQuota = l.step("concurrency quota", func() error { return l.concurrencyQuota(ctx, ws) })
	} else {
		r.SchemaVersion, r.NoChanges, r.Update, r.Rotation = "not run: up failed", "not run: up failed", "not run: up failed", "not run: up failed"
		r.ConcurrencyQuota = "not run: up failed"
	}
	r.Destroy = l.step("destroy dev", func() error { return l.destroy(ctx, ws, "dev") })
	if r.Destroy == "ok" {
		r.InvalidSetting = l.step("invalid setting", func() error { return l.invalidSetting(ctx, ws) })
		r.BrokenMigration = l.step("broken migration", func() error { return l.brokenMigration(ctx) })
		r.EmptyAnswer = l.step("empty answer", func() error { return l.emptyAnswer(ctx, ws) })
		r.ProxyWarmup = l.step("proxy warm-up", func() error { return l.proxyWarmup(ctx) })
	} else {
		r.InvalidSetting, r.BrokenMigration, r.EmptyAnswer = "not run: destroy failed", "not run: destroy failed", "not run: destroy failed"
		r.ProxyWarmup = "not run: destroy failed"
	}
	prod := workspace{dir: ws.dir, env: l.prodEnv()}
	r.ProdDelete = l.step("prod delete protection", func() error { return l.prodDelete(ctx, prod) })
	r.SecondProdDelete = l.step("second prod delete", func() error { return l.secondProdDelete(ctx, prod) })
	r.Publish = l.step("publish policy pack", func() error { return l.publish(ctx) })
}

// step runs fn as a timed step and returns its one-line result.
func (l *Lifecycle) step(name string, fn func() error) string {
	var err error
	done := l.timed(name, func() error { return err })
	err = fn()
	done()
	if err != nil {
		l.logf("%v", err)
		return firstLine(err)
	}
	return "ok"
}

// count is step for a step whose result is a count.
func (l *Lifecycle) count(fn func() (int, error)) any {
	var n int
	var err error
	name := "preview"
	done := l.timed(name, func() error { return err })
	n, err = fn()
	done()
	if err != nil {
		l.logf("%v", err)
		return firstLine(err)
	}
	return n
}

// expectedCreates is how many resources a first preview of stack must
// plan: what the program registers (offline/mocks runs it for the stack
// file) and the stack itself.
func (l *Lifecycle) expectedCreates(stack string) (int, error) {
	res, err := stackrun.Run(stackFile(l.opts.Root, stack))
	if err != nil {
		return 0, fmt.Errorf("running the program for %s under mocks: %w", stack, err)
	}
	return len(res.Resources) + 1, nil
}

// preview is `pulumi preview --stack <stack> --policy-pack policy` of a new
// stack: it must plan the program's resources, all creates, and the pack
// must run and find no mandatory violation.
func (l *Lifecycle) preview(ctx context.Context, ws workspace, stack string) (int, error) {
	if _, err := l.ok(ctx, ws, "stack", "init", stack); err != nil {
		return 0, err
	}
	c, err := l.ok(ctx, ws, "preview", "--stack", stack, "--policy-pack", "policy")
	if err != nil {
		return 0, err
	}
	if v := c.violations("mandatory"); len(v) > 0 {
		return 0, fmt.Errorf("preview %s: %d mandatory policy violations, first %s on %s: %s", stack, len(v), v[0].PolicyName, v[0].ResourceURN, v[0].Message)
	}
	if !ranPack(c, packName) {
		return 0, fmt.Errorf("preview %s: the engine reports no run of policy pack %q", stack, packName)
	}
	n := c.count(apitype.OpCreate)
	if len(c.changes()) != n {
		return 0, fmt.Errorf("preview %s of a new stack: %d steps other than creates", stack, len(c.changes())-n)
	}
	want, err := l.expectedCreates(stack)
	if err != nil {
		return 0, err
	}
	if n != want {
		return 0, fmt.Errorf("preview %s: %d resources to create, want %d (the program's %d and the stack)", stack, n, want, want-1)
	}
	return n, nil
}

// ranPack reports whether the engine's summary lists pack among the packs
// it ran (keys "<name>|<kind>|<location>" for local packs).
func ranPack(c Command, pack string) bool {
	for _, e := range c.Events {
		if s := e.SummaryEvent; s != nil {
			for k := range s.PolicyPacks {
				if name, _, _ := strings.Cut(k, "|"); name == pack || strings.HasPrefix(k, pack+"@") {
					return true
				}
			}
		}
	}
	return false
}

// stackOutput returns a stack output from the state.
func stackOutput(d deployment, key string) string {
	for _, r := range d.ofType(typeStack) {
		return stringAt(r.Outputs, key)
	}
	return ""
}

// up is `pulumi up --stack dev --yes --policy-pack policy` of the new
// stack, as a user runs it (a preview first). The state must hold what the
// preview planned, the migrator's bootstrap must have run from the code
// package the program built, the database must be at the latest version,
// clean, and the app user the consumer uses must log in with the password
// the program generated. It returns the database's schema version.
func (l *Lifecycle) up(ctx context.Context, ws workspace, planned int) (int, error) {
	if _, err := l.ok(ctx, ws, "up", "--stack", "dev", "--yes", "--policy-pack", "policy"); err != nil {
		return 0, err
	}
	d, err := l.export(ctx, ws, "dev", true)
	if err != nil {
		return 0, err
	}
	if n := len(d.Resources) - len(d.ofType("pulumi:providers:aws")); planned != 0 && n != planned {
		return 0, fmt.Errorf("the state holds %d resources, the preview planned %d", n, planned)
	}
	version, err := l.checkMigrated(ctx, d, 1)
	if err != nil {
		return 0, err
	}
	if _, err := l.checkAppLogin(ctx, d); err != nil {
		return 0, err
	}
	return version, nil
}

// checkMigrated checks the migration step of the deployment d, the
// invocations-th run of the migrator: its result in the state, the run the
// stand-in recorded, and the database.
func (l *Lifecycle) checkMigrated(ctx context.Context, d deployment, invocations int) (int, error) {
	inv, err := d.one(typeInvocation, "-migration-up")
	if err != nil {
		return 0, err
	}
	var res migrations.Result
	if err := json.Unmarshal([]byte(stringAt(inv.Outputs, "result")), &res); err != nil {
		return 0, fmt.Errorf("the invocation's result %q is not the migrator's answer: %w", stringAt(inv.Outputs, "result"), err)
	}
	latest := migrations.Latest()
	appUser := stackOutput(d, "dbAppUser")
	if res.Action != migrations.ActionUp || res.Version != latest || res.Dirty || res.AppUser != appUser {
		return 0, fmt.Errorf("the migrator answered %+v, want up to version %d, clean, app user %s", res, latest, appUser)
	}
	migrator, err := d.one(typeFunction, "-migrator")
	if err != nil {
		return 0, err
	}
	name := stringAt(migrator.Outputs, "name")
	runs, logs, err := fakeaws.Invocations(l.store.Dir(), name)
	if err != nil {
		return 0, err
	}
	if len(runs) != invocations {
		return 0, fmt.Errorf("the stand-in ran %s %d times, want %d", name, len(runs), invocations)
	}
	run, log := runs[len(runs)-1], logs[len(logs)-1]
	built := stringAt(migrator.Inputs, "sourceCodeHash")
	switch {
	case run.FunctionError != "":
		return 0, fmt.Errorf("the migrator's last run failed (%s):\n%s", run.FunctionError, log)
	case run.CodeSha256 != built:
		return 0, fmt.Errorf("the migrator ran code %s, the program built %s", run.CodeSha256, built)
	case run.Architecture != "arm64" || run.Machine != "EM_AARCH64" || filepath.Base(run.Command[0]) != fakeaws.QEMUAarch64:
		return 0, fmt.Errorf("the migrator ran as %s %s through %v, want the arm64 bootstrap under %s", run.Architecture, run.Machine, run.Command, fakeaws.QEMUAarch64)
	case !strings.Contains(log, `"msg":"migrator done"`):
		return 0, fmt.Errorf("the migrator's log has no \"migrator done\" line:\n%s", log)
	}
	summary := fmt.Sprintf("%s: code %s, %s %s run by %s, %d ms, database %s",
		name, run.CodeSha256, run.Architecture, run.Machine, strings.Join(run.Command, " "), run.DurationMs, run.Database)
	l.logf("    migration: %s", summary)
	if invocations == 1 {
		l.report.Migration, l.report.MigratorLog = summary, jsonLines(log)
	}

	st, err := migrations.Version(ctx, l.db.Config(stackOutput(d, "dbName")))
	if err != nil {
		return 0, fmt.Errorf("reading the schema version: %w", err)
	}
	if st.Version != latest || st.Dirty {
		return 0, fmt.Errorf("the database is at version %d (dirty %t), want %d, clean", st.Version, st.Dirty, latest)
	}
	return st.Version, nil
}

// jsonLines keeps the lines of a function's output that the function
// logged (JSON objects), dropping the emulator's own and the runtime's
// complaint when the stand-in stops the emulator after the answer (whether
// it gets to log it is a race).
func jsonLines(output string) string {
	var b strings.Builder
	for _, line := range strings.Split(output, "\n") {
		if strings.HasPrefix(line, "{") && !strings.Contains(line, "failed to get the next invoke") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

// appLogin returns the application user's credentials from the state: the
// secret version the program wrote.
func appLogin(d deployment) (database.AppSecret, error) {
	versions := d.ofType(typeVersion)
	if len(versions) != 1 {
		return database.AppSecret{}, fmt.Errorf("the state holds %d app user secret versions, want 1", len(versions))
	}
	var s database.AppSecret
	if err := json.Unmarshal([]byte(stringAt(versions[0].Outputs, "secretString")), &s); err != nil {
		return database.AppSecret{}, errors.New("the app user secret version does not hold {\"username\",\"password\"} (value not shown)")
	}
	return s, nil
}

// checkAppLogin checks that the consumer connects as the app user of the
// secret and that this user logs in to the database with its password and
// may read and write the tables the consumer uses.
func (l *Lifecycle) checkAppLogin(ctx context.Context, d deployment) (database.AppSecret, error) {
	login, err := appLogin(d)
	if err != nil {
		return login, err
	}
	consumer, err := d.one(typeFunction, "-consumer-function")
	if err != nil {
		return login, err
	}
	if u := stringAt(consumer.Outputs, "environment", "variables", dbconn.EnvUser); u != login.Username {
		return login, fmt.Errorf("the consumer connects as %q, the app user secret is for %q", u, login.Username)
	}
	if err := l.tryLogin(ctx, stackOutput(d, "dbName"), login); err != nil {
		return login, fmt.Errorf("the app user %s cannot use the database with the password the program generated: %w", login.Username, err)
	}
	// The password reaches the migrator in the invocation's secret input;
	// it must not reach its logs.
	migrator, err := d.one(typeFunction, "-migrator")
	if err != nil {
		return login, err
	}
	_, logs, err := fakeaws.Invocations(l.store.Dir(), stringAt(migrator.Outputs, "name"))
	if err != nil {
		return login, err
	}
	for _, log := range logs {
		if strings.Contains(log, login.Password) {
			return login, errors.New("the app password is in the migrator's log")
		}
	}
	return login, nil
}

// tryLogin logs in as login and reads the consumer's tables.
func (l *Lifecycle) tryLogin(ctx context.Context, dbName string, login database.AppSecret) error {
	cfg := l.db.Config(dbName)
	cfg.User, cfg.Password = login.Username, login.Password
	db, err := dbconn.Open(ctx, cfg, dbconn.PoolOptions{})
	if err != nil {
		return err
	}
	defer db.Close()
	for _, table := range migrations.AppTables {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM `"+table+"`").Scan(&n); err != nil {
			return err
		}
	}
	return nil
}

// noChanges is a second preview, which must propose no change at all:
// archives, password and triggers stay as they are.
func (l *Lifecycle) noChanges(ctx context.Context, ws workspace) error {
	c, err := l.ok(ctx, ws, "preview", "--stack", "dev", "--policy-pack", "policy", "--expect-no-changes")
	if err != nil {
		return err
	}
	if ch := c.changes(); len(ch) > 0 {
		return fmt.Errorf("the preview proposes %s %s", ch[0].Op, ch[0].URN)
	}
	return nil
}

// settingsOf loads the repository's own settings of stack.
func (l *Lifecycle) settingsOf(stack string) (settings.Settings, error) {
	return settings.LoadFile(stackFile(l.opts.Root, stack))
}

// update changes sluice:batchSize: the preview must propose exactly one
// change, an in-place update of the event source mapping, and `up` must
// apply it to the same mapping.
func (l *Lifecycle) update(ctx context.Context, ws workspace) error {
	s, err := l.settingsOf("dev")
	if err != nil {
		return err
	}
	size := s.Consumer.BatchSize * 2
	before, err := l.export(ctx, ws, "dev", false)
	if err != nil {
		return err
	}
	mapping, err := before.one(typeMapping, "-mapping")
	if err != nil {
		return err
	}
	if _, err := l.ok(ctx, ws, "config", "set", "sluice:batchSize", strconv.Itoa(size), "--stack", "dev"); err != nil {
		return err
	}
	onlyMapping := func(c Command) error {
		ch := c.changes()
		if len(ch) != 1 || ch[0].Op != apitype.OpUpdate || ch[0].Type != typeMapping || !slices.Contains(ch[0].Diffs, "batchSize") {
			var got []string
			for _, s := range ch {
				got = append(got, fmt.Sprintf("%s %s %v", s.Op, s.URN, s.Diffs))
			}
			return fmt.Errorf("`%s` proposes %v, want one update of the event source mapping's batchSize", c, got)
		}
		return nil
	}
	p, err := l.ok(ctx, ws, "preview", "--stack", "dev", "--policy-pack", "policy")
	if err != nil {
		return err
	}
	if err := onlyMapping(p); err != nil {
		return err
	}
	u, err := l.ok(ctx, ws, "up", "--stack", "dev", "--yes", "--policy-pack", "policy", "--skip-preview")
	if err != nil {
		return err
	}
	if err := onlyMapping(u); err != nil {
		return err
	}
	after, err := l.export(ctx, ws, "dev", false)
	if err != nil {
		return err
	}
	m, err := after.one(typeMapping, "-mapping")
	if err != nil {
		return err
	}
	if m.ID != mapping.ID || int(numberAt(m.Outputs, "batchSize")) != size {
		return fmt.Errorf("after up the mapping is %s with batchSize %v, want %s with %d", m.ID, numberAt(m.Outputs, "batchSize"), mapping.ID, size)
	}
	return nil
}

// rotate raises sluice:appPasswordGeneration: `up` must run the migrator
// again (the invocation is replaced), after which the old app password no
// longer logs in and the new one does.
func (l *Lifecycle) rotate(ctx context.Context, ws workspace) error {
	s, err := l.settingsOf("dev")
	if err != nil {
		return err
	}
	before, err := l.export(ctx, ws, "dev", true)
	if err != nil {
		return err
	}
	old, err := appLogin(before)
	if err != nil {
		return err
	}
	gen := strconv.Itoa(s.Database.AppPasswordGeneration + 1)
	if _, err := l.ok(ctx, ws, "config", "set", "sluice:appPasswordGeneration", gen, "--stack", "dev"); err != nil {
		return err
	}
	u, err := l.ok(ctx, ws, "up", "--stack", "dev", "--yes", "--policy-pack", "policy", "--skip-preview")
	if err != nil {
		return err
	}
	if !slices.ContainsFunc(u.steps(), func(s apitype.StepEventMetadata) bool {
		return s.Op == apitype.OpCreateReplacement && s.Type == typeInvocation
	}) {
		return errors.New("the up did not replace the migration invocation")
	}
	after, err := l.export(ctx, ws, "dev", true)
	if err != nil {
		return err
	}
	if _, err := l.checkMigrated(ctx, after, 2); err != nil {
		return err
	}
	login, err := l.checkAppLogin(ctx, after)
	if err != nil {
		return err
	}
	if login.Password == old.Password {
		return errors.New("the app password did not change")
	}
	err = l.tryLogin(ctx, stackOutput(after, "dbName"), old)
	var me *mysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1045 {
		return fmt.Errorf("logging in with the old app password: %v, want access denied (1045)", err)
	}
	return nil
}

// destroy is `pulumi destroy --stack <stack> --yes`: nothing may be left,
// neither in the state nor in the stand-in's AWS nor on the database server.
func (l *Lifecycle) destroy(ctx context.Context, ws workspace, stack string) error {
	if _, err := l.ok(ctx, ws, "destroy", "--stack", stack, "--yes"); err != nil {
		return err
	}
	return l.checkNothingLeft(ctx, ws, stack)
}

func (l *Lifecycle) checkNothingLeft(ctx context.Context, ws workspace, stack string) error {
	d, err := l.export(ctx, ws, stack, false)
	if err != nil {
		return err
	}
	if len(d.Resources) > 0 {
		return fmt.Errorf("the state of %s still holds %d resources, first %s", stack, len(d.Resources), d.Resources[0].URN)
	}
	left, err := l.store.List("")
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("the stand-in's AWS still holds %d resources, first %s %s", len(left), left[0].Type, left[0].ID)
	}
	admin, err := dbconn.Open(ctx, l.db.Config("mysql"), dbconn.PoolOptions{})
	if err != nil {
		return err
	}
	defer admin.Close()
	var dbs, users int
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM information_schema.SCHEMATA
		WHERE SCHEMA_NAME NOT IN ('mysql','information_schema','performance_schema','sys') AND SCHEMA_NAME NOT LIKE 'snapshot\_%'`).Scan(&dbs); err != nil {
		return err
	}
	if err := admin.QueryRowContext(ctx, `SELECT COUNT(*) FROM mysql.user WHERE User NOT IN ('root','mariadb.sys','')`).Scan(&users); err != nil {
		return err
	}
	if dbs > 0 || users > 0 {
		return fmt.Errorf("the database server still holds %d databases and %d users of the stack", dbs, users)
	}
	return nil
}

// invalidSetting sets a stack setting to a value the settings reject:
// preview and up must fail naming the key, and nothing is created (no event
// source mapping among it). The setting is restored afterwards.
func (l *Lifecycle) invalidSetting(ctx context.Context, ws workspace) (err error) {
	const key = "sluice:" + settings.KeyMaxConcurrency
	s, err := l.settingsOf("dev")
	if err != nil {
		return err
	}
	if _, err := l.ok(ctx, ws, "config", "set", key, "1", "--stack", "dev"); err != nil {
		return err
	}
	defer func() {
		if _, rerr := l.ok(ctx, ws, "config", "set", key, strconv.Itoa(s.Consumer.MaxConcurrency), "--stack", "dev"); err == nil {
			err = rerr
		}
	}()
	for _, args := range [][]string{
		{"preview", "--stack", "dev", "--policy-pack", "policy"},
		{"up", "--stack", "dev", "--yes", "--policy-pack", "policy"},
	} {
		c, err := l.pulumi(ctx, ws, args...)
		if err != nil {
			return err
		}
		if c.ExitCode == 0 || !strings.Contains(c.Output, key) {
			return fmt.Errorf("`%s` with %s=1 exited %d, want non-zero naming %s:\n%s", c, key, c.ExitCode, key, c.Output)
		}
	}
	d, err := l.export(ctx, ws, "dev", false)
	if err != nil {
		return err
	}
	if n := len(d.custom()); n > 0 {
		return fmt.Errorf("the refused up created %d resources", n)
	}
	return nil
}

// BrokenMigration is the migration file the broken-migration step adds to
// its copy of the repository: valid for golang-migrate, refused by MySQL.
const BrokenMigration = "ALTER TABLE users ADD COLUMN rehearsal_broken NOT_A_TYPE;\n"

// brokenMigration deploys a copy of the repository with a migration that
// fails: `up` must fail with the migrator's error, and the event source
// mapping must not be created. The stack is destroyed afterwards.
func (l *Lifecycle) brokenMigration(ctx context.Context) error {
	dir := filepath.Join(l.work, "repo-broken")
	if err := copyRepository(l.opts.Root, dir); err != nil {
		return err
	}
	next := migrations.Latest() + 1
	base := filepath.Join(dir, "migrations", "sql", fmt.Sprintf("%06d_rehearsal_broken", next))
	if err := os.WriteFile(base+".up.sql", []byte(BrokenMigration), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(base+".down.sql", []byte("ALTER TABLE users DROP COLUMN rehearsal_broken;\n"), 0o644); err != nil {
		return err
	}
	ws := workspace{dir: dir, env: l.withEnv("PULUMI_BACKEND_URL=file://" + filepath.ToSlash(filepath.Join(l.work, "state-broken")))}
	if err := os.MkdirAll(filepath.Join(l.work, "state-broken"), 0o700); err != nil {
		return err
	}
	if _, err := l.ok(ctx, ws, "stack", "init", "dev"); err != nil {
		return err
	}
	c, err := l.pulumi(ctx, ws, "up", "--stack", "dev", "--yes", "--policy-pack", "policy")
	if err != nil {
		return err
	}
	failed := fmt.Errorf("`%s` with a broken migration %d exited %d, want non-zero with the migrator's error", c, next, c.ExitCode)
	if c.ExitCode == 0 || !strings.Contains(c.Output, "returned error") || !strings.Contains(c.Output, "NOT_A_TYPE") {
		return fmt.Errorf("%w:\n%s", failed, c.Output)
	}
	d, err := l.export(ctx, ws, "dev", false)
	if err != nil {
		return err
	}
	if n := len(d.ofType(typeMapping)); n > 0 {
		return fmt.Errorf("the failed migration left %d event source mappings in the state", n)
	}
	if mappings, err := l.store.List(typeMapping); err != nil || len(mappings) > 0 {
		return fmt.Errorf("the stand-in's Lambda holds %d event source mappings after the failed migration (%v)", len(mappings), err)
	}
	l.logf("    the migrator's error: %s", errorSummary(c.Output))
	return l.destroy(ctx, ws, "dev")
}

// emptyAnswer deploys dev with the stand-in answering the RDS instance's
// create without masterUserSecrets, as the program's first `up` once met
// (it panicked). The up must fail with an error naming the instance and the
// property, and stop before anything that needs the secret is created: the
// proxy, the functions, the event source mapping. The stack is destroyed
// afterwards.
func (l *Lifecycle) emptyAnswer(ctx context.Context, ws workspace) error {
	const omitted = typeInstance + ".masterUserSecrets"
	ws.env = l.withEnv(fakeaws.EnvOmit + "=" + omitted)
	c, err := l.pulumi(ctx, ws, "up", "--stack", "dev", "--yes", "--policy-pack", "policy", "--skip-preview")
	if err != nil {
		return err
	}
	want := typeInstance + ` "sluice-dev-db-mysql": the provider's answer has no masterUserSecrets[0].secretArn`
	if c.ExitCode == 0 || !strings.Contains(c.Output, want) || strings.Contains(c.Output, "panic:") {
		return fmt.Errorf("`%s` answered without %s exited %d, want non-zero with %q and no panic:\n%s", c, omitted, c.ExitCode, want, c.Output)
	}
	d, err := l.export(ctx, ws, "dev", false)
	if err != nil {
		return err
	}
	if len(d.ofType(typeInstance)) != 1 {
		return fmt.Errorf("the state holds %d RDS instances, want the one created", len(d.ofType(typeInstance)))
	}
	for _, typ := range []string{"aws:rds/proxy:Proxy", typeFunction, typeInvocation, typeMapping} {
		if n := len(d.ofType(typ)); n > 0 {
			return fmt.Errorf("the update went on to create %d %s, which need the missing secret", n, typ)
		}
	}
	l.logf("    the program's error: %s", want)
	return l.destroy(ctx, ws, "dev")
}

// productionSafeguardsOff is the policy configuration of the documented
// delete procedure: the one `up` that turns prod's deletion protection off
// runs with production-safeguards treating the stack as not production.
const productionSafeguardsOff = `{"production-safeguards": {"production": false}}`

// prodDelete deploys prod and shows what stops an accidental delete of its
// database: `pulumi destroy` fails before it deletes anything, because the
// instance is protected. Then it runs the documented delete procedure:
// deletion protection off (the policy pack refuses that unless told this
// update deliberately unprotects production), one update of the instance,
// and a destroy that leaves nothing but the final snapshot.
func (l *Lifecycle) prodDelete(ctx context.Context, ws workspace) error {
	if _, err := l.ok(ctx, ws, "up", "--stack", "prod", "--yes", "--policy-pack", "policy", "--skip-preview"); err != nil {
		return err
	}
	before, err := l.export(ctx, ws, "prod", false)
	if err != nil {
		return err
	}
	dbName := stackOutput(before, "dbName")
	c, err := l.pulumi(ctx, ws, "destroy", "--stack", "prod", "--yes")
	if err != nil {
		return err
	}
	if c.ExitCode == 0 || !strings.Contains(c.Output, "protected") {
		return fmt.Errorf("`%s` exited %d, want it refused because the database is protected:\n%s", c, c.ExitCode, c.Output)
	}
	after, err := l.export(ctx, ws, "prod", false)
	if err != nil {
		return err
	}
	if len(after.Resources) != len(before.Resources) {
		return fmt.Errorf("the refused destroy deleted %d resources", len(before.Resources)-len(after.Resources))
	}
	if st, err := migrations.Version(ctx, l.db.Config(dbName)); err != nil || st.Version != migrations.Latest() {
		return fmt.Errorf("after the refused destroy the database is at %+v (%v)", st, err)
	}

	if err := l.deleteProd(ctx, ws, before); err != nil {
		return err
	}
	l.prodSnapshot, err = finalSnapshotName(before)
	return err
}

// deleteProd runs the documented delete procedure on prod, deployed as
// before: deletion protection off (the policy pack refuses that unless
// told this update deliberately unprotects production), one update of the
// instance, and a destroy that leaves nothing but the final snapshot.
func (l *Lifecycle) deleteProd(ctx context.Context, ws workspace, before deployment) error {
	if _, err := l.ok(ctx, ws, "config", "set", "sluice:dbDeletionProtection", "false", "--stack", "prod"); err != nil {
		return err
	}
	blocked, err := l.pulumi(ctx, ws, "up", "--stack", "prod", "--yes", "--policy-pack", "policy", "--skip-preview")
	if err != nil {
		return err
	}
	if blocked.ExitCode == 0 || !slices.ContainsFunc(blocked.violations("mandatory"), func(p apitype.PolicyEvent) bool {
		return p.PolicyName == "production-safeguards"
	}) {
		return fmt.Errorf("`%s` without protection exited %d, want the mandatory production-safeguards violation", blocked, blocked.ExitCode)
	}
	cfg := filepath.Join(l.work, "delete-prod-policy-config.json")
	if err := os.WriteFile(cfg, []byte(productionSafeguardsOff+"\n"), 0o644); err != nil {
		return err
	}
	u, err := l.ok(ctx, ws, "up", "--stack", "prod", "--yes", "--policy-pack", "policy", "--policy-pack-config", cfg, "--skip-preview")
	if err != nil {
		return err
	}
	if ch := u.changes(); len(ch) != 1 || ch[0].Type != typeInstance || !slices.Contains(ch[0].Diffs, "deletionProtection") {
		return fmt.Errorf("the unprotecting up changed %d resources, want one update of the instance's deletionProtection", len(ch))
	}
	if _, err := l.ok(ctx, ws, "destroy", "--stack", "prod", "--yes"); err != nil {
		return err
	}
	if err := l.checkNothingLeft(ctx, ws, "prod"); err != nil {
		return err
	}
	return l.checkFinalSnapshot(ctx, before)
}

// finalSnapshotName is the final snapshot identifier of the instance of
// deployment d.
func finalSnapshotName(d deployment) (string, error) {
	inst, err := d.one(typeInstance, "-mysql")
	if err != nil {
		return "", err
	}
	id := stringAt(inst.Inputs, "finalSnapshotIdentifier")
	if id == "" {
		return "", fmt.Errorf("the instance %s has no finalSnapshotIdentifier", inst.URN)
	}
	return id, nil
}

// checkFinalSnapshot checks that deleting the instance of deployment d
// left its final snapshot, with the schema at the latest version.
func (l *Lifecycle) checkFinalSnapshot(ctx context.Context, d deployment) error {
	id, err := finalSnapshotName(d)
	if err != nil {
		return err
	}
	return l.checkSnapshot(ctx, id)
}

// checkSnapshot checks that the final snapshot id exists, with the schema
// at the latest version.
func (l *Lifecycle) checkSnapshot(ctx context.Context, id string) error {
	data, err := os.ReadFile(filepath.Join(l.store.Dir(), "snapshots", id+".json"))
	if err != nil {
		return fmt.Errorf("no final snapshot %q: %w", id, err)
	}
	var snap fakeaws.Snapshot
	if err := json.Unmarshal(data, &snap); err != nil {
		return err
	}
	st, err := migrations.Version(ctx, l.db.Config(snap.Database))
	if err != nil || st.Version != migrations.Latest() || st.Dirty {
		return fmt.Errorf("the final snapshot %s holds schema %+v (%v), want version %d", id, st, err, migrations.Latest())
	}
	l.logf("    final snapshot %s: tables %v at schema version %d", id, snap.Tables, st.Version)
	return nil
}
