package function_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/mocks"
)

const (
	testRegion   = "ap-northeast-1"
	testProxyARN = "arn:aws:rds:ap-northeast-1:123456789012:db-proxy:prx-0f1e2d3c4b5a69788"
	testQueueARN = "arn:aws:sqs:ap-northeast-1:123456789012:sluice-dev-submissions"
	testQueueURL = "https://sqs.ap-northeast-1.amazonaws.com/123456789012/sluice-dev-submissions"
	testDLQARN   = "arn:aws:sqs:ap-northeast-1:123456789012:sluice-dev-submissions-dlq"
)

// recorder is the project's AWS mocks (infra/mocks) with lookups for tests.
type recorder struct{ *mocks.Mocks }

// run runs program under the mocks and returns what it registered.
func run(t *testing.T, program pulumi.RunFunc) (recorder, error) {
	t.Helper()
	m := recorder{&mocks.Mocks{Project: "sluice", Stack: "dev", Region: testRegion}}
	err := pulumi.RunErr(program, pulumi.WithMocks("sluice", "dev", m.monitor()))
	return m, err
}

// one returns the only registration of the type whose name has the suffix.
func (m recorder) one(t *testing.T, typ, nameSuffix string) mocks.Registration {
	t.Helper()
	var found []mocks.Registration
	for _, r := range m.Registrations() {
		if r.Type == typ && strings.HasSuffix(r.Name, nameSuffix) {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s named *%s, got %d", typ, nameSuffix, len(found))
	}
	return found[0]
}

// dependsOnName reports whether r depends on a resource whose name has
// the suffix.
func dependsOnName(r mocks.Registration, suffix string) bool {
	for _, d := range r.Dependencies {
		if strings.HasSuffix(d, "::"+suffix) {
			return true
		}
	}
	return false
}

func (m recorder) monitor() pulumi.MockResourceMonitor { return m.Mocks }
