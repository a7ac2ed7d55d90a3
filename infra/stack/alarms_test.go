package stack_test

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/infra/stack"
	"github.com/sluicehq/sluice/offline/stackrun"
	"github.com/sluicehq/sluice/testkit/doccheck"
)

// alarmsPage documents the alarms: the thresholds block is rendered here
// from the alarms both stacks register, and its table of meanings must
// name exactly those alarms.
const alarmsPage = "docs/operating.md"

// TestAlarmsAsDocumented renders every alarm of dev and prod (metric,
// statistic, period, threshold per stack, how many periods must breach)
// into the "alarms" block of docs/operating.md, and checks that the page's
// table of what each alarm means lists the same alarms.
func TestAlarmsAsDocumented(t *testing.T) {
	dev, prod := run(t, "dev"), run(t, "prod")
	devAlarms, prodAlarms := alarmsByKey(t, dev), alarmsByKey(t, prod)
	keys := slices.Sorted(maps.Keys(devAlarms))
	if !slices.Equal(keys, slices.Sorted(maps.Keys(prodAlarms))) {
		t.Fatalf("dev defines the alarms %v, prod %v", keys, slices.Sorted(maps.Keys(prodAlarms)))
	}

	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "alarm\tmetric (dimension)\tstatistic\tdev\tprod")
	for _, k := range keys {
		d, p := devAlarms[k], prodAlarms[k]
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", k, d.metric(dev), d.statistic(), d.firesWhen(), p.firesWhen())
	}
	w.Flush()
	doccheck.Check(t, alarmsPage, "alarms", strings.TrimRight(strings.ReplaceAll(b.String(), " \n", "\n"), " "))

	raw, err := os.ReadFile(filepath.Join("..", "..", alarmsPage))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(raw), "| alarm | what it means | what to do |")
	if !ok {
		t.Fatalf("%s has no table with the header | alarm | what it means | what to do |", alarmsPage)
	}
	table, _, _ = strings.Cut(table, "\n\n")
	var documented []string
	for _, m := range regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|").FindAllStringSubmatch(table, -1) {
		documented = append(documented, m[1])
	}
	if got, want := slices.Sorted(slices.Values(documented)), slices.Sorted(maps.Keys(devAlarms)); !slices.Equal(got, want) {
		t.Errorf("%s explains the alarms %v; the stacks define %v", alarmsPage, got, want)
	}
}

type alarm struct{ in resource.PropertyMap }

func alarmsByKey(t *testing.T, r *stackrun.Result) map[string]alarm {
	t.Helper()
	prefix := r.Project + "-" + r.Stack + "-"
	out := map[string]alarm{}
	for _, a := range r.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		out[strings.TrimPrefix(a.Inputs["name"].StringValue(), prefix)] = alarm{in: a.Inputs}
	}
	if len(out) == 0 {
		t.Fatalf("stack %s has no alarm", r.Stack)
	}
	return out
}

// metric is "namespace name (dimension=what)", the dimension's value named
// by the stack output that holds it.
func (a alarm) metric(r *stackrun.Result) string {
	labels := map[string]string{}
	for out, label := range map[string]string{
		stack.OutputQueueURL: "queue", stack.OutputDLQURL: "DLQ", stack.OutputConsumerFunction: "consumer",
		stack.OutputProxyName: "proxy", stack.OutputDBInstanceID: "database",
	} {
		v := r.Outputs[resource.PropertyKey(out)].StringValue()
		labels[v[strings.LastIndex(v, "/")+1:]] = label
	}
	var dims []string
	for k, v := range a.in["dimensions"].ObjectValue() {
		label, ok := labels[v.StringValue()]
		if !ok {
			label = v.StringValue()
		}
		dims = append(dims, string(k)+"="+label)
	}
	slices.Sort(dims)
	return fmt.Sprintf("%s %s (%s)", a.in["namespace"].StringValue(), a.in["metricName"].StringValue(), strings.Join(dims, ", "))
}

func (a alarm) statistic() string {
	return fmt.Sprintf("%s per %s", a.in["statistic"].StringValue(), minutes(int(a.in["period"].NumberValue())))
}

func minutes(seconds int) string {
	if seconds%60 == 0 {
		return fmt.Sprintf("%d min", seconds/60)
	}
	return fmt.Sprintf("%d s", seconds)
}

// firesWhen is the comparison with the threshold in the metric's unit, and
// how many of the evaluated periods must breach.
func (a alarm) firesWhen() string {
	op := map[string]string{
		"GreaterThanOrEqualToThreshold": "≥", "GreaterThanThreshold": ">",
		"LessThanThreshold": "<", "LessThanOrEqualToThreshold": "≤",
	}[a.in["comparisonOperator"].StringValue()]
	v := a.in["threshold"].NumberValue()
	var threshold string
	switch a.in["metricName"].StringValue() {
	case "FreeStorageSpace", "FreeableMemory": // bytes
		switch {
		case v >= 1<<30 && int64(v)%(1<<30) == 0:
			threshold = fmt.Sprintf("%d GiB", int64(v)>>30)
		default:
			threshold = fmt.Sprintf("%d MiB", int64(v)>>20)
		}
	case "DatabaseConnectionsBorrowLatency": // µs
		threshold = fmt.Sprintf("%g ms", v/1000)
	case "Duration":
		threshold = fmt.Sprintf("%g ms", v)
	case "ApproximateAgeOfOldestMessage":
		threshold = fmt.Sprintf("%g s", v)
	case "CPUUtilization":
		threshold = fmt.Sprintf("%g %%", v)
	default:
		threshold = fmt.Sprintf("%g", v)
	}
	return fmt.Sprintf("%s %s, %d of %d", op, threshold, int(a.in["datapointsToAlarm"].NumberValue()), int(a.in["evaluationPeriods"].NumberValue()))
}
