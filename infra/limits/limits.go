// Package limits holds what AWS accepts for the values Sluice configures,
// and the rules between those values, written once: the settings loader
// (infra/settings) checks stack keys against them and each component's
// Validate checks its Args fields against the same values, so a range or a
// rule cannot drift apart between the two. It has no Pulumi dependency, so
// the local pipeline can load settings without linking the AWS SDK.
//
// Callers word their own errors (a settings key or an Args field); Invalid is
// the one shape every component's Validate returns.
package limits

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strings"
)

// Range is an inclusive range of whole numbers.
type Range struct{ Min, Max int }

// Contains reports whether v is in the range.
func (r Range) Contains(v int) bool { return r.Min <= v && v <= r.Max }

// String is the range as Validate errors show it, e.g. "1–900".
func (r Range) String() string { return fmt.Sprintf("%d–%d", r.Min, r.Max) }

// Invalid returns a validation error that names the Args field first
// ("BatchSize: 0: want 1–10000"), so the caller sees which field to fix.
func Invalid(field, format string, a ...any) error {
	return fmt.Errorf("%s: %s", field, fmt.Sprintf(format, a...))
}

// OneOf says "one of a, b or c" for a list of allowed values.
func OneOf[T any](values []T) string {
	words := make([]string, len(values))
	for i, v := range values {
		words[i] = fmt.Sprint(v)
	}
	if len(words) < 2 {
		return "one of " + strings.Join(words, "")
	}
	return "one of " + strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
}

// Lambda.
var (
	FunctionTimeoutSeconds = Range{1, 900}
	FunctionMemoryMB       = Range{128, 10240}
)

// Event source mapping from an SQS standard queue.
var (
	BatchSize             = Range{1, 10000}
	BatchingWindowSeconds = Range{0, 300}
	// MaximumConcurrency is ScalingConfig.MaximumConcurrency: the mapping
	// invokes at most this many functions at once (the database guard).
	MaximumConcurrency = Range{2, 1000}
)

// LargestBatchWithoutWindow is the largest batch size Lambda accepts
// without a batching window.
const LargestBatchWithoutWindow = 10

// BatchNeedsWindow reports whether a mapping with this batch size and
// batching window is refused: Lambda requires a window of at least one
// second for batches larger than LargestBatchWithoutWindow.
func BatchNeedsWindow(batchSize, windowSeconds int) bool {
	return batchSize > LargestBatchWithoutWindow && windowSeconds < 1
}

// ReservedCoversMaximum reports whether a function's reserved concurrency
// leaves room for every invocation its mapping may start. If it does not,
// Lambda throttles the mapping's invocations and SQS counts each throttled
// receive, so messages reach the DLQ without ever being processed.
// A function without a reservation (0) draws on the account's unreserved
// pool and only the mapping's maximum concurrency bounds it.
func ReservedCoversMaximum(reserved, maximumConcurrency int) bool {
	return reserved == 0 || reserved >= maximumConcurrency
}

// KMSDeletionWindowDays is the waiting period KMS accepts for scheduling a
// key's deletion (ScheduleKeyDeletion PendingWindowInDays: 7–30).
var KMSDeletionWindowDays = Range{Min: 7, Max: 30}

// CloudWatch Logs.

// LogRetentionDays are the retention periods CloudWatch Logs accepts.
var LogRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// ValidLogRetention reports whether CloudWatch Logs accepts days.
func ValidLogRetention(days int) bool { return slices.Contains(LogRetentionDays, days) }

// SQS standard queue.
var (
	// MessageBytes is the maximum message size pulumi-aws v6 accepts.
	MessageBytes             = Range{1024, 262144}
	VisibilityTimeoutSeconds = Range{0, 12 * 60 * 60}
	MessageRetentionSeconds  = Range{60, maxRetentionSeconds}
	MaxReceiveCount          = Range{1, 1000}
)

// maxRetentionSeconds is the longest an SQS queue keeps a message: 14 days.
const maxRetentionSeconds = 14 * 24 * 60 * 60

// DLQRetentionSeconds is how long Sluice's dead-letter queue keeps a
// message: the SQS maximum, so that what reached the DLQ stays as long as
// SQS allows.
const DLQRetentionSeconds = maxRetentionSeconds

// DLQOutlivesQueue reports whether a dead-letter queue keeping messages for
// dlqSeconds keeps what a queue keeping them for queueSeconds sends it. A
// standard queue's DLQ counts a message's age from its original enqueue, so
// the DLQ must keep messages strictly longer than the source queue.
func DLQOutlivesQueue(queueSeconds, dlqSeconds int) bool { return queueSeconds < dlqSeconds }

// VisibilityFactor is the multiple of (function timeout + batching window)
// that AWS recommends for an event source queue's visibility timeout, so
// that a batch is not delivered again while a retrying invocation still
// holds it.
const VisibilityFactor = 6

// MinVisibilityTimeoutSeconds is the smallest visibility timeout the
// VisibilityFactor rule allows for a consumer with this timeout and window.
func MinVisibilityTimeoutSeconds(functionTimeoutSeconds, windowSeconds int) int {
	return VisibilityFactor * (functionTimeoutSeconds + windowSeconds)
}

// API Gateway (account-level defaults of a region).
const (
	MaxThrottleRate  = 10000 // requests per second
	MaxThrottleBurst = 5000  // token bucket size
)

// CORSOriginPattern is an origin API Gateway's CORS configuration may name
// that Sluice accepts: https with an optional port, http only for
// localhost (a developer's front end), or "*".
var CORSOriginPattern = regexp.MustCompile(`^(https://[a-z0-9.-]+(:[0-9]+)?|http://localhost(:[0-9]+)?|\*)$`)

// VPC.
var (
	// AvailabilityZones is how many zones (one private subnet each) a new
	// VPC spans: RDS and the proxy need two; six is plenty.
	AvailabilityZones = Range{2, 6}

	ZonePattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$`)
	VPCIDPattern    = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	SubnetIDPattern = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
)

// MinExistingSubnets is how many subnets of an existing VPC Sluice needs at
// least: RDS and the proxy need two zones.
const MinExistingSubnets = 2

// VPCCIDRAllowed says in words what ValidVPCCIDR accepts.
const VPCCIDRAllowed = "a private IPv4 network from /16 to /24, such as 10.40.0.0/16"

// ValidVPCCIDR reports whether cidr is a network a new Sluice VPC may use:
// private IPv4, /16 to /24 (room for a /20 to /28 subnet per zone), given
// by its network address.
func ValidVPCCIDR(cidr string) bool {
	p, err := netip.ParsePrefix(cidr)
	return err == nil && p.Addr().Is4() && p.Bits() >= 16 && p.Bits() <= 24 && p.Masked() == p && p.Addr().IsPrivate()
}

// RDS for MySQL.
var (
	AllocatedStorageGiB = Range{20, 65536} // gp3
	// MaxAllocatedStorageGiB is the storage autoscaling ceiling; 0 turns
	// autoscaling off (see ValidMaxAllocatedStorage).
	MaxAllocatedStorageGiB = Range{0, 65536}
	BackupRetentionDays    = Range{0, 35}

	InstanceClassPattern = regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`)
	DBNamePattern        = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	UserPattern          = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)
)

// Words for the patterns above, as errors show them.
const (
	InstanceClassAllowed = "an RDS instance class such as db.t4g.micro"
	DBNameAllowed        = "a MySQL schema name: a letter, then letters, digits or _ (at most 64)"
	UserAllowed          = "a MySQL user name: a letter, then letters, digits or _ (at most 32)"
)

// ReservedUsers cannot be created on RDS for MySQL or are RDS's own.
var ReservedUsers = []string{"root", "rdsadmin", "rdsrepladmin", "rdsproxyadmin", "mysql.sys", "mysql.session", "mysql.infoschema", "admin"}

// ReservedUser reports whether user is one of ReservedUsers (MySQL user
// names compare case-insensitively here, as RDS reserves them).
func ReservedUser(user string) bool { return slices.Contains(ReservedUsers, strings.ToLower(user)) }

// NoPerformanceInsights are the instance classes on which RDS for MySQL has
// no Performance Insights.
var NoPerformanceInsights = []string{"db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"}

// PerformanceInsightsAvailable reports whether Performance Insights can be
// enabled on instanceClass.
func PerformanceInsightsAvailable(instanceClass string) bool {
	return !slices.Contains(NoPerformanceInsights, instanceClass)
}

// ValidMaxAllocatedStorage reports whether maxGiB is a storage autoscaling
// ceiling RDS accepts for an instance with allocatedGiB: 0 turns
// autoscaling off; otherwise the ceiling must be above the allocation.
func ValidMaxAllocatedStorage(maxGiB, allocatedGiB int) bool {
	return maxGiB == 0 || maxGiB > allocatedGiB
}

// RestorableWhenProtected reports whether a database that deletion
// protection keeps is also restorable: a protected database without
// backups cannot be restored to a point in time.
func RestorableWhenProtected(deletionProtection bool, backupRetentionDays int) bool {
	return !deletionProtection || backupRetentionDays >= 1
}

// SeparateUsers reports whether the application user differs from the
// master user: the application never connects as the master.
func SeparateUsers(master, app string) bool { return !strings.EqualFold(master, app) }

// RDS Proxy.
var (
	ProxyIdleClientTimeoutSeconds = Range{1, 8 * 60 * 60}
	ProxyBorrowTimeoutSeconds     = Range{1, 3600}
	ProxyMaxConnectionsPercent    = Range{1, 100}
	ProxyMaxIdlePercent           = Range{0, 100}
)

// IdleWithinMax reports whether a pool keeps at most as many idle
// connections as it may open (both are percentages of max_connections).
func IdleWithinMax(idlePercent, maxPercent int) bool { return idlePercent <= maxPercent }
