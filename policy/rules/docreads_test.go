package rules_test

import (
	"os"
	"strings"
	"testing"

	"github.com/sluicehq/sluice/policy/rules"
)

// TestPolicyTableReads: the "reads" column of docs/policy-pack.md's policy
// table is generated from each policy's Reads, in order, so the page names
// exactly the resource types the code inspects.
func TestPolicyTableReads(t *testing.T) {
	raw, err := os.ReadFile("../../docs/policy-pack.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{}
	for line := range strings.SplitSeq(string(raw), "\n") {
		if cells := strings.Split(line, " | "); strings.HasPrefix(line, "| `") && len(cells) >= 7 {
			rows[strings.Trim(cells[0], "| `")] = cells
		}
	}
	for _, p := range rules.All() {
		cells, ok := rows[p.Name]
		if !ok {
			t.Errorf("the policy table has no row for %s", p.Name)
			continue
		}
		if want := readsCell(p); cells[3] != want {
			t.Errorf("%s reads:\n got %s\nwant %s", p.Name, cells[3], want)
		}
	}
}

// readsCell writes each type token aws:<module>/<type>:<Name> as
// `<module>/<type>`.
func readsCell(p rules.Policy) string {
	short := make([]string, 0, len(p.Reads))
	for _, t := range p.Reads {
		mod, _, _ := strings.Cut(strings.TrimPrefix(t, "aws:"), ":")
		short = append(short, "`"+mod+"`")
	}
	return strings.Join(short, ", ")
}
