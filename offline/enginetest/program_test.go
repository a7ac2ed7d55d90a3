package enginetest

import (
	"fmt"
	"path/filepath"
	"slices"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/infra/stack"
)

// sluiceProgram is the real Sluice program as an inline program for the
// stack file in workDir. infra/main.go hands the program the configuration
// the engine puts in PULUMI_CONFIG; an inline program has no such variable,
// so it asks the engine for each key the stack file holds. A key the engine
// did not pass fails the run, so the test also proves the engine read the
// file.
func sluiceProgram(workDir, stackName string, transforms ...pulumi.ResourceTransform) (pulumi.RunFunc, error) {
	file, err := settings.ReadStackConfig(filepath.Join(workDir, "Pulumi."+stackName+".yaml"))
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(file))
	for k := range file {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return func(ctx *pulumi.Context) error {
		for _, tr := range transforms {
			if err := ctx.RegisterResourceTransform(tr); err != nil {
				return fmt.Errorf("registering a transform: %w", err)
			}
		}
		config := make(map[string]string, len(keys))
		for _, k := range keys {
			v, ok := ctx.GetConfig(k)
			if !ok {
				return fmt.Errorf("the engine did not pass config key %s from Pulumi.%s.yaml", k, stackName)
			}
			config[k] = v
		}
		return stack.Program(config)(ctx)
	}, nil
}
