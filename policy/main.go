// Command policy is Sluice's Pulumi policy pack. The engine starts it as an
// analyzer plugin (compiled by pulumi-language-go from this directory, or
// prebuilt as pulumi-analyzer-policy-go on PATH) and talks to it over gRPC;
// it prints the port it listens on and serves until it is stopped.
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/sluicehq/sluice/policy/analyzer"
	"github.com/sluicehq/sluice/policy/rules"
)

func main() {
	// The engine passes its logging and tracing flags to every plugin,
	// then the engine address and the pack directory, which this pack
	// does not need.
	fs := flag.NewFlagSet("pulumi-analyzer-policy-go", flag.ContinueOnError)
	fs.Bool("logtostderr", false, "log to stderr (passed by the engine; unused)")
	fs.Int("v", 0, "log verbosity (passed by the engine; unused)")
	fs.String("tracing", "", "tracing endpoint (passed by the engine; unused)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `policy is Sluice's Pulumi policy pack. The engine starts it as an analyzer
plugin; run it through the CLI: pulumi preview --stack dev --policy-pack policy.
See docs/policy-pack.md.

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(os.Args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		os.Exit(2)
	}
	srv := analyzer.New(rules.PackName, rules.PackVersion, rules.All())
	if err := analyzer.Serve(srv, os.Stdout, nil); err != nil {
		fmt.Fprintf(os.Stderr, "sluice policy pack: %v\n", err)
		os.Exit(1)
	}
}
