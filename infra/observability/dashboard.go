package observability

import (
	"encoding/json"
	"fmt"

	"github.com/sluicehq/sluice/consumer/emf"
)

// resources names what the dashboard watches.
type resources struct {
	region, queue, dlq, function, proxy, db, api string
	alarms                                       []string // alarm ARNs
}

// widget is a CloudWatch dashboard widget, as documented in the Dashboard
// Body Structure reference: Properties is a *widgetProperties for a metric
// widget or an *alarmProperties for an alarm status widget.
type widget struct {
	Type       string `json:"type"`
	X          int    `json:"x"`
	Y          int    `json:"y"`
	Width      int    `json:"width"`
	Height     int    `json:"height"`
	Properties any    `json:"properties"`
}

type widgetProperties struct {
	Title   string  `json:"title"`
	Region  string  `json:"region"`
	View    string  `json:"view"`
	Stacked bool    `json:"stacked"`
	Period  int     `json:"period"`
	Metrics [][]any `json:"metrics"`
}

type alarmProperties struct {
	Title  string   `json:"title"`
	Region string   `json:"region"`
	Alarms []string `json:"alarms"`
}

// metric is one line of a widget: namespace, metric name, dimension
// name/value pairs, then the rendering options.
func metric(namespace, name, stat, label string, dims ...string) []any {
	m := []any{namespace, name}
	for _, d := range dims {
		m = append(m, d)
	}
	return append(m, map[string]string{"stat": stat, "label": label})
}

// dashboardBody puts the state of every alarm first, then lays out the
// pipeline from edge to database, one row per stage: API, queue, consumer,
// proxy and database. Every alarmed metric has a line with the alarm's
// statistic.
func dashboardBody(r resources) (string, error) {
	consumer := func(name, label string) []any {
		return metric(emf.Namespace, name, "Sum", label, emf.DimensionFunctionName, r.function)
	}
	rows := []struct {
		title   string
		metrics [][]any
	}{
		{"API: requests and errors", [][]any{
			metric("AWS/ApiGateway", "Count", "Sum", "requests", "ApiId", r.api),
			metric("AWS/ApiGateway", "4xx", "Sum", "4xx (incl. 429 throttled)", "ApiId", r.api),
			metric("AWS/ApiGateway", "5xx", "Sum", "5xx (SendMessage failed)", "ApiId", r.api),
		}},
		{"API: latency (ms)", [][]any{
			metric("AWS/ApiGateway", "Latency", "p99", "p99", "ApiId", r.api),
			metric("AWS/ApiGateway", "IntegrationLatency", "p99", "SQS p99", "ApiId", r.api),
		}},
		{"Queue: depth", [][]any{
			metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "visible", "QueueName", r.queue),
			metric("AWS/SQS", "ApproximateNumberOfMessagesNotVisible", "Maximum", "in flight", "QueueName", r.queue),
			metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "DLQ", "QueueName", r.dlq),
		}},
		{"Queue: age of oldest message (s)", [][]any{
			metric("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", "main queue", "QueueName", r.queue),
			metric("AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", "DLQ", "QueueName", r.dlq),
		}},
		{"Consumer: invocations, errors, throttles", [][]any{
			metric("AWS/Lambda", "Invocations", "Sum", "invocations", "FunctionName", r.function),
			metric("AWS/Lambda", "Errors", "Sum", "errors", "FunctionName", r.function),
			metric("AWS/Lambda", "Throttles", "Sum", "throttles", "FunctionName", r.function),
		}},
		{"Consumer: records per batch outcome (Sluice EMF)", [][]any{
			consumer(emf.RecordsReceived, "received"),
			consumer(emf.RecordsStored, "stored"),
			consumer(emf.RecordsDuplicate, "duplicate"),
			consumer(emf.RecordsQuarantined, "quarantined"),
			consumer(emf.RecordsRetried, "retried (database or proxy failing)"),
		}},
		{"Consumer: duration (ms) and concurrency", [][]any{
			metric("AWS/Lambda", "Duration", "Maximum", "duration max", "FunctionName", r.function),
			metric("AWS/Lambda", "Duration", "p99", "duration p99", "FunctionName", r.function),
			metric("AWS/Lambda", "Duration", "Average", "duration avg", "FunctionName", r.function),
			metric("AWS/Lambda", "ConcurrentExecutions", "Maximum", "concurrency", "FunctionName", r.function),
		}},
		{"Proxy: connections (all nodes)", [][]any{
			metric("AWS/RDS", "ClientConnections", ProxyNodeStatistic, "client connections", "ProxyName", r.proxy),
			metric("AWS/RDS", "DatabaseConnections", ProxyNodeStatistic, "database connections", "ProxyName", r.proxy),
			metric("AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned", ProxyNodeStatistic, "pinned", "ProxyName", r.proxy),
		}},
		{"Proxy: borrow latency (µs)", [][]any{
			metric("AWS/RDS", "DatabaseConnectionsBorrowLatency", "Average", "average", "ProxyName", r.proxy),
			metric("AWS/RDS", "DatabaseConnectionsBorrowLatency", "Maximum", "maximum", "ProxyName", r.proxy),
		}},
		{"Database: CPU (%)", [][]any{
			metric("AWS/RDS", "CPUUtilization", "Average", "CPU average", "DBInstanceIdentifier", r.db),
			metric("AWS/RDS", "CPUUtilization", "Maximum", "CPU maximum", "DBInstanceIdentifier", r.db),
		}},
		{"Database: connections", [][]any{
			metric("AWS/RDS", "DatabaseConnections", "Maximum", "connections", "DBInstanceIdentifier", r.db),
		}},
		{"Database: free storage (bytes)", [][]any{
			metric("AWS/RDS", "FreeStorageSpace", "Minimum", "free storage", "DBInstanceIdentifier", r.db),
		}},
		{"Database: freeable memory (bytes)", [][]any{
			metric("AWS/RDS", "FreeableMemory", "Minimum", "freeable memory", "DBInstanceIdentifier", r.db),
		}},
	}
	const width, height = 12, 6
	widgets := make([]widget, 0, len(rows)+1)
	widgets = append(widgets, widget{
		Type: "alarm", X: 0, Y: 0, Width: 2 * width, Height: height / 2,
		Properties: &alarmProperties{Title: "Alarms", Region: r.region, Alarms: r.alarms},
	})
	for i, row := range rows {
		widgets = append(widgets, widget{
			Type: "metric", X: (i % 2) * width, Y: height/2 + (i/2)*height, Width: width, Height: height,
			Properties: &widgetProperties{
				Title: row.title, Region: r.region, View: "timeSeries", Period: 60, Metrics: row.metrics,
			},
		})
	}
	b, err := json.Marshal(map[string]any{"widgets": widgets})
	if err != nil {
		return "", fmt.Errorf("observability: dashboard body: %w", err)
	}
	return string(b), nil
}
