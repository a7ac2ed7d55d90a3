package proxy_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/proxy"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[proxy.Args, *proxy.Proxy]{
		Type:  proxy.Type,
		New:   proxy.New,
		Valid: validArgs,
		Invalid: map[string]func(*proxy.Args){
			"Proxy.BorrowTimeout":         func(a *proxy.Args) { a.BorrowTimeout = 0 },
			"Proxy.MaxConnectionsPercent": func(a *proxy.Args) { a.MaxConnectionsPercent = 101 },
		},
	})
}
