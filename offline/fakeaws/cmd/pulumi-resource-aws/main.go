// Command pulumi-resource-aws is the stand-in aws provider plugin
// (package offline/fakeaws). Built under this name into a directory first on
// PATH, it is the aws plugin the `pulumi` CLI loads (the engine warns that
// it uses pulumi-resource-aws from $PATH).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"

	"github.com/sluicehq/sluice/internal/clihelp"
	"github.com/sluicehq/sluice/offline/fakeaws"
)

// version is the pulumi-aws version the plugin reports; builds set it with
// -ldflags "-X main.version=..." from the SDK version in go.mod.
var version = "6.83.4"

func main() {
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), `pulumi-resource-aws (offline/fakeaws) stands in for the pulumi-resource-aws provider plugin in
the engine and lifecycle tests: built under this name onto PATH, the Pulumi engine starts it. It
answers from offline/awsmodel and remembers what it created in $%s; RDS instances
live on the MySQL server at $%s. It takes the flags the engine passes a plugin, then
the engine's address:

`, fakeaws.EnvState, fakeaws.EnvMySQL)
		// The engine passes -logtostderr and -v=N (with --logflow) and
		// -tracing (pkg/resource/plugin, buildPluginArguments); glog's other
		// flags are accepted too, but are not this command's.
		clihelp.PrintFlags(flag.CommandLine.Output(), "logtostderr", "tracing", "v")
	}
	cfg, err := fakeaws.ConfigFromEnv(os.Getenv)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-aws (stand-in): %v\n", err)
		os.Exit(2)
	}
	err = provider.Main("aws", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return fakeaws.NewServer(version, cfg), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-resource-aws (stand-in): %v\n", err)
		os.Exit(1)
	}
}
