package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/migrations"
	"github.com/sluicehq/sluice/offline/testdb"
	"github.com/sluicehq/sluice/testkit/lambdarie"
)

func dbEnv(cfg dbconn.Config) []string {
	return []string{
		dbconn.EnvEndpoint + "=" + cfg.Endpoint,
		dbconn.EnvName + "=" + cfg.Name,
		dbconn.EnvUser + "=" + cfg.User,
		dbconn.EnvPassword + "=" + cfg.Password,
		dbconn.EnvAuth + "=password",
		dbconn.EnvTLS + "=false",
	}
}

// TestBootstrapServesAnInvocation runs the built binary behind the real
// Lambda Runtime API (the Runtime Interface Emulator) against the test
// database: configuration from the environment, the pool opened at the
// first invocation, the partial batch response on the wire, and JSON logs
// and EMF metrics on stdout.
func TestBootstrapServesAnInvocation(t *testing.T) {
	cfg := testdb.New(t)
	if err := migrations.Up(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	fn := lambdarie.Start(t, lambdarie.BuildBootstrap(t, "."), append(dbEnv(cfg), "AWS_LAMBDA_FUNCTION_NAME=sluice-test-consumer"))

	badID := strings.Repeat("x", 200) // longer than users.submission_id
	ev, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m-1", Body: `{"name":"山田 花子","email":"hanako@example.jp"}`, Attributes: map[string]string{"SentTimestamp": "1795753815123"}},
		{MessageId: "m-2", Body: `{"name":""}`},
		{MessageId: badID, Body: `{"name":"a","email":"a@example.com"}`},
	}})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	body, err := fn.Invoke(ctx, ev)
	if err != nil {
		t.Fatalf("%v\n%s", err, fn.Output())
	}
	var resp events.SQSEventResponse
	if err := json.Unmarshal(body, &resp); err != nil {
		t.Fatalf("response %s: %v\n%s", body, err, fn.Output())
	}
	if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != badID {
		t.Errorf("response %s, want exactly the unusable id reported\n%s", body, fn.Output())
	}

	admin, err := dbconn.Open(context.Background(), cfg, dbconn.PoolOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var name, reason string
	if err := admin.QueryRow("SELECT name FROM users WHERE submission_id = 'm-1'").Scan(&name); err != nil || name != "山田 花子" {
		t.Errorf("stored name %q, %v", name, err)
	}
	if err := admin.QueryRow("SELECT reason FROM quarantine WHERE submission_id = 'm-2'").Scan(&reason); err != nil || reason != "name_required" {
		t.Errorf("quarantine reason %q, %v", reason, err)
	}

	out := fn.Output()
	t.Logf("function output:\n%s", out)
	for _, want := range []string{
		`"message":"batch done"`, `"requestId":"`, `"stored":1`,
		`"Namespace":"Sluice"`, `"FunctionName":"sluice-test-consumer"`, `"RecordsQuarantined":1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hanako@example.jp") {
		t.Errorf("stdout contains an email address:\n%s", out)
	}
	checkBatchLog(t, out)
}

func TestBootstrapRefusesBadConfiguration(t *testing.T) {
	bin := lambdarie.BuildBootstrap(t, ".")
	cfg := testdb.Server()
	cfg.Name = "sluice"
	cmd := exec.Command(bin)
	cmd.Env = append(dbEnv(cfg), "SLUICE_DEADLINE_MARGIN=soon", "AWS_LAMBDA_RUNTIME_API=127.0.0.1:9")
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit %v, want status 1\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("SLUICE_DEADLINE_MARGIN")) {
		t.Errorf("output does not name the bad variable:\n%s", out)
	}
}
