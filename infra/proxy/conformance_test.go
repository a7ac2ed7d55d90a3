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
			"BorrowTimeoutSeconds":  func(a *proxy.Args) { a.BorrowTimeoutSeconds = 0 },
			"MaxConnectionsPercent": func(a *proxy.Args) { a.MaxConnectionsPercent = 101 },
		},
	})
}
