// Package policycheck runs the policy pack over the real Sluice program: it
// executes the program for a stack file under offline/mocks (offline/stackrun) and evaluates
// every policy on the registered resources, as the engine would present
// them to the pack. The offline preview (offline/preview) and the pack's
// real-program tests both use it.
package policycheck

import (
	"fmt"
	"path/filepath"

	"github.com/sluicehq/sluice/offline/stackrun"
	"github.com/sluicehq/sluice/policy/rules"
)

// Resources converts the custom resources of a mocked run to what the
// policies see: inputs as properties, plus the ids, outputs and
// dependencies that let stack policies follow references.
func Resources(res *stackrun.Result) []rules.Resource {
	out := make([]rules.Resource, 0, len(res.Resources))
	for _, r := range res.Resources {
		if !r.Custom {
			continue
		}
		out = append(out, rules.Resource{
			Type:                 r.Type,
			Name:                 r.Name,
			URN:                  r.URN,
			Parent:               r.Parent,
			Properties:           r.Inputs,
			Dependencies:         r.Dependencies,
			PropertyDependencies: r.PropertyDependencies,
			ID:                   r.ID,
			Outputs:              r.Outputs,
		})
	}
	return out
}

// Env is the policy environment of a mocked run, as the engine's
// ConfigureStack would give it: the stack and project names, the stack's
// configuration the program ran with, and DryRun false, because under mocks
// every value is known, as at `up`.
func Env(res *stackrun.Result) rules.Env {
	return rules.Env{Stack: res.Stack, Project: res.Project, Config: res.Config}
}

// Check runs the program for the stack file path under mocks and evaluates
// every policy of the pack with cfg.
func Check(stackFile string, cfg rules.PackConfig) (*stackrun.Result, []rules.Violation, error) {
	res, err := stackrun.Run(stackFile)
	if err != nil {
		return nil, nil, fmt.Errorf("run the program for %s: %w", filepath.Base(stackFile), err)
	}
	return res, rules.Evaluate(rules.All(), Resources(res), cfg, Env(res)), nil
}
