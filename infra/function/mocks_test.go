package function_test

import (
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

// run runs program under the project's AWS-shaped mocks (infra/mocks).
func run(t *testing.T, program pulumi.RunFunc) (mocks.Recorder, error) {
	t.Helper()
	return mocks.Record(testRegion, program)
}
