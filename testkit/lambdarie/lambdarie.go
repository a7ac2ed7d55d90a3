// Package lambdarie runs a built Lambda bootstrap behind the AWS Lambda
// Runtime Interface Emulator, so tests exercise the real artifact through
// the real Runtime API instead of calling the handler function directly.
//
// The emulator comes from $SLUICE_LAMBDA_RIE, else aws-lambda-rie on PATH,
// else it is built once from its Go module into the user cache. With
// go test -short (make test-short) the tests that need it are skipped.
package lambdarie

import (
	"bytes"
	"context"
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

	"github.com/sluicehq/sluice/testkit/testenv"
)

// Module is the emulator, pinned, built when it is not installed.
const Module = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// Binary returns the path of the emulator, building it if needed.
func Binary(tb testing.TB) string {
	tb.Helper()
	testenv.NeedsLambdaRIE(tb)
	p, err := Install()
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// Install returns the path of the emulator, building it into the user cache
// on first use: $SLUICE_LAMBDA_RIE, else aws-lambda-rie on PATH, else
// <user cache>/sluice/aws-lambda-rie-<version>/aws-lambda-rie.
func Install() (string, error) {
	if p := os.Getenv("SLUICE_LAMBDA_RIE"); p != "" {
		return p, nil
	}
	if p, err := exec.LookPath("aws-lambda-rie"); err == nil {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("lambdarie: %w", err)
	}
	_, version, _ := strings.Cut(Module, "@")
	dir := filepath.Join(cache, "sluice", "aws-lambda-rie-"+version)
	bin := filepath.Join(dir, "aws-lambda-rie")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("lambdarie: %w", err)
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("lambdarie: the go command is needed to build the Lambda Runtime Interface Emulator: %w", err)
	}
	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", fmt.Errorf("lambdarie: %w", err)
	}
	defer os.RemoveAll(gobin)
	cmd := exec.Command(goCmd, "install", Module)
	cmd.Dir = gobin // outside this module, so go.mod is never touched
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the Lambda Runtime Interface Emulator (go install %s): %v\n%s", Module, err, out)
	}
	// Rename is atomic: a test in another package running at the same time
	// never executes a half-written file.
	if err := os.Rename(filepath.Join(gobin, "aws-lambda-rie"), bin); err != nil {
		return "", fmt.Errorf("lambdarie: %w", err)
	}
	return bin, nil
}

// BuildBootstrap builds the main package in dir the way infra/lambdabuild
// builds the Lambda artifacts (static, -tags lambda.norpc, -trimpath), for
// Linux on this machine's architecture (the emulator runs it natively; the
// deployed arm64 build is the same code), and returns the path of
// "bootstrap".
func BuildBootstrap(tb testing.TB, dir string) string {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "bootstrap")
	cmd := exec.Command(goTool(tb), "build", "-trimpath", "-tags", "lambda.norpc", "-o", bin, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if out, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	return bin
}

func goTool(tb testing.TB) string {
	tb.Helper()
	p, err := exec.LookPath("go")
	if err != nil {
		tb.Fatalf("the go command is needed to build Lambda binaries: %v", err)
	}
	return p
}

// Function is a bootstrap running behind the emulator.
type Function struct {
	URL       string // the invocation URL of the emulator
	output    *syncBuffer
	cmd       *exec.Cmd
	closeOnce sync.Once
}

// Start runs bootstrap behind the emulator with exactly env (plus PATH),
// stops both at test cleanup, and waits until the emulator listens.
func Start(tb testing.TB, bootstrap string, env []string) *Function {
	tb.Helper()
	rie := Binary(tb)
	f, err := Run(rie, bootstrap, "", env)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(f.Close)
	return f
}

// Run starts the emulator rie with bootstrap as the runtime, in directory
// dir (empty: the current one), with exactly env (plus PATH), and waits
// until it listens. Close stops both.
func Run(rie, bootstrap, dir string, env []string) (*Function, error) {
	runtimeAddr, err := testenv.LoopbackAddr()
	if err != nil {
		return nil, err
	}
	invokeAddr, err := testenv.LoopbackAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(rie, "--runtime-api-address", runtimeAddr, "--runtime-interface-emulator-address", invokeAddr, bootstrap)
	cmd.Dir = dir
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	f := &Function{
		URL:    "http://" + invokeAddr + "/2015-03-31/functions/function/invocations",
		output: &syncBuffer{},
		cmd:    cmd,
	}
	cmd.Stdout, cmd.Stderr = f.output, f.output
	// Its own process group, so that Close stops the emulator and the
	// function it started, and nothing else.
	// Pdeathsig: they also die if the process that started them is killed.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", rie, err)
	}
	if err := waitListening(invokeAddr, f.output); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Close stops the emulator and the function.
func (f *Function) Close() {
	f.closeOnce.Do(func() {
		_ = syscall.Kill(-f.cmd.Process.Pid, syscall.SIGKILL)
		_ = f.cmd.Wait()
	})
}

// Invoke sends one event and returns the raw response body: the handler's
// JSON result, or the runtime's {"errorMessage":...} document.
func (f *Function) Invoke(ctx context.Context, event []byte) ([]byte, error) {
	r, err := f.Call(ctx, event)
	return r.Payload, err
}

// Response is one invocation's answer.
type Response struct {
	// Payload is the handler's JSON result, or the runtime's error document.
	Payload []byte
	// FunctionError is "Unhandled" or "Handled" when the function failed
	// (the X-Amz-Function-Error header Lambda sets), else empty.
	FunctionError string
}

// Call sends one event, as Lambda's Invoke API with RequestResponse does.
func (f *Function) Call(ctx context.Context, event []byte) (Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(event))
	if err != nil {
		return Response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("invoke %s: %w", f.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("read invocation response: %w", err)
	}
	return Response{Payload: bytes.TrimSpace(body), FunctionError: resp.Header.Get("X-Amz-Function-Error")}, nil
}

// Output is everything the emulator and the function printed so far.
func (f *Function) Output() string { return f.output.String() }

func waitListening(addr string, output *syncBuffer) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err == nil {
			conn.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the emulator did not listen on %s: %v\n%s", addr, err, output.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
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
