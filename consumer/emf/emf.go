// Package emf writes CloudWatch Embedded Metric Format lines: JSON log
// lines that CloudWatch Logs turns into metrics without a PutMetricData
// call (and without the network access and IAM permission that needs).
//
// See https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
package emf

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// Unit is a CloudWatch metric unit.
type Unit string

// The units this project uses.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
)

// Metric is one value to publish.
type Metric struct {
	Name  string
	Unit  Unit
	Value float64
}

// Line is everything one EMF line carries: the metrics share the namespace
// and the dimension set.
type Line struct {
	Namespace  string
	Dimensions map[string]string
	Metrics    []Metric
	Time       time.Time
}

type metricDefinition struct {
	Name string `json:"Name"`
	Unit Unit   `json:"Unit"`
}

type directive struct {
	Namespace  string             `json:"Namespace"`
	Dimensions [][]string         `json:"Dimensions"`
	Metrics    []metricDefinition `json:"Metrics"`
}

type metadata struct {
	Timestamp         int64       `json:"Timestamp"`
	CloudWatchMetrics []directive `json:"CloudWatchMetrics"`
}

// Write writes l to w as one JSON line, in a single Write call so lines
// from concurrent writers do not interleave.
func Write(w io.Writer, l Line) error {
	doc := make(map[string]any, len(l.Dimensions)+len(l.Metrics)+1)
	dims := make([]string, 0, len(l.Dimensions))
	for k, v := range l.Dimensions {
		dims = append(dims, k)
		doc[k] = v
	}
	defs := make([]metricDefinition, 0, len(l.Metrics))
	for _, m := range l.Metrics {
		if _, clash := doc[m.Name]; clash {
			return fmt.Errorf("emf: metric %q has the name of another member", m.Name)
		}
		defs = append(defs, metricDefinition{Name: m.Name, Unit: m.Unit})
		doc[m.Name] = m.Value
	}
	doc["_aws"] = metadata{
		Timestamp: l.Time.UnixMilli(),
		CloudWatchMetrics: []directive{{
			Namespace:  l.Namespace,
			Dimensions: [][]string{dims},
			Metrics:    defs,
		}},
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("emf: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("emf: write: %w", err)
	}
	return nil
}
