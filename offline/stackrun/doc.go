// Package stackrun runs the whole Sluice program (infra/stack) for a stack
// file under the mocks of offline/mocks, as `pulumi up` would run it but
// without an engine, and returns every registered resource and the stack
// outputs (Run). The offline preview, policycheck, the rehearsal's plan and
// the stack's tests read its Result. It is the only part of offline/ that
// a component's tests must not link, which is why it is not in mocks.
package stackrun
