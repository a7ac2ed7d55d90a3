// Command fakeaws is a stand-in for the pulumi-resource-aws provider plugin,
// used by the engine test so that a real `pulumi preview` of the Sluice
// program runs without an AWS account and without reaching any network.
//
// The engine test builds it as `pulumi-resource-aws` into a directory put
// first on PATH; the engine then loads it as the ambient aws plugin. It
// answers the resource provider protocol the way the real provider does for
// a preview of resources that do not exist yet: Check returns the inputs it
// was given, a preview Create returns them as the planned state (so every
// output the program did not set stays unknown), and data sources called
// through Invoke get fixed, realistic answers for one fake account.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/provider"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is the pulumi-aws version the plugin reports; the engine test sets
// it with -ldflags "-X main.version=..." from the SDK version in go.mod.
var version = "6.83.4"

func main() {
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), `fakeaws stands in for the pulumi-resource-aws provider plugin in the engine and
lifecycle tests: built as pulumi-resource-aws onto PATH, the Pulumi engine starts
it. It takes the engine's plugin flags:

`)
		flag.PrintDefaults()
	}
	err := provider.Main("aws", func(*provider.HostClient) (pulumirpc.ResourceProviderServer, error) {
		return newServer(version, defaultAccount), nil
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "fakeaws: %v\n", err)
		os.Exit(1)
	}
}
