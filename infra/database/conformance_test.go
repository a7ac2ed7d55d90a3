package database_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/database"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[database.Args, *database.Database]{
		Type:  database.Type,
		New:   database.New,
		Valid: validArgs,
		Invalid: map[string]func(*database.Args){
			"Database.InstanceClass":       func(a *database.Args) { a.InstanceClass = "t4g.micro" },
			"Database.EngineVersion":       func(a *database.Args) { a.EngineVersion = "5.7" },
			"Database.AllocatedStorageGiB": func(a *database.Args) { a.AllocatedStorageGiB = 19 },
		},
	})
}
