package network_test

import (
	"testing"

	"github.com/sluicehq/sluice/infra/network"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func TestConformance(t *testing.T) {
	componenttest.Check(t, componenttest.Component[network.Args, *network.Network]{
		Type:  network.Type,
		New:   network.New,
		Valid: newVPC,
		Invalid: map[string]func(*network.Args){
			"Network.VpcCIDR":           func(a *network.Args) { a.VpcCIDR = "8.8.0.0/16" },
			"Network.AvailabilityZones": func(a *network.Args) { a.AvailabilityZones = a.AvailabilityZones[:1] },
		},
	})
}
