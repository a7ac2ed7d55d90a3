// Command echo is a Lambda function for the stand-in's tests: it answers
// with the environment variables its event names, or fails with the
// event's message.
package main

import (
	"context"
	"errors"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

type event struct {
	Fail string   `json:"fail"`
	Env  []string `json:"env"`
}

func main() {
	lambda.Start(func(_ context.Context, ev event) (map[string]string, error) {
		if ev.Fail != "" {
			return nil, errors.New(ev.Fail)
		}
		out := map[string]string{}
		for _, k := range ev.Env {
			out[k] = os.Getenv(k)
		}
		return out, nil
	})
}
