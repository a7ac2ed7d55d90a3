// Package settings turns a stack's configuration (the `sluice:` keys and
// `aws:region` of Pulumi.<stack>.yaml) into one typed, validated Settings
// value. The Pulumi program, the offline preview, the policy tests and the
// local pipeline all read the same value, so a rule such as "visibility
// timeout ≥ 6 × (function timeout + batching window)" is enforced once.
//
// Every key is declared once, in Keys (spec.go): its type, default, what it
// accepts, one line of documentation and why dev and prod differ. The
// loader reads that table; so do the configuration table in
// docs/configuration.md and the config block of Pulumi.yaml, which tests
// check against it. A bad value is reported with the key, the value and
// what is allowed, all problems at once, before any resource is registered.
package settings

import (
	"time"

	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/routeauth"
)

// Namespace is the Pulumi project name and therefore the config namespace.
const Namespace = "sluice"

// RegionKey is the AWS provider's region key, read alongside the sluice keys.
const RegionKey = "aws:region"

// DLQRetention is how long the dead-letter queue keeps a message
// (limits.DLQRetentionSeconds, the SQS maximum).
const DLQRetention = time.Duration(limits.DLQRetentionSeconds) * time.Second

// Settings is everything that differs between stacks.
type Settings struct {
	Region        string
	Network       Network
	Database      Database
	Proxy         Proxy
	Queue         Queue
	Consumer      Consumer
	API           API
	Observability Observability
}

// Network selects a new VPC (CIDR, zones) or an existing VPC and subnets.
type Network struct {
	VpcCIDR           string   // new VPC only
	AvailabilityZones []string // new VPC only; one private subnet per zone
	ExistingVpcID     string   // set together with ExistingSubnetIDs
	ExistingSubnetIDs []string
}

// UsesExistingVPC reports whether the stack deploys into a VPC it does not own.
func (n Network) UsesExistingVPC() bool { return n.ExistingVpcID != "" }

// Database is the RDS MySQL instance and its users.
type Database struct {
	InstanceClass string
	// EngineVersion is the MySQL major version, one of mysqlversion.Majors.
	EngineVersion string
	// AllowMajorVersionUpgrade lets an update change EngineVersion of an
	// existing instance, applied immediately.
	AllowMajorVersionUpgrade bool
	AllocatedStorageGiB      int
	MaxAllocatedStorageGiB   int // 0 disables storage autoscaling
	MultiAZ                  bool
	DeletionProtection       bool
	BackupRetentionDays      int
	FinalSnapshot            bool
	PerformanceInsights      bool
	Name                     string // schema name
	MasterUser               string // RDS master; its password is managed by RDS
	AppUser                  string // least-privileged user the consumer connects as
	// AppPasswordGeneration numbers the application user's password; raising
	// it makes the next `pulumi up` generate and store a new one (rotation).
	AppPasswordGeneration int
	// AppUserAuthPlugin is the plugin the migrator creates the application
	// user with (migrations.PluginCachingSHA2 or PluginNativeLegacy).
	AppUserAuthPlugin string
}

// Proxy is the RDS Proxy and its default target group's pool.
type Proxy struct {
	// SecretsManagerEndpoint adds a Secrets Manager interface endpoint the
	// proxy reads its secrets through.
	SecretsManagerEndpoint    bool
	IdleClientTimeout         time.Duration
	BorrowTimeout             time.Duration
	MaxConnectionsPercent     int
	MaxIdleConnectionsPercent int
}

// Queue is the main SQS queue; the DLQ's settings are fixed.
type Queue struct {
	VisibilityTimeout time.Duration
	Retention         time.Duration
	MaxReceiveCount   int
}

// Consumer is the Lambda function and its SQS event source mapping.
type Consumer struct {
	Timeout  time.Duration
	MemoryMB int
	// ReservedConcurrency is the function's reserved concurrency; 0: none.
	ReservedConcurrency int
	MaxConcurrency      int // the database guard: at most this many batches at once
	BatchSize           int
	BatchingWindow      time.Duration
	// MaxStatementBytes bounds one INSERT of the consumer
	// (statementsize.EnvVar).
	MaxStatementBytes int
}

// API is the HTTP API in front of the queue.
type API struct {
	ThrottleRate     float64 // steady requests per second
	ThrottleBurst    int     // token bucket size; must cover ExpectedSpike
	ExpectedSpike    int     // simultaneous POSTs the edge must accept without 429
	MaxBodyBytes     int     // also the queue's maximum message size
	Auth             routeauth.Mode
	JWTIssuer        string
	JWTAudience      []string
	CORSAllowOrigins []string // empty: no CORS configuration
	// PublicRoutes are the route keys that are public on purpose; the
	// policy pack's apigw-route-authorization accepts them unauthorized.
	PublicRoutes []string
}

// Observability is alarms and logs.
type Observability struct {
	AlarmEmail       string // optional SNS email subscription
	OldestMessageAge time.Duration
	BorrowLatency    time.Duration // proxy alarm: average time to borrow a connection
	LogRetentionDays int
	// QuarantineAlarmRecords raises the quarantine alarm when this many
	// records are quarantined within 5 minutes (a client sending bad data).
	QuarantineAlarmRecords int
	// Database alarms: average CPU above, free storage and freeable memory
	// below, and connections above these.
	DBCPUAlarmPercent        int
	DBFreeStorageAlarmGiB    int
	DBFreeableMemoryAlarmMiB int
	DBConnectionsAlarm       int
	// KMSDeletionWindowDays is the alarm topic key's deletion window.
	KMSDeletionWindowDays int
}

// DefaultVisibilityTimeout is the smallest visibility timeout the rule allows.
func DefaultVisibilityTimeout(c Consumer) time.Duration {
	return time.Duration(limits.MinVisibilityTimeoutSeconds(int(c.Timeout/time.Second), int(c.BatchingWindow/time.Second))) * time.Second
}
