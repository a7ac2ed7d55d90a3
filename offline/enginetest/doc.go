// Package enginetest shows that the policy pack stops a pull-request
// preview for changes no stack setting can make: it runs `pulumi preview`
// through the Automation API with the real engine (the `pulumi` CLI at the
// SDK's version), the real program as an inline program with resource
// transforms applied (a public database, a queue without its DLQ), the real
// Pulumi.<stack>.yaml files, the built policy pack binary and the stand-in
// aws provider (offline/fakeaws), and checks the mandatory violation the pack
// reports.
//
// Everything else about the users' commands (previews of both stacks with
// their counts, up, the no-change preview, updates, rotation, destroy,
// prod's protection) is rehearsed through the CLI and the Go language host
// by offline/lifecycle. The package holds only tests; see docs/testing.md
// ("Engine test") for what they need and how long they take.
package enginetest
