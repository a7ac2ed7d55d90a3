package migration_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/migration"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[migration.Args, *migration.Migration]{
		Type:  migration.Type,
		New:   migration.New,
		Valid: validArgs,
		Invalid: map[string]func(*migration.Args){
			"Function.ProxyEndpoint": func(a *migration.Args) { a.Function.ProxyEndpoint = nil },
			"Database.AppUser":       func(a *migration.Args) { a.AppUser = "" },
		},
	})
}
