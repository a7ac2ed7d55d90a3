// Package observability defines the alarms and the CloudWatch dashboard of
// a Sluice pipeline. Alarms notify an SNS topic encrypted with a
// customer-managed KMS key (CloudWatch cannot publish to a topic encrypted
// with the AWS-managed aws/sns key, whose policy it is not named in).
package observability

import (
	"fmt"
	"net/mail"
	"regexp"
	"strings"

	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/cloudwatch"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/kms"
	"github.com/pulumi/pulumi-aws/sdk/v6/go/aws/sns"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"

	"github.com/sluicehq/sluice/infra/iamdoc"
	"github.com/sluicehq/sluice/infra/limits"
)

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

// Args configures the alarms and the dashboard. Names of watched resources
// are pulumi inputs taken from the components that own them.
type Args struct {
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
	// OldestMessageAgeSeconds raises the backlog alarm when the oldest
	// message in the main queue is older than this (> 0).
	OldestMessageAgeSeconds int
	// BorrowLatencyMillis raises the proxy alarm when the average time to
	// borrow a database connection stays above it (> 0).
	BorrowLatencyMillis int
	// PinnedConnections raises the pinning alarm when more client sessions
	// than this are pinned (≥ 1); the consumer's max concurrency × pool
	// size is the expected ceiling.
	PinnedConnections int
	// AlarmEmail, when set, subscribes this address to the alarm topic
	// (the recipient must confirm).
	AlarmEmail string
	// Tags are added to every taggable resource.
	Tags map[string]string
}

// Validate reports the first invalid field by name.
func (a Args) Validate() error {
	invalid := limits.Invalid
	switch {
	case !dashboardName.MatchString(a.Name):
		return invalid("Name", "%q: want 1–255 characters of A-Z a-z 0-9 _ -", a.Name)
	case a.QueueARN == nil:
		return invalid("QueueARN", "required")
	case a.DLQARN == nil:
		return invalid("DLQARN", "required")
	case a.FunctionName == nil:
		return invalid("FunctionName", "required")
	case a.ProxyName == nil:
		return invalid("ProxyName", "required")
	case a.DBInstanceID == nil:
		return invalid("DBInstanceID", "required")
	case a.APIID == nil:
		return invalid("APIID", "required")
	case a.OldestMessageAgeSeconds < 1:
		return invalid("OldestMessageAgeSeconds", "%d: want at least 1", a.OldestMessageAgeSeconds)
	case a.BorrowLatencyMillis < 1:
		return invalid("BorrowLatencyMillis", "%d: want at least 1", a.BorrowLatencyMillis)
	case a.PinnedConnections < 1:
		return invalid("PinnedConnections", "%d: want at least 1", a.PinnedConnections)
	}
	if a.AlarmEmail != "" {
		if addr, err := mail.ParseAddress(a.AlarmEmail); err != nil || addr.Address != a.AlarmEmail {
			return invalid("AlarmEmail", "%q: want a plain address such as ops@example.com", a.AlarmEmail)
		}
	}
	return nil
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

// New registers the alarms and the dashboard (type
// sluice:observability:Observability).
func New(ctx *pulumi.Context, name string, args Args, opts ...pulumi.ResourceOption) (*Observability, error) {
	if err := args.Validate(); err != nil {
		return nil, fmt.Errorf("observability %s: %w", name, err)
	}
	c := &Observability{Alarms: map[string]*cloudwatch.MetricAlarm{}}
	if err := ctx.RegisterComponentResource("sluice:observability:Observability", name, c, opts...); err != nil {
		return nil, err
	}
	parent := pulumi.Parent(c)
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
		DeletionWindowInDays: pulumi.Int(30),
		Policy:               keyPolicy,
		Tags:                 tags,
	}, parent)
	if err != nil {
		return nil, err
	}

	topic, err := sns.NewTopic(ctx, name+"-alarms", &sns.TopicArgs{
		Name:           pulumi.String(args.Name + "-alarms"),
		KmsMasterKeyId: key.Arn,
		Tags:           tags,
	}, parent)
	if err != nil {
		return nil, err
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
	}, parent)
	if err != nil {
		return nil, err
	}
	if args.AlarmEmail != "" {
		if _, err := sns.NewTopicSubscription(ctx, name+"-alarm-email", &sns.TopicSubscriptionArgs{
			Topic:    topic.Arn,
			Protocol: pulumi.String("email"),
			Endpoint: pulumi.String(args.AlarmEmail),
		}, parent); err != nil {
			return nil, err
		}
	}

	actions := pulumi.Array{topic.Arn}
	for _, spec := range []struct {
		key, description, namespace, metric, statistic, comparison string
		dimensions                                                 pulumi.StringMap
		threshold                                                  float64
		period, evaluations, datapoints                            int
	}{
		{"dlq-not-empty", "Messages reached the dead-letter queue: inspect and redrive them (README runbook).",
			"AWS/SQS", "ApproximateNumberOfMessagesVisible", "Maximum", "GreaterThanOrEqualToThreshold",
			pulumi.StringMap{"QueueName": dlqName}, 1, 60, 1, 1},
		{"oldest-message-age", fmt.Sprintf("The oldest queued submission is older than %d s: the consumer is not keeping up or not running.", args.OldestMessageAgeSeconds),
			"AWS/SQS", "ApproximateAgeOfOldestMessage", "Maximum", "GreaterThanThreshold",
			pulumi.StringMap{"QueueName": queueName}, float64(args.OldestMessageAgeSeconds), 60, 5, 3},
		{"consumer-errors", "The consumer returned errors (whole batches returned to the queue).",
			"AWS/Lambda", "Errors", "Sum", "GreaterThanOrEqualToThreshold",
			pulumi.StringMap{"FunctionName": args.FunctionName}, 1, 300, 1, 1},
		{"consumer-throttles", "Consumer invocations were throttled: reserved concurrency is below the mapping's maximum concurrency, or the account limit was hit.",
			"AWS/Lambda", "Throttles", "Sum", "GreaterThanOrEqualToThreshold",
			pulumi.StringMap{"FunctionName": args.FunctionName}, 1, 300, 1, 1},
		// DatabaseConnectionsBorrowLatency is reported in microseconds.
		{"proxy-borrow-latency", fmt.Sprintf("Borrowing a database connection from the RDS Proxy takes more than %d ms: the pool is exhausted.", args.BorrowLatencyMillis),
			"AWS/RDS", "DatabaseConnectionsBorrowLatency", "Average", "GreaterThanThreshold",
			pulumi.StringMap{"ProxyName": args.ProxyName}, float64(args.BorrowLatencyMillis) * 1000, 60, 5, 3},
		{"proxy-pinned-sessions", fmt.Sprintf("More than %d client sessions are pinned to database connections.", args.PinnedConnections),
			"AWS/RDS", "DatabaseConnectionsCurrentlySessionPinned", "Maximum", "GreaterThanThreshold",
			pulumi.StringMap{"ProxyName": args.ProxyName}, float64(args.PinnedConnections), 60, 5, 3},
	} {
		alarm, err := cloudwatch.NewMetricAlarm(ctx, name+"-"+spec.key, &cloudwatch.MetricAlarmArgs{
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
		}, parent, pulumi.DependsOn([]pulumi.Resource{topicPolicy}))
		if err != nil {
			return nil, err
		}
		c.Alarms[spec.key] = alarm
	}

	body := pulumi.All(region, queueName, dlqName, args.FunctionName, args.ProxyName, args.DBInstanceID, args.APIID).
		ApplyT(func(v []any) (string, error) {
			return dashboardBody(resources{
				region: v[0].(string), queue: v[1].(string), dlq: v[2].(string), function: v[3].(string),
				proxy: v[4].(string), db: v[5].(string), api: v[6].(string),
			})
		}).(pulumi.StringOutput)
	dashboard, err := cloudwatch.NewDashboard(ctx, name+"-dashboard", &cloudwatch.DashboardArgs{
		DashboardName: pulumi.String(args.Name),
		DashboardBody: body,
	}, parent)
	if err != nil {
		return nil, err
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
		return nil, err
	}
	return c, nil
}
