package consumer_test

import (
	"bytes"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/consumer"
	"github.com/sluicehq/sluice/consumer/record"
	"github.com/sluicehq/sluice/testkit/doccheck"
)

// TestDocumentedFields keeps the record's table in docs/consumer.md as the
// code has it; SLUICE_UPDATE_DOCS=1 rewrites it (docs/contributing.md).
func TestDocumentedFields(t *testing.T) {
	doccheck.Check(t, "docs/consumer.md", "record-fields", record.FieldsTable())
}

// TestDocumentedReasons keeps the reasons table of docs/consumer.md (its
// "Validation rules" section) and the code in step: every reason a
// quarantine row can carry has a row, and the table has no reason the code
// cannot give.
func TestDocumentedReasons(t *testing.T) {
	raw, err := os.ReadFile("../docs/consumer.md")
	if err != nil {
		t.Fatal(err)
	}
	// The page's other tables (packages, logs) also start rows with code.
	_, section, ok := bytes.Cut(raw, []byte("\n## Validation rules\n"))
	if !ok {
		t.Fatal(`docs/consumer.md has no "## Validation rules" section`)
	}
	section, _, _ = bytes.Cut(section, []byte("\n## "))
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z_0-9]+)` \\|").FindAllSubmatch(section, -1) {
		documented = append(documented, string(m[1]))
	}
	// The fields' reasons are in the record-fields block, which
	// TestDocumentedFields holds to the code.
	_, reasons, _ := strings.Cut(doccheck.Block(t, "docs/consumer.md", "record-fields"), "reasons, in the order they are checked:\n")
	for _, line := range strings.Split(strings.TrimSpace(reasons), "\n") {
		documented = append(documented, strings.Fields(line)[1:]...)
	}
	var want []string
	for _, r := range record.Reasons() {
		want = append(want, string(r))
	}
	want = append(want, consumer.ReasonRejectedByDatabase, consumer.ReasonKeyConflict)
	for _, r := range want {
		if !slices.Contains(documented, r) {
			t.Errorf("reason %s is not in the table of docs/consumer.md", r)
		}
	}
	for _, r := range documented {
		if !slices.Contains(want, r) {
			t.Errorf("docs/consumer.md lists %s, which the code never gives", r)
		}
	}
}
