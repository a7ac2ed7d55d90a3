package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/internal/testdb"
	"github.com/sluicehq/sluice/migrations"
)

// rieModule is the Lambda Runtime Interface Emulator, built from its Go
// module when it is not installed.
const rieModule = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// lambdaRIE returns the emulator binary: $SLUICE_LAMBDA_RIE, else
// aws-lambda-rie on PATH, else one built once into the user cache.
func lambdaRIE(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SLUICE_LAMBDA_RIE"); p != "" {
		return p
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	_, version, _ := strings.Cut(rieModule, "@")
	dir := filepath.Join(cache, "sluice", "aws-lambda-rie-"+version)
	bin := filepath.Join(dir, "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	cmd := exec.Command(goTool(t), "install", rieModule)
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the Lambda Runtime Interface Emulator (go install %s): %v\n%s", rieModule, err, out)
	}
	return bin
}

func goTool(t *testing.T) string {
	t.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to build the migrator: %v", err)
	}
	return p
}

// buildBootstrap builds the migrator the way infra does (static,
// lambda.norpc), for the machine the test runs on.
func buildBootstrap(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "bootstrap")
	cmd := exec.Command(goTool(t), "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// syncBuffer collects a child process's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestBinaryUnderLambdaRuntime runs the built migrator behind the Lambda
// Runtime API (the emulator) and sends it the events infra sends.
func TestBinaryUnderLambdaRuntime(t *testing.T) {
	cfg := testdb.New(t)
	user := newTestUser(t)
	const password = "rie-secret-value"
	rie, bootstrap := lambdaRIE(t), buildBootstrap(t)

	invokeAddr := freeAddr(t)
	cmd := exec.Command(rie, "--runtime-api-address", freeAddr(t), "--runtime-interface-emulator-address", invokeAddr, bootstrap)
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"AWS_LAMBDA_FUNCTION_TIMEOUT=300",
		"SLUICE_DB_ENDPOINT=" + cfg.Endpoint,
		"SLUICE_DB_NAME=" + cfg.Name,
		"SLUICE_DB_USER=" + cfg.User,
		"SLUICE_DB_PASSWORD=" + cfg.Password,
		"SLUICE_DB_AUTH=password",
		"SLUICE_DB_TLS=false",
	}
	var output syncBuffer
	cmd.Stdout, cmd.Stderr = &output, &output
	// Its own process group, so that cleanup stops the emulator and the
	// migrator it started, and nothing else.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
	})
	waitListening(t, invokeAddr, &output)

	url := "http://" + invokeAddr + "/2015-03-31/functions/function/invocations"
	latest := migrations.Latest()
	for _, tc := range []struct {
		event string
		want  string // the exact JSON result, or
		error string // a fragment of errorMessage
	}{
		{event: fmt.Sprintf(`{"action":"up","appUser":%q,"appPassword":%q}`, user, password),
			want: fmt.Sprintf(`{"action":"up","version":%d,"dirty":false,"appUser":%q}`, latest, user)},
		{event: `{"action":"version"}`, want: fmt.Sprintf(`{"action":"version","version":%d,"dirty":false}`, latest)},
		{event: `{"action":"sideways"}`, error: `unknown action \"sideways\"`},
		{event: `{"action":"up"}`, error: `appPassword is required`},
	} {
		resp, err := http.Post(url, "application/json", strings.NewReader(tc.event))
		if err != nil {
			t.Fatalf("invoke %s: %v\n%s", tc.event, err, output.String())
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		got := strings.TrimSpace(string(body))
		switch {
		case tc.want != "" && got != tc.want:
			t.Errorf("invoke %s = %s, want %s", tc.event, got, tc.want)
		case tc.error != "" && !(strings.Contains(got, `"errorMessage"`) && strings.Contains(got, tc.error)):
			t.Errorf("invoke %s = %s, want an errorMessage with %s", tc.event, got, tc.error)
		}
	}

	logs := output.String()
	if strings.Contains(logs, password) {
		t.Fatalf("the password is in the function's output:\n%s", logs)
	}
	var done int
	for _, line := range strings.Split(logs, "\n") {
		var rec struct{ Msg string }
		if strings.HasPrefix(line, "{") && json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "migrator done" {
			done++
		}
	}
	if done != 2 {
		t.Errorf("%d JSON \"migrator done\" lines, want 2:\n%s", done, logs)
	}
}

// waitListening waits until the emulator accepts connections, or fails
// with its output if it exits or never does.
func waitListening(t *testing.T, addr string, output *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the emulator did not listen on %s: %v\n%s", addr, err, output.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
