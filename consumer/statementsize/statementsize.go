// Package statementsize holds the bounds of the consumer's INSERT statement
// size (SLUICE_MAX_STATEMENT_BYTES): the consumer enforces them at start,
// and the stack settings (consumerMaxStatementBytes) check the value they
// set against the same bounds. It is a leaf package so that the settings
// loader does not link the Lambda handler to know them.
package statementsize

// EnvVar is the consumer's environment variable for the limit.
const EnvVar = "SLUICE_MAX_STATEMENT_BYTES"

const (
	// Default puts a batch of up to several thousand records in one
	// statement, far below max_allowed_packet. A statement longer than
	// ProxyPinning pins the consumer's RDS Proxy session, which the design
	// accepts: maximum concurrency bounds the consumer instances, so it
	// bounds the pinned connections too.
	Default = 1 << 20
	// ProxyPinning is the longest statement that does not pin an RDS Proxy
	// session to one database connection. AWS documents the threshold as
	// "16 KB"; 16,000 bytes is below it however that is read. With this
	// limit only a quarantined body longer than it pins.
	ProxyPinning = 16000
	// Min leaves room for a handful of rows per statement.
	Min = 1 << 10
	// Max stays below the smallest server default for max_allowed_packet
	// (16 MiB on MariaDB; 64 MiB on MySQL 8).
	Max = 15 << 20
)
