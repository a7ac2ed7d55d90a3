package lifecycle

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/testkit/doccheck"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// TestLifecycle rehearses the whole lifecycle, as `make rehearse` does,
// and fails on every step that did not pass. It needs what the rehearsal
// needs (see the package doc and docs/testing.md): the pulumi CLI, the Go
// language host, qemu-aarch64-static, mariadb-install-db and mariadbd.
func TestLifecycle(t *testing.T) {
	testenv.NeedsPulumiCLI(t)
	testenv.NeedsQemu(t)
	testenv.NeedsLambdaRIE(t)
	testenv.NeedsMariaDBBinaries(t)
	var log strings.Builder
	report, err := Run(t.Context(), Options{Root: "../..", Log: &log})
	t.Log("\n" + log.String())
	var times strings.Builder
	report.WriteTimes(&times)
	t.Log("\n" + times.String())
	t.Log(report.JSON())
	if err != nil {
		t.Fatal(err)
	}
	// The summary line and the migrator's run, as docs/deploying.md and
	// docs/testing.md show them.
	doccheck.Check(t, "docs/deploying.md", "rehearse-summary", report.JSON(), doccheck.SchemaVersions()...)
	// The retries while the stand-in's proxy warms up are left out: how
	// many connections it refuses depends on the machine's speed (the
	// proxy warm-up step counts them).
	doccheck.Check(t, "docs/testing.md", "migration-run", report.Migration+"\n"+withoutRetries(report.MigratorLog),
		append(doccheck.SchemaVersions(), doccheck.Ignore(regexp.MustCompile(`"time":"[^"]*"|\([0-9.]+[mµn]?s\)|[0-9]+ ms|127\.0\.0\.1:[0-9]+|code [A-Za-z0-9+/]{43}=|-[0-9a-f]{7}\b|/\S*/task/bootstrap`)))...)
	for _, f := range report.Failures() {
		t.Error(f)
	}
}

// withoutRetries drops the migrator's retry lines from log.
func withoutRetries(log string) string {
	var b strings.Builder
	for _, line := range strings.SplitAfter(log, "\n") {
		if !strings.Contains(line, `"msg":"`+retryMsg+`"`) {
			b.WriteString(line)
		}
	}
	return b.String()
}
