package componenttest

import (
	"fmt"

	"github.com/sluicehq/sluice/infra/settings"
	"github.com/sluicehq/sluice/offline/mocks"
)

// Inputs that the component packages' tests pass where a component expects
// the outputs of another: shaped like the real values in Account, so that
// the components' ARN and URL handling sees what it will see in AWS.
const (
	ExampleRegion   = "ap-northeast-1"
	ExampleProxyARN = "arn:aws:rds:ap-northeast-1:" + mocks.Account + ":db-proxy:prx-0f1e2d3c4b5a69788"
	ExampleQueueARN = "arn:aws:sqs:ap-northeast-1:" + mocks.Account + ":sluice-dev-submissions"
	ExampleQueueURL = "https://sqs.ap-northeast-1.amazonaws.com/" + mocks.Account + "/sluice-dev-submissions"
	ExampleDLQARN   = "arn:aws:sqs:ap-northeast-1:" + mocks.Account + ":sluice-dev-submissions-dlq"
)

// Settings returns the settings of a stack in ExampleRegion that sets no
// key: every key at its default. A component test takes its section as the
// valid Args' and changes one field of it.
func Settings() settings.Settings {
	s, err := settings.LoadConfig(map[string]string{settings.RegionKey: ExampleRegion})
	if err != nil {
		panic(fmt.Sprintf("componenttest: the default settings are refused: %v", err))
	}
	return s
}
