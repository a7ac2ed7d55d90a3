package pipeline

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"

	"github.com/sluicehq/sluice/consumer/emf"
	"github.com/sluicehq/sluice/infra/observability"
	"github.com/sluicehq/sluice/infra/stack"
	"github.com/sluicehq/sluice/offline/mocks"
	"github.com/sluicehq/sluice/offline/stackrun"
)

// The alarm/metric agreement check. The fault scenarios below run the real
// consumer with the stack's consumer function name as its FunctionName and
// keep every EMF line it printed; the alarms are the ones the real program
// registers for the dev stack (under offline/mocks). Each alarm on a metric of
// the consumer's own (any namespace but AWS/*) must be proven by a scenario:
//
//   - some line declares the alarm's namespace and metric, with exactly the
//     alarm's dimension set and values, and the alarm's unit;
//   - the alarm's statistic over those lines, per alarm period, crosses the
//     threshold in the scenario the alarm is for, and in no other.
//
// How many periods must breach (datapoints to alarm) is CloudWatch timing,
// not agreement: a scenario here lasts seconds, the alarms watch minutes.

// Fault scenarios that prove consumer alarms.
const (
	scenarioDatabaseDown = "database down"
	scenarioBadData      = "bad data"
)

// alarmScenarios names, for every consumer alarm, the scenario in which it
// must fire. A consumer alarm missing here fails every scenario.
var alarmScenarios = map[string]string{
	observability.AlarmRecordsRetried:     scenarioDatabaseDown,
	observability.AlarmRecordsQuarantined: scenarioBadData,
}

// outputFile is where a test has the consumer write (its EMF lines, its
// log), as Lambda hands a function's output to CloudWatch Logs. The
// sandboxes write concurrently, one line per Write, which *os.File
// serializes.
type outputFile struct{ *os.File }

func newOutputFile(t *testing.T, name string) outputFile {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return outputFile{f}
}

// written returns everything written so far.
func (f outputFile) written(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// deployed is the dev stack as the program defines it, run once.
var deployed = sync.OnceValues(func() (*stackrun.Result, error) {
	return stackrun.Run(filepath.Join("..", "..", "..", "Pulumi.dev.yaml"))
})

// consumerAlarms returns the dev stack's alarms on metrics that are not
// AWS's, keyed by alarm key, and the consumer function's name (the stack
// output an operator reads).
func consumerAlarms(t *testing.T) (map[string]mocks.Registration, string) {
	t.Helper()
	r, err := deployed()
	if err != nil {
		t.Fatalf("running the dev stack's program under mocks: %v", err)
	}
	fn := r.Outputs[resource.PropertyKey(stack.OutputConsumerFunction)]
	if !fn.IsString() || fn.StringValue() == "" {
		t.Fatalf("the dev stack has no %s output: %v", stack.OutputConsumerFunction, r.Outputs)
	}
	prefix := r.Project + "-" + r.Stack + "-"
	alarms := map[string]mocks.Registration{}
	for _, a := range r.ByType("aws:cloudwatch/metricAlarm:MetricAlarm") {
		if strings.HasPrefix(a.Inputs["namespace"].StringValue(), "AWS/") {
			continue
		}
		alarms[strings.TrimPrefix(a.Inputs["name"].StringValue(), prefix)] = a
	}
	if len(alarms) == 0 {
		t.Fatal("the dev stack has no alarm on the consumer's metrics")
	}
	return alarms, fn.StringValue()
}

// withConsumerMetrics makes the pipeline's consumer print its EMF lines into
// c under the dev stack's consumer function name.
func withConsumerMetrics(t *testing.T, c outputFile) func(*Config) {
	_, fn := consumerAlarms(t)
	return func(cfg *Config) { cfg.Metrics, cfg.FunctionName = c, fn }
}

// emfLine is one printed line as CloudWatch would read it.
type emfLine struct {
	at         time.Time
	namespace  string
	dimensions [][]string         // dimension sets of the directive
	units      map[string]string  // metric name → unit declared
	members    map[string]any     // every top-level member
	values     map[string]float64 // declared metrics' values
}

func parseEMF(t *testing.T, raw []byte) []emfLine {
	t.Helper()
	var lines []emfLine
	for n, text := range bytes.Split(bytes.TrimSpace(raw), []byte("\n")) {
		if len(text) == 0 {
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal(text, &doc); err != nil {
			t.Fatalf("EMF line %d is not JSON (CloudWatch would drop it): %v: %s", n+1, err, text)
		}
		var meta struct {
			AWS struct {
				Timestamp         int64
				CloudWatchMetrics []struct {
					Namespace  string
					Dimensions [][]string
					Metrics    []struct{ Name, Unit string }
				}
			} `json:"_aws"`
		}
		if err := json.Unmarshal(text, &meta); err != nil || len(meta.AWS.CloudWatchMetrics) == 0 {
			t.Fatalf("EMF line %d has no _aws.CloudWatchMetrics directive (%v): %s", n+1, err, text)
		}
		for _, d := range meta.AWS.CloudWatchMetrics {
			l := emfLine{at: time.UnixMilli(meta.AWS.Timestamp), namespace: d.Namespace, dimensions: d.Dimensions,
				units: map[string]string{}, members: doc, values: map[string]float64{}}
			for _, m := range d.Metrics {
				v, ok := doc[m.Name].(float64)
				if !ok {
					t.Fatalf("EMF line %d declares %s but has no numeric member for it: %s", n+1, m.Name, text)
				}
				l.units[m.Name], l.values[m.Name] = m.Unit, v
			}
			lines = append(lines, l)
		}
	}
	return lines
}

// proveConsumerAlarms checks every consumer alarm against the lines printed
// in scenario (see the top of this file).
func proveConsumerAlarms(t *testing.T, scenario string, printed []byte) {
	t.Helper()
	alarms, _ := consumerAlarms(t)
	lines := parseEMF(t, printed)
	if len(lines) == 0 {
		t.Fatalf("%s: the consumer printed no EMF line", scenario)
	}
	for key := range alarmScenarios {
		if _, ok := alarms[key]; !ok {
			t.Errorf("alarm %s is listed in alarmScenarios but the stack does not define it", key)
		}
	}
	for _, key := range slices.Sorted(maps.Keys(alarms)) {
		want, ok := alarmScenarios[key]
		if !ok {
			t.Errorf("alarm %s watches a consumer metric but no fault scenario proves it (add it to alarmScenarios)", key)
			continue
		}
		a := alarms[key].Inputs
		fires, detail, err := evaluate(a, lines)
		if err != nil {
			t.Errorf("%s: alarm %s: %v", scenario, key, err)
			continue
		}
		switch {
		case want == scenario && !fires:
			t.Errorf("%s: alarm %s would not fire: %s", scenario, key, detail)
		case want != scenario && fires:
			t.Errorf("%s: alarm %s (for %s) would fire here too: %s", scenario, key, want, detail)
		default:
			t.Logf("%s: alarm %s fires %t as it should: %s", scenario, key, fires, detail)
		}
	}
}

// evaluate applies an alarm (its registered inputs) to the lines: it finds
// the lines that carry its metric with its dimensions and unit, computes
// its statistic per period and reports whether any period breaches.
func evaluate(a resource.PropertyMap, lines []emfLine) (fires bool, detail string, err error) {
	namespace, metric := a["namespace"].StringValue(), a["metricName"].StringValue()
	stat, op := a["statistic"].StringValue(), a["comparisonOperator"].StringValue()
	threshold, period := a["threshold"].NumberValue(), int64(a["period"].NumberValue())
	unit := ""
	if u, ok := a["unit"]; ok && u.IsString() {
		unit = u.StringValue()
	}
	dims := map[string]string{}
	for k, v := range a["dimensions"].ObjectValue() {
		dims[string(k)] = v.StringValue()
	}
	dimNames := slices.Sorted(maps.Keys(dims))

	buckets := map[int64][]float64{}
	var seen []string
	for _, l := range lines {
		seen = append(seen, fmt.Sprintf("%s %v %v", l.namespace, l.dimensions, slices.Sorted(maps.Keys(l.units))))
		if l.namespace != namespace {
			continue
		}
		v, declared := l.values[metric]
		if !declared || !hasDimensionSet(l.dimensions, dimNames) {
			continue
		}
		match := true
		for k, want := range dims {
			if got, _ := l.members[k].(string); got != want {
				match = false
			}
		}
		if !match {
			continue
		}
		if unit != "" && l.units[metric] != unit {
			return false, "", fmt.Errorf("watches unit %q, the consumer declares %s as %q: CloudWatch would give the alarm no data", unit, metric, l.units[metric])
		}
		b := l.at.UnixMilli() / (period * 1000)
		buckets[b] = append(buckets[b], v)
	}
	if len(buckets) == 0 {
		slices.Sort(seen)
		return false, "", fmt.Errorf("watches %s %s %v, which no printed line carries; lines carried %v", namespace, metric, dims, slices.Compact(seen))
	}
	var stats []string
	for _, b := range slices.Sorted(maps.Keys(buckets)) {
		v, err := statistic(stat, buckets[b])
		if err != nil {
			return false, "", err
		}
		stats = append(stats, fmt.Sprintf("%g", v))
		breach, err := breaches(op, v, threshold)
		if err != nil {
			return false, "", err
		}
		fires = fires || breach
	}
	return fires, fmt.Sprintf("%s of %s per %d s period over %d lines: %s (threshold %s %g)", stat, metric, period, countLines(buckets), strings.Join(stats, ", "), op, threshold), nil
}

func hasDimensionSet(sets [][]string, names []string) bool {
	for _, set := range sets {
		if slices.Equal(slices.Sorted(slices.Values(set)), names) {
			return true
		}
	}
	return false
}

func countLines(m map[int64][]float64) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}

// statistic computes a CloudWatch statistic over one period's values.
func statistic(stat string, vs []float64) (float64, error) {
	switch stat {
	case "Sum", "Average":
		sum := 0.0
		for _, v := range vs {
			sum += v
		}
		if stat == "Average" {
			return sum / float64(len(vs)), nil
		}
		return sum, nil
	case "Maximum":
		return slices.Max(vs), nil
	case "Minimum":
		return slices.Min(vs), nil
	case "SampleCount":
		return float64(len(vs)), nil
	}
	return math.NaN(), fmt.Errorf("statistic %q is not one this check knows", stat)
}

func breaches(op string, v, threshold float64) (bool, error) {
	switch op {
	case "GreaterThanOrEqualToThreshold":
		return v >= threshold, nil
	case "GreaterThanThreshold":
		return v > threshold, nil
	case "LessThanThreshold":
		return v < threshold, nil
	case "LessThanOrEqualToThreshold":
		return v <= threshold, nil
	}
	return false, fmt.Errorf("comparison %q is not one this check knows", op)
}

// TestEvaluate shows the check can fail: each way an alarm can disagree
// with what was printed is caught, on lines written by the consumer's own
// format.
func TestEvaluate(t *testing.T) {
	var printed bytes.Buffer
	f, err := emf.NewFormat(emf.Namespace, map[string]string{emf.DimensionFunctionName: "fn"}, emf.ConsumerMetrics())
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 1, 10, 0, 5, 0, time.UTC)
	for i, retried := range []float64{3, 4, 0} {
		byName := map[string]float64{emf.RecordsReceived: 7, emf.RecordsStored: 7 - retried, emf.RecordsRetried: retried, emf.BatchLatency: 12}
		var values []float64
		for _, d := range emf.ConsumerMetrics() {
			values = append(values, byName[d.Name])
		}
		if err := f.Write(&printed, at.Add(time.Duration(i)*20*time.Second), values...); err != nil {
			t.Fatal(err)
		}
	}
	lines := parseEMF(t, printed.Bytes())
	alarm := func(modify func(resource.PropertyMap)) resource.PropertyMap {
		a := resource.PropertyMap{
			"namespace": resource.NewProperty(emf.Namespace), "metricName": resource.NewProperty(emf.RecordsRetried),
			"statistic": resource.NewProperty("Sum"), "comparisonOperator": resource.NewProperty("GreaterThanOrEqualToThreshold"),
			"threshold": resource.NewProperty(7.0), "period": resource.NewProperty(60.0), "unit": resource.NewProperty("Count"),
			"dimensions": resource.NewProperty(resource.PropertyMap{emf.DimensionFunctionName: resource.NewProperty("fn")}),
		}
		if modify != nil {
			modify(a)
		}
		return a
	}
	set := func(k string, v any) func(resource.PropertyMap) {
		return func(a resource.PropertyMap) { a[resource.PropertyKey(k)] = resource.NewPropertyValue(v) }
	}
	tests := []struct {
		name    string
		alarm   resource.PropertyMap
		fires   bool
		wantErr string
	}{
		{"sum reaches the threshold", alarm(nil), true, ""},
		{"sum below it", alarm(set("threshold", 8.0)), false, ""},
		{"maximum", alarm(func(a resource.PropertyMap) { set("statistic", "Maximum")(a); set("threshold", 4.0)(a) }), true, ""},
		{"wrong namespace", alarm(set("namespace", "Sluice/Consumer")), false, "no printed line carries"},
		{"wrong metric", alarm(set("metricName", "RecordsRetry")), false, "no printed line carries"},
		{"another function", alarm(set("dimensions", map[string]any{emf.DimensionFunctionName: "sluice-dev-consumer"})), false, "no printed line carries"},
		{"extra dimension", alarm(set("dimensions", map[string]any{emf.DimensionFunctionName: "fn", "Stage": "dev"})), false, "no printed line carries"},
		{"wrong unit", alarm(set("unit", "Milliseconds")), false, `watches unit "Milliseconds"`},
		{"unknown statistic", alarm(set("statistic", "p99")), false, "statistic"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fires, detail, err := evaluate(tt.alarm, lines)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if fires != tt.fires {
				t.Errorf("fires %t, want %t (%s)", fires, tt.fires, detail)
			}
		})
	}
}
