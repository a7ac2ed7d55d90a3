package settings

import (
	"strconv"
	"time"

	"github.com/sluicehq/sluice/consumer/statementsize"
	"github.com/sluicehq/sluice/infra/limits"
)

// Keys of the Consumer section, without the namespace.
const (
	KeyFunctionTimeout     = "functionTimeoutSeconds"
	KeyFunctionMemory      = "functionMemoryMB"
	KeyReservedConcurrency = "reservedConcurrency"
	KeyMaxConcurrency      = "maxConcurrency"
	KeyBatchSize           = "batchSize"
	KeyBatchingWindow      = "batchingWindowSeconds"
	KeyMaxStatementBytes   = "consumerMaxStatementBytes"
)

// Consumer is the consumer Lambda and its SQS event source mapping, what
// consumerfn.Args takes. Each field is one key of consumerKeys, which
// declares its type, default, bound, unit and documentation.
type Consumer struct {
	Timeout             time.Duration // sluice:functionTimeoutSeconds
	MemoryMB            int           // sluice:functionMemoryMB
	ReservedConcurrency int           // sluice:reservedConcurrency; 0: none
	// MaxConcurrency is the database guard: at most this many batches are
	// written at once, however large the spike.
	MaxConcurrency    int           // sluice:maxConcurrency
	BatchSize         int           // sluice:batchSize
	BatchingWindow    time.Duration // sluice:batchingWindowSeconds
	MaxStatementBytes int           // sluice:consumerMaxStatementBytes
}

// Validate checks every field as the loader checks the key it comes from,
// and the rules among this section's keys, reporting every problem.
func (v Consumer) Validate() error { return checkSection(Settings{Consumer: v}, "Consumer") }

var consumerKeys = []Spec{
	{Key: KeyFunctionTimeout, Type: Integer, Default: "30",
		Doc: "Consumer Lambda timeout, seconds.", Range: limits.FunctionTimeoutSeconds,
		field: func(s *Settings) any { return &s.Consumer.Timeout }, unit: time.Second},
	{Key: KeyFunctionMemory, Type: Integer, Default: "256",
		Doc: "Consumer Lambda memory, MB (CPU follows it).", DevProd: "prod: more CPU per batch", Range: limits.FunctionMemoryMB,
		field: func(s *Settings) any { return &s.Consumer.MemoryMB }},
	{Key: KeyMaxConcurrency, Type: Integer, Default: "2",
		Doc: "Most consumer invocations at once: the database guard.", DevProd: "prod drains a spike faster", Range: limits.MaximumConcurrency,
		field: func(s *Settings) any { return &s.Consumer.MaxConcurrency }},
	// Lambda refuses a reservation that leaves the account's unreserved
	// pool below its minimum (100, or the whole quota of a young account
	// limited to 10 or 50): docs/deploying.md, Prerequisites.
	{Key: KeyReservedConcurrency, Type: Integer, Default: "0",
		Doc:     "Concurrency reserved for the consumer Lambda; 0: none (the account's unreserved pool). The account's quota must be at least 100 + this.",
		DevProd: "prod guarantees the consumer its capacity (quota ≥ 112); dev reserves none, so it deploys in a young account (quota 10)", Range: limits.Range{Min: 0, Max: 10000},
		field: func(s *Settings) any { return &s.Consumer.ReservedConcurrency }},
	{Key: KeyBatchSize, Type: Integer, Default: "10",
		Doc: "Most messages per invocation, stored in one transaction.", DevProd: "prod: fewer, larger transactions", Range: limits.BatchSize,
		field: func(s *Settings) any { return &s.Consumer.BatchSize }},
	{Key: KeyBatchingWindow, Type: Integer, Default: "0",
		Doc: "Seconds the mapping gathers a batch.", DevProd: "prod waits longer for fuller batches", Range: limits.BatchingWindowSeconds,
		field: func(s *Settings) any { return &s.Consumer.BatchingWindow }, unit: time.Second},
	{Key: KeyMaxStatementBytes, Type: Integer, Default: strconv.Itoa(statementsize.Default),
		Doc:   "Longest INSERT the consumer sends (" + statementsize.EnvVar + "); " + strconv.Itoa(statementsize.ProxyPinning) + " keeps batches from pinning proxy sessions, at a cost in throughput.",
		Range: limits.Range{Min: statementsize.Min, Max: statementsize.Max},
		field: func(s *Settings) any { return &s.Consumer.MaxStatementBytes }},
}
