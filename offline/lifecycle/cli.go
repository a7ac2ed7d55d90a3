package lifecycle

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
)

// Command is one `pulumi` command a rehearsal ran.
type Command struct {
	Dir      string        `json:"dir"`  // the repository copy it ran in
	Args     []string      `json:"args"` // after "pulumi"
	ExitCode int           `json:"exitCode"`
	Duration time.Duration `json:"-"`
	Seconds  float64       `json:"seconds"`

	Output string                `json:"-"` // stdout and stderr
	Events []apitype.EngineEvent `json:"-"` // the engine's events (--event-log)
}

// String is the command line as a user types it.
func (c Command) String() string { return "pulumi " + strings.Join(c.Args, " ") }

// failed says why a command that should have succeeded did not.
func (c Command) failed() error {
	tail := c.Output
	if len(tail) > 4000 {
		tail = "…" + tail[len(tail)-4000:]
	}
	return fmt.Errorf("`%s` exited %d: %s\n%s", c, c.ExitCode, errorSummary(c.Output), tail)
}

// errorSummary is the most telling error line of a command's output: the
// first "error:" line that is not the CLI's closing "update failed" or
// "preview failed".
func errorSummary(output string) string {
	var first string
	for _, line := range strings.Split(output, "\n") {
		line = strings.TrimSpace(line)
		_, msg, ok := strings.Cut(line, "error: ")
		if !ok {
			continue
		}
		if first == "" {
			first = msg
		}
		if msg != "update failed" && msg != "preview failed" && !strings.HasPrefix(msg, "Preview failed") {
			return msg
		}
	}
	if first == "" {
		return "no error line in the output"
	}
	return first
}

// CommandTimeout bounds one command; the slowest, a first preview that
// compiles the program and the policy pack with an empty build cache, took
// under 5 minutes on the 2-core machine.
const CommandTimeout = 20 * time.Minute

// engineCommands are the commands that take --event-log.
var engineCommands = []string{"preview", "up", "destroy"}

// workspace is where commands run: a copy of the repository and the CLI's
// environment (its backend among it).
type workspace struct {
	dir string
	env []string
}

// pulumi runs the CLI with args in ws. Engine commands also write their
// events to a file, which is read back into Events. A command that could
// not start at all is an error; a non-zero exit is not (see ExitCode).
func (l *Lifecycle) pulumi(ctx context.Context, ws workspace, args ...string) (Command, error) {
	c := Command{Dir: ws.dir, Args: args}
	full := append([]string{"--color", "never"}, args...)
	var eventLog string
	if len(args) > 0 && slices.Contains(engineCommands, args[0]) {
		f, err := os.CreateTemp(l.work, "events-*.jsonl")
		if err != nil {
			return c, err
		}
		f.Close()
		eventLog = f.Name()
		defer os.Remove(eventLog)
		full = append(full, "--event-log", eventLog)
	}
	ctx, cancel := context.WithTimeout(ctx, CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, l.tools.CLI, full...)
	cmd.Dir = ws.dir
	cmd.Env = ws.env
	// The CLI starts the language host, the program, the policy pack and
	// the provider (which starts the emulator): a timeout stops them all.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	c.Duration = time.Since(start)
	c.Seconds = c.Duration.Round(100 * time.Millisecond).Seconds()
	c.Output = out.String()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		c.ExitCode = exit.ExitCode()
	case err != nil:
		return c, fmt.Errorf("run %s: %w", c, err)
	}
	if eventLog != "" {
		if c.Events, err = readEvents(eventLog); err != nil {
			return c, fmt.Errorf("%s: %w", c, err)
		}
	}
	l.logf("    %s  (%.1f s, exit %d)", c, c.Seconds, c.ExitCode)
	l.report.Commands = append(l.report.Commands, Command{Dir: c.Dir, Args: c.Args, ExitCode: c.ExitCode, Duration: c.Duration, Seconds: c.Seconds})
	return c, nil
}

// ok runs a command that must succeed.
func (l *Lifecycle) ok(ctx context.Context, ws workspace, args ...string) (Command, error) {
	c, err := l.pulumi(ctx, ws, args...)
	if err != nil {
		return c, err
	}
	if c.ExitCode != 0 {
		return c, c.failed()
	}
	return c, nil
}

func readEvents(path string) ([]apitype.EngineEvent, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var events []apitype.EngineEvent
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e apitype.EngineEvent
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			return nil, fmt.Errorf("event log: %w", err)
		}
		events = append(events, e)
	}
	return events, sc.Err()
}

// steps returns the engine's step events (one per resource and step),
// without the provider resources' steps (the CLI does not count them
// either).
func (c Command) steps() []apitype.StepEventMetadata {
	var out []apitype.StepEventMetadata
	for _, e := range c.Events {
		if e.ResourcePreEvent != nil && !strings.HasPrefix(e.ResourcePreEvent.Metadata.Type, "pulumi:providers:") {
			out = append(out, e.ResourcePreEvent.Metadata)
		}
	}
	return out
}

// count returns how many steps have op.
func (c Command) count(op apitype.OpType) int {
	n := 0
	for _, s := range c.steps() {
		if s.Op == op {
			n++
		}
	}
	return n
}

// changes returns the steps that change something (all but "same").
func (c Command) changes() []apitype.StepEventMetadata {
	var out []apitype.StepEventMetadata
	for _, s := range c.steps() {
		if s.Op != apitype.OpSame {
			out = append(out, s)
		}
	}
	return out
}

// violations returns the policy events at level ("" for every level).
func (c Command) violations(level string) []apitype.PolicyEvent {
	var out []apitype.PolicyEvent
	for _, e := range c.Events {
		if p := e.PolicyEvent; p != nil && (level == "" || p.EnforcementLevel == level) {
			out = append(out, *p)
		}
	}
	return out
}

// deployment is a stack's state, as `pulumi stack export` writes it.
type deployment struct {
	Resources []apitype.ResourceV3
}

// export returns the stack's state; with secrets, their values in
// plaintext (never logged).
func (l *Lifecycle) export(ctx context.Context, ws workspace, stack string, secrets bool) (deployment, error) {
	args := []string{"stack", "export", "--stack", stack}
	if secrets {
		args = append(args, "--show-secrets")
	}
	cmd := exec.CommandContext(ctx, l.tools.CLI, args...)
	cmd.Dir, cmd.Env = ws.dir, ws.env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return deployment{}, fmt.Errorf("pulumi %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	var u apitype.UntypedDeployment
	if err := json.Unmarshal(out, &u); err != nil {
		return deployment{}, fmt.Errorf("pulumi stack export: %w", err)
	}
	var d deployment
	if len(u.Deployment) > 0 {
		if err := json.Unmarshal(u.Deployment, &d); err != nil {
			return deployment{}, fmt.Errorf("pulumi stack export: %w", err)
		}
	}
	return d, nil
}

// custom returns the resources managed by a provider (not components, the
// stack or providers).
func (d deployment) custom() []apitype.ResourceV3 {
	var out []apitype.ResourceV3
	for _, r := range d.Resources {
		if r.Custom && !strings.HasPrefix(string(r.Type), "pulumi:providers:") {
			out = append(out, r)
		}
	}
	return out
}

// ofType returns the resources of typ.
func (d deployment) ofType(typ string) []apitype.ResourceV3 {
	var out []apitype.ResourceV3
	for _, r := range d.Resources {
		if string(r.Type) == typ {
			out = append(out, r)
		}
	}
	return out
}

// one returns the only resource of typ whose name ends in suffix.
func (d deployment) one(typ, suffix string) (apitype.ResourceV3, error) {
	var found []apitype.ResourceV3
	for _, r := range d.ofType(typ) {
		if strings.HasSuffix(r.URN.Name(), suffix) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		return apitype.ResourceV3{}, fmt.Errorf("the state holds %d %s named *%s, want 1", len(found), typ, suffix)
	}
	return found[0], nil
}

// secretSig marks a secret value in an exported state; with
// --show-secrets its "plaintext" is the JSON of the value.
const secretSig = "1b47061264138c4ac30d75fd1eb44270"

// valueAt returns the value at a path of keys into a resource's inputs or
// outputs, secrets decoded.
func valueAt(m map[string]any, path ...string) any {
	var v any = m
	for _, k := range path {
		obj, ok := reveal(v).(map[string]any)
		if !ok {
			return nil
		}
		v = obj[k]
	}
	return reveal(v)
}

// reveal decodes an exported secret's plaintext; other values pass.
func reveal(v any) any {
	obj, ok := v.(map[string]any)
	if !ok || obj["4dabf18193072939515e22adb298388d"] != secretSig {
		return v
	}
	plain, _ := obj["plaintext"].(string)
	var out any
	if json.Unmarshal([]byte(plain), &out) != nil {
		return nil
	}
	return out
}

// stringAt returns the string at a path of keys (see valueAt).
func stringAt(m map[string]any, path ...string) string {
	s, _ := valueAt(m, path...).(string)
	return s
}

// numberAt returns the number at a path of keys (see valueAt).
func numberAt(m map[string]any, path ...string) float64 {
	f, _ := valueAt(m, path...).(float64)
	return f
}

// stackFile returns the path of Pulumi.<stack>.yaml in dir.
func stackFile(dir, stack string) string { return filepath.Join(dir, "Pulumi."+stack+".yaml") }
