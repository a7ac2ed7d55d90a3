// Command rehearse runs the deployment lifecycle of package
// offline/lifecycle (the users' own `pulumi` commands from preview to
// destroy, against the stand-in aws provider) and prints, as its last
// line, one JSON object with every step's result. It exits 1 when a step
// failed. `make rehearse` runs it.
//
//	go run ./offline/lifecycle/cmd/rehearse [-keep] [-work DIR] [-q]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/sluicehq/sluice/infra/stack"
	"github.com/sluicehq/sluice/internal/clihelp"
	"github.com/sluicehq/sluice/offline/lifecycle"
)

func main() {
	keep := flag.Bool("keep", false, "keep the work directory (state, stand-in AWS, logs) afterwards")
	work := flag.String("work", "", "work directory (default: a new temporary one)")
	quiet := flag.Bool("q", false, "print only the times and the JSON line")
	flag.Usage = func() {
		fmt.Fprint(flag.CommandLine.Output(), `usage: go run ./offline/lifecycle/cmd/rehearse [-keep] [-work DIR] [-q]   (make rehearse)

Rehearses a deployment with the users' own pulumi commands (preview, up, a no-change preview, an
update, a password rotation, destroy, the refusals, prod's delete protection, policy publish) through
the real CLI and Go language host against the stand-in aws provider, and prints every step's time,
then one JSON object with every step's result as the last line. Exit status 1 when a step failed.

`)
		clihelp.PrintFlags(flag.CommandLine.Output(), "keep", "q", "work")
	}
	flag.Parse()

	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse:", err)
		os.Exit(2)
	}
	root, err := stack.FindProjectRoot(wd)
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse:", err)
		os.Exit(2)
	}
	var log io.Writer = os.Stderr
	if *quiet {
		log = io.Discard
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	report, err := lifecycle.Run(ctx, lifecycle.Options{Root: root, Work: *work, Keep: *keep || *work != "", Log: log})
	if err != nil {
		fmt.Fprintln(os.Stderr, "rehearse:", err)
	}
	fmt.Fprintln(os.Stderr)
	report.WriteTimes(os.Stderr)
	if report.Migration != "" {
		fmt.Fprintln(os.Stderr, "\nmigration:", report.Migration)
	}
	fmt.Println(report.JSON())
	if !report.OK() {
		os.Exit(1)
	}
}
