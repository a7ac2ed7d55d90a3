package dbfunction_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/dbfunction"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[dbfunction.Args, *dbfunction.DBFunction]{
		Type:  dbfunction.Type,
		New:   dbfunction.New,
		Valid: validArgs,
		Invalid: map[string]func(*dbfunction.Args){
			"Name":      func(a *dbfunction.Args) { a.Name = "has space" },
			"SubnetIDs": func(a *dbfunction.Args) { a.SubnetIDs = nil },
			"ProxyARN":  func(a *dbfunction.Args) { a.ProxyARN = nil },
		},
	})
}
