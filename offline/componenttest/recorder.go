package componenttest

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/offline/mocks"
)

// Recorder is Mocks with the lookups the component packages' tests share:
// it runs one program (not a whole stack file) and finds what it registered.
type Recorder struct{ *mocks.Mocks }

// Record runs program under AWS-shaped mocks for project sluice, stack dev,
// in region, and returns what it registered together with the program's error.
func Record(region string, program pulumi.RunFunc) (Recorder, error) {
	r := Recorder{&mocks.Mocks{Project: "sluice", Stack: "dev", Region: region}}
	err := pulumi.RunErr(program, pulumi.WithMocks("sluice", "dev", r.Mocks))
	return r, err
}

// One returns the only registration of typ whose name ends in nameSuffix,
// failing the test when there is none or more than one.
func (r Recorder) One(tb testing.TB, typ, nameSuffix string) mocks.Registration {
	tb.Helper()
	var found []mocks.Registration
	for _, reg := range r.Registrations() {
		if reg.Type == typ && strings.HasSuffix(reg.Name, nameSuffix) {
			found = append(found, reg)
		}
	}
	if len(found) != 1 {
		tb.Fatalf("want one %s named *%s, got %d", typ, nameSuffix, len(found))
	}
	return found[0]
}

// All returns every registration of typ.
func (r Recorder) All(typ string) []mocks.Registration {
	var found []mocks.Registration
	for _, reg := range r.Registrations() {
		if reg.Type == typ {
			found = append(found, reg)
		}
	}
	return found
}
