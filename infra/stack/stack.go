// Package stack is the Sluice Pulumi program: it loads the stack's settings
// once, then wires one component per concern (network, database, proxy,
// queue, consumer, migration step, API, observability) and exports what an
// operator needs. infra/main.go runs it under the Pulumi engine; the mocks
// runner and the offline preview run the very same function.
package stack

import (
	"fmt"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/database"
	"github.com/sluicehq/sluice/infra/network"
	"github.com/sluicehq/sluice/infra/proxy"
	"github.com/sluicehq/sluice/infra/queue"
	"github.com/sluicehq/sluice/infra/settings"
)

// Stack output names.
const (
	OutputAPIURL        = "apiUrl"
	OutputQueueURL      = "queueUrl"
	OutputDLQURL        = "dlqUrl"
	OutputProxyEndpoint = "proxyEndpoint"
	OutputDashboardURL  = "dashboardUrl"
	OutputAlarmTopicARN = "alarmTopicArn"
)

// Program returns the Pulumi program for a stack whose complete
// configuration (full keys, as the engine passes it in PULUMI_CONFIG) is
// config. Settings are loaded and validated before any resource is
// registered, so a bad value stops the run with nothing created.
func Program(config map[string]string) pulumi.RunFunc {
	return func(ctx *pulumi.Context) error {
		_, err := Run(ctx, config)
		return err
	}
}

// Run is the program's body: it loads the settings from config, defines the
// stack, exports its outputs and returns them (the mocks runner awaits them).
func Run(ctx *pulumi.Context, config map[string]string) (pulumi.Map, error) {
	s, err := settings.LoadConfig(config)
	if err != nil {
		return nil, fmt.Errorf("stack %s: invalid settings:\n%w", ctx.Stack(), err)
	}
	outputs, err := Define(ctx, s)
	if err != nil {
		return nil, err
	}
	for name, value := range outputs {
		ctx.Export(name, value)
	}
	return outputs, nil
}

// Tags returns the tags every resource carries.
func Tags(ctx *pulumi.Context) pulumi.StringMap {
	return pulumi.StringMap{
		"project": pulumi.String(ctx.Project()),
		"stack":   pulumi.String(ctx.Stack()),
	}
}

// Define registers every resource of the stack and returns the stack outputs.
func Define(ctx *pulumi.Context, s settings.Settings) (pulumi.Map, error) {
	tags := Tags(ctx)
	prefix := ctx.Project() + "-" + ctx.Stack()

	net, err := network.New(ctx, prefix+"-network", network.Args{Settings: s.Network, Tags: tags})
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	db, err := database.New(ctx, prefix+"-db", database.Args{
		Settings:         s.Database,
		SubnetIDs:        net.SubnetIDs,
		SecurityGroupIDs: pulumi.StringArray{net.DatabaseSecurityGroupID},
		Tags:             tags,
	})
	if err != nil {
		return nil, fmt.Errorf("database: %w", err)
	}
	px, err := proxy.New(ctx, prefix+"-proxy", proxy.Args{
		Settings:           s.Proxy,
		SubnetIDs:          net.SubnetIDs,
		SecurityGroupIDs:   pulumi.StringArray{net.ProxySecurityGroupID},
		InstanceIdentifier: db.InstanceIdentifier,
		MasterSecretARN:    db.MasterSecretARN,
		AppSecretARN:       db.AppSecretARN,
		Tags:               tags,
	})
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	q, err := queue.New(ctx, prefix+"-queue", queue.Args{
		Settings:        s.Queue,
		MaxMessageBytes: s.API.MaxBodyBytes,
		Tags:            tags,
	})
	if err != nil {
		return nil, fmt.Errorf("queue: %w", err)
	}

	return pulumi.Map{
		OutputQueueURL:      q.URL,
		OutputDLQURL:        q.DLQURL,
		OutputProxyEndpoint: px.Endpoint,
		"region":            pulumi.String(s.Region),
		"dbName":            pulumi.String(s.Database.Name),
		"dbAppUser":         pulumi.String(s.Database.AppUser),
	}, nil
}
