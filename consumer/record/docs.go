package record

import (
	"fmt"
	"strings"
	"text/tabwriter"
)

// FieldsTable is the record's table as docs/consumer.md shows it (a
// doc-checked block): each field's member, column, kind, whether it is
// required, its rules and the reasons it is quarantined with, in the order
// they are checked.
func FieldsTable() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "member\tcolumn\ttype\trequired\trules")
	for i := range table {
		f := &table[i]
		req := "optional (NULL)"
		if f.Required {
			req = "required"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", f.Member, f.Column, f.Kind, req, f.Rule())
	}
	w.Flush()
	b.WriteString("\nreasons, in the order they are checked:\n")
	w = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for i := range table {
		var rs []string
		for _, v := range table[i].Violations() {
			rs = append(rs, string(table[i].Reason(v)))
		}
		fmt.Fprintf(w, "%s\t%s\n", table[i].Member, strings.Join(rs, " "))
	}
	w.Flush()
	return b.String()
}
