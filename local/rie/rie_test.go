// Package rie tests the real consumer artifact: the bootstrap binary, built
// for linux/amd64 from the same code as the arm64 Lambda zip, runs under the
// AWS Lambda Runtime Interface Emulator, receives SQS events over the Lambda
// Runtime API exactly as in AWS, and writes to MariaDB.
//
// The emulator is built from the Go module
// github.com/aws/aws-lambda-runtime-interface-emulator with `go install` (not
// added to go.mod) and cached in ${XDG_CACHE_HOME:-$HOME/.cache}/sluice/bin.
package rie

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/migrations"
)

// RIEVersion is the emulator module version the test builds.
const RIEVersion = "v0.0.0-20261030222936-bef5c4ba774d"

const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie"

func TestBootstrapUnderRIEWritesToMariaDB(t *testing.T) {
	rie := buildRIE(t)
	bootstrap := buildBootstrap(t)
	app := appDatabase(t)

	url := startRIE(t, rie, bootstrap, app)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		message("m-1", `{"name":"山田 太郎","email":"taro@example.jp"}`),
		message("m-2", `{"name":"not json`),
		message("m-3", `{"name":"Ada","email":"ada@example.com"}`),
	}}
	for delivery := 1; delivery <= 2; delivery++ { // the second is a redelivery
		resp := invoke(t, url, ev)
		if len(resp.BatchItemFailures) != 0 {
			t.Fatalf("delivery %d: batchItemFailures %+v, want none (the poison record is quarantined, not retried)", delivery, resp.BatchItemFailures)
		}
	}

	admin := app
	admin.User, admin.Password = testdb.Server().User, testdb.Server().Password
	db, err := dbconn.Open(context.Background(), admin, dbconn.PoolOptions{MaxOpenConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	got := map[string]string{}
	rows, err := db.Query("SELECT submission_id, name FROM users")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, name string
		if err := rows.Scan(&id, &name); err != nil {
			t.Fatal(err)
		}
		got[id] = name
	}
	rows.Close()
	want := map[string]string{"m-1": "山田 太郎", "m-3": "Ada"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("users after two deliveries = %v, want %v", got, want)
	}
	var reason string
	if err := db.QueryRow("SELECT reason FROM quarantine WHERE submission_id = 'm-2'").Scan(&reason); err != nil {
		t.Fatalf("quarantine row for m-2: %v", err)
	}
	if reason != "invalid_json" {
		t.Errorf("quarantine reason %q, want invalid_json", reason)
	}
}

// TestBootstrapUnderRIEReportsRetryWhenTheDatabaseIsDown: with the database
// unreachable, every record comes back in batchItemFailures, so SQS
// redelivers them.
func TestBootstrapUnderRIEReportsRetryWhenTheDatabaseIsDown(t *testing.T) {
	rie := buildRIE(t)
	bootstrap := buildBootstrap(t)
	down := dbconn.Config{Endpoint: "127.0.0.1:" + strconv.Itoa(freePort(t)), Name: "sluice", User: "sluice_app", Auth: dbconn.AuthPassword, Password: "unused"}
	url := startRIE(t, rie, bootstrap, down)
	ev := events.SQSEvent{Records: []events.SQSMessage{
		message("d-1", `{"name":"A","email":"a@example.com"}`),
		message("d-2", `{"name":"B","email":"b@example.com"}`),
	}}
	resp := invoke(t, url, ev)
	var ids []string
	for _, f := range resp.BatchItemFailures {
		ids = append(ids, f.ItemIdentifier)
	}
	if fmt.Sprint(ids) != "[d-1 d-2]" {
		t.Errorf("batchItemFailures %v, want both records", ids)
	}
}

func message(id, body string) events.SQSMessage {
	return events.SQSMessage{
		MessageId:     id,
		ReceiptHandle: "rh-" + id,
		Body:          body,
		Attributes: map[string]string{
			"ApproximateReceiveCount":          "1",
			"SentTimestamp":                    strconv.FormatInt(time.Now().UnixMilli(), 10),
			"SenderId":                         "AIDAEXAMPLE",
			"ApproximateFirstReceiveTimestamp": strconv.FormatInt(time.Now().UnixMilli(), 10),
		},
		EventSource:    "aws:sqs",
		EventSourceARN: "arn:aws:sqs:ap-northeast-1:123456789012:sluice-dev-intake",
		AWSRegion:      "ap-northeast-1",
	}
}

// invoke posts ev to the emulator's invocation endpoint, as the event
// source mapping's synchronous Invoke does, and decodes the response.
func invoke(t *testing.T, url string, ev events.SQSEvent) events.SQSEventResponse {
	t.Helper()
	body, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("invoke: %s: %s", resp.Status, raw)
	}
	var out events.SQSEventResponse
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&out); err != nil {
		t.Fatalf("invoke response %q is not an SQSEventResponse (a function error?): %v", raw, err)
	}
	return out
}

// appDatabase is a migrated test database and a throw-away application user
// with a password, as the consumer connects in AWS (there with IAM).
func appDatabase(t *testing.T) dbconn.Config {
	t.Helper()
	admin := testdb.New(t)
	ctx := context.Background()
	if err := migrations.Up(ctx, admin); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 8)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	user, password := "rie_"+hex.EncodeToString(b[:4]), hex.EncodeToString(b)
	if err := migrations.EnsureAppUser(ctx, admin, user, password); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		db, err := dbconn.Open(context.Background(), admin, dbconn.PoolOptions{MaxOpenConns: 1})
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec("DROP USER IF EXISTS `" + user + "`@'%'")
	})
	app := admin
	app.User, app.Password = user, password
	return app
}

// startRIE runs bootstrap under the emulator on free loopback ports and
// returns the invocation URL.
func startRIE(t *testing.T, rie, bootstrap string, db dbconn.Config) string {
	t.Helper()
	apiPort, riePort := freePort(t), freePort(t)
	cmd := exec.Command(rie,
		"--runtime-api-address", "127.0.0.1:"+strconv.Itoa(apiPort),
		"--runtime-interface-emulator-address", "127.0.0.1:"+strconv.Itoa(riePort),
		bootstrap)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_REGION=ap-northeast-1",
		"AWS_LAMBDA_FUNCTION_NAME=sluice-consumer",
		"AWS_LAMBDA_FUNCTION_TIMEOUT=30",
		dbconn.EnvEndpoint + "=" + db.Endpoint,
		dbconn.EnvName + "=" + db.Name,
		dbconn.EnvUser + "=" + db.User,
		dbconn.EnvAuth + "=password",
		dbconn.EnvPassword + "=" + db.Password,
		dbconn.EnvTLS + "=false",
	}
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("emulator and function output:\n%s", logs.String())
		}
	})
	addr := "127.0.0.1:" + strconv.Itoa(riePort)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("emulator not listening on %s after 30 s", addr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "http://" + addr + "/2015-03-31/functions/function/invocations"
}

// buildBootstrap builds the consumer as infra/lambdabuild does, for
// linux/amd64 instead of arm64.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", out, "./consumer/cmd/consumer")
	cmd.Dir = "../.."
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, b)
	}
	return out
}

// buildRIE returns the cached emulator binary, building it on first use.
func buildRIE(t *testing.T) string {
	t.Helper()
	cache := os.Getenv("XDG_CACHE_HOME")
	if cache == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			t.Fatal(err)
		}
		cache = filepath.Join(home, ".cache")
	}
	dir := filepath.Join(cache, "sluice", "bin")
	bin := filepath.Join(dir, "aws-lambda-rie-"+RIEVersion)
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gobin := t.TempDir()
	cmd := exec.Command("go", "install", riePackage+"@"+RIEVersion)
	cmd.Dir = gobin // outside this module: go.mod is not touched
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0", "GOFLAGS=")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go install %s@%s: %v\n%s", riePackage, RIEVersion, err, b)
	}
	// Rename is atomic, so a concurrent test never runs a half-written file.
	if err := os.Rename(filepath.Join(gobin, "aws-lambda-rie"), bin); err != nil {
		t.Fatal(err)
	}
	return bin
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
