package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sluicehq/sluice/offline/testdb"
	"github.com/sluicehq/sluice/testkit/doccheck"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// The sessions of docs/local.md are recorded by TestRunAsDocumented from the
// built command against the test server and its own SQS engine (GoAWS,
// the default). For isolation it
// runs on free ports, in a throw-away database and as a throw-away
// application user (a run rotates that user's password); the transcript shows
// them as the defaults a user gets: 127.0.0.1:8080 and :8081, sluice_local and
// sluice_app.

// command is the built `local` command running in the background, its
// standard output going to a file the test reads while it runs.
type command struct {
	cmd  *exec.Cmd
	path string // the standard output
	// done is closed when the process has exited; err is its Wait error.
	done chan struct{}
	err  error
}

func start(t *testing.T, bin, dir string, env []string, args ...string) *command {
	t.Helper()
	c := &command{cmd: exec.Command(bin, args...), path: filepath.Join(t.TempDir(), "stdout"), done: make(chan struct{})}
	out, err := os.Create(c.path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close() // the child has its own descriptor
	c.cmd.Dir, c.cmd.Env = dir, env
	c.cmd.Stdout = out // stderr (warnings) is not part of what the docs show
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { c.err = c.cmd.Wait(); close(c.done) }()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// output is what the command printed so far.
func (c *command) output() string {
	b, _ := os.ReadFile(c.path)
	return string(b)
}

// waitFor waits until the output contains s, or the process ends.
func (c *command) waitFor(t *testing.T, s string, limit time.Duration) {
	t.Helper()
	deadline := time.After(limit)
	for !strings.Contains(c.output(), s) {
		select {
		case <-c.done:
			t.Fatalf("the command exited (%v) before printing %q:\n%s", c.err, s, c.output())
		case <-deadline:
			t.Fatalf("no %q after %s:\n%s", s, limit, c.output())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// interrupt sends Ctrl-C and waits for the command to drain and exit.
func (c *command) interrupt(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
		if c.err != nil {
			t.Fatalf("exit after Ctrl-C: %v\n%s", c.err, c.output())
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("still running 2 minutes after Ctrl-C:\n%s", c.output())
	}
}

// curl does what `curl -s -w ' %{http_code}\n'` prints: the body, a space
// and the status code.
func curl(t *testing.T, method, url, body string) string {
	t.Helper()
	var r io.Reader
	if method == http.MethodPost {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + " " + resp.Status[:3] + "\n"
}

// stackDir writes Pulumi.dev.yaml, with extra lines appended to its config,
// into a fresh directory.
func stackDir(t *testing.T, extra ...string) string {
	t.Helper()
	raw, err := os.ReadFile("../Pulumi.dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimRight(string(raw), "\n") + "\n"
	for _, line := range extra {
		text += "  " + line + "\n"
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "Pulumi.dev.yaml"), []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestRunAsDocumented(t *testing.T) {
	db := testdb.New(t)
	app := testdb.NewUser(t)
	bin := filepath.Join(t.TempDir(), "local")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	addr, statusAddr := testenv.FreeAddr(t), testenv.FreeAddr(t)
	env := append(os.Environ(), EnvDBPassword+"="+db.Password)
	flags := []string{"--db", db.Endpoint, "--db-name", db.Name, "--db-user", db.User, "--addr", addr, "--status-addr", statusAddr}
	rename := strings.NewReplacer(addr, "127.0.0.1:8080", statusAddr, "127.0.0.1:8081", db.Endpoint+"/"+db.Name, "127.0.0.1:3306/sluice_local", app, "sluice_app")
	counts := regexp.MustCompile(`(?m)(^\d\d:\d\d:\d\d accepted .*\n)+`)
	ids := regexp.MustCompile(`"(MessageId|MD5OfMessageBody|RequestId|time)":"[^"]*"|"db_connections":\d+`)

	// go run ./local --stack dev --every 2s, with a POST, a wrong path and an
	// empty body sent to it, then Ctrl-C.
	run := start(t, bin, stackDir(t, "sluice:dbAppUser: "+app), env, append(flags, "--stack", "dev", "--every", "2s")...)
	run.waitFor(t, "queue http://", 2*time.Minute)
	var edge strings.Builder
	submit := "http://" + addr + "/submit"
	edge.WriteString(`$ curl -s -w ' %{http_code}\n' -X POST --data-binary '{"name":"山田 花子","email":"hanako@example.jp"}' ` + submit + "\n")
	edge.WriteString(curl(t, http.MethodPost, submit, `{"name":"山田 花子","email":"hanako@example.jp"}`))
	edge.WriteString(`$ curl -s -w ' %{http_code}\n' ` + submit + "\n")
	edge.WriteString(curl(t, http.MethodGet, submit, ""))
	edge.WriteString(`$ curl -s -w ' %{http_code}\n' -X POST --data-binary '' ` + submit + "\n")
	edge.WriteString(curl(t, http.MethodPost, submit, ""))
	// Once the record is stored and deleted from the queue, the counts are
	// the same on every run.
	var status string
	for deadline := time.Now().Add(time.Minute); ; {
		status = strings.TrimSuffix(curl(t, http.MethodGet, "http://"+statusAddr+"/counts", ""), " 200\n")
		var c struct {
			Stored, Queued int
			InFlight       int `json:"in_flight"`
		}
		if json.Unmarshal([]byte(status), &c) == nil && c.Stored == 1 && c.Queued == 0 && c.InFlight == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the record was not stored within a minute: %s", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	edge.WriteString("$ curl -s http://" + statusAddr + "/counts\n" + strings.TrimSpace(status) + "\n")
	run.waitFor(t, " accepted 1 ", time.Minute) // a status line, printed every 2 s
	run.interrupt(t)
	doccheck.Check(t, "docs/local.md", "local-run", rename.Replace("$ go run ./local --stack dev --every 2s\n"+
		strings.Replace(run.output(), "interrupt: draining", "^C\ninterrupt: draining", 1)),
		doccheck.Ignore(counts), doccheck.Ignore(regexp.MustCompile(`127\.0\.0\.1:\d+/123456789012`)))
	doccheck.Check(t, "docs/local.md", "local-edge", rename.Replace(edge.String()), doccheck.Ignore(ids))

	// A stack whose route authorization and CORS the edge does not emulate.
	jwt := start(t, bin, stackDir(t, "sluice:dbAppUser: "+app, "sluice:apiAuth: JWT",
		"sluice:jwtIssuer: https://issuer.example.com/", "sluice:jwtAudience: sluice",
		"sluice:corsAllowOrigins: https://app.example.com"), env, append(flags, "--stack-file", "Pulumi.dev.yaml")...)
	jwt.waitFor(t, "queue http://", 2*time.Minute)
	jwt.interrupt(t)
	var lines []string
	for line := range strings.SplitSeq(jwt.output(), "\n") {
		if strings.HasPrefix(line, "sluice local ") || strings.HasPrefix(line, "not emulated: ") {
			lines = append(lines, strings.Replace(line, "(Pulumi.dev.yaml)", "(/tmp/Pulumi.jwt.yaml)", 1))
		}
	}
	doccheck.Check(t, "docs/local.md", "local-not-emulated", rename.Replace(
		"$ go run ./local --stack-file /tmp/Pulumi.jwt.yaml   # dev plus apiAuth JWT and corsAllowOrigins\n"+strings.Join(lines, "\n")+"\n…"))
}
