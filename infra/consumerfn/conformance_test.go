package consumerfn_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/infra/consumerfn"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[consumerfn.Args, *consumerfn.Consumer]{
		Type:  consumerfn.Type,
		New:   consumerfn.New,
		Valid: validConsumerArgs,
		Invalid: map[string]func(*consumerfn.Args){
			"Consumer.Timeout":        func(a *consumerfn.Args) { a.Timeout = 901 * time.Second },
			"Function.DBUser":         func(a *consumerfn.Args) { a.Function.DBUser = "" },
			"QueueARN":                func(a *consumerfn.Args) { a.QueueARN = nil },
			"Consumer.BatchSize":      func(a *consumerfn.Args) { a.BatchSize = 0 },
			"Consumer.MaxConcurrency": func(a *consumerfn.Args) { a.MaxConcurrency = 1 },
		},
	})
}
