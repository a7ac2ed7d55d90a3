// Package clihelp answers -help for the commands of this module that are
// started by something other than a person (the Lambda bootstraps, the
// Pulumi program) and so take no flags of their own, and its test checks
// that every command of the module answers -help with status 0 and says
// what it is.
package clihelp

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
