package observability_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/consumer/emf"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/observability"
	"github.com/sluicehq/sluice/offline/componenttest"
)

func validArgs() observability.Args {
	o := componenttest.Settings().Observability
	o.OldestMessageAge, o.QuarantineAlarmRecords, o.BorrowLatency, o.KMSDeletionWindowDays = 600*time.Second, 10, 100*time.Millisecond, 7
	o.DBCPUAlarmPercent, o.DBFreeStorageAlarmGiB, o.DBFreeableMemoryAlarmMiB, o.DBConnectionsAlarm = 80, 2, 64, 50
	return observability.Args{
		Observability:     o,
		Name:              "sluice-dev",
		QueueARN:          pulumi.String(componenttest.ExampleQueueARN),
		DLQARN:            pulumi.String(componenttest.ExampleDLQARN),
		FunctionName:      pulumi.String("sluice-dev-consumer"),
		ProxyName:         pulumi.String("sluice-dev-proxy"),
		DBInstanceID:      pulumi.String("sluice-dev-db"),
		APIID:             pulumi.String("a1b2c3d4e5"),
		VisibilityTimeout: 186 * time.Second,
		FunctionTimeout:   30 * time.Second,
		PinnedConnections: 10,
		ClientConnections: 3,
		Tags:              map[string]string{"project": "sluice", "stack": "dev"},
	}
}

func TestArgsValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*observability.Args)
		field  string
	}{
		{"valid", func(*observability.Args) {}, ""},
		{"valid email", func(a *observability.Args) { a.AlarmEmail = "ops@example.com" }, ""},
		{"bad name", func(a *observability.Args) { a.Name = "sluice dev" }, "Name"},
		{"no queue", func(a *observability.Args) { a.QueueARN = nil }, "QueueARN"},
		{"no dlq", func(a *observability.Args) { a.DLQARN = nil }, "DLQARN"},
		{"no function", func(a *observability.Args) { a.FunctionName = nil }, "FunctionName"},
		{"no proxy", func(a *observability.Args) { a.ProxyName = nil }, "ProxyName"},
		{"no db", func(a *observability.Args) { a.DBInstanceID = nil }, "DBInstanceID"},
		{"no api", func(a *observability.Args) { a.APIID = nil }, "APIID"},
		{"age", func(a *observability.Args) { a.OldestMessageAge = 0 }, "Observability.OldestMessageAge"},
		{"latency", func(a *observability.Args) { a.BorrowLatency = 0 }, "Observability.BorrowLatency"},
		{"pinned", func(a *observability.Args) { a.PinnedConnections = 0 }, "PinnedConnections"},
		{"visibility", func(a *observability.Args) { a.VisibilityTimeout = 0 }, "VisibilityTimeout"},
		{"visibility above sqs", func(a *observability.Args) { a.VisibilityTimeout = 43201 * time.Second }, "VisibilityTimeout"},
		{"quarantined", func(a *observability.Args) { a.QuarantineAlarmRecords = 0 }, "Observability.QuarantineAlarmRecords"},
		{"timeout", func(a *observability.Args) { a.FunctionTimeout = 0 }, "FunctionTimeout"},
		{"clients", func(a *observability.Args) { a.ClientConnections = 0 }, "ClientConnections"},
		{"cpu", func(a *observability.Args) { a.DBCPUAlarmPercent = 101 }, "Observability.DBCPUAlarmPercent"},
		{"storage", func(a *observability.Args) { a.DBFreeStorageAlarmGiB = 0 }, "Observability.DBFreeStorageAlarmGiB"},
		{"memory", func(a *observability.Args) { a.DBFreeableMemoryAlarmMiB = 0 }, "Observability.DBFreeableMemoryAlarmMiB"},
		{"db connections", func(a *observability.Args) { a.DBConnectionsAlarm = 0 }, "Observability.DBConnectionsAlarm"},
		{"key window below kms's", func(a *observability.Args) { a.KMSDeletionWindowDays = 6 }, "Observability.KMSDeletionWindowDays"},
		{"key window above kms's", func(a *observability.Args) { a.KMSDeletionWindowDays = 31 }, "Observability.KMSDeletionWindowDays"},
		{"email", func(a *observability.Args) { a.AlarmEmail = "Ops <ops@example.com>" }, "Observability.AlarmEmail"},
		{"not email", func(a *observability.Args) { a.AlarmEmail = "ops" }, "Observability.AlarmEmail"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { componenttest.CheckValidate(t, validArgs, tt.modify, tt.field) })
	}
}

func TestObservability(t *testing.T) {
	var url, topicARN string
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		a := validArgs()
		a.AlarmEmail = "ops@example.com"
		o, err := observability.New(ctx, "observability", a)
		if err != nil {
			return err
		}
		o.DashboardURL.ApplyT(func(s string) string { url = s; return s })
		o.TopicARN.ApplyT(func(s string) string { topicARN = s; return s })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// Alarms: one per failure mode, with real metric names and dimensions
	// taken from the given resources, and thresholds from the Args.
	const gib, mib = 1 << 30, 1 << 20
	want := map[string]struct {
		namespace, metric, dim, value, stat, comparison string
		threshold                                       float64
		evaluations, datapoints                         int
	}{
		"sluice-dev-dlq-not-empty":            {"AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", "sluice-dev-submissions-dlq", "Maximum", "GreaterThanOrEqualToThreshold", 1, 1, 1},
		"sluice-dev-oldest-message-age":       {"AWS/SQS", "ApproximateAgeOfOldestMessage", "QueueName", "sluice-dev-submissions", "Maximum", "GreaterThanThreshold", 600, 5, 3},
		"sluice-dev-records-retried":          {"Sluice", "RecordsRetried", "FunctionName", "sluice-dev-consumer", "Sum", "GreaterThanOrEqualToThreshold", 1, 5, 2}, // 186 s → 4 minutes + 1
		"sluice-dev-records-quarantined":      {"Sluice", "RecordsQuarantined", "FunctionName", "sluice-dev-consumer", "Sum", "GreaterThanOrEqualToThreshold", 10, 1, 1},
		"sluice-dev-consumer-errors":          {"AWS/Lambda", "Errors", "FunctionName", "sluice-dev-consumer", "Sum", "GreaterThanOrEqualToThreshold", 1, 1, 1},
		"sluice-dev-consumer-throttles":       {"AWS/Lambda", "Throttles", "FunctionName", "sluice-dev-consumer", "Sum", "GreaterThanOrEqualToThreshold", 1, 1, 1},
		"sluice-dev-consumer-duration":        {"AWS/Lambda", "Duration", "FunctionName", "sluice-dev-consumer", "Maximum", "GreaterThanThreshold", 24000, 5, 2},
		"sluice-dev-proxy-borrow-latency":     {"AWS/RDS", "DatabaseConnectionsBorrowLatency", "ProxyName", "sluice-dev-proxy", "Average", "GreaterThanThreshold", 100000, 5, 3}, // µs
		"sluice-dev-proxy-pinned-sessions":    {"AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned", "ProxyName", "sluice-dev-proxy", "Sum", "GreaterThanThreshold", 10, 5, 3},
		"sluice-dev-proxy-client-connections": {"AWS/RDS", "ClientConnections", "ProxyName", "sluice-dev-proxy", "Sum", "GreaterThanThreshold", 3, 5, 3},
		"sluice-dev-db-cpu":                   {"AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", "sluice-dev-db", "Average", "GreaterThanThreshold", 80, 3, 3},
		"sluice-dev-db-free-storage":          {"AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", "sluice-dev-db", "Minimum", "LessThanThreshold", 2 * gib, 1, 1},
		"sluice-dev-db-freeable-memory":       {"AWS/RDS", "FreeableMemory", "DBInstanceIdentifier", "sluice-dev-db", "Minimum", "LessThanThreshold", 64 * mib, 2, 2},
		"sluice-dev-db-connections":           {"AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "sluice-dev-db", "Maximum", "GreaterThanThreshold", 50, 5, 3},
	}
	alarms := m.All("aws:cloudwatch/metricAlarm:MetricAlarm")
	if len(alarms) != len(want) {
		t.Fatalf("%d alarms, want %d", len(alarms), len(want))
	}
	topic := m.One(t, "aws:sns/topic:Topic", "observability-alarms")
	wantTopicARN := "arn:aws:sns:ap-northeast-1:123456789012:sluice-dev-alarms"
	if topicARN != wantTopicARN {
		t.Errorf("TopicARN %q, want %q", topicARN, wantTopicARN)
	}
	for _, a := range alarms {
		name := a.Inputs["name"].StringValue()
		w, ok := want[name]
		if !ok {
			t.Errorf("unexpected alarm %s", name)
			continue
		}
		dims := a.Inputs["dimensions"].ObjectValue()
		if a.Inputs["namespace"].StringValue() != w.namespace || a.Inputs["metricName"].StringValue() != w.metric ||
			len(dims) != 1 || dims[resource.PropertyKey(w.dim)].StringValue() != w.value {
			t.Errorf("alarm %s watches %v %v %v, want %s %s %s=%s", name, a.Inputs["namespace"], a.Inputs["metricName"], dims, w.namespace, w.metric, w.dim, w.value)
		}
		if got := a.Inputs["statistic"].StringValue(); got != w.stat {
			t.Errorf("alarm %s statistic %s, want %s", name, got, w.stat)
		}
		if got := a.Inputs["comparisonOperator"].StringValue(); got != w.comparison {
			t.Errorf("alarm %s comparison %s, want %s", name, got, w.comparison)
		}
		if got := a.Inputs["threshold"].NumberValue(); got != w.threshold {
			t.Errorf("alarm %s threshold %v, want %v", name, got, w.threshold)
		}
		if e, d := a.Inputs["evaluationPeriods"].NumberValue(), a.Inputs["datapointsToAlarm"].NumberValue(); int(e) != w.evaluations || int(d) != w.datapoints {
			t.Errorf("alarm %s fires on %v of %v periods, want %d of %d", name, d, e, w.datapoints, w.evaluations)
		}
		// The consumer's alarms name the unit of the consumer's lines; an
		// alarm on another unit would see no datapoint at all.
		if w.namespace == emf.Namespace {
			d, _ := emf.ConsumerMetric(w.metric)
			if got := a.Inputs["unit"].StringValue(); got != string(d.Unit) {
				t.Errorf("alarm %s unit %q, want the consumer's %q", name, got, d.Unit)
			}
		}
		acts := a.Inputs["alarmActions"].ArrayValue()
		if len(acts) != 1 || acts[0].StringValue() != wantTopicARN {
			t.Errorf("alarm %s actions %v, want the alarm topic", name, acts)
		}
	}

	// The topic is encrypted with the key CloudWatch may use, and only
	// from this account.
	key := m.One(t, "aws:kms/key:Key", "observability-alarm-key")
	if got, want := topic.Inputs["kmsMasterKeyId"].StringValue(), key.Outputs["arn"].StringValue(); want == "" || got != want {
		t.Errorf("topic key %v, want the alarm key's ARN", topic.Inputs["kmsMasterKeyId"])
	}
	policy, err := iamdoc.Parse(key.Inputs["policy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	if err := policy.CheckWildcards(observability.KeyAdministrationSid, observability.KeyCloudWatchSid); err != nil {
		t.Error(err)
	}
	if err := policy.CheckWildcards(); err == nil {
		t.Error("the key policy's named exceptions were not detected as wildcards")
	}
	admin, _ := policy.Find(observability.KeyAdministrationSid)
	if admin.Principal == nil || admin.Principal.AWS != "arn:aws:iam::123456789012:root" {
		t.Errorf("key administrator %+v, want this account's root", admin.Principal)
	}
	cw, _ := policy.Find(observability.KeyCloudWatchSid)
	wantAlarms := "arn:aws:cloudwatch:ap-northeast-1:123456789012:alarm:sluice-dev-*"
	if cw.Principal == nil || cw.Principal.Service != "cloudwatch.amazonaws.com" ||
		cw.Condition["StringEquals"]["aws:SourceAccount"] != "123456789012" || cw.Condition["ArnLike"]["aws:SourceArn"] != wantAlarms {
		t.Errorf("CloudWatch key statement %+v, want it limited to this account's %s", cw, wantAlarms)
	}
	for _, a := range alarms {
		if !strings.HasPrefix(a.Inputs["name"].StringValue(), "sluice-dev-") {
			t.Errorf("alarm %s falls outside the key and topic grants (%s)", a.Inputs["name"].StringValue(), wantAlarms)
		}
	}

	// Only this stack's alarms may publish, and only over TLS.
	tp := m.One(t, "aws:sns/topicPolicy:TopicPolicy", "observability-alarms-policy")
	if tp.Inputs["arn"].StringValue() != wantTopicARN {
		t.Errorf("topic policy attached to %v", tp.Inputs["arn"])
	}
	topicPolicy, err := iamdoc.Parse(tp.Inputs["policy"].StringValue())
	if err != nil {
		t.Fatal(err)
	}
	if err := topicPolicy.CheckWildcards(); err != nil {
		t.Error(err)
	}
	pub, _ := topicPolicy.Find(observability.TopicPublishSid)
	if pub.Principal == nil || pub.Principal.Service != "cloudwatch.amazonaws.com" || strings.Join(pub.Resource, ",") != wantTopicARN ||
		strings.Join(pub.Action, ",") != "sns:Publish" || pub.Condition["ArnLike"]["aws:SourceArn"] != wantAlarms {
		t.Errorf("publish statement %+v", pub)
	}
	tls, _ := topicPolicy.Find(observability.TopicTLSSid)
	if tls.Effect != "Deny" || tls.Condition["Bool"]["aws:SecureTransport"] != "false" {
		t.Errorf("TLS statement %+v", tls)
	}
	for _, a := range alarms {
		if !a.DependsOnName("observability-alarms-policy") {
			t.Errorf("alarm %s does not wait for the topic policy", a.Name)
		}
	}
	if !key.Inputs["enableKeyRotation"].BoolValue() {
		t.Error("alarm key rotation off")
	}

	sub := m.One(t, "aws:sns/topicSubscription:TopicSubscription", "observability-alarm-email")
	if sub.Inputs["protocol"].StringValue() != "email" || sub.Inputs["endpoint"].StringValue() != "ops@example.com" ||
		sub.Inputs["topic"].StringValue() != wantTopicARN {
		t.Errorf("subscription %v", sub.Inputs)
	}

	// The dashboard is valid JSON, shows the state of every alarm and has a
	// line, with the alarm's statistic, for every alarmed metric.
	dash := m.One(t, "aws:cloudwatch/dashboard:Dashboard", "observability-dashboard")
	var body struct {
		Widgets []struct {
			Type       string `json:"type"`
			Properties struct {
				Region  string   `json:"region"`
				Metrics [][]any  `json:"metrics"`
				Alarms  []string `json:"alarms"`
			} `json:"properties"`
		} `json:"widgets"`
	}
	if err := json.Unmarshal([]byte(dash.Inputs["dashboardBody"].StringValue()), &body); err != nil {
		t.Fatalf("dashboard body: %v", err)
	}
	lines := map[string]bool{} // "namespace metric dim=value stat"
	shownAlarms := map[string]bool{}
	for _, w := range body.Widgets {
		if w.Properties.Region != "ap-northeast-1" {
			t.Errorf("widget region %q", w.Properties.Region)
		}
		for _, arn := range w.Properties.Alarms {
			shownAlarms[arn] = true
		}
		for _, mt := range w.Properties.Metrics {
			key := mt[0].(string) + " " + mt[1].(string)
			for i := 2; i+1 < len(mt); i += 2 {
				key += " " + mt[i].(string) + "=" + mt[i+1].(string)
			}
			opts, _ := mt[len(mt)-1].(map[string]any)
			lines[key+" "+fmt.Sprint(opts["stat"])] = true
		}
	}
	for _, a := range alarms {
		key := a.Inputs["namespace"].StringValue() + " " + a.Inputs["metricName"].StringValue()
		for k, v := range a.Inputs["dimensions"].ObjectValue() {
			key += " " + string(k) + "=" + v.StringValue()
		}
		key += " " + a.Inputs["statistic"].StringValue()
		if !lines[key] {
			t.Errorf("alarm %s: the dashboard has no line %q", a.Inputs["name"].StringValue(), key)
		}
		if arn := a.Outputs["arn"].StringValue(); !shownAlarms[arn] {
			t.Errorf("alarm %s (%s) is missing from the dashboard's alarm widget", a.Inputs["name"].StringValue(), arn)
		}
	}
	if len(shownAlarms) != len(alarms) {
		t.Errorf("the alarm widget shows %d alarms, want %d", len(shownAlarms), len(alarms))
	}
	for _, k := range []string{
		"AWS/ApiGateway 4xx ApiId=a1b2c3d4e5 Sum", "AWS/ApiGateway 5xx ApiId=a1b2c3d4e5 Sum", "AWS/ApiGateway Count ApiId=a1b2c3d4e5 Sum",
		"AWS/SQS ApproximateNumberOfMessagesVisible QueueName=sluice-dev-submissions Maximum",
		"AWS/Lambda Invocations FunctionName=sluice-dev-consumer Sum",
		"AWS/Lambda ConcurrentExecutions FunctionName=sluice-dev-consumer Maximum",
		"AWS/RDS DatabaseConnections ProxyName=sluice-dev-proxy Sum",
		"AWS/RDS ClientConnections ProxyName=sluice-dev-proxy Sum",
		"AWS/RDS DatabaseConnectionsCurrentlySessionPinned ProxyName=sluice-dev-proxy Sum",
		"Sluice RecordsStored FunctionName=sluice-dev-consumer Sum",
		"Sluice RecordsReceived FunctionName=sluice-dev-consumer Sum",
	} {
		if !lines[k] {
			t.Errorf("dashboard lacks %s", k)
		}
	}
	if url != "https://ap-northeast-1.console.aws.amazon.com/cloudwatch/home?region=ap-northeast-1#dashboards:name=sluice-dev" {
		t.Errorf("dashboard URL %q", url)
	}

	m.CheckParentedAndTagged(t, observability.Type, "dev")
}

func TestNoEmailNoSubscription(t *testing.T) {
	m, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		_, err := observability.New(ctx, "observability", validArgs())
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(m.All("aws:sns/topicSubscription:TopicSubscription")); n != 0 {
		t.Errorf("%d subscriptions without AlarmEmail", n)
	}
}

func TestBadQueueARN(t *testing.T) {
	a := validArgs()
	a.QueueARN = pulumi.String("sluice-dev-submissions")
	_, err := componenttest.Record(componenttest.ExampleRegion, func(ctx *pulumi.Context) error {
		_, err := observability.New(ctx, "observability", a)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "not a regional ARN") {
		t.Fatalf("error = %v, want the ARN rejected", err)
	}
}
