package recipe

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/testkit/doccheck"
)

// TestAddKeyRecipe applies the steps of "A stack key" for its example
// (sluice:queueDelaySeconds) in a copy of the repository kept in a fresh
// git repository: the field, the Spec, the use in the component, then the
// one regenerate command. In the copy, `git diff` then names the two
// hand-edited files, with three hunks, and the generated files only; the
// settings and component tests pass with the new key (the docs and
// Pulumi.yaml regenerated), the loader applies its default, takes a value
// and refuses one out of range naming the key, and the main queue is
// registered with the delay.
func TestAddKeyRecipe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and tests three packages in a copy of the repository")
	}
	root := doccheck.Root(t)
	doc, err := os.ReadFile(filepath.Join(root, page))
	if err != nil {
		t.Fatal(err)
	}
	field, spec, use := recipeBlock(t, doc, "key-field"), recipeBlock(t, doc, "key-spec"), recipeBlock(t, doc, "key-use")
	regenerate := strings.Fields(recipeBlock(t, doc, "key-regenerate"))

	dir := t.TempDir()
	copyRepository(t, root, dir)
	git := func(args ...string) string {
		return run(t, dir, nil, "git", append([]string{"-c", "user.name=recipe", "-c", "user.email=recipe@example.com"}, args...)...)
	}
	git("init", "-q")
	git("add", "-A")
	git("commit", "-q", "-m", "before the key")

	// Steps 1 and 2: the field, last in the struct; the Spec, last in the
	// section's keys.
	insertBefore(t, filepath.Join(dir, "infra/settings/queue.go"), "type Queue struct {", "\n}\n", field)
	insertBefore(t, filepath.Join(dir, "infra/settings/queue.go"), "var queueKeys = []Spec{", "\n}\n", spec)
	// Step 3: the use, in the main queue's arguments.
	insertBefore(t, filepath.Join(dir, "infra/queue/queue.go"), "\t\tRedrivePolicy:            redrive,\n", "\t\tTags:", use)
	// The one command.
	run(t, dir, nil, regenerate[0], regenerate[1:]...)

	t.Logf("git diff --stat after the recipe:\n%s", git("diff", "--stat"))
	changed := strings.Fields(git("diff", "--name-only"))
	want := []string{"Pulumi.yaml", "docs/configuration.md", "infra/queue/queue.go", "infra/settings/queue.go"}
	if !slices.Equal(changed, want) {
		t.Errorf("the recipe changed %q, want %q", changed, want)
	}
	hunks := strings.Count(git("diff", "-U0", "--", "infra/settings/queue.go", "infra/queue/queue.go"), "\n@@ ")
	if hunks != 3 {
		t.Errorf("the hand edits are %d hunks, want 3", hunks)
	}

	// The harness, not a step: what a stack and a component see of the key.
	for name, text := range map[string]string{
		"infra/settings/recipe_delay_test.go": settingsHarness,
		"infra/queue/recipe_delay_test.go":    queueHarness,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := run(t, dir, nil, "go", "test", "-count=1", "-v", "./infra/settings/", "./infra/queue/", "./infra/stack/")
	for _, want := range []string{"--- PASS: TestRecipeDelaySetting", "--- PASS: TestRecipeDelayQueue",
		"--- PASS: TestSpecsComplete", "--- PASS: TestProjectFile", "--- PASS: TestConfigurationDoc", "--- PASS: TestComponentsDoc"} {
		if !strings.Contains(out, want) {
			t.Errorf("the tests in the copy did not report %q", want)
		}
	}
}

// insertBefore inserts text into the file at path before the first end
// that follows start.
func insertBefore(t *testing.T, path, start, end, text string) {
	t.Helper()
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	i := strings.Index(s, start)
	if i < 0 || strings.Count(s, start) != 1 {
		t.Fatalf("%s: want one %q", path, start)
	}
	j := strings.Index(s[i:], end)
	if j < 0 {
		t.Fatalf("%s: no %q after %q", path, end, start)
	}
	at := i + j
	if end[0] == '\n' {
		at++ // keep the line break that ends the last line
	}
	if err := os.WriteFile(path, []byte(s[:at]+text+s[at:]), 0o644); err != nil {
		t.Fatal(err)
	}
}

const settingsHarness = `package settings

import (
	"testing"
	"time"
)

func TestRecipeDelaySetting(t *testing.T) {
	config := map[string]string{RegionKey: "ap-northeast-1"}
	s, err := LoadConfig(config)
	if err != nil || s.Queue.Delay != 0 {
		t.Fatalf("default: %v, %v", s.Queue.Delay, err)
	}
	config["sluice:queueDelaySeconds"] = "5"
	if s, err = LoadConfig(config); err != nil || s.Queue.Delay != 5*time.Second {
		t.Fatalf("5: %v, %v", s.Queue.Delay, err)
	}
	config["sluice:queueDelaySeconds"] = "901"
	_, err = LoadConfig(config)
	if p := Problems(err); len(p) != 1 || p[0].Key != "sluice:queueDelaySeconds" || p[0].Allowed != "must be an integer from 0 to 900" {
		t.Fatalf("901: %v", err)
	}
	if err := (Queue{Delay: 901 * time.Second}).Validate(); err == nil {
		t.Fatal("Queue.Validate took a delay of 901 s")
	}
}
`

const queueHarness = `package queue_test

import (
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/queue"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestRecipeDelayQueue(t *testing.T) {
	a := validArgs()
	a.Delay = 5 * time.Second
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		_, err := queue.New(ctx, "queue", a)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.One(t, "aws:sqs/queue:Queue", "queue").Inputs["delaySeconds"].NumberValue(); got != 5 {
		t.Errorf("delaySeconds %v, want 5", got)
	}
}
`
