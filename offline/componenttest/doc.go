// Package componenttest is the test kit of the component packages of
// infra/, as golang-migrate's database/testing is of its drivers: Record
// runs a program that registers one component under the mocks of
// offline/mocks, Recorder finds what it registered, CheckValidate is one
// row of a Validate table, and Check runs the conformance every component
// shares. The Example values are the inputs one component's test passes
// where another component's outputs would go.
package componenttest
