// Command infra is the Sluice Pulumi program (Pulumi.yaml: runtime go,
// main infra/). The engine starts it for `pulumi preview` and `pulumi up`;
// everything it does is in package stack.
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/stack"
	"github.com/sluicehq/sluice/internal/clihelp"
)

const usage = `infra is the Sluice Pulumi program. The Pulumi engine runs it; run it through
the CLI from the repository root:

  pulumi preview --stack dev --policy-pack policy
  pulumi up --stack dev

or without an AWS account or the CLI: go run ./offline/preview --stack dev.
See docs/deploying.md.
`

func main() {
	if clihelp.Requested(os.Args[1:]) {
		fmt.Print(usage)
		return
	}
	// The engine passes the stack's whole configuration in PULUMI_CONFIG.
	// Reading the map (not single keys through the context) lets the
	// settings loader reject keys it does not know, such as typos.
	config := map[string]string{}
	if raw := os.Getenv(pulumi.EnvConfig); raw != "" {
		if err := json.Unmarshal([]byte(raw), &config); err != nil {
			fmt.Fprintf(os.Stderr, "sluice: reading %s: %v\n", pulumi.EnvConfig, err)
			os.Exit(1)
		}
	}
	pulumi.Run(stack.Program(config))
}
