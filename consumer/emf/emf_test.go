package emf

import (
	"bytes"
	"encoding/json"
	"io"
	"math"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	f, err := NewFormat("Sluice", map[string]string{"FunctionName": "sluice-dev-consumer", "Stage": "dev \"x\" \u2028"},
		[]Definition{{Name: "RecordsStored", Unit: Count}, {Name: "BatchLatency", Unit: Milliseconds}, {Name: "Big", Unit: Count}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	at := time.Date(2026, 11, 27, 5, 0, 0, 123e6, time.UTC)
	if err := f.Write(&buf, at, 7, 12.5, 1e21); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != 1 || !bytes.HasSuffix(buf.Bytes(), []byte("\n")) {
		t.Fatalf("want exactly one line, got %q", buf.String())
	}
	var got struct {
		AWS struct {
			Timestamp         int64
			CloudWatchMetrics []struct {
				Namespace  string
				Dimensions [][]string
				Metrics    []struct{ Name, Unit string }
			}
		} `json:"_aws"`
		FunctionName  string
		Stage         string
		RecordsStored float64
		BatchLatency  float64
		Big           float64
	}
	if err := json.Unmarshal(buf.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v: %s", err, buf.String())
	}
	if got.AWS.Timestamp != at.UnixMilli() {
		t.Errorf("Timestamp %d, want %d", got.AWS.Timestamp, at.UnixMilli())
	}
	if len(got.AWS.CloudWatchMetrics) != 1 {
		t.Fatalf("directives: %+v", got.AWS.CloudWatchMetrics)
	}
	d := got.AWS.CloudWatchMetrics[0]
	if d.Namespace != "Sluice" || len(d.Dimensions) != 1 || len(d.Dimensions[0]) != 2 || d.Dimensions[0][0] != "FunctionName" || d.Dimensions[0][1] != "Stage" {
		t.Errorf("directive %+v", d)
	}
	if len(d.Metrics) != 3 || d.Metrics[0].Name != "RecordsStored" || d.Metrics[0].Unit != "Count" || d.Metrics[1].Unit != "Milliseconds" {
		t.Errorf("metric definitions %+v", d.Metrics)
	}
	// Every dimension and metric named in the directive must be a
	// top-level member, or CloudWatch drops the line.
	if got.FunctionName != "sluice-dev-consumer" || got.Stage != "dev \"x\" \u2028" || got.RecordsStored != 7 || got.BatchLatency != 12.5 || got.Big != 1e21 {
		t.Errorf("members %+v", got)
	}
	// A second line reuses the format.
	buf.Reset()
	if err := f.Write(&buf, at.Add(time.Second), 0, 0.001, 3); err != nil || !json.Valid(buf.Bytes()) {
		t.Fatalf("second line %q: %v", buf.String(), err)
	}
}

func TestFormatErrors(t *testing.T) {
	dims := map[string]string{"FunctionName": "f"}
	if _, err := NewFormat("Sluice", dims, []Definition{{Name: "FunctionName", Unit: Count}}); err == nil {
		t.Error("a metric named like a dimension was accepted")
	}
	if _, err := NewFormat("Sluice", dims, []Definition{{Name: "A", Unit: Count}, {Name: "A", Unit: Count}}); err == nil {
		t.Error("two metrics with one name were accepted")
	}
	if _, err := NewFormat("Sluice", nil, []Definition{{Name: "_aws", Unit: Count}}); err == nil {
		t.Error("a metric named _aws was accepted")
	}
	f, err := NewFormat("Sluice", dims, []Definition{{Name: "A", Unit: Count}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	for _, values := range [][]float64{{}, {1, 2}, {math.NaN()}, {math.Inf(1)}} {
		if err := f.Write(&buf, time.Now(), values...); err == nil {
			t.Errorf("Write(%v) accepted", values)
		}
	}
	if buf.Len() != 0 {
		t.Errorf("a refused line was written: %q", buf.String())
	}
}

// BenchmarkWrite compares a Format's line with encoding/json marshalling
// the same document, which is what Write did before Format.
func BenchmarkWrite(b *testing.B) {
	dims := map[string]string{"FunctionName": "sluice-dev-consumer"}
	defs := []Definition{{"RecordsReceived", Count}, {"RecordsStored", Count}, {"RecordsDuplicate", Count},
		{"RecordsQuarantined", Count}, {"RecordsRetried", Count}, {"BatchLatency", Milliseconds}}
	at := time.Now()
	b.Run("format", func(b *testing.B) {
		f, err := NewFormat("Sluice", dims, defs)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := f.Write(io.Discard, at, 100, 98, 1, 1, 0, 12.345); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			doc := map[string]any{"FunctionName": dims["FunctionName"], "_aws": map[string]any{"Timestamp": at.UnixMilli(),
				"CloudWatchMetrics": []directive{{Namespace: "Sluice", Dimensions: [][]string{{"FunctionName"}}, Metrics: defs}}}}
			for i, v := range []float64{100, 98, 1, 1, 0, 12.345} {
				doc[defs[i].Name] = v
			}
			line, err := json.Marshal(doc)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := io.Discard.Write(append(line, '\n')); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func TestConsumerMetrics(t *testing.T) {
	defs := ConsumerMetrics()
	if _, err := NewFormat(Namespace, map[string]string{DimensionFunctionName: "f"}, defs); err != nil {
		t.Fatalf("the consumer's own definitions do not make a format: %v", err)
	}
	for _, name := range []string{RecordsReceived, RecordsStored, RecordsDuplicate, RecordsDuplicateRedelivery, RecordsDuplicateResubmission, RecordsQuarantined, RecordsRetried, DeadlockRetries, BatchLatency} {
		d, ok := ConsumerMetric(name)
		if !ok || d.Name != name {
			t.Errorf("ConsumerMetric(%q) = %+v, %t", name, d, ok)
		}
	}
	if d, _ := ConsumerMetric(BatchLatency); d.Unit != Milliseconds {
		t.Errorf("BatchLatency unit %q", d.Unit)
	}
	if d, _ := ConsumerMetric(RecordsRetried); d.Unit != Count {
		t.Errorf("RecordsRetried unit %q", d.Unit)
	}
	if _, ok := ConsumerMetric("RecordsLost"); ok {
		t.Error("ConsumerMetric found a metric the consumer does not emit")
	}
}
