package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/sluicehq/sluice/internal/dbconn"
	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/migrations"
)

// buildBootstrap compiles this command the way it is deployed.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command("go", "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// runtimeAPI is the Lambda side of the Runtime API (and of the extensions
// API that lambda.WithEnableSIGTERM registers with), serving one
// invocation: it stands in for the Lambda service, not for our code.
type runtimeAPI struct {
	event     []byte
	requestID string

	once     sync.Once
	response chan []byte
	failure  chan string
}

func (r *runtimeAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	switch p := req.URL.Path; {
	case p == "/2020-01-01/extension/register":
		w.Header().Set("Lambda-Extension-Identifier", "ext-1")
		w.Write([]byte(`{}`))
	case p == "/2018-06-01/runtime/invocation/next":
		served := false
		r.once.Do(func() {
			h := w.Header()
			h.Set("Lambda-Runtime-Aws-Request-Id", r.requestID)
			h.Set("Lambda-Runtime-Deadline-Ms", strconv.FormatInt(time.Now().Add(60*time.Second).UnixMilli(), 10))
			h.Set("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:ap-northeast-1:123456789012:function:sluice-test-consumer")
			w.Write(r.event)
			served = true
		})
		if !served {
			<-req.Context().Done() // no second invocation
		}
	case p == "/2020-01-01/extension/event/next":
		<-req.Context().Done()
	case strings.HasSuffix(p, "/response"):
		r.response <- body
		w.WriteHeader(http.StatusAccepted)
	case strings.HasSuffix(p, "/error"):
		r.failure <- p + ": " + string(body)
		w.WriteHeader(http.StatusAccepted)
	default:
		http.NotFound(w, req)
	}
}

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

// TestBootstrapServesAnInvocation runs the built binary against the
// Runtime API and the test database: configuration from the environment,
// the pool opened at the first invocation, the partial batch response on
// the wire, and JSON logs and EMF metrics on stdout.
func TestBootstrapServesAnInvocation(t *testing.T) {
	bin := buildBootstrap(t)
	cfg := testdb.New(t)
	if err := migrations.Up(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}

	badID := strings.Repeat("x", 200) // longer than users.submission_id
	ev, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{
		{MessageId: "m-1", Body: `{"name":"山田 花子","email":"hanako@example.jp"}`, Attributes: map[string]string{"SentTimestamp": "1795753815123"}},
		{MessageId: "m-2", Body: `{"name":""}`},
		{MessageId: badID, Body: `{"name":"a","email":"a@example.com"}`},
	}})
	api := &runtimeAPI{event: ev, requestID: "req-bootstrap-1", response: make(chan []byte, 1), failure: make(chan string, 1)}
	srv := httptest.NewServer(api)
	defer srv.Close()

	var stdout bytes.Buffer
	cmd := exec.Command(bin)
	cmd.Env = append(dbEnv(cfg), "AWS_LAMBDA_RUNTIME_API="+strings.TrimPrefix(srv.URL, "http://"), "AWS_LAMBDA_FUNCTION_NAME=sluice-test-consumer")
	cmd.Stdout, cmd.Stderr = &stdout, &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	select {
	case body := <-api.response:
		var resp events.SQSEventResponse
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("response %s: %v", body, err)
		}
		if len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != badID {
			t.Errorf("response %s, want exactly the unusable id reported", body)
		}
	case f := <-api.failure:
		t.Fatalf("invocation failed: %s\n%s", f, stdout.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("no response from the function\n%s", stdout.String())
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

	// Stop the process before reading what it wrote.
	cmd.Process.Kill()
	cmd.Wait()
	out := stdout.String()
	t.Logf("function output:\n%s", out)
	for _, want := range []string{
		`"message":"batch done"`, `"requestId":"req-bootstrap-1"`, `"stored":1`,
		`"Namespace":"Sluice"`, `"FunctionName":"sluice-test-consumer"`, `"RecordsQuarantined":1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "hanako@example.jp") {
		t.Errorf("stdout contains an email address:\n%s", out)
	}
}

func TestBootstrapRefusesBadConfiguration(t *testing.T) {
	bin := buildBootstrap(t)
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
