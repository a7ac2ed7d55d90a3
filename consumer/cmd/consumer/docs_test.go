package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/testkit/doccheck"
)

// checkBatchLog compares the batch-done log line and the EMF line of one
// invocation's output with the "batch-log" block of docs/consumer.md. Times,
// latencies and the emulator's request id change on every run.
func checkBatchLog(t *testing.T, out string) {
	t.Helper()
	var shown []string
	for line := range strings.SplitSeq(out, "\n") {
		if strings.Contains(line, `"message":"batch done"`) || strings.Contains(line, `"CloudWatchMetrics"`) {
			shown = append(shown, line)
		}
	}
	if len(shown) != 2 {
		t.Fatalf("want one batch-done line and one EMF line, got %q in\n%s", shown, out)
	}
	doccheck.Check(t, "docs/consumer.md", "batch-log", strings.Join(shown, "\n"),
		doccheck.Ignore(regexp.MustCompile(`"(timestamp|requestId)":"[^"]*"`)),
		doccheck.Ignore(regexp.MustCompile(`"(latencyMs|BatchLatency|Timestamp)":[0-9.]+`)))
}
