package emf

// The consumer's metrics, defined once: the consumer writes its lines with
// them (package consumer), and the alarms and the dashboard watch them
// (infra/observability). A name, unit or dimension changed here changes
// both sides, and the end-to-end fault tests (offline/local/pipeline) check the
// alarms against the lines the consumer actually printed.
const (
	// Namespace is the CloudWatch namespace of the consumer's metrics.
	Namespace = "Sluice"
	// DimensionFunctionName is the one dimension of every consumer line:
	// the Lambda function's name, the same value AWS/Lambda metrics carry.
	DimensionFunctionName = "FunctionName"
)

// Names of the consumer's metrics. The record counts of one line add up:
// RecordsReceived = RecordsStored + RecordsDuplicate + RecordsQuarantined
// + RecordsRetried.
const (
	RecordsReceived  = "RecordsReceived"
	RecordsStored    = "RecordsStored"
	RecordsDuplicate = "RecordsDuplicate"
	// RecordsDuplicateRedelivery and RecordsDuplicateResubmission split
	// RecordsDuplicate by cause: SQS delivering a message again, and a
	// client sending a submission again with the same idempotency key.
	RecordsDuplicateRedelivery   = "RecordsDuplicateRedelivery"
	RecordsDuplicateResubmission = "RecordsDuplicateResubmission"
	RecordsQuarantined           = "RecordsQuarantined"
	// RecordsRetried counts records handed back to SQS through the partial
	// batch response: the transaction could not commit (database or proxy
	// unreachable, deadlock, deadline near). The invocation itself
	// succeeds, so AWS/Lambda Errors does not see these.
	RecordsRetried = "RecordsRetried"
	// DeadlockRetries counts the times the batch's transaction was run
	// again in the invocation after InnoDB rolled it back as a deadlock
	// victim; not a record count.
	DeadlockRetries = "DeadlockRetries"
	BatchLatency    = "BatchLatency"
)

// ConsumerMetrics returns the definitions of the consumer's metrics, in
// the order in which each line carries their values.
func ConsumerMetrics() []Definition {
	return []Definition{
		{Name: RecordsReceived, Unit: Count},
		{Name: RecordsStored, Unit: Count},
		{Name: RecordsDuplicate, Unit: Count},
		{Name: RecordsDuplicateRedelivery, Unit: Count},
		{Name: RecordsDuplicateResubmission, Unit: Count},
		{Name: RecordsQuarantined, Unit: Count},
		{Name: RecordsRetried, Unit: Count},
		{Name: DeadlockRetries, Unit: Count},
		{Name: BatchLatency, Unit: Milliseconds},
	}
}

// ConsumerMetric returns the definition of the consumer metric name, and
// false when the consumer has no such metric.
func ConsumerMetric(name string) (Definition, bool) {
	for _, d := range ConsumerMetrics() {
		if d.Name == name {
			return d, true
		}
	}
	return Definition{}, false
}
