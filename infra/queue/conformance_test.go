package queue_test

import (
	"testing"
	"time"

	"github.com/sluicehq/sluice/infra/queue"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[queue.Args, *queue.Queue]{
		Type:  queue.Type,
		New:   queue.New,
		Valid: validArgs,
		Invalid: map[string]func(*queue.Args){
			"Queue.VisibilityTimeout": func(a *queue.Args) { a.VisibilityTimeout = 43201 * time.Second },
			"Queue.Retention":         func(a *queue.Args) { a.Retention = 59 * time.Second },
			"Queue.MaxReceiveCount":   func(a *queue.Args) { a.MaxReceiveCount = 0 },
			"MaxMessageBytes":         func(a *queue.Args) { a.MaxMessageBytes = 262145 },
		},
	})
}
