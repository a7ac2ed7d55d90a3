package settings

import (
	"time"

	"github.com/sluicehq/sluice/infra/limits"
)

// Keys of the Queue section, without the namespace.
const (
	KeyVisibilityTimeout = "visibilityTimeoutSeconds"
	KeyQueueRetention    = "queueRetentionSeconds"
	KeyMaxReceiveCount   = "maxReceiveCount"
)

// Queue is the main SQS queue (the DLQ's settings are fixed), what
// queue.Args takes. Each field is one key of queueKeys, which declares its
// type, default, bound, unit and documentation.
type Queue struct {
	VisibilityTimeout time.Duration // sluice:visibilityTimeoutSeconds
	Retention         time.Duration // sluice:queueRetentionSeconds
	MaxReceiveCount   int           // sluice:maxReceiveCount
}

// Validate checks every field as the loader checks the key it comes from,
// and the rules among this section's keys, reporting every problem.
func (v Queue) Validate() error { return checkSection(Settings{Queue: v}, "Queue") }

var queueKeys = []Spec{
	{Key: KeyVisibilityTimeout, Type: Integer,
		Derived: "6 × (functionTimeoutSeconds + batchingWindowSeconds)", Doc: "Seconds a received message stays invisible to other receivers.",
		DevProd: "follows prod's longer batching window", Range: limits.VisibilityTimeoutSeconds,
		field: func(s *Settings) any { return &s.Queue.VisibilityTimeout }, unit: time.Second,
		derive: func(s *Settings) { s.Queue.VisibilityTimeout = DefaultVisibilityTimeout(s.Consumer) }},
	{Key: KeyQueueRetention, Type: Integer, Default: "345600",
		Doc: "Seconds the queue keeps a message (4 days); the DLQ keeps it 14 days.", Range: limits.MessageRetentionSeconds,
		field: func(s *Settings) any { return &s.Queue.Retention }, unit: time.Second},
	{Key: KeyMaxReceiveCount, Type: Integer, Default: "5",
		Doc: "Receives before a message moves to the DLQ.", Range: limits.MaxReceiveCount,
		field: func(s *Settings) any { return &s.Queue.MaxReceiveCount }},
}

// DefaultVisibilityTimeout is the smallest visibility timeout the rule allows.
func DefaultVisibilityTimeout(c Consumer) time.Duration {
	return time.Duration(limits.MinVisibilityTimeoutSeconds(int(c.Timeout/time.Second), int(c.BatchingWindow/time.Second))) * time.Second
}
