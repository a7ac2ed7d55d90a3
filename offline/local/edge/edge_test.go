package edge

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/sluicehq/sluice/offline/local/sqsenv"
	"github.com/sluicehq/sluice/testkit/testenv"
)

func startQueue(t *testing.T) (*sqs.Client, sqsenv.Queues) {
	t.Helper()
	testenv.NeedsMoto(t)
	ctx := context.Background()
	m, err := sqsenv.StartMoto(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Stop)
	c, err := sqsenv.NewClient(ctx, "ap-northeast-1", m.Endpoint())
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqsenv.CreateQueues(ctx, c, sqsenv.QueueSpec{Name: "edge", VisibilityTimeoutSeconds: 30, MaxReceiveCount: 5, MaximumMessageSize: 1024})
	if err != nil {
		t.Fatal(err)
	}
	return c, q
}

func do(t *testing.T, h http.Handler, method, path, body string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var got map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
		t.Fatalf("%s %s: body %q is not JSON: %v", method, path, rec.Body.String(), err)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s %s: Content-Type %q", method, path, ct)
	}
	return rec.Code, got
}

func TestEdgeAnswersAsTheHTTPAPI(t *testing.T) {
	c, q := startQueue(t)
	e := New(c, Options{QueueURL: q.URL, RateLimit: 1000, Burst: 1000, MaxPayloadBytes: 4096})

	tests := []struct {
		name, method, path, body string
		status                   int
		message                  string // {"message": ...} for gateway-made answers
		sqsError                 bool   // a passed-on SQS error
	}{
		{name: "valid record", method: "POST", path: "/submit", body: `{"name":"山田","email":"y@example.com"}`, status: 200},
		{name: "any body is queued as is", method: "POST", path: "/submit", body: `not json`, status: 200},
		{name: "wrong method", method: "GET", path: "/submit", status: 404, message: "Not Found"},
		{name: "PUT is not routed either", method: "PUT", path: "/submit", body: "{}", status: 404, message: "Not Found"},
		{name: "wrong path", method: "POST", path: "/submit/x", body: "{}", status: 404, message: "Not Found"},
		{name: "root", method: "POST", path: "/", body: "{}", status: 404, message: "Not Found"},
		{name: "over the payload quota", method: "POST", path: "/submit", body: strings.Repeat("a", 4097), status: 413, message: "Request Entity Too Large"},
		{name: "empty body", method: "POST", path: "/submit", body: "", status: 400, sqsError: true},
		{name: "over the queue's MaximumMessageSize", method: "POST", path: "/submit", body: strings.Repeat("a", 2000), status: 400, sqsError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, got := do(t, e, tc.method, tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d (body %v)", status, tc.status, got)
			}
			switch {
			case tc.message != "":
				if got["message"] != tc.message {
					t.Errorf("message %v, want %q", got["message"], tc.message)
				}
			case tc.sqsError:
				if got["__type"] == "" || got["message"] == "" {
					t.Errorf("want SQS error code and message, got %v", got)
				}
			default:
				assertQueued(t, c, q.URL, got, tc.body)
			}
		})
	}
	if s := e.Stats(); s.Accepted != 2 || s.Rejected != 7 || s.Throttled != 0 || s.Failed != 0 {
		t.Errorf("stats %+v, want 2 accepted and 7 rejected", s)
	}
}

// assertQueued checks that the MessageId in the response names a message on
// the queue with exactly the posted body.
func assertQueued(t *testing.T, c *sqs.Client, url string, resp map[string]any, body string) {
	t.Helper()
	var r SendMessageResponse
	raw, _ := json.Marshal(resp)
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	id := r.SendMessageResponse.SendMessageResult.MessageID
	if id == "" {
		t.Fatalf("no MessageId in %v", resp)
	}
	out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.Messages {
		if aws.ToString(m.MessageId) == id {
			if aws.ToString(m.Body) != body {
				t.Errorf("queued body %q, want %q", aws.ToString(m.Body), body)
			}
			return
		}
	}
	t.Errorf("message %s not on the queue", id)
}

func TestEdgeThrottlesWithTokenBucket(t *testing.T) {
	c, q := startQueue(t)
	// A burst of 3 and a refill far slower than the test: exactly 3 pass.
	e := New(c, Options{QueueURL: q.URL, RateLimit: 0.001, Burst: 3})
	var codes []int
	for range 5 {
		status, _ := do(t, e, "POST", "/submit", `{"name":"a","email":"a@example.com"}`)
		codes = append(codes, status)
	}
	want := []int{200, 200, 200, 429, 429}
	for i := range want {
		if codes[i] != want[i] {
			t.Fatalf("statuses %v, want %v", codes, want)
		}
	}
	// Unrouted requests are answered 404 before the throttle, and do not
	// spend tokens: HTTP API throttling is per route.
	if status, _ := do(t, e, "GET", "/nope", ""); status != 404 {
		t.Errorf("unrouted request: %d, want 404", status)
	}
}

func TestEdgeMapsSQSFailures(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
	}))
	defer hang.Close()
	down := httptest.NewServer(http.NotFoundHandler())
	down.Close() // a port that refuses connections

	tests := []struct {
		name     string
		endpoint string
		status   int
		message  string
	}{
		{"SQS does not answer within the integration timeout", hang.URL, 503, "Service Unavailable"},
		{"SQS unreachable", down.URL, 500, "Internal Server Error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := sqsenv.NewClient(context.Background(), "ap-northeast-1", tc.endpoint)
			if err != nil {
				t.Fatal(err)
			}
			e := New(c, Options{QueueURL: tc.endpoint + "/123456789012/q", RateLimit: 100, Burst: 100, IntegrationTimeout: 300 * time.Millisecond})
			status, got := do(t, e, "POST", "/submit", `{}`)
			if status != tc.status || got["message"] != tc.message {
				t.Errorf("got %d %v, want %d %q", status, got, tc.status, tc.message)
			}
			if s := e.Stats(); s.Failed != 1 {
				t.Errorf("stats %+v, want 1 failed", s)
			}
		})
	}
}

// TestEdgeCarriesTheIdempotencyKeyAsTheIntegrationDoes: the key in the body
// reaches SQS byte for byte; an Idempotency-Key header does not reach SQS at
// all (the integration maps no header); and a bad key is accepted, since an
// HTTP API cannot look inside the body: the consumer quarantines it.
func TestEdgeCarriesTheIdempotencyKeyAsTheIntegrationDoes(t *testing.T) {
	c, q := startQueue(t)
	e := New(c, Options{QueueURL: q.URL, RateLimit: 1000, Burst: 1000})
	for _, tc := range []struct{ name, body, header string }{
		{"key in the body", `{"name":"a","email":"a@example.com","idempotency_key":"k-1"}`, ""},
		{"key in a header only", `{"name":"a","email":"a@example.com"}`, "k-2"},
		{"a key too long for the consumer", `{"name":"a","email":"a@example.com","idempotency_key":"` + strings.Repeat("k", 65) + `"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "/submit", strings.NewReader(tc.body))
			if tc.header != "" {
				req.Header.Set("Idempotency-Key", tc.header)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != 200 {
				t.Fatalf("status %d %s", rec.Code, rec.Body)
			}
			out, err := c.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{
				QueueUrl: aws.String(q.URL), MessageAttributeNames: []string{"All"}, WaitTimeSeconds: 1,
			})
			if err != nil || len(out.Messages) != 1 {
				t.Fatalf("receive: %v %+v", err, out)
			}
			m := out.Messages[0]
			if aws.ToString(m.Body) != tc.body || len(m.MessageAttributes) != 0 {
				t.Errorf("queued body %q attributes %v, want the posted body and no attributes", aws.ToString(m.Body), m.MessageAttributes)
			}
			if _, err := c.DeleteMessage(context.Background(), &sqs.DeleteMessageInput{QueueUrl: aws.String(q.URL), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestSendMessageInputEvaluatesTheIntegrationParameters(t *testing.T) {
	in, err := SendMessageInput("http://q", []byte(`{"x":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(in.QueueUrl) != "http://q" || aws.ToString(in.MessageBody) != `{"x":1}` || in.MessageAttributes != nil || in.DelaySeconds != 0 {
		t.Errorf("SendMessageInput = %+v", in)
	}
}
