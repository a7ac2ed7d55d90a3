package stackrun

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/internals"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/infra/stack"
	"github.com/sluicehq/sluice/offline/mocks"
)

// Result is one run of the program under mocks.
type Result struct {
	Project   string
	Stack     string
	Resources []mocks.Registration // components included, in the order registered (which varies between runs)
	// Outputs are the stack outputs; secret values are wrapped with
	// resource.MakeSecret.
	Outputs resource.PropertyMap
	// GenericTypes are registered types the mocks do not shape like AWS.
	GenericTypes []string
	// Config is the stack configuration the program ran with.
	Config map[string]string
}

// Run executes the Sluice program for the stack file path
// (…/Pulumi.<stack>.yaml) under mocks and returns every registered resource
// and the stack outputs. When the program fails (invalid settings among
// other reasons) the error comes with the partial result, so callers can see
// what was registered before the failure.
func Run(path string) (*Result, error) { return RunAnswering(path, nil) }

// RunAnswering is Run with answer changing what AWS answers for each
// resource before the program sees it (see Mocks.Answer); nil changes
// nothing.
func RunAnswering(path string, answer func(typ, name string, outputs resource.PropertyMap)) (*Result, error) {
	name, err := StackName(path)
	if err != nil {
		return nil, err
	}
	config, err := settings.ReadStackConfig(path)
	if err != nil {
		return nil, err
	}
	root, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("mocks: %w", err)
	}
	return runConfig(root, name, config, answer)
}

// StackName returns <stack> of a path …/Pulumi.<stack>.yaml.
func StackName(path string) (string, error) {
	base := filepath.Base(path)
	name, ok := strings.CutPrefix(base, "Pulumi.")
	if ok {
		name, ok = strings.CutSuffix(name, ".yaml")
	}
	if !ok || name == "" || strings.Contains(name, ".") {
		return "", fmt.Errorf("mocks: %s is not a stack file named Pulumi.<stack>.yaml", path)
	}
	return name, nil
}

// RunConfig runs the program for stack with the complete configuration
// config (full keys), as the engine would pass it, in the project directory
// root (where Pulumi.yaml is).
func RunConfig(root, stackName string, config map[string]string) (*Result, error) {
	return runConfig(root, stackName, config, nil)
}

func runConfig(root, stackName string, config map[string]string, answer func(typ, name string, outputs resource.PropertyMap)) (*Result, error) {
	m := &mocks.Mocks{Project: settings.Namespace, Stack: stackName, Region: config[settings.RegionKey], Answer: answer}
	outputs := resource.PropertyMap{}
	body := func(ctx *pulumi.Context) error {
		exported, err := stack.Run(ctx, config)
		if err != nil {
			return err
		}
		for name, value := range exported {
			res, err := internals.UnsafeAwaitOutput(ctx.Context(), pulumi.ToOutput(value))
			if err != nil {
				return fmt.Errorf("output %s: %w", name, err)
			}
			v := resource.NewPropertyValue(res.Value)
			if !res.Known {
				v = resource.MakeComputed(resource.NewProperty(""))
			}
			if res.Secret {
				v = resource.MakeSecret(v)
			}
			outputs[resource.PropertyKey(name)] = v
		}
		return nil
	}
	err := pulumi.RunErr(body, pulumi.WithMocks(settings.Namespace, stackName, m), withProject(root, config))
	return &Result{Project: settings.Namespace, Stack: stackName, Resources: m.Registrations(), Outputs: outputs,
		GenericTypes: m.GenericTypes(), Config: config}, err
}

// withProject hands the program the project directory and the stack's
// configuration, as the engine does.
func withProject(root string, config map[string]string) pulumi.RunOption {
	return func(info *pulumi.RunInfo) { info.RootDirectory, info.Config = root, config }
}

// ByType returns the resources of a type token, in the order registered.
func (r *Result) ByType(typ string) []mocks.Registration {
	var out []mocks.Registration
	for _, res := range r.Resources {
		if res.Type == typ {
			out = append(out, res)
		}
	}
	return out
}

// ByURN returns the resource with the URN.
func (r *Result) ByURN(urn string) (mocks.Registration, bool) {
	for _, res := range r.Resources {
		if res.URN == urn {
			return res, true
		}
	}
	return mocks.Registration{}, false
}

// CountByType returns how many resources of each type token were registered.
func (r *Result) CountByType() map[string]int {
	counts := map[string]int{}
	for _, res := range r.Resources {
		counts[res.Type]++
	}
	return counts
}

// Types returns the distinct type tokens, sorted.
func (r *Result) Types() []string {
	var types []string
	for t := range r.CountByType() {
		types = append(types, t)
	}
	sort.Strings(types)
	return types
}
