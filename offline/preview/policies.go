package main

import (
	"fmt"
	"strings"

	"github.com/sluicehq/sluice/offline/policycheck"
	"github.com/sluicehq/sluice/offline/stackrun"
	"github.com/sluicehq/sluice/policy/rules"
)

// The policy verdicts come from the same rules the policy pack binary
// serves to the engine (package policy/rules), run over the preview's
// resources with the pack's default config.
func init() {
	sectionFuncs = append(sectionFuncs, policySection)
}

// PolicyViolation is one entry of the "policies" JSON list.
type PolicyViolation struct {
	Policy           string `json:"policy"`
	EnforcementLevel string `json:"enforcementLevel"`
	ResourceType     string `json:"resourceType"`
	ResourceName     string `json:"resourceName"`
	Message          string `json:"message"`
}

func policySection(run *stackrun.Result) (Section, error) {
	policies := rules.All()
	vs := rules.Evaluate(policies, policycheck.Resources(run), nil, policycheck.Env(run))
	list := make([]PolicyViolation, 0, len(vs))
	byPolicy := map[string][]rules.Violation{}
	for _, v := range vs {
		list = append(list, PolicyViolation{
			Policy:           v.Policy,
			EnforcementLevel: v.EnforcementLevel.String(),
			ResourceType:     v.ResourceType,
			ResourceName:     v.ResourceName,
			Message:          v.Message,
		})
		byPolicy[v.Policy] = append(byPolicy[v.Policy], v)
	}
	return Section{
		Key:    "policies",
		JSON:   list,
		Text:   policyText(policies, byPolicy, run.Stack),
		Failed: rules.HasMandatory(vs),
	}, nil
}

func policyText(policies []rules.Policy, byPolicy map[string][]rules.Violation, stack string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Policies (pack %s %s, stack %s):\n", rules.PackName, rules.PackVersion, stack)
	mandatory, advisory := 0, 0
	for _, p := range policies {
		level, _ := p.Effective(nil)
		vs := byPolicy[p.Name]
		verdict := "pass"
		if len(vs) > 0 {
			verdict = "FAIL"
		}
		fmt.Fprintf(&b, "  %-4s  %-9s  %s\n", verdict, level, p.Name)
		for _, v := range vs {
			fmt.Fprintf(&b, "          %s %s: %s\n", v.ResourceType, v.ResourceName, v.Message)
			if v.EnforcementLevel == rules.Mandatory {
				mandatory++
			} else {
				advisory++
			}
		}
	}
	fmt.Fprintf(&b, "Policy violations: %d mandatory, %d advisory.\n", mandatory, advisory)
	return b.String()
}
