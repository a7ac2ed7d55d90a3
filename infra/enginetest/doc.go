// Package enginetest runs a real `pulumi preview` of Sluice's stacks: the
// Pulumi engine (the `pulumi` CLI at the SDK's version), the real program as an
// inline Automation API program, the real Pulumi.<stack>.yaml files, the built
// policy pack binary and a stand-in aws provider (./fakeaws) that answers the
// provider protocol without reaching any network.
//
// It proves what the SDK mocks cannot: that the engine accepts the program's
// resources and the stack files, and that the policy pack blocks a preview the
// way a pull-request check does. The package holds only tests; see
// docs/testing.md ("Engine test") for what they need and how long they take.
package enginetest
