// Package sqsenv provides the SQS side of the local pipeline: an SQS engine
// (GoAWS in this process, bridged to behave as SQS, or a moto_server
// process) on a loopback port, an SQS client for any endpoint, and the
// queue plus dead-letter queue created with the stack's attributes.
package sqsenv

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// MotoInstallHint says exactly how to get moto_server when it is missing.
const MotoInstallHint = `moto_server was not found on PATH. Install it with:
    python3 -m pip install 'moto[server]==5.2.1'
(on Debian/Ubuntu first: apt-get install -y python3-pip), or use the default
engine, GoAWS, which needs nothing (-sqs-engine goaws), or point the local
pipeline at any running SQS endpoint with AWS_ENDPOINT_URL_SQS=http://127.0.0.1:PORT`

// ErrMotoNotInstalled is returned by StartMoto when moto_server is not on PATH.
var ErrMotoNotInstalled = errors.New(MotoInstallHint)

// Moto is a moto_server child process serving the AWS APIs on a loopback port.
type Moto struct {
	endpoint string
	cmd      *exec.Cmd
	done     chan struct{}
	waitErr  error
	stopOnce sync.Once
}

// launcher runs moto's own server with its O(n)-per-message helpers made
// O(1); see the file for what it changes and why.
//
//go:embed moto_launcher.py
var launcher string

// StartMoto starts moto_server on a free 127.0.0.1 port and returns once it
// answers HTTP. Its output goes to logFile when that is non-nil.
//
// moto is started through the embedded launcher with the python3 that has
// moto installed, which makes a 10,000-message queue usable; when that
// interpreter cannot run it, moto_server is started as is.
func StartMoto(ctx context.Context, logFile *os.File) (*Moto, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrMotoNotInstalled
	}
	if py, err := exec.LookPath("python3"); err == nil {
		if m, err := startMoto(ctx, logFile, py, "-c", launcher); err == nil {
			return m, nil
		}
	}
	return startMoto(ctx, logFile, bin)
}

func startMoto(ctx context.Context, logFile *os.File, name string, args ...string) (*Moto, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(name, append(args, "-H", "127.0.0.1", "-p", strconv.Itoa(port))...)
	if logFile != nil {
		cmd.Stdout, cmd.Stderr = logFile, logFile
	}
	// Its own process group, so Stop reaches any children of the Python
	// launcher and a Ctrl-C in the terminal does not kill it before the
	// pipeline has drained; and killed by the kernel if this process dies
	// without calling Stop (a test timeout, kill -9), so none is left behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("sqsenv: start %s: %w", name, err)
	}
	m := &Moto{endpoint: "http://127.0.0.1:" + strconv.Itoa(port), cmd: cmd, done: make(chan struct{})}
	go func() {
		m.waitErr = cmd.Wait()
		close(m.done)
	}()
	if err := m.waitReady(ctx, 30*time.Second); err != nil {
		m.Stop()
		return nil, err
	}
	return m, nil
}

// Endpoint is the base URL to give the SQS client.
func (m *Moto) Endpoint() string { return m.endpoint }

// Transport is nil: moto is reached over HTTP.
func (m *Moto) Transport() http.RoundTripper { return nil }

// Stop ends the process group (SIGTERM, then SIGKILL after 5 s) and waits for
// it. It is safe to call more than once.
func (m *Moto) Stop() {
	m.stopOnce.Do(func() {
		pgid := m.cmd.Process.Pid
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		select {
		case <-m.done:
		case <-time.After(5 * time.Second):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-m.done
		}
	})
}

func (m *Moto) waitReady(ctx context.Context, limit time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, m.endpoint+"/moto-api/", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-m.done:
			return fmt.Errorf("sqsenv: moto_server exited before it was ready: %v", m.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("sqsenv: moto_server at %s not ready after %s", m.endpoint, limit)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for an unused loopback port. Another process can
// take it before moto binds it; StartMoto then fails on readiness rather than
// talking to a stranger, because the process exits.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("sqsenv: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
