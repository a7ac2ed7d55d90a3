// Package recipe holds the test that the checklists of
// docs/contributing.md are true: TestAddFieldRecipe applies the documented
// steps for adding a field to the record in a copy of the repository and
// runs the tests there. It has no code of its own.
package recipe
