package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
	"github.com/sluicehq/sluice/testkit/doccheck"
	"github.com/sluicehq/sluice/testkit/lambdarie"
	"github.com/sluicehq/sluice/testkit/mysqlgate"
)

// rejections is how many connections the gate answers with 9501 after it
// stops refusing: more than one, so the backoff runs more than once.
const rejections = 3

// buildMigrator builds the command as a user would.
func buildMigrator(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "migrator")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// gatedEnv is the migrator's environment for the test database cfg reached
// through the gate at addr.
func gatedEnv(cfg dbconn.Config, addr string, extra ...string) []string {
	return append([]string{
		"SLUICE_DB_ENDPOINT=" + addr, "SLUICE_DB_NAME=" + cfg.Name, "SLUICE_DB_USER=" + cfg.User,
		"SLUICE_DB_PASSWORD=" + cfg.Password, "SLUICE_DB_AUTH=password", "SLUICE_DB_TLS=false",
	}, extra...)
}

func newGate(t *testing.T, cfg dbconn.Config) *mysqlgate.Gate {
	t.Helper()
	g, err := mysqlgate.New(cfg.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close() })
	return g
}

// retryLines counts the migrator's retry log lines whose cause contains
// each of causes.
func retryLines(t *testing.T, logs string, causes ...string) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "database not reachable yet; retrying") {
			continue
		}
		for _, c := range causes {
			if strings.Contains(line, c) {
				n[c]++
			}
		}
	}
	return n
}

func assertMigrated(t *testing.T, cfg dbconn.Config, want int) {
	t.Helper()
	st, err := migrations.Version(context.Background(), cfg)
	if err != nil || st != (migrations.State{Version: want}) {
		t.Fatalf("schema behind the gate: %+v, %v; want version %d, clean", st, err, want)
	}
}

// TestCommandLineWaitsForTheProxy runs the built migrator against a gate
// that refuses connections, then answers RDS Proxy's 9501, then lets it
// through to MariaDB: it waits, logs each cause, and applies the schema.
func TestCommandLineWaitsForTheProxy(t *testing.T) {
	cfg := testdb.New(t)
	user := testdb.NewUser(t)
	gate := newGate(t, cfg)

	cmd := exec.Command(buildMigrator(t), "up")
	cmd.Env = append(os.Environ(), gatedEnv(cfg, gate.Addr(), "SLUICE_APP_USER="+user, "SLUICE_APP_PASSWORD=gate-secret")...)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderrPipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The gate opens once the migrator has been refused: it then answers
	// 9501 to the next connections, as a proxy whose target registers.
	var stderr strings.Builder
	scan := bufio.NewScanner(stderrPipe)
	for scan.Scan() {
		line := scan.Text()
		stderr.WriteString(line + "\n")
		if strings.Contains(line, "connection refused") && gate.Rejected() == 0 && gate.Passed() == 0 {
			if err := gate.Open(rejections); err != nil && !strings.Contains(err.Error(), "already open") {
				t.Fatal(err)
			}
		}
	}
	err = cmd.Wait()
	if err != nil {
		t.Fatalf("migrator up behind the gate: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
	}
	if gate.Rejected() != rejections {
		t.Fatalf("the gate rejected %d connections, want %d (it never opened?)\n%s", gate.Rejected(), rejections, stderr.String())
	}
	n := retryLines(t, stderr.String(), "connection refused", "Error 9501")
	if n["connection refused"] < 1 || n["Error 9501"] != rejections {
		t.Errorf("retry lines: %v; want at least one for connection refused and %d for 9501:\n%s", n, rejections, stderr.String())
	}
	latest := migrations.Latest()
	if want := fmt.Sprintf("version %d (clean)", latest); !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
	}
	if want := "application user " + user; !strings.Contains(stdout.String(), want) {
		t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
	}
	assertMigrated(t, cfg, latest)
}

// TestCommandLineWithoutWaitSaysWhatToCheck: with SLUICE_DB_WAIT=0 the
// same gate fails the migrator at once, with the checklist; nothing is
// applied. The first session is the one docs/database.md shows.
func TestCommandLineWithoutWaitSaysWhatToCheck(t *testing.T) {
	cfg := testdb.New(t)
	gate := newGate(t, cfg)
	bin := buildMigrator(t)
	run := func(extra ...string) (int, string) {
		t.Helper()
		cmd := exec.Command(bin, "up")
		cmd.Env = append(os.Environ(), gatedEnv(cfg, gate.Addr(), extra...)...)
		out, err := cmd.CombinedOutput()
		code := 0
		if exit, ok := err.(*exec.ExitError); ok {
			code = exit.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return code, string(out)
	}

	code, out := run("SLUICE_DB_WAIT=0")
	for _, want := range []string{
		"not reachable after 1 attempt(s)", "connect: connection refused",
		"aws rds describe-db-proxy-targets --db-proxy-name",
		"AUTH_FAILURE: ", "sluice:appUserAuthPlugin: mysql_native_password", "sluice:secretsManagerEndpoint: true",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("migrator up with SLUICE_DB_WAIT=0 lacks %q:\n%s", want, out)
		}
	}
	if code != 1 || strings.Contains(out, "retrying") {
		t.Errorf("exit %d, want 1 without a retry:\n%s", code, out)
	}
	_, port, _ := strings.Cut(gate.Addr(), ":")
	shown := strings.NewReplacer(gate.Addr(), "127.0.0.1:3307", port, "3307", cfg.Name, demoDB).Replace(
		"$ SLUICE_DB_ENDPOINT=127.0.0.1:3307 SLUICE_DB_WAIT=0 ./migrator up\n" + out)
	// The one attempt's duration varies with the machine's load.
	doccheck.Check(t, "docs/database.md", "migrator-no-wait", shown, doccheck.Ignore(regexp.MustCompile(`attempt\(s\) in \S+:`)))

	if err := gate.Open(1); err != nil {
		t.Fatal(err)
	}
	code, out = run("SLUICE_DB_WAIT=0")
	if code != 1 || !strings.Contains(out, "Error 9501 (HY000): Timed-out waiting to acquire database connection") {
		t.Errorf("migrator up with SLUICE_DB_WAIT=0 against 9501 = %d:\n%s", code, out)
	}
	code, out = run("SLUICE_DB_WAIT=soon")
	if code != 2 || !strings.Contains(out, `SLUICE_DB_WAIT="soon": want a duration`) {
		t.Errorf("migrator up with SLUICE_DB_WAIT=soon = %d:\n%s", code, out)
	}
	assertMigrated(t, cfg, 0)
}

// TestLambdaWaitsForTheProxy is the same as the migrator Lambda: the built
// bootstrap under the Lambda Runtime Interface Emulator, invoked as `pulumi
// up` invokes it, waits behind the gate and applies the schema; with
// SLUICE_DB_WAIT=0 it fails the invocation with the checklist.
func TestLambdaWaitsForTheProxy(t *testing.T) {
	cfg := testdb.New(t)
	user := testdb.NewUser(t)
	gate := newGate(t, cfg)
	bootstrap := lambdarie.BuildBootstrap(t, ".")
	fn := lambdarie.Start(t, bootstrap, gatedEnv(cfg, gate.Addr(), "AWS_LAMBDA_FUNCTION_TIMEOUT=300"))

	var (
		wg     sync.WaitGroup
		body   []byte
		invErr error
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		body, invErr = fn.Invoke(context.Background(), []byte(fmt.Sprintf(`{"action":"up","appUser":%q,"appPassword":"rie-gate-secret"}`, user)))
	}()
	// Open the gate once the function has logged a refused connection.
	for !strings.Contains(fn.Output(), "connection refused") {
		if strings.Contains(fn.Output(), "migrator done") || strings.Contains(fn.Output(), "migrator failed") {
			t.Fatalf("the function finished before the gate opened:\n%s", fn.Output())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := gate.Open(rejections); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if invErr != nil {
		t.Fatalf("%v\n%s", invErr, fn.Output())
	}
	latest := migrations.Latest()
	if want := fmt.Sprintf(`{"action":"up","version":%d,"dirty":false,"appUser":%q}`, latest, user); string(body) != want {
		t.Fatalf("invoke up behind the gate = %s, want %s\n%s", body, want, fn.Output())
	}
	n := retryLines(t, fn.Output(), "connection refused", "Error 9501")
	if n["connection refused"] < 1 || n["Error 9501"] != rejections || gate.Rejected() != rejections {
		t.Errorf("retry lines %v, gate rejected %d; want >= 1 refused and %d 9501:\n%s", n, gate.Rejected(), rejections, fn.Output())
	}
	assertMigrated(t, cfg, latest)

	closed := newGate(t, testdb.New(t))
	noWait := lambdarie.Start(t, bootstrap, gatedEnv(cfg, closed.Addr(), "AWS_LAMBDA_FUNCTION_TIMEOUT=300", "SLUICE_DB_WAIT=0"))
	resp, err := noWait.Call(context.Background(), []byte(`{"action":"version"}`))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct{ ErrorMessage, ErrorType string }
	if err := json.Unmarshal(resp.Payload, &doc); err != nil || doc.ErrorType != "UnreachableError" ||
		!strings.Contains(doc.ErrorMessage, "not reachable after 1 attempt(s)") || !strings.Contains(doc.ErrorMessage, "describe-db-proxy-targets") {
		t.Errorf("invoke with SLUICE_DB_WAIT=0 against a refusing gate = %s, want an UnreachableError with the checklist", resp.Payload)
	}
}
