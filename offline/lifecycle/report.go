package lifecycle

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
)

// Report is what a rehearsal found. The first nine fields are the summary
// the issue asks `make rehearse` to print (see JSON); a step that failed
// holds why instead of "ok" (the previews' counts then hold the reason as
// a string).
type Report struct {
	PreviewDev    any    `json:"previewDev"`  // resources to create (int), or why not
	PreviewProd   any    `json:"previewProd"` // resources to create (int), or why not
	Up            string `json:"up"`
	NoChanges     string `json:"noChanges"`
	Update        string `json:"update"`
	Rotation      string `json:"rotation"`
	Destroy       string `json:"destroy"`
	SchemaVersion any    `json:"schemaVersion"` // the database's version after up (int), or why not
	Publish       string `json:"publish"`
	// The refusals, an empty answer of AWS and prod's protection, reported
	// after the summary.
	InvalidSetting  string `json:"invalidSetting"`
	BrokenMigration string `json:"brokenMigration"`
	EmptyAnswer     string `json:"emptyAnswer"`
	ProdDelete      string `json:"prodDelete"`
	// What AWS does that the program survives: a proxy target that is not
	// ready when created, an account that cannot reserve concurrency, and
	// a second final snapshot of a re-created prod.
	ProxyWarmup      string `json:"proxyWarmup"`
	ConcurrencyQuota string `json:"concurrencyQuota"`
	SecondProdDelete string `json:"secondProdDelete"`

	// Steps and Commands are the timings.
	Steps    []Step    `json:"-"`
	Commands []Command `json:"-"`
	Seconds  float64   `json:"-"`
	// Migration is the first run of the migrator's bootstrap, as the
	// stand-in recorded it during `up`, and MigratorLog the JSON lines the
	// migrator logged in it.
	Migration   string `json:"-"`
	MigratorLog string `json:"-"`
}

// Step is one step's time and result.
type Step struct {
	Name    string
	Seconds float64
	Result  string
}

const notRunYet = "not run"

func newReport() *Report {
	r := &Report{}
	r.notRun(notRunYet)
	return r
}

// notRun sets every result to why.
func (r *Report) notRun(why string) {
	r.PreviewDev, r.PreviewProd, r.SchemaVersion = why, why, why
	for _, f := range r.results() {
		*f = why
	}
}

func (r *Report) results() []*string {
	return []*string{&r.Up, &r.NoChanges, &r.Update, &r.Rotation, &r.Destroy, &r.Publish,
		&r.InvalidSetting, &r.BrokenMigration, &r.EmptyAnswer, &r.ProdDelete,
		&r.ProxyWarmup, &r.ConcurrencyQuota, &r.SecondProdDelete}
}

// OK reports whether every step passed (publish included).
func (r *Report) OK() bool {
	if _, ok := r.PreviewDev.(int); !ok {
		return false
	}
	if _, ok := r.PreviewProd.(int); !ok {
		return false
	}
	if _, ok := r.SchemaVersion.(int); !ok {
		return false
	}
	for _, f := range r.results() {
		if *f != "ok" {
			return false
		}
	}
	return true
}

// Failures lists the results that are not "ok".
func (r *Report) Failures() []string {
	var out []string
	add := func(name string, v any) {
		if s, ok := v.(string); ok && s != "ok" {
			out = append(out, name+": "+s)
		}
	}
	add("previewDev", r.PreviewDev)
	add("previewProd", r.PreviewProd)
	add("schemaVersion", r.SchemaVersion)
	names := []string{"up", "noChanges", "update", "rotation", "destroy", "publish", "invalidSetting", "brokenMigration", "emptyAnswer", "prodDelete",
		"proxyWarmup", "concurrencyQuota", "secondProdDelete"}
	for i, f := range r.results() {
		add(names[i], *f)
	}
	return out
}

// JSON is the one-line summary `make rehearse` prints last.
func (r *Report) JSON() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		return fmt.Sprintf(`{"error":%q}`, err.Error())
	}
	return string(bytes.TrimSpace(b.Bytes()))
}

// WriteTimes writes the steps' and the commands' times as two tables.
func (r *Report) WriteTimes(w io.Writer) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "step\tseconds\tresult")
	for _, s := range r.Steps {
		fmt.Fprintf(tw, "%s\t%.1f\t%s\n", s.Name, s.Seconds, s.Result)
	}
	fmt.Fprintf(tw, "total\t%.0f\t\n", r.Seconds)
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "command\tseconds\texit")
	for _, c := range r.Commands {
		fmt.Fprintf(tw, "%s\t%.1f\t%d\n", c, c.Seconds, c.ExitCode)
	}
	tw.Flush()
}
