package consumerfn_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/consumerfn"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[consumerfn.Args, *consumerfn.Consumer]{
		Type:  consumerfn.Type,
		New:   consumerfn.New,
		Valid: validConsumerArgs,
		Invalid: map[string]func(*consumerfn.Args){
			"Function.TimeoutSeconds": func(a *consumerfn.Args) { a.Function.TimeoutSeconds = 901 },
			"QueueARN":                func(a *consumerfn.Args) { a.QueueARN = nil },
			"BatchSize":               func(a *consumerfn.Args) { a.BatchSize = 0 },
			"MaximumConcurrency":      func(a *consumerfn.Args) { a.MaximumConcurrency = 1 },
		},
	})
}
