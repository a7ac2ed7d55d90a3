// Command preview shows what `pulumi up` would create for a Sluice stack
// without an AWS account or the Pulumi CLI: it runs the real program for
// Pulumi.<stack>.yaml under Pulumi's mock monitor (AWS answers come from
// offline/mocks) and prints every resource with its key settings, and the
// stack outputs.
//
//	go run ./offline/preview --stack dev
//	go run ./offline/preview --stack prod --json
//
// The JSON object has "project", "stack", "region", "resources" (each with
// "type", "name", "urn", "parent", "custom" and "inputs" as the provider
// would receive them, secrets shown as "[secret]") and "outputs", plus one
// key per registered section (see SectionFunc). Invalid settings print the
// offending keys and exit with status 2; a failed section (a mandatory
// policy violation) with 3; any other failure with 1.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/infra/stack"
	"github.com/sluicehq/sluice/offline/stackrun"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK          = 0
	exitFailure     = 1
	exitBadSettings = 2
	exitSections    = 3 // a section (e.g. a mandatory policy) failed
)

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("preview", flag.ContinueOnError)
	fs.SetOutput(stderr)
	stackName := fs.String("stack", "dev", "stack name: reads Pulumi.<stack>.yaml")
	asJSON := fs.Bool("json", false, "print one JSON object instead of text")
	dir := fs.String("dir", "", "project directory holding Pulumi.yaml (default: the nearest one at or above the working directory)")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), `preview shows what pulumi up would create for a Sluice stack, without an AWS
account or the Pulumi CLI, with the policy pack's verdicts:

  go run ./offline/preview --stack dev
  go run ./offline/preview --stack prod --json

flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitFailure
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "preview: unexpected arguments %q\n", fs.Args())
		return exitFailure
	}

	root := *dir
	if root == "" {
		wd, err := os.Getwd()
		if err == nil {
			root, err = stack.FindProjectRoot(wd)
		}
		if err != nil {
			fmt.Fprintf(stderr, "preview: %v\n", err)
			return exitFailure
		}
	}
	path := filepath.Join(root, "Pulumi."+*stackName+".yaml")
	// Validate first so a settings error is reported on its own, before the
	// program builds the Lambda archives.
	s, err := settings.LoadFile(path)
	if err != nil {
		if problems := settings.Problems(err); len(problems) > 0 {
			fmt.Fprintf(stderr, "preview: %s has invalid settings; nothing would be created:\n", path)
			for _, p := range problems {
				fmt.Fprintf(stderr, "  %v\n", p)
			}
			return exitBadSettings
		}
		fmt.Fprintf(stderr, "preview: %v\n", err)
		return exitFailure
	}
	result, err := stackrun.Run(path)
	if err != nil {
		fmt.Fprintf(stderr, "preview: running the program for stack %s: %v\n", *stackName, err)
		return exitFailure
	}
	report, err := NewReport(result, s.Region)
	if err != nil {
		fmt.Fprintf(stderr, "preview: %v\n", err)
		return exitFailure
	}

	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			fmt.Fprintf(stderr, "preview: %v\n", err)
			return exitFailure
		}
	} else {
		fmt.Fprint(stdout, report.Text())
	}
	for _, sec := range report.Sections {
		if sec.Failed {
			return exitSections
		}
	}
	return exitOK
}
