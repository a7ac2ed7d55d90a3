package queue_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/queue"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[queue.Args, *queue.Queue]{
		Type:  queue.Type,
		New:   queue.New,
		Valid: validArgs,
		Invalid: map[string]func(*queue.Args){
			"VisibilityTimeoutSeconds": func(a *queue.Args) { a.VisibilityTimeoutSeconds = 43201 },
			"RetentionSeconds":         func(a *queue.Args) { a.RetentionSeconds = 59 },
			"MaxReceiveCount":          func(a *queue.Args) { a.MaxReceiveCount = 0 },
			"MaxMessageBytes":          func(a *queue.Args) { a.MaxMessageBytes = 262145 },
		},
	})
}
