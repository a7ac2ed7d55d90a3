// Package edge is the local stand-in for the stack's API Gateway HTTP API: one
// route, POST /submit, integrated with SQS SendMessage, behind the stage's
// rate/burst throttle. The SendMessage request is built from the same
// request parameters as the deployed integration's (package intake), so
// the body, a client's idempotency key inside it, reaches SQS unchanged and
// request headers, Idempotency-Key among them, do not.
//
// It answers as the HTTP API does, so that clients and tests see the same
// status codes locally as in AWS:
//
//	200  SendMessage succeeded; the body carries SQS's MessageId
//	400  SQS refused the message (empty body, over the queue's
//	     MaximumMessageSize, ...); SQS's error code and message are passed on
//	404  {"message":"Not Found"} for any other method or path (HTTP APIs have
//	     no 405: an unmatched route is a 404)
//	413  {"message":"Request Entity Too Large"} over the HTTP API payload
//	     quota (10 MB)
//	429  {"message":"Too Many Requests"} when the token bucket is empty
//	500  {"message":"Internal Server Error"} when SQS fails or cannot be reached
//	503  {"message":"Service Unavailable"} when SendMessage outlasts the
//	     integration timeout (30 s)
//
// The success body mirrors the JSON form of SQS's SendMessage response as the
// AWS integration passes it through; clients should depend only on the status
// code and MessageId.
package edge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"

	"github.com/sluicehq/sluice/internal/intake"
)

// Quotas of API Gateway HTTP APIs that the edge reproduces.
const (
	// MaxPayloadBytes is the HTTP API request payload quota.
	MaxPayloadBytes = 10 << 20
	// IntegrationTimeout is the HTTP API's maximum integration timeout.
	IntegrationTimeout = 30 * time.Second
)

// Route is the only route the stack's API has.
const (
	RouteMethod = http.MethodPost
	RoutePath   = "/submit"
)

// Sender is the part of the SQS client the edge uses.
type Sender interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, opts ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Options configure an Edge.
type Options struct {
	QueueURL string
	// RateLimit and Burst are the stage's ThrottlingRateLimit (requests per
	// second, steady state) and ThrottlingBurstLimit (bucket size).
	RateLimit float64
	Burst     int
	// MaxPayloadBytes and IntegrationTimeout default to the HTTP API quotas;
	// tests lower them.
	MaxPayloadBytes    int64
	IntegrationTimeout time.Duration
}

// Stats count what the edge answered since it started.
type Stats struct {
	Accepted  int64 `json:"accepted"`  // 200
	Throttled int64 `json:"throttled"` // 429
	Rejected  int64 `json:"rejected"`  // other 4xx
	Failed    int64 `json:"failed"`    // 5xx
}

// Edge is an http.Handler for the stack's API.
type Edge struct {
	sender  Sender
	opts    Options
	limiter *rate.Limiter

	accepted, throttled, rejected, failed atomic.Int64
}

// SendMessageInput is the SendMessage request API Gateway makes from the
// integration's request parameters (intake.Parameters) for a request with
// this body. It fails for a parameter or mapping value the edge does not
// emulate, so a mapping added to the deployed integration cannot go
// unnoticed here.
func SendMessageInput(queueURL string, body []byte) (*sqs.SendMessageInput, error) {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(queueURL)}
	for name, value := range intake.Parameters() {
		switch {
		case name == "MessageBody" && value == intake.BodyPassthrough:
			in.MessageBody = aws.String(string(body))
		default:
			return nil, fmt.Errorf("edge: request parameter %s = %q is not emulated", name, value)
		}
	}
	return in, nil
}

// New returns an Edge that sends to o.QueueURL through s.
func New(s Sender, o Options) *Edge {
	if o.MaxPayloadBytes <= 0 {
		o.MaxPayloadBytes = MaxPayloadBytes
	}
	if o.IntegrationTimeout <= 0 {
		o.IntegrationTimeout = IntegrationTimeout
	}
	return &Edge{sender: s, opts: o, limiter: rate.NewLimiter(rate.Limit(o.RateLimit), o.Burst)}
}

// Stats returns the counts so far.
func (e *Edge) Stats() Stats {
	return Stats{
		Accepted:  e.accepted.Load(),
		Throttled: e.throttled.Load(),
		Rejected:  e.rejected.Load(),
		Failed:    e.failed.Load(),
	}
}

// SendMessageResponse is the success body.
type SendMessageResponse struct {
	SendMessageResponse struct {
		SendMessageResult struct {
			MessageID        string `json:"MessageId"`
			MD5OfMessageBody string `json:"MD5OfMessageBody"`
		} `json:"SendMessageResult"`
		ResponseMetadata struct {
			RequestID string `json:"RequestId"`
		} `json:"ResponseMetadata"`
	} `json:"SendMessageResponse"`
}

func (e *Edge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != RouteMethod || r.URL.Path != RoutePath {
		e.rejected.Add(1)
		writeMessage(w, http.StatusNotFound, "Not Found")
		return
	}
	if !e.limiter.Allow() {
		e.throttled.Add(1)
		writeMessage(w, http.StatusTooManyRequests, "Too Many Requests")
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, e.opts.MaxPayloadBytes+1))
	if err != nil {
		e.rejected.Add(1)
		writeMessage(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if int64(len(body)) > e.opts.MaxPayloadBytes {
		e.rejected.Add(1)
		writeMessage(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	if len(body) == 0 {
		// SQS refuses an empty MessageBody (its minimum is one character);
		// moto accepts it, so the edge applies SQS's rule itself.
		e.rejected.Add(1)
		writeJSON(w, http.StatusBadRequest, map[string]string{"__type": "MissingParameter", "message": "The request must contain the parameter MessageBody."})
		return
	}

	in, err := SendMessageInput(e.opts.QueueURL, body)
	if err != nil {
		e.failed.Add(1)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	// A client that gives up (its timeout fired, its connection dropped)
	// does not stop a SendMessage already under way: the message may be
	// queued with nobody reading the answer, which is the case clients'
	// idempotency keys are for, so the edge keeps to that worst case.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), e.opts.IntegrationTimeout)
	defer cancel()
	out, err := e.sender.SendMessage(ctx, in)
	switch {
	case err == nil:
		e.accepted.Add(1)
		var resp SendMessageResponse
		resp.SendMessageResponse.SendMessageResult.MessageID = aws.ToString(out.MessageId)
		resp.SendMessageResponse.SendMessageResult.MD5OfMessageBody = aws.ToString(out.MD5OfMessageBody)
		resp.SendMessageResponse.ResponseMetadata.RequestID = requestID(out)
		writeJSON(w, http.StatusOK, resp)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		e.failed.Add(1)
		writeMessage(w, http.StatusServiceUnavailable, "Service Unavailable")
	default:
		var apiErr smithy.APIError
		if errors.As(err, &apiErr) && apiErr.ErrorFault() == smithy.FaultClient {
			e.rejected.Add(1)
			writeJSON(w, http.StatusBadRequest, map[string]string{"__type": apiErr.ErrorCode(), "message": apiErr.ErrorMessage()})
			return
		}
		e.failed.Add(1)
		writeMessage(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

func requestID(out *sqs.SendMessageOutput) string {
	id, _ := awsmiddleware.GetRequestIDMetadata(out.ResultMetadata)
	return id
}

func writeMessage(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"message": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
