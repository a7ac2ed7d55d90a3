package lifecycle

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/offline/fakeaws"
)

// The steps that show the program surviving what AWS does and the
// stand-in's plain answers did not: a proxy that is not ready when its
// target is created, an account that cannot reserve concurrency, and a
// final snapshot name that can exist only once.

// YoungAccountConcurrency is the Lambda concurrency quota of the stand-in
// account dev is deployed in: what AWS gives many new accounts.
const YoungAccountConcurrency = 10

// ProdAccountConcurrency is the quota of the account prod is deployed in:
// prod reserves concurrency, so its prerequisites ask for at least 100 more
// than it reserves (docs/deploying.md), granted here as a Service Quotas
// request would be.
const ProdAccountConcurrency = 1000

// prodEnv is the CLI's environment for prod's commands.
func (l *Lifecycle) prodEnv() []string {
	return l.withEnv(fmt.Sprintf("%s=%d", fakeaws.EnvLambdaConcurrency, ProdAccountConcurrency))
}

// retryLine is the migrator's log line for one attempt it retries
// (migrations.waitReachable).
type retryLine struct {
	Msg   string `json:"msg"`
	Cause string `json:"cause"`
}

const retryMsg = "database not reachable yet; retrying"

// retries counts the migrator's retries in log (JSON lines) whose cause
// contains each of causes.
func retries(log string, causes ...string) map[string]int {
	n := map[string]int{}
	for _, line := range strings.Split(log, "\n") {
		var r retryLine
		if json.Unmarshal([]byte(line), &r) != nil || r.Msg != retryMsg {
			continue
		}
		for _, c := range causes {
			if strings.Contains(r.Cause, c) {
				n[c]++
			}
		}
	}
	return n
}

const (
	causeRefused = "connection refused"
	cause9501    = "Error 9501"
)

// proxyWarmup shows that `up` survives a proxy whose target is not ready:
// the first `up` of dev met the stand-in's proxy address refusing and then
// answering 9501 (fakeaws.DefaultWarmup), and its one migrator run waited
// it out (the up step checked the run, the schema and the app user); a
// migrator told not to wait (SLUICE_DB_WAIT=0, through the stand-in's
// function environment) fails the same `up` with the checklist, which is
// why the wait is there. That stack is destroyed afterwards.
func (l *Lifecycle) proxyWarmup(ctx context.Context) error {
	if l.report.Up != "ok" {
		return fmt.Errorf("up dev failed: %s", l.report.Up)
	}
	n := retries(l.report.MigratorLog, causeRefused, cause9501)
	if n[causeRefused] < 1 || n[cause9501] != fakeaws.DefaultWarmup.Reject {
		return fmt.Errorf("the migrator's run in up dev retried %d times on %q and %d on %q, want at least 1 and %d:\n%s",
			n[causeRefused], causeRefused, n[cause9501], cause9501, fakeaws.DefaultWarmup.Reject, l.report.MigratorLog)
	}
	l.logf("    up dev: the migrator retried %d refused connection(s) and %d 9501 answer(s), then migrated once", n[causeRefused], n[cause9501])

	state := filepath.Join(l.work, "state-nowait")
	if err := os.MkdirAll(state, 0o700); err != nil {
		return err
	}
	ws := workspace{dir: l.repo, env: l.withEnv("PULUMI_BACKEND_URL=file://"+filepath.ToSlash(state),
		fakeaws.EnvFunctionEnv+"=SLUICE_DB_WAIT=0")}
	if _, err := l.ok(ctx, ws, "stack", "init", "dev"); err != nil {
		return err
	}
	c, err := l.pulumi(ctx, ws, "up", "--stack", "dev", "--yes", "--policy-pack", "policy", "--skip-preview")
	if err != nil {
		return err
	}
	want := []string{"not reachable after 1 attempt(s)", causeRefused, "describe-db-proxy-targets"}
	for _, w := range want {
		if c.ExitCode == 0 || !strings.Contains(c.Output, w) {
			return fmt.Errorf("`%s` with SLUICE_DB_WAIT=0 exited %d, want non-zero with %q:\n%s", c, c.ExitCode, w, c.Output)
		}
	}
	d, err := l.export(ctx, ws, "dev", false)
	if err != nil {
		return err
	}
	if n := len(d.ofType(typeMapping)); n > 0 {
		return fmt.Errorf("the failed migration left %d event source mappings in the state", n)
	}
	l.logf("    without the wait: %s", errorSummary(c.Output))
	return l.destroy(ctx, ws, "dev")
}

// concurrencyQuota shows that dev deploys in an account whose Lambda
// concurrency quota is YoungAccountConcurrency (the up step ran in it, and
// no function of dev reserves any), and that a stack that does reserve is
// refused with Lambda's own message, leaving the function as it was.
func (l *Lifecycle) concurrencyQuota(ctx context.Context, ws workspace) error {
	d, err := l.export(ctx, ws, "dev", false)
	if err != nil {
		return err
	}
	for _, fn := range d.ofType(typeFunction) {
		if n := numberAt(fn.Outputs, "reservedConcurrentExecutions"); n > 0 {
			return fmt.Errorf("function %s reserves %v in an account whose quota is %d", fn.URN, n, YoungAccountConcurrency)
		}
	}
	const key = "sluice:" + settings.KeyReservedConcurrency
	s, err := l.settingsOf("dev")
	if err != nil {
		return err
	}
	reserve := fmt.Sprint(s.Consumer.MaxConcurrency)
	if _, err := l.ok(ctx, ws, "config", "set", key, reserve, "--stack", "dev"); err != nil {
		return err
	}
	c, err := l.pulumi(ctx, ws, "up", "--stack", "dev", "--yes", "--policy-pack", "policy", "--skip-preview")
	if err != nil {
		return err
	}
	if _, err := l.ok(ctx, ws, "config", "set", key, fmt.Sprint(s.Consumer.ReservedConcurrency), "--stack", "dev"); err != nil {
		return err
	}
	want := fmt.Sprintf("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", YoungAccountConcurrency)
	if c.ExitCode == 0 || !strings.Contains(c.Output, want) {
		return fmt.Errorf("`%s` with %s=%s in an account with a quota of %d exited %d, want non-zero with %q:\n%s",
			c, key, reserve, YoungAccountConcurrency, c.ExitCode, want, c.Output)
	}
	l.logf("    %s=%s: %s", key, reserve, want)
	// The refused update changed nothing: the stack is as before.
	return l.noChanges(ctx, ws)
}

// secondProdDelete re-creates prod after the prod delete step and deletes
// it again by the documented procedure: RDS refuses a final snapshot whose
// identifier exists (the stand-in too), so the second delete succeeds only
// if the two final snapshots have distinct names. Both must exist, each
// with the schema at the latest version.
func (l *Lifecycle) secondProdDelete(ctx context.Context, ws workspace) error {
	if l.report.ProdDelete != "ok" {
		return fmt.Errorf("the first prod delete failed: %s", l.report.ProdDelete)
	}
	first := l.prodSnapshot
	if _, err := l.ok(ctx, ws, "config", "set", "sluice:dbDeletionProtection", "true", "--stack", "prod"); err != nil {
		return err
	}
	if _, err := l.ok(ctx, ws, "up", "--stack", "prod", "--yes", "--policy-pack", "policy", "--skip-preview"); err != nil {
		return err
	}
	before, err := l.export(ctx, ws, "prod", false)
	if err != nil {
		return err
	}
	second, err := finalSnapshotName(before)
	if err != nil {
		return err
	}
	if second == first {
		return fmt.Errorf("the re-created prod's final snapshot is %q again", first)
	}
	// deleteProd checks the second snapshot; the first must still be there.
	if err := l.deleteProd(ctx, ws, before); err != nil {
		return err
	}
	return l.checkSnapshot(ctx, first)
}
