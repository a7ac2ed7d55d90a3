package rules

import (
	"slices"
	"strings"
)

// LambdaSQSESMSafe: batch size, concurrency and timeouts are literals in a
// program, so computed values fail closed. The queue and function are found
// through the engine's property dependencies or by ARN/name.
var LambdaSQSESMSafe = Policy{
	Name: "lambda-sqs-esm-safe",
	Description: "An SQS event source mapping must report partial batch failures, cap its concurrency (2–1000, " +
		"not above the function's reserved concurrency), and the queue's visibility timeout must be at least " +
		"6 × (function timeout + batching window).",
	Reads:            []string{typeEventSourceMapping, typeFunction, typeQueue},
	EnforcementLevel: Mandatory,
	Severity:         High,
	Remediation: "Set functionResponseTypes: [ReportBatchItemFailures] and scalingConfig.maximumConcurrency " +
		"(2–1000, at most the function's reserved concurrency) on the mapping, and a queue visibility " +
		"timeout of at least 6 × (function timeout + batching window).",
	ValidateStack: func(c Check, s *Stack) {
		for _, esm := range s.OfType(typeEventSourceMapping) {
			checkESM(c, s, esm)
		}
	},
}

func checkESM(c Check, s *Stack, esm *Resource) {
	queue, unresolved := s.Ref(esm, "eventSourceArn", typeQueue)
	if queue == nil {
		arn, st := stringAt(esm.Properties, "eventSourceArn")
		if st == Known && !strings.HasPrefix(arn, "arn:aws:sqs:") || !unresolved {
			return // not an SQS mapping
		}
		c.Report(*esm, "the event source is not a queue of this stack, so its visibility timeout and DLQ cannot "+
			"be verified. Fix: create the queue in this stack and pass its ARN.")
		return
	}
	types, _, st := stringsAt(esm.Properties, "functionResponseTypes")
	if st != Known || !slices.Contains(types, "ReportBatchItemFailures") {
		c.Report(*esm, "functionResponseTypes is %s, so one bad record makes the whole batch retry. Fix: set "+
			"functionResponseTypes: [\"ReportBatchItemFailures\"] and return batch item failures.",
			describe(esm.Properties, "functionResponseTypes"))
	}
	maxConc, st := numberAt(esm.Properties, "scalingConfig.maximumConcurrency")
	if st != Known || maxConc < 2 || maxConc > 1000 {
		c.Report(*esm, "scalingConfig.maximumConcurrency is %s, so a burst can scale consumers until the "+
			"database runs out of connections. Fix: set scalingConfig.maximumConcurrency between 2 and 1000, "+
			"sized to the proxy's connection budget.", describe(esm.Properties, "scalingConfig.maximumConcurrency"))
		st = Invalid
	}
	fn, _ := s.Ref(esm, "functionName", typeFunction)
	if fn == nil {
		c.Report(*esm, "the target function is not a function of this stack, so its timeout and concurrency "+
			"cannot be verified. Fix: create the function in this stack and pass its name or ARN.")
		return
	}
	reserved, rst := numberAt(fn.Properties, "reservedConcurrentExecutions")
	switch {
	case rst == Unknown || rst == Invalid:
		c.Report(*fn, "reservedConcurrentExecutions is %s. Fix: set it to a literal number ≥ the mapping's "+
			"maximum concurrency.", rst)
	case rst == Known && reserved >= 0 && st == Known && maxConc > reserved:
		c.Report(*esm, "maximumConcurrency %v is above function %q's reservedConcurrentExecutions %v, so the "+
			"extra pollers only cause throttling and retries. Fix: lower maximumConcurrency or raise the "+
			"reservation.", maxConc, fn.Name, reserved)
	}
	timeout, tst := numberAt(fn.Properties, "timeout")
	if tst == Absent {
		timeout, tst = defaultFunctionTimeout, Known
	}
	window, wst := numberAt(esm.Properties, "maximumBatchingWindowInSeconds")
	if wst == Absent {
		window, wst = 0, Known
	}
	visibility, vst := numberAt(queue.Properties, "visibilityTimeoutSeconds")
	if vst == Absent {
		visibility, vst = defaultVisibilityTimeout, Known
	}
	if tst != Known || wst != Known || vst != Known {
		c.Report(*esm, "the function timeout, batching window or queue visibility timeout is not a known number, "+
			"so the visibility rule cannot be verified. Fix: set them to literal numbers.")
		return
	}
	if need := 6 * (timeout + window); visibility < need {
		c.Report(*queue, "visibilityTimeoutSeconds %v is below 6 × (function timeout %v + batching window %v) = "+
			"%v, so messages still being processed become visible again and are delivered twice. Fix: set "+
			"visibilityTimeoutSeconds to at least %v.", visibility, timeout, window, need, need)
	}
}
