package observability_test

import (
	"strings"
	"testing"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
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

// all returns every registration of the type.
func (m recorder) all(typ string) []mocks.Registration {
	var found []mocks.Registration
	for _, r := range m.Registrations() {
		if r.Type == typ {
			found = append(found, r)
		}
	}
	return found
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

// testKeyID is the id the mocked KMS key gets.
const testKeyID = "1234abcd-12ab-34cd-56ef-1234567890ab"

// withKMS adds the KMS key's computed attributes, which infra/mocks does
// not model yet.
type withKMS struct{ *mocks.Mocks }

func (w withKMS) NewResource(args pulumi.MockResourceArgs) (string, resource.PropertyMap, error) {
	id, out, err := w.Mocks.NewResource(args)
	if err == nil && args.TypeToken == "aws:kms/key:Key" {
		id = testKeyID
		out["keyId"] = resource.NewProperty(id)
		out["arn"] = resource.NewProperty("arn:aws:kms:" + testRegion + ":" + mocks.Account + ":key/" + id)
	}
	return id, out, err
}

func (m recorder) monitor() pulumi.MockResourceMonitor { return withKMS(m) }
