package awsmodel

import (
	"fmt"
	"strings"

	"github.com/pulumi/pulumi/sdk/v3/go/common/resource"
)

// What an account allows and refuses, beyond one resource's own answer.

// DefaultConcurrentExecutions is a standard account's Lambda concurrency
// quota per region ("Concurrent executions", 1,000; Lambda quotas). Young
// accounts are given 10 or 50 until Lambda raises them, or until a Service
// Quotas request is granted.
const DefaultConcurrentExecutions = 1000

// MinUnreservedConcurrency is what Lambda keeps unreserved for functions
// without a reservation: 100 (Lambda Developer Guide: "Configuring
// reserved concurrency": "You can reserve up to the Unreserved account
// concurrency value minus 100"), or the whole quota of an account limited
// below that, whose PutFunctionConcurrency answers "below its minimum value
// of [10]" or "[50]" (quoted from such accounts in
// aws-samples/one-observability-demo#278 and
// aws-samples/siem-on-amazon-opensearch-service#175).
func MinUnreservedConcurrency(quota int) int { return min(quota, 100) }

// ReservedConcurrency is the reservation a function's state asks for, and
// whether it asks for one: the provider puts it with
// PutFunctionConcurrency when reservedConcurrentExecutions is 0 or more, and
// -1 (its default) or absent means none (terraform-provider-aws
// internal/service/lambda/function.go).
func ReservedConcurrency(fn resource.PropertyMap) (int, bool) {
	v, ok := fn["reservedConcurrentExecutions"]
	if !ok || !v.IsNumber() || v.NumberValue() < 0 {
		return 0, false
	}
	return int(v.NumberValue()), true
}

// CheckReservedConcurrency returns the error PutFunctionConcurrency answers
// when function's reservation of reserved, with reservedByOthers already
// reserved by the account's other functions, would leave the unreserved
// pool of an account whose quota is quota below its minimum; nil when
// Lambda accepts it. The message is the provider's around Lambda's own.
func CheckReservedConcurrency(function string, quota, reservedByOthers, reserved int) error {
	minimum := MinUnreservedConcurrency(quota)
	if quota-reservedByOthers-reserved >= minimum {
		return nil
	}
	return &APIError{Context: fmt.Sprintf("setting Lambda Function (%s) concurrency", function),
		Operation: "Lambda: PutFunctionConcurrency", RequestID: uuid("PutFunctionConcurrency", function),
		Code:    "InvalidParameterValueException",
		Message: fmt.Sprintf("Specified ReservedConcurrentExecutions for function decreases account's UnreservedConcurrentExecution below its minimum value of [%d].", minimum)}
}

// APIError is an AWS API's refusal as the provider reports it (the AWS SDK
// for Go v2's operation error inside the provider's context).
type APIError struct {
	Context   string // what the provider was doing
	Operation string // service: API action
	RequestID string
	Code      string // the service's error code
	Message   string // the service's message, verbatim
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: operation error %s, https response error StatusCode: 400, RequestID: %s, %s: %s",
		e.Context, e.Operation, e.RequestID, e.Code, e.Message)
}

// SnapshotExists is the error DeleteDBInstance answers when the final
// snapshot it is asked to take has the identifier of a snapshot the account
// holds: identifiers are unique per account and region (RDS API
// DeleteDBInstance, error DBSnapshotAlreadyExists: "DBSnapshotIdentifier is
// already used by an existing snapshot"). The instance is not deleted.
func SnapshotExists(instance, snapshot string) error {
	return &APIError{Context: fmt.Sprintf("deleting RDS DB Instance (%s)", instance),
		Operation: "RDS: DeleteDBInstance", RequestID: uuid("DeleteDBInstance", instance, snapshot),
		Code:    "DBSnapshotAlreadyExists",
		Message: fmt.Sprintf("Cannot create the snapshot because a snapshot with the identifier %s already exists.", strings.ToLower(snapshot))}
}
