package policycheck_test

import (
	"sync"
	"testing"

	"github.com/sluicehq/sluice/offline/policycheck"
	"github.com/sluicehq/sluice/offline/stackrun"
	"github.com/sluicehq/sluice/policy/rules"
	"github.com/sluicehq/sluice/policy/rules/rulestest"
)

var stackFiles = map[string]string{"dev": "../../Pulumi.dev.yaml", "prod": "../../Pulumi.prod.yaml"}

// checked is policycheck.Check of each stack file, run once per test binary:
// every run builds both Lambda archives, and the tests only read the result.
var (
	checkedMu sync.Mutex
	checked   = map[string]checkResult{}
)

type checkResult struct {
	res *stackrun.Result
	vs  []rules.Violation
}

// check runs policycheck.Check for stack once and returns the shared result.
func check(t *testing.T, stack string) checkResult {
	t.Helper()
	checkedMu.Lock()
	defer checkedMu.Unlock()
	if c, ok := checked[stack]; ok {
		return c
	}
	res, vs, err := policycheck.Check(stackFiles[stack], nil)
	if err != nil {
		t.Fatalf("run the program for %s: %v", stack, err)
	}
	checked[stack] = checkResult{res, vs}
	return checked[stack]
}

// run returns the real program's result for each stack.
func run(t *testing.T) map[string]*stackrun.Result {
	t.Helper()
	out := map[string]*stackrun.Result{}
	for stack := range stackFiles {
		out[stack] = check(t, stack).res
	}
	return out
}

func TestRealProgramHasNoMandatoryViolations(t *testing.T) {
	for stack := range stackFiles {
		c := check(t, stack)
		res, vs := c.res, c.vs
		if n := len(policycheck.Resources(res)); n < 20 {
			t.Fatalf("%s: only %d resources registered; is the program complete?", stack, n)
		}
		for _, v := range vs {
			if v.EnforcementLevel == rules.Mandatory {
				t.Errorf("%s: %s on %s %s: %s", stack, v.Policy, v.ResourceType, v.ResourceName, v.Message)
			} else {
				t.Logf("%s: advisory %s on %s: %s", stack, v.Policy, v.ResourceName, v.Message)
			}
		}
	}
}

// TestRealProgramInPreview presents the real resources as a preview of a
// new stack would: references computed, only property dependencies known.
func TestRealProgramInPreview(t *testing.T) {
	for stack, res := range run(t) {
		preview := rulestest.PreviewOf(policycheck.Resources(res))
		vs := rules.Evaluate(rules.All(), preview, nil, rules.Env{Stack: stack, DryRun: true})
		for _, v := range vs {
			if v.EnforcementLevel == rules.Mandatory {
				t.Errorf("%s preview: %s on %s %s: %s", stack, v.Policy, v.ResourceType, v.ResourceName, v.Message)
			}
		}
	}
}

func TestMutationsOfRealProgram(t *testing.T) {
	base := map[string][]rules.Resource{}
	for stack, res := range run(t) {
		base[stack] = policycheck.Resources(res)
	}
	applied, caught := rulestest.CheckMutations(t, base, false)
	t.Logf("%d of %d mutations applied to the real program, %d caught by the intended policy alone",
		applied, len(rulestest.Mutations()), caught)
	if applied < 25 {
		t.Errorf("only %d mutations applied to the real program, want at least 25", applied)
	}
}
