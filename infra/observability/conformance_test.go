package observability_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/observability"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[observability.Args, *observability.Observability]{
		Type:  observability.Type,
		New:   observability.New,
		Valid: validArgs,
		Invalid: map[string]func(*observability.Args){
			"Name":         func(a *observability.Args) { a.Name = "sluice dev" },
			"QueueARN":     func(a *observability.Args) { a.QueueARN = nil },
			"DBInstanceID": func(a *observability.Args) { a.DBInstanceID = nil },
		},
	})
}
