package emf

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

func TestWrite(t *testing.T) {
	var buf bytes.Buffer
	at := time.Date(2026, 11, 27, 5, 0, 0, 123e6, time.UTC)
	err := Write(&buf, Line{
		Namespace:  "Sluice",
		Dimensions: map[string]string{"FunctionName": "sluice-dev-consumer"},
		Metrics: []Metric{
			{Name: "RecordsStored", Unit: Count, Value: 7},
			{Name: "BatchLatency", Unit: Milliseconds, Value: 12.5},
		},
		Time: at,
	})
	if err != nil {
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
		RecordsStored float64
		BatchLatency  float64
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
	if d.Namespace != "Sluice" || len(d.Dimensions) != 1 || len(d.Dimensions[0]) != 1 || d.Dimensions[0][0] != "FunctionName" {
		t.Errorf("directive %+v", d)
	}
	if len(d.Metrics) != 2 || d.Metrics[0].Name != "RecordsStored" || d.Metrics[0].Unit != "Count" || d.Metrics[1].Unit != "Milliseconds" {
		t.Errorf("metric definitions %+v", d.Metrics)
	}
	// Every dimension and metric named in the directive must be a
	// top-level member, or CloudWatch drops the line.
	if got.FunctionName != "sluice-dev-consumer" || got.RecordsStored != 7 || got.BatchLatency != 12.5 {
		t.Errorf("members %+v", got)
	}
}

func TestWriteRejectsNameClash(t *testing.T) {
	err := Write(&bytes.Buffer{}, Line{
		Namespace:  "Sluice",
		Dimensions: map[string]string{"FunctionName": "f"},
		Metrics:    []Metric{{Name: "FunctionName", Unit: Count, Value: 1}},
	})
	if err == nil {
		t.Fatal("a metric named like a dimension was accepted")
	}
}
