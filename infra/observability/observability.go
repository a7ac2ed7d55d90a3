// Package observability defines the alarms and the CloudWatch dashboard of
// a Sluice pipeline: one alarm per failure mode, from the edge's queue to
// the database, and a dashboard that shows every alarmed metric. Alarms
// notify an SNS topic encrypted with a customer-managed KMS key
// (CloudWatch cannot publish to a topic encrypted with the AWS-managed
// aws/sns key, whose policy it is not named in).
//
// The consumer's own metrics (records retried and quarantined) are watched
// under the names, namespace, dimension and units of package
// consumer/emf, the definition the consumer writes its lines with.
package observability

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/consumer/emf"
	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/settings"
)

// Type is the component's Pulumi type token.
const Type = "sluice:observability:Observability"

// Sids of the alarm key's policy. Both have Resource "*", which in a key
// policy means "this key"; KeyAdministrationSid also grants kms:* to the
// account, the statement of AWS's default key policy without which the key
// could become unmanageable.
const (
	KeyAdministrationSid = "AccountAdministersKey"
	KeyCloudWatchSid     = "CloudWatchAlarmsEncryptToTopic"
)

// Sids of the alarm topic's policy.
const (
	TopicPublishSid = "CloudWatchAlarmsPublish"
	TopicTLSSid     = "DenyWithoutTLS"
)

var dashboardName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

// maxVisibility is SQS's largest visibility timeout (12 hours); the
// records-retried window it sets stays within CloudWatch's one day of
// one-minute evaluation periods.
const maxVisibility = 12 * time.Hour

// Alarm keys: each alarm is named <Name>-<key>.
const (
	AlarmDLQNotEmpty            = "dlq-not-empty"
	AlarmOldestMessageAge       = "oldest-message-age"
	AlarmRecordsRetried         = "records-retried"
	AlarmRecordsQuarantined     = "records-quarantined"
	AlarmConsumerErrors         = "consumer-errors"
	AlarmConsumerThrottles      = "consumer-throttles"
	AlarmConsumerDuration       = "consumer-duration"
	AlarmProxyBorrowLatency     = "proxy-borrow-latency"
	AlarmProxyPinnedSessions    = "proxy-pinned-sessions"
	AlarmProxyClientConnections = "proxy-client-connections"
	AlarmDBCPU                  = "db-cpu"
	AlarmDBFreeStorage          = "db-free-storage"
	AlarmDBFreeableMemory       = "db-freeable-memory"
	AlarmDBConnections          = "db-connections"
)

// DurationAlarmFraction is the share of the consumer's timeout above which
// an invocation counts as near the timeout.
const DurationAlarmFraction = 0.8

// Args configures the alarms and the dashboard. Names of watched resources
// are pulumi inputs taken from the components that own them.
type Args struct {
	// Observability is the stack's Observability settings
	// (docs/configuration.md), declared and bounded once in
	// infra/settings: the alarms' thresholds, the alarm key's deletion
	// window, and the address subscribed to the alarm topic (the
	// recipient must confirm).
	settings.Observability
	// Name prefixes the alarm names and names the dashboard
	// (A-Z a-z 0-9 _ -), e.g. "sluice-dev".
	Name string
	// QueueARN and DLQARN are the main queue and its dead-letter queue; the
	// queue names (metric dimensions), the region and the account are taken
	// from them.
	QueueARN pulumi.StringInput
	DLQARN   pulumi.StringInput
	// FunctionName is the consumer Lambda's name.
	FunctionName pulumi.StringInput
	// ProxyName is the RDS Proxy's name (the ProxyName dimension).
	ProxyName pulumi.StringInput
	// DBInstanceID is the RDS instance identifier.
	DBInstanceID pulumi.StringInput
	// APIID is the HTTP API's id.
	APIID pulumi.StringInput
	// VisibilityTimeout is the main queue's visibility timeout (1 s to
	// 12 h): a retried record comes back after it, so the records-retried
	// alarm watches that long plus a minute, in which a lasting failure
	// shows twice and a transient one once.
	VisibilityTimeout time.Duration
	// FunctionTimeout is the consumer's timeout (> 0); the duration alarm
	// fires when an invocation takes more than 80 % of it.
	FunctionTimeout time.Duration
	// PinnedConnections raises the pinning alarm when more client sessions
	// than this are pinned (≥ 1), summed over the proxy's nodes.
	PinnedConnections int
	// ClientConnections raises the proxy's client-connection alarm when more
	// clients than this (≥ 1) are connected, summed over the proxy's nodes:
	// the expected sessions (the migrator, the consumer's instances and the
	// ones recycled sandboxes leave open until the proxy's idle client
	// timeout), anything beyond is a leak or a client that should not be
	// there.
	ClientConnections int
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports every invalid setting, and the first invalid input, by
// field name.
func (a Args) Validate() error {
	invalid := limits.Invalid
	var input error
	switch {
	case !dashboardName.MatchString(a.Name):
		input = invalid("Name", "%q: want 1–255 characters of A-Z a-z 0-9 _ -", a.Name)
	case a.QueueARN == nil:
		input = invalid("QueueARN", "required")
	case a.DLQARN == nil:
		input = invalid("DLQARN", "required")
	case a.FunctionName == nil:
		input = invalid("FunctionName", "required")
	case a.ProxyName == nil:
		input = invalid("ProxyName", "required")
	case a.DBInstanceID == nil:
		input = invalid("DBInstanceID", "required")
	case a.APIID == nil:
		input = invalid("APIID", "required")
	case a.VisibilityTimeout < time.Second || a.VisibilityTimeout > maxVisibility:
		input = invalid("VisibilityTimeout", "%v: want 1s–%v", a.VisibilityTimeout, maxVisibility)
	case a.FunctionTimeout < time.Second:
		input = invalid("FunctionTimeout", "%v: want at least 1s", a.FunctionTimeout)
	case a.PinnedConnections < 1:
		input = invalid("PinnedConnections", "%d: want at least 1", a.PinnedConnections)
	case a.ClientConnections < 1:
		input = invalid("ClientConnections", "%d: want at least 1", a.ClientConnections)
	}
	return errors.Join(a.Observability.Validate(), input)
}

// Observability is the alarm topic, the alarms and the dashboard.
type Observability struct {
	pulumi.ResourceState

	Topic     *sns.Topic
	Key       *kms.Key
	Alarms    map[string]*cloudwatch.MetricAlarm
	Dashboard *cloudwatch.Dashboard

	// TopicARN is the alarm topic's ARN.
	TopicARN pulumi.StringOutput `pulumi:"topicArn"`
	// DashboardName is the CloudWatch dashboard's name.
	DashboardName pulumi.StringOutput `pulumi:"dashboardName"`
	// DashboardURL opens the dashboard in the CloudWatch console.
	DashboardURL pulumi.StringOutput `pulumi:"dashboardUrl"`
}

// arnParts are the fields of an ARN this package needs.
type arnParts struct{ partition, region, account, resource string }

func parseARN(arn string) (arnParts, error) {
	p := strings.SplitN(arn, ":", 6)
	if len(p) != 6 || p[0] != "arn" || p[3] == "" || p[4] == "" || p[5] == "" {
		return arnParts{}, fmt.Errorf("observability: %q is not a regional ARN", arn)
	}
	return arnParts{partition: p[1], region: p[3], account: p[4], resource: p[5]}, nil
}

// New registers the alarms and the dashboard (type Type).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Observability, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("observability %s: %w", name, err)
	}
	c := &Observability{Alarms: map[string]*cloudwatch.MetricAlarm{}}
	if err := ctx.RegisterComponentResource(Type, name, c, opts...); err != nil {
		return nil, fmt.Errorf("observability %s: %w", name, err)
	}
	child := pulumi.Parent(c)
	tags := pulumi.ToStringMap(args.Tags)

	queue := args.QueueARN.ToStringOutput().ApplyT(parseARN)
	field := func(pick func(arnParts) string) pulumi.StringOutput {
		return queue.ApplyT(func(v any) string { return pick(v.(arnParts)) }).(pulumi.StringOutput)
	}
	partition := field(func(p arnParts) string { return p.partition })
	region := field(func(p arnParts) string { return p.region })
	account := field(func(p arnParts) string { return p.account })
	queueName := field(func(p arnParts) string { return p.resource })
	dlqName := args.DLQARN.ToStringOutput().ApplyT(func(arn string) (string, error) {
		p, err := parseARN(arn)
		return p.resource, err
	}).(pulumi.StringOutput)

	// CloudWatch may use the key and the topic only for this stack's alarms
	// in this account (the confused-deputy conditions AWS recommends).
	alarmsARN := pulumi.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:%s-*", partition, region, account, args.Name)
	cloudWatchOnly := func(acct, alarms string) map[string]map[string]string {
		return map[string]map[string]string{
			"StringEquals": {"aws:SourceAccount": acct},
			"ArnLike":      {"aws:SourceArn": alarms},
		}
	}
	keyPolicy := pulumi.All(partition, account, alarmsARN).ApplyT(func(v []any) (string, error) {
		part, acct, alarms := v[0].(string), v[1].(string), v[2].(string)
		admin := iamdoc.Allow(KeyAdministrationSid, []string{"kms:*"}, "*")
		admin.Principal = &iamdoc.Principal{AWS: "arn:" + part + ":iam::" + acct + ":root"}
		cw := iamdoc.Allow(KeyCloudWatchSid, []string{"kms:Decrypt", "kms:GenerateDataKey*"}, "*")
		cw.Principal = &iamdoc.Principal{Service: "cloudwatch.amazonaws.com"}
		cw.Condition = cloudWatchOnly(acct, alarms)
		return iamdoc.New(admin, cw).JSON()
	}).(pulumi.StringOutput)
	key, err := kms.NewKey(ctx, name+"-alarm-key", &kms.KeyArgs{
		Description:          pulumi.Sprintf("Encrypts the %s alarm topic", args.Name),
		EnableKeyRotation:    pulumi.Bool(true),
		DeletionWindowInDays: pulumi.Int(args.KMSDeletionWindowDays),
		Policy:               keyPolicy,
		Tags:                 tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("key %s: %w", name+"-alarm-key", err)
	}

	topic, err := sns.NewTopic(ctx, name+"-alarms", &sns.TopicArgs{
		Name:           pulumi.String(args.Name + "-alarms"),
		KmsMasterKeyId: key.Arn,
		Tags:           tags,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("topic %s: %w", name+"-alarms", err)
	}
	topicPolicy, err := sns.NewTopicPolicy(ctx, name+"-alarms-policy", &sns.TopicPolicyArgs{
		Arn: topic.Arn,
		Policy: pulumi.All(topic.Arn, account, alarmsARN).ApplyT(func(v []any) (string, error) {
			topicARN, acct, alarms := v[0].(string), v[1].(string), v[2].(string)
			publish := iamdoc.Allow(TopicPublishSid, []string{"sns:Publish"}, topicARN)
			publish.Principal = &iamdoc.Principal{Service: "cloudwatch.amazonaws.com"}
			publish.Condition = cloudWatchOnly(acct, alarms)
			return iamdoc.New(publish, iamdoc.Statement{
				Sid:       TopicTLSSid,
				Effect:    "Deny",
				Principal: &iamdoc.Principal{AWS: "*"},
				Action:    []string{"sns:Publish"},
				Resource:  []string{topicARN},
				Condition: map[string]map[string]string{"Bool": {"aws:SecureTransport": "false"}},
			}).JSON()
		}).(pulumi.StringOutput),
	}, child)
	if err != nil {
		return nil, fmt.Errorf("topic policy %s: %w", name+"-alarms-policy", err)
	}
	if args.AlarmEmail != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-alarm-email", &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(args.AlarmEmail),
		}, child); err != nil {
			return nil, fmt.Errorf("topic subscription %s: %w", name+"-alarm-email", err)
		}
	}

	actions := pulumi.Array{topic.Arn}
	var alarmARNs pulumi.StringArray
	for _, spec := range alarmSpecs(args, queueName, dlqName) {
		alarmArgs := &cloudwatch.MetricAlarmArgs{
			Name:               pulumi.String(args.Name + "-" + spec.key),
			AlarmDescription:   pulumi.String(spec.description),
			Namespace:          pulumi.String(spec.namespace),
			MetricName:         pulumi.String(spec.metric),
			Dimensions:         spec.dimensions,
			Statistic:          pulumi.String(spec.statistic),
			Period:             pulumi.Int(spec.period),
			EvaluationPeriods:  pulumi.Int(spec.evaluations),
			DatapointsToAlarm:  pulumi.Int(spec.datapoints),
			Threshold:          pulumi.Float64(spec.threshold),
			ComparisonOperator: pulumi.String(spec.comparison),
			// No data means no traffic (an idle queue, a function not
			// invoked), which is healthy.
			TreatMissingData: pulumi.String("notBreaching"),
			AlarmActions:     actions,
			OkActions:        actions,
			Tags:             tags,
		}
		if spec.unit != "" {
			// An alarm with a unit sees only datapoints of that unit, so
			// the consumer's alarms name the unit its lines declare.
			alarmArgs.Unit = pulumi.String(string(spec.unit))
		}
		alarm, err := cloudwatch.NewMetricAlarm(ctx, name+"-"+spec.key, alarmArgs, child, pulumi.DependsOn([]pulumi.Resource{topicPolicy}))
		if err != nil {
			return nil, fmt.Errorf("metric alarm %s: %w", name+"-"+spec.key, err)
		}
		c.Alarms[spec.key] = alarm
		alarmARNs = append(alarmARNs, alarm.Arn)
	}

	body := pulumi.All(region, queueName, dlqName, args.FunctionName, args.ProxyName, args.DBInstanceID, args.APIID, alarmARNs).
		ApplyT(func(v []any) (string, error) {
			return dashboardBody(resources{
				region: v[0].(string), queue: v[1].(string), dlq: v[2].(string), function: v[3].(string),
				proxy: v[4].(string), db: v[5].(string), api: v[6].(string), alarms: v[7].([]string),
			})
		}).(pulumi.StringOutput)
	dashboard, err := cloudwatch.NewDashboard(ctx, name+"-dashboard", &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(args.Name),
		DashboardBody: body,
	}, child)
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", name+"-dashboard", err)
	}

	c.Topic, c.Key, c.Dashboard = topic, key, dashboard
	c.TopicARN = topic.Arn
	c.DashboardName = dashboard.DashboardName
	c.DashboardURL = pulumi.Sprintf("https://%s.console.aws.amazon.com/cloudwatch/home?region=%s#dashboards:name=%s", region, region, dashboard.DashboardName)
	if err := ctx.RegisterResourceOutputs(c, pulumi.Map{
		"topicArn":      c.TopicARN,
		"dashboardName": c.DashboardName,
		"dashboardUrl":  c.DashboardURL,
	}); err != nil {
		return nil, fmt.Errorf("observability %s outputs: %w", name, err)
	}
	return c, nil
}

// ProxyNodeStatistic is the statistic of the proxy's connection counts:
// RDS publishes them per proxy node, and for ClientConnections,
// DatabaseConnections and DatabaseConnectionsCurrentlySessionPinned "the
// most useful statistic is Sum" (RDS User Guide: Monitoring RDS Proxy
// metrics with Amazon CloudWatch); Maximum is the busiest node's count
// only, which a proxy spread over two or more nodes under-reports.
const ProxyNodeStatistic = "Sum"

// alarmSpec is one alarm: a single metric, a statistic over a period, and
// how many of the last evaluations periods must breach.
type alarmSpec struct {
	key, description, namespace, metric, statistic, comparison string
	unit                                                       emf.Unit // consumer metrics only
	dimensions                                                 pulumi.StringMap
	threshold                                                  float64
	period, evaluations, datapoints                            int
}

// alarmSpecs lists the alarms, one per failure mode, in pipeline order.
func alarmSpecs(a Args, queueName, dlqName pulumi.StringOutput) []alarmSpec {
	queue, dlq := pulumi.StringMap{"QueueName": queueName}, pulumi.StringMap{"QueueName": dlqName}
	lambdaFn := pulumi.StringMap{"FunctionName": a.FunctionName}
	consumerFn := pulumi.StringMap{emf.DimensionFunctionName: a.FunctionName}
	proxy := pulumi.StringMap{"ProxyName": a.ProxyName}
	db := pulumi.StringMap{"DBInstanceIdentifier": a.DBInstanceID}
	consumerMetric := func(name string) (string, emf.Unit) {
		d, _ := emf.ConsumerMetric(name)
		return d.Name, d.Unit
	}
	retried, retriedUnit := consumerMetric(emf.RecordsRetried)
	quarantined, quarantinedUnit := consumerMetric(emf.RecordsQuarantined)
	// A retried record is invisible for the visibility timeout, then
	// delivered again: a window of that length plus a minute sees a lasting
	// failure twice even when nothing new arrives.
	retryWindow := (int(a.VisibilityTimeout/time.Second)+59)/60 + 1
	durationLimit := DurationAlarmFraction * float64(a.FunctionTimeout.Milliseconds())
	const gib, mib = 1 << 30, 1 << 20
	return []alarmSpec{
		{key: AlarmDLQNotEmpty, description: "Messages reached the dead-letter queue: find the cause, fix it, then redrive them (docs/operating.md, DLQ redrive).",
			namespace: "AWS/SQS", metric: "ApproximateNumberOfMessagesVisible", statistic: "Maximum", comparison: "GreaterThanOrEqualToThreshold",
			dimensions: dlq, threshold: 1, period: 60, evaluations: 1, datapoints: 1},
		{key: AlarmOldestMessageAge, description: fmt.Sprintf("The oldest queued submission is older than %d s: the consumer is not keeping up or not running.", int(a.OldestMessageAge.Seconds())),
			namespace: "AWS/SQS", metric: "ApproximateAgeOfOldestMessage", statistic: "Maximum", comparison: "GreaterThanThreshold",
			dimensions: queue, threshold: a.OldestMessageAge.Seconds(), period: 60, evaluations: 5, datapoints: 3},
		{key: AlarmRecordsRetried, description: fmt.Sprintf("Records are being handed back to SQS for retry in 2 of the last %d minutes: the database or the proxy is unreachable or failing; they reach the DLQ after maxReceiveCount receives.", retryWindow),
			namespace: emf.Namespace, metric: retried, unit: retriedUnit, statistic: "Sum", comparison: "GreaterThanOrEqualToThreshold",
			dimensions: consumerFn, threshold: 1, period: 60, evaluations: retryWindow, datapoints: 2},
		{key: AlarmRecordsQuarantined, description: fmt.Sprintf("At least %d records were quarantined in 5 minutes: a client is sending data that fails validation (see the quarantine table's reasons).", a.QuarantineAlarmRecords),
			namespace: emf.Namespace, metric: quarantined, unit: quarantinedUnit, statistic: "Sum", comparison: "GreaterThanOrEqualToThreshold",
			dimensions: consumerFn, threshold: float64(a.QuarantineAlarmRecords), period: 300, evaluations: 1, datapoints: 1},
		{key: AlarmConsumerErrors, description: "The consumer returned errors (whole batches returned to the queue): a configuration error or a database unreachable at a cold start.",
			namespace: "AWS/Lambda", metric: "Errors", statistic: "Sum", comparison: "GreaterThanOrEqualToThreshold",
			dimensions: lambdaFn, threshold: 1, period: 300, evaluations: 1, datapoints: 1},
		{key: AlarmConsumerThrottles, description: "Consumer invocations were throttled: reserved concurrency is below the mapping's maximum concurrency, or the account limit was hit.",
			namespace: "AWS/Lambda", metric: "Throttles", statistic: "Sum", comparison: "GreaterThanOrEqualToThreshold",
			dimensions: lambdaFn, threshold: 1, period: 300, evaluations: 1, datapoints: 1},
		{key: AlarmConsumerDuration, description: fmt.Sprintf("Consumer invocations take more than %.0f ms, %.0f %% of the %d s timeout: the database is slow or unreachable.", durationLimit, DurationAlarmFraction*100, int(a.FunctionTimeout.Seconds())),
			namespace: "AWS/Lambda", metric: "Duration", statistic: "Maximum", comparison: "GreaterThanThreshold",
			dimensions: lambdaFn, threshold: durationLimit, period: 60, evaluations: 5, datapoints: 2},
		// DatabaseConnectionsBorrowLatency is reported in microseconds.
		{key: AlarmProxyBorrowLatency, description: fmt.Sprintf("Borrowing a database connection from the RDS Proxy takes more than %d ms: the pool is exhausted.", a.BorrowLatency.Milliseconds()),
			namespace: "AWS/RDS", metric: "DatabaseConnectionsBorrowLatency", statistic: "Average", comparison: "GreaterThanThreshold",
			dimensions: proxy, threshold: float64(a.BorrowLatency.Microseconds()), period: 60, evaluations: 5, datapoints: 3},
		{key: AlarmProxyPinnedSessions, description: fmt.Sprintf("More than %d client sessions are pinned to database connections.", a.PinnedConnections),
			namespace: "AWS/RDS", metric: "DatabaseConnectionsCurrentlySessionPinned", statistic: ProxyNodeStatistic, comparison: "GreaterThanThreshold",
			dimensions: proxy, threshold: float64(a.PinnedConnections), period: 60, evaluations: 5, datapoints: 3},
		{key: AlarmProxyClientConnections, description: fmt.Sprintf("More than %d clients are connected to the RDS Proxy: more than the migrator and two per consumer instance (a recycled sandbox keeps its connection until the proxy's idle client timeout).", a.ClientConnections),
			namespace: "AWS/RDS", metric: "ClientConnections", statistic: ProxyNodeStatistic, comparison: "GreaterThanThreshold",
			dimensions: proxy, threshold: float64(a.ClientConnections), period: 60, evaluations: 5, datapoints: 3},
		{key: AlarmDBCPU, description: fmt.Sprintf("Database CPU has averaged above %d %% for 15 minutes: the instance is too small for the drain rate (lower maxConcurrency or raise dbInstanceClass).", a.DBCPUAlarmPercent),
			namespace: "AWS/RDS", metric: "CPUUtilization", statistic: "Average", comparison: "GreaterThanThreshold",
			dimensions: db, threshold: float64(a.DBCPUAlarmPercent), period: 300, evaluations: 3, datapoints: 3},
		{key: AlarmDBFreeStorage, description: fmt.Sprintf("The database has less than %d GiB of free storage.", a.DBFreeStorageAlarmGiB),
			namespace: "AWS/RDS", metric: "FreeStorageSpace", statistic: "Minimum", comparison: "LessThanThreshold",
			dimensions: db, threshold: float64(a.DBFreeStorageAlarmGiB) * gib, period: 300, evaluations: 1, datapoints: 1},
		{key: AlarmDBFreeableMemory, description: fmt.Sprintf("The database has had less than %d MiB of freeable memory for 10 minutes.", a.DBFreeableMemoryAlarmMiB),
			namespace: "AWS/RDS", metric: "FreeableMemory", statistic: "Minimum", comparison: "LessThanThreshold",
			dimensions: db, threshold: float64(a.DBFreeableMemoryAlarmMiB) * mib, period: 300, evaluations: 2, datapoints: 2},
		{key: AlarmDBConnections, description: fmt.Sprintf("More than %d connections are open on the database: near max_connections, new proxy connections will fail.", a.DBConnectionsAlarm),
			namespace: "AWS/RDS", metric: "DatabaseConnections", statistic: "Maximum", comparison: "GreaterThanThreshold",
			dimensions: db, threshold: float64(a.DBConnectionsAlarm), period: 60, evaluations: 5, datapoints: 3},
	}
}
