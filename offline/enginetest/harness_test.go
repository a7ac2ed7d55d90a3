package enginetest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/auto"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/events"
	"github.com/pulumi/pulumi/sdk/v3/go/auto/optpreview"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/offline/fakeaws"
	"github.com/sluicehq/sluice/offline/lifecycle"
)

// projectName is the name in the repository's Pulumi.yaml.
const projectName = "sluice"

// tools are the executables every preview needs, built once per test binary.
type tools struct {
	root      string // repository root: the workspace's WorkDir
	pulumi    auto.PulumiCommand
	pluginDir string // holds pulumi-resource-aws; first on the CLI's PATH
	policy    string // the built policy pack binary
}

var (
	toolsOnce sync.Once
	toolsVal  *tools
	toolsErr  error
)

// sharedTools builds (or finds) the CLI, the stand-in provider and the policy
// pack. They live in a directory removed by TestMain, so that every test of
// the run shares one build.
func sharedTools(t *testing.T) *tools {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the pulumi CLI (scripts/pulumi-cli.sh); run make test")
	}
	toolsOnce.Do(func() { toolsVal, toolsErr = buildTools(buildDir) })
	if toolsErr != nil {
		t.Fatal(toolsErr)
	}
	return toolsVal
}

// buildDir is created by TestMain and holds everything the tests build.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sluice-enginetest-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildTools(dir string) (*tools, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	tl := &tools{root: root, pluginDir: filepath.Join(dir, "plugins")}

	// The engine looks the aws plugin up by its file name on PATH.
	if _, err := fakeaws.BuildPlugin(root, tl.pluginDir); err != nil {
		return nil, err
	}
	tl.policy = filepath.Join(dir, "policy", "sluice-policy")
	if err := goBuild(root, tl.policy, "./policy"); err != nil {
		return nil, err
	}

	cli, err := lifecycle.ToolPath(root, "pulumi-cli.sh")
	if err != nil {
		return nil, err
	}
	// auto.NewPulumiCommand wants <root>/bin/pulumi; a symlink lets the CLI come
	// from anywhere (PATH or the build cache). The version check stays on: the
	// CLI must be at least the SDK's version.
	cliRoot := filepath.Join(dir, "cli")
	if err := os.MkdirAll(filepath.Join(cliRoot, "bin"), 0o755); err != nil {
		return nil, err
	}
	if err := os.Symlink(cli, filepath.Join(cliRoot, "bin", "pulumi")); err != nil {
		return nil, err
	}
	tl.pulumi, err = auto.NewPulumiCommand(&auto.PulumiCommandOptions{Root: cliRoot})
	if err != nil {
		return nil, fmt.Errorf("pulumi CLI at %s: %w", cli, err)
	}
	return tl, nil
}

// repoRoot walks up from the test's directory to the module root.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the test directory")
		}
		dir = parent
	}
}

func goBuild(root, out, pkg string, flags ...string) error {
	args := append([]string{"build", "-o", out}, flags...)
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Dir = root
	if msg, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return nil
}

// previewRun is what one preview produced.
type previewRun struct {
	err    error
	events []events.EngineEvent
	output string // the human-readable progress, for failure messages
}

// previewOptions select the stack and what differs from a plain preview.
type previewOptions struct {
	stack      string
	editStack  func(t *testing.T, file []byte) []byte // changes the copy of Pulumi.<stack>.yaml
	transforms []pulumi.ResourceTransform             // applied to every resource of the program
	program    pulumi.RunFunc                         // another program than Sluice's, if set
}

// preview runs `pulumi preview` of opts.stack in a fresh file backend, with
// the policy pack and the stand-in provider, and returns every engine event.
func (tl *tools) preview(t *testing.T, opts previewOptions) previewRun {
	t.Helper()
	ctx := t.Context()
	home := t.TempDir()
	state := filepath.Join(home, "state")
	if err := os.Mkdir(state, 0o700); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		"PULUMI_BACKEND_URL":       "file://" + filepath.ToSlash(state),
		"PULUMI_CONFIG_PASSPHRASE": "enginetest",
		"PULUMI_HOME":              filepath.Join(home, "pulumi-home"),
		"PULUMI_SKIP_UPDATE_CHECK": "true",
		// The aws plugin must be the stand-in found on PATH; never download one.
		"PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
		"PATH": tl.pluginDir + string(os.PathListSeparator) + os.Getenv("PATH"),
	}
	workDir := tl.overlay(t, opts.stack, opts.editStack)
	program := opts.program
	if program == nil {
		var err error
		if program, err = sluiceProgram(workDir, opts.stack, opts.transforms...); err != nil {
			t.Fatal(err)
		}
	}
	stack, err := auto.UpsertStackInlineSource(ctx, opts.stack, projectName, program,
		auto.WorkDir(workDir), auto.Pulumi(tl.pulumi), auto.EnvVars(env))
	if err != nil {
		t.Fatalf("create stack %s: %v", opts.stack, err)
	}

	ch := make(chan events.EngineEvent)
	var run previewRun
	done := make(chan struct{})
	go func() {
		defer close(done)
		for e := range ch {
			run.events = append(run.events, e)
		}
	}()
	var out bytes.Buffer
	popts := []optpreview.Option{
		optpreview.EventStreams(ch),
		optpreview.PolicyPacks(tl.policy),
		optpreview.ProgressStreams(&out),
		optpreview.ErrorProgressStreams(&out),
	}
	_, run.err = stack.Preview(ctx, popts...)
	<-done
	run.output = out.String()
	return run
}

// policyViolations returns the policy events at the given enforcement level
// ("mandatory", "advisory"/"warning", or "" for all).
func (r previewRun) policyViolations(level string) []apitype.PolicyEvent {
	var out []apitype.PolicyEvent
	for _, e := range r.events {
		if p := e.PolicyEvent; p != nil && (level == "" || p.EnforcementLevel == level) {
			out = append(out, *p)
		}
	}
	return out
}

// overlay returns a directory that looks like the repository root to the
// engine: Pulumi.yaml and Pulumi.<stack>.yaml are copies, every other entry
// of the root is a symlink to the real one. Creating a stack with the
// passphrase secrets provider rewrites the stack file (it adds an
// encryptionsalt and re-quotes every value), so the engine must never be
// given the repository's own file. The copy has the same bytes unless edit
// changes them.
func (tl *tools) overlay(t *testing.T, stack string, edit func(*testing.T, []byte) []byte) string {
	t.Helper()
	dir := t.TempDir()
	entries, err := os.ReadDir(tl.root)
	if err != nil {
		t.Fatal(err)
	}
	copies := map[string]bool{"Pulumi.yaml": true, "Pulumi." + stack + ".yaml": true}
	for _, e := range entries {
		name := e.Name()
		src := filepath.Join(tl.root, name)
		switch {
		case copies[name]:
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			if edit != nil && name != "Pulumi.yaml" {
				data = edit(t, data)
			}
			if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
				t.Fatal(err)
			}
			delete(copies, name)
		case strings.HasPrefix(name, "Pulumi.") || name == ".git":
			// Other stacks' files are not this preview's business, and the
			// engine needs no repository metadata.
		default:
			if err := os.Symlink(src, filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	for name := range copies {
		t.Fatalf("%s not found in %s", name, tl.root)
	}
	return dir
}
