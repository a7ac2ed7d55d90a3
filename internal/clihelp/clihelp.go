// Package clihelp answers -help for the commands of this module that are
// started by something other than a person (the Lambda bootstraps, the
// Pulumi program) and so take no flags of their own, and its test checks
// that every command of the module answers -help with status 0 and says
// what it is.
package clihelp

import (
	"flag"
	"io"
)

// Requested reports whether args ask for help: -h, -help or --help
// anywhere, as the flag package reads them.
func Requested(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// PrintFlags prints, as flag.PrintDefaults does, only the named flags of
// flag.CommandLine: a command's own, not those a library registers there
// on import (glog's -log_dir, -vmodule and the like, which the Pulumi SDK
// brings in).
func PrintFlags(w io.Writer, names ...string) {
	own := flag.NewFlagSet("", flag.ContinueOnError)
	own.SetOutput(w)
	for _, name := range names {
		if f := flag.CommandLine.Lookup(name); f != nil {
			own.Var(f.Value, f.Name, f.Usage)
		}
	}
	own.PrintDefaults()
}
