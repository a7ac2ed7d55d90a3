package api_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/api"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[api.Args, *api.API]{
		Type:  api.Type,
		New:   api.New,
		Valid: validArgs,
		Invalid: map[string]func(*api.Args){
			"Name":     func(a *api.Args) { a.Name = "" },
			"QueueARN": func(a *api.Args) { a.QueueARN = nil },
			"API.Auth": func(a *api.Args) { a.Auth = "COGNITO" },
		},
	})
}
