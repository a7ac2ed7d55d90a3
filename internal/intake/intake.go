// Package intake holds the one definition of how POST /submit becomes an
// SQS message: the request parameters of the API's SQS-SendMessage
// integration. infra/api puts them on the deployed integration and
// offline/local/edge evaluates them for each request, so the local edge sends what
// API Gateway sends.
//
// A client's idempotency key travels in the body ("idempotency_key", see
// package record), which MessageBody passes through unchanged. No request
// header is mapped. AWS documents MessageAttributes as an optional
// SQS-SendMessage parameter and $request.header.name / ${request.header.name}
// as mapping sources, but not what happens when the mapped header is
// absent, and what is published points to a mapped header becoming
// mandatory: SQS refuses an empty attribute value, AWS's own pattern for
// header-to-attribute mapping calls its mapped headers required, and a
// mapping source that does not resolve has been reported to fail the
// request. Mapping Idempotency-Key would then break requests without a key,
// and an HTTP API can neither make a mapping conditional nor validate a
// request first. docs/consumer.md has the sources.
package intake

// BodyPassthrough is the mapping value that passes the whole request body
// through ("Request body passthrough" in the HTTP API parameter mapping
// reference).
const BodyPassthrough = "$request.body"

// QueueURLParameter names the parameter that carries the queue's URL; its
// value is the stack's queue, known only at deployment, so it is not in
// Parameters.
const QueueURLParameter = "QueueUrl"

// Parameters are the integration's request parameters other than
// QueueURLParameter: SQS-SendMessage parameter name → mapping value.
func Parameters() map[string]string {
	return map[string]string{"MessageBody": BodyPassthrough}
}
