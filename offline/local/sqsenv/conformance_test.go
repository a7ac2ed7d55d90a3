package sqsenv_test

import (
	"context"
	"testing"

	"github.com/sluicehq/sluice/offline/local/sqsenv"
	"github.com/sluicehq/sluice/offline/local/sqsenv/sqstest"
	"github.com/sluicehq/sluice/testkit/testenv"
)

// The pipeline's SQS contract on each engine it can start: GoAWS in process
// (with the bridge), as the pipeline reaches it and as other clients do over
// HTTP, and moto_server.
func TestConformance(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out visibility timeouts for about a minute; make test runs it")
	}
	start := func(engine string, inProcess bool) func(t *testing.T) sqstest.Engine {
		return func(t *testing.T) sqstest.Engine {
			ctx := context.Background()
			s, err := sqsenv.Start(ctx, engine, "ap-northeast-1", nil)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Stop)
			var transport = s.Transport()
			if !inProcess {
				transport = nil
			}
			c, err := sqsenv.NewClientWith(ctx, "ap-northeast-1", s.Endpoint(), transport)
			if err != nil {
				t.Fatal(err)
			}
			return sqstest.Engine{Client: c}
		}
	}
	t.Run("goaws", func(t *testing.T) { sqstest.Run(t, start(sqsenv.EngineGoAWS, true)) })
	t.Run("goaws-http", func(t *testing.T) { sqstest.Run(t, start(sqsenv.EngineGoAWS, false)) })
	t.Run("moto", func(t *testing.T) {
		testenv.NeedsMoto(t)
		sqstest.Run(t, start(sqsenv.EngineMoto, false))
	})
}
