package sqsenv

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
	smithyendpoints "github.com/aws/smithy-go/endpoints"
)

// NewClient returns an SQS client for endpoint, or, when endpoint is empty,
// for whatever the SDK's configuration names (AWS_ENDPOINT_URL_SQS). The
// local pipeline never talks to AWS, so the credentials are fixed dummies
// that moto accepts; no real credential is ever read.
func NewClient(ctx context.Context, region, endpoint string) (*sqs.Client, error) {
	return NewClientWith(ctx, region, endpoint, nil)
}

// NewClientWith is NewClient whose requests go through transport when it
// is not nil (an in-process engine's Server.Transport).
func NewClientWith(ctx context.Context, region, endpoint string, transport http.RoundTripper) (*sqs.Client, error) {
	// The edge sends from hundreds of goroutines at once; the default of two
	// idle connections per host would reconnect on nearly every request.
	httpClient := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = 512
		t.MaxIdleConnsPerHost = 512
	})
	cfg, err := awsconfig.LoadDefaultConfig(ctx,
		awsconfig.WithRegion(region),
		awsconfig.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		awsconfig.WithHTTPClient(httpClient),
	)
	if err != nil {
		return nil, fmt.Errorf("sqsenv: load SDK config: %w", err)
	}
	var resolver sqs.EndpointResolverV2
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		if err != nil {
			return nil, fmt.Errorf("sqsenv: endpoint %q: %w", endpoint, err)
		}
		resolver = fixedEndpoint{*u}
	}
	return sqs.NewFromConfig(cfg, func(o *sqs.Options) {
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
			o.EndpointResolverV2 = resolver
		}
		if transport != nil {
			o.HTTPClient = &http.Client{Transport: transport}
		}
	}), nil
}

// fixedEndpoint resolves every request to one endpoint URL, which is what
// the SDK's own rules resolve a BaseEndpoint to (without FIPS or dual
// stack, which no local engine has). The SDK evaluates those rules on every
// call, and on a loaded 2-core machine that evaluation, with the goroutine
// stack growth it causes, was an eighth of the edge's CPU per record.
type fixedEndpoint struct{ url url.URL }

func (f fixedEndpoint) ResolveEndpoint(context.Context, sqs.EndpointParameters) (smithyendpoints.Endpoint, error) {
	return smithyendpoints.Endpoint{URI: f.url}, nil
}

// QueueSpec is what the stack sets on the queue pair.
type QueueSpec struct {
	Name                     string // the main queue; the DLQ is Name+"-dlq"
	VisibilityTimeoutSeconds int
	MaxReceiveCount          int
	MaximumMessageSize       int // bytes; 0 leaves the SQS default (1 MiB)
	RetentionSeconds         int // main queue; 0 leaves the SQS default (4 days)
	DLQRetentionSeconds      int // 0 leaves the SQS default
}

// Queues names the created pair.
type Queues struct {
	URL, ARN       string
	DLQURL, DLQARN string
}

// CreateQueues creates (or reuses, CreateQueue being idempotent for equal
// attributes) the DLQ and then the main queue with a redrive policy to it.
func CreateQueues(ctx context.Context, c *sqs.Client, s QueueSpec) (Queues, error) {
	if s.Name == "" || s.VisibilityTimeoutSeconds <= 0 || s.MaxReceiveCount <= 0 {
		return Queues{}, fmt.Errorf("sqsenv: queue spec needs a name, a visibility timeout and maxReceiveCount: %+v", s)
	}
	var q Queues
	dlqAttrs := map[string]string{}
	if s.DLQRetentionSeconds > 0 {
		dlqAttrs[string(types.QueueAttributeNameMessageRetentionPeriod)] = strconv.Itoa(s.DLQRetentionSeconds)
	}
	var err error
	if q.DLQURL, q.DLQARN, err = createQueue(ctx, c, s.Name+"-dlq", dlqAttrs); err != nil {
		return Queues{}, err
	}
	redrive, err := json.Marshal(map[string]any{"deadLetterTargetArn": q.DLQARN, "maxReceiveCount": s.MaxReceiveCount})
	if err != nil {
		return Queues{}, err
	}
	attrs := map[string]string{
		string(types.QueueAttributeNameVisibilityTimeout): strconv.Itoa(s.VisibilityTimeoutSeconds),
		string(types.QueueAttributeNameRedrivePolicy):     string(redrive),
	}
	if s.MaximumMessageSize > 0 {
		attrs[string(types.QueueAttributeNameMaximumMessageSize)] = strconv.Itoa(s.MaximumMessageSize)
	}
	if s.RetentionSeconds > 0 {
		attrs[string(types.QueueAttributeNameMessageRetentionPeriod)] = strconv.Itoa(s.RetentionSeconds)
	}
	if q.URL, q.ARN, err = createQueue(ctx, c, s.Name, attrs); err != nil {
		return Queues{}, err
	}
	return q, nil
}

func createQueue(ctx context.Context, c *sqs.Client, name string, attrs map[string]string) (url, arn string, err error) {
	out, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		return "", "", fmt.Errorf("sqsenv: create queue %s: %w", name, err)
	}
	got, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl:       out.QueueUrl,
		AttributeNames: []types.QueueAttributeName{types.QueueAttributeNameQueueArn},
	})
	if err != nil {
		return "", "", fmt.Errorf("sqsenv: read ARN of %s: %w", name, err)
	}
	return aws.ToString(out.QueueUrl), got.Attributes[string(types.QueueAttributeNameQueueArn)], nil
}

// Depth is a queue's approximate message counts.
type Depth struct {
	Visible  int // ApproximateNumberOfMessages
	InFlight int // ApproximateNumberOfMessagesNotVisible
}

// GetDepth reads the approximate counts of the queue at url.
func GetDepth(ctx context.Context, c *sqs.Client, url string) (Depth, error) {
	out, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{
		QueueUrl: aws.String(url),
		AttributeNames: []types.QueueAttributeName{
			types.QueueAttributeNameApproximateNumberOfMessages,
			types.QueueAttributeNameApproximateNumberOfMessagesNotVisible,
		},
	})
	if err != nil {
		return Depth{}, fmt.Errorf("sqsenv: queue depth of %s: %w", url, err)
	}
	var d Depth
	if d.Visible, err = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessages)]); err != nil {
		return Depth{}, fmt.Errorf("sqsenv: ApproximateNumberOfMessages of %s: %w", url, err)
	}
	if d.InFlight, err = strconv.Atoi(out.Attributes[string(types.QueueAttributeNameApproximateNumberOfMessagesNotVisible)]); err != nil {
		return Depth{}, fmt.Errorf("sqsenv: ApproximateNumberOfMessagesNotVisible of %s: %w", url, err)
	}
	return d, nil
}
