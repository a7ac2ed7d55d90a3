package settings

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/consumer/statementsize"
	"github.com/sluicehq/sluice/infra/limits"
	"github.com/sluicehq/sluice/infra/mysqlversion"
	"github.com/sluicehq/sluice/infra/routeauth"
	"github.com/sluicehq/sluice/internal/proxyhealth"
	"github.com/sluicehq/sluice/migrations"
)

// Type is how a key's value is written in a stack file.
type Type string

// The types of keys.
const (
	Integer Type = "integer"
	Number  Type = "number" // a decimal, e.g. 12.5
	Boolean Type = "boolean"
	String  Type = "string"
	List    Type = "list" // comma-separated strings
)

// Spec declares one `sluice:` key, in the manner of a Terraform variable
// block: type, default and documentation together with what the key
// accepts and the Settings field it fills.
type Spec struct {
	Key     string // without the namespace
	Section string // the component it configures, for the documentation
	Type    Type
	// Default is the value of an unset key, written as in a stack file. An
	// empty Default means the key is optional (unset) or Derived; for such
	// keys an empty value is the same as no value, which is what the
	// engine passes for Pulumi.yaml's `default: ""`.
	Default string
	// Derived says in words how the default follows from other keys; the
	// loader then computes it with derive.
	Derived string
	Doc     string // one line
	// DevProd says why dev and prod set different values; a test checks it
	// is there exactly for the keys whose values differ.
	DevProd string

	// What the key accepts (see check): Range for an Integer, Max for a
	// Number (above 0), Values for a String, an Integer or each List item,
	// Pattern for a String or each List item (described by Allowed), Items
	// for how many List items, and Check for what a pattern cannot say.
	Range   limits.Range
	Max     float64
	Values  []string
	Pattern *regexp.Regexp
	Allowed string
	Items   limits.Range
	Check   func(value string) (problem string)

	field  func(*Settings) any // *int, *bool, *string, *float64, *[]string, *time.Duration (in unit) or *routeauth.Mode
	unit   time.Duration
	derive func(*Settings)
}

// FullKey is the key with its namespace, e.g. "sluice:batchSize".
func (k Spec) FullKey() string { return Key(k.Key) }

// Optional reports whether an empty value means the key is unset.
func (k Spec) Optional() bool { return k.Default == "" }

// Key returns the full config key for a sluice key name.
func Key(name string) string { return Namespace + ":" + name }

// Keys of the sluice namespace, without the "sluice:" prefix.
const (
	KeyVpcCIDR           = "vpcCidr"
	KeyAvailabilityZones = "availabilityZones"
	KeyExistingVpcID     = "existingVpcId"
	KeyExistingSubnetIDs = "existingSubnetIds"

	KeyDBInstanceClass            = "dbInstanceClass"
	KeyDBEngineVersion            = "dbEngineVersion"
	KeyDBAllowMajorVersionUpgrade = "dbAllowMajorVersionUpgrade"
	KeyDBAllocatedStorage         = "dbAllocatedStorageGiB"
	KeyDBMaxAllocatedStorage      = "dbMaxAllocatedStorageGiB"
	KeyDBMultiAZ                  = "dbMultiAz"
	KeyDBDeletionProtection       = "dbDeletionProtection"
	KeyDBBackupRetentionDays      = "dbBackupRetentionDays"
	KeyDBFinalSnapshot            = "dbFinalSnapshot"
	KeyDBPerformanceInsights      = "dbPerformanceInsights"
	KeyDBName                     = "dbName"
	KeyDBMasterUser               = "dbMasterUser"
	KeyDBAppUser                  = "dbAppUser"
	KeyAppPasswordGeneration      = "appPasswordGeneration"
	KeyAppUserAuthPlugin          = proxyhealth.KeyAppUserAuthPlugin

	KeySecretsManagerEndpoint     = proxyhealth.KeySecretsManagerEndpoint
	KeyProxyIdleClientTimeout     = "proxyIdleClientTimeoutSeconds"
	KeyProxyBorrowTimeout         = "proxyBorrowTimeoutSeconds"
	KeyProxyMaxConnectionsPercent = "proxyMaxConnectionsPercent"
	KeyProxyMaxIdlePercent        = "proxyMaxIdleConnectionsPercent"

	KeyVisibilityTimeout = "visibilityTimeoutSeconds"
	KeyQueueRetention    = "queueRetentionSeconds"
	KeyMaxReceiveCount   = "maxReceiveCount"

	KeyFunctionTimeout     = "functionTimeoutSeconds"
	KeyFunctionMemory      = "functionMemoryMB"
	KeyReservedConcurrency = "reservedConcurrency"
	KeyMaxConcurrency      = "maxConcurrency"
	KeyBatchSize           = "batchSize"
	KeyBatchingWindow      = "batchingWindowSeconds"
	KeyMaxStatementBytes   = "consumerMaxStatementBytes"

	KeyAPIThrottleRate  = "apiThrottleRate"
	KeyAPIThrottleBurst = "apiThrottleBurst"
	KeyExpectedSpike    = "expectedSpike"
	KeyMaxBodyBytes     = "maxBodyBytes"
	KeyAPIAuth          = "apiAuth"
	KeyJWTIssuer        = "jwtIssuer"
	KeyJWTAudience      = "jwtAudience"
	KeyCORSAllowOrigins = "corsAllowOrigins"
	KeyPublicRoutes     = "publicRoutes"

	KeyAlarmEmail            = "alarmEmail"
	KeyOldestMessageAlarm    = "oldestMessageAlarmSeconds"
	KeyBorrowLatencyAlarm    = "proxyBorrowLatencyAlarmMs"
	KeyQuarantineAlarm       = "quarantineAlarmRecords"
	KeyDBCPUAlarm            = "dbCpuAlarmPercent"
	KeyDBFreeStorageAlarm    = "dbFreeStorageAlarmGiB"
	KeyDBFreeMemoryAlarm     = "dbFreeableMemoryAlarmMiB"
	KeyDBConnectionsAlarm    = "dbConnectionsAlarm"
	KeyLogRetentionDays      = "logRetentionDays"
	KeyKMSDeletionWindowDays = "kmsKeyDeletionWindowDays"
)

// defaultVpcCIDR is the network of a new VPC when the stack names none.
const defaultVpcCIDR = "10.40.0.0/16"

var (
	regionPattern = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	emailPattern  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	nonBlank      = regexp.MustCompile(`^\S+$`)
)

// Keys is every `sluice:` key, in the order the documentation lists them.
var Keys = []Spec{
	// Network.
	{Key: KeyVpcCIDR, Section: "Network", Type: String,
		Derived: defaultVpcCIDR + " (a new VPC only)", Doc: "IPv4 network of a new VPC; each zone gets one private subnet of it.",
		DevProd: "separate networks, so the two VPCs can be peered", Allowed: limits.VPCCIDRAllowed, Check: vpcCIDR,
		field: func(s *Settings) any { return &s.Network.VpcCIDR }, derive: func(s *Settings) { s.Network.VpcCIDR = defaultVpcCIDR }},
	{Key: KeyAvailabilityZones, Section: "Network", Type: List,
		Derived: "`<aws:region>a,<aws:region>c`", Doc: "Zones of a new VPC, one private subnet each.",
		DevProd: "prod spans a third zone", Pattern: limits.ZonePattern, Items: limits.AvailabilityZones,
		Allowed: "a comma-separated list of availability zones such as ap-northeast-1a,ap-northeast-1c",
		field:   func(s *Settings) any { return &s.Network.AvailabilityZones },
		derive:  func(s *Settings) { s.Network.AvailabilityZones = []string{s.Region + "a", s.Region + "c"} }},
	{Key: KeyExistingVpcID, Section: "Network", Type: String,
		Doc:     "Deploy into this existing VPC (with existingSubnetIds) instead of creating one.",
		Pattern: limits.VPCIDPattern, Allowed: "a VPC id such as vpc-0123456789abcdef0",
		field: func(s *Settings) any { return &s.Network.ExistingVpcID }},
	{Key: KeyExistingSubnetIDs, Section: "Network", Type: List,
		Doc:     "Private subnets of existingVpcId, in different zones.",
		Pattern: limits.SubnetIDPattern, Allowed: "a comma-separated list of subnet ids such as subnet-0123456789abcdef0",
		field: func(s *Settings) any { return &s.Network.ExistingSubnetIDs }},

	// Database.
	{Key: KeyDBInstanceClass, Section: "Database", Type: String, Default: "db.t4g.micro",
		Doc: "RDS instance class.", DevProd: "prod: a general-purpose instance for production load",
		Pattern: limits.InstanceClassPattern, Allowed: limits.InstanceClassAllowed,
		field: func(s *Settings) any { return &s.Database.InstanceClass }},
	{Key: KeyDBEngineVersion, Section: "Database", Type: String, Default: mysqlversion.Default,
		Doc:    "RDS for MySQL major version; the parameter group family and the proxy's client authentication follow it.",
		Values: mysqlversion.Majors(),
		field:  func(s *Settings) any { return &s.Database.EngineVersion }},
	{Key: KeyDBAllowMajorVersionUpgrade, Section: "Database", Type: Boolean, Default: "false",
		Doc:   "true only for the `pulumi up` that changes dbEngineVersion of an existing instance: allows the major upgrade and applies it immediately (docs/operating.md).",
		field: func(s *Settings) any { return &s.Database.AllowMajorVersionUpgrade }},
	{Key: KeyDBAllocatedStorage, Section: "Database", Type: Integer, Default: "20",
		Doc: "Allocated gp3 storage, GiB.", DevProd: "prod: room for a year of submissions", Range: limits.AllocatedStorageGiB,
		field: func(s *Settings) any { return &s.Database.AllocatedStorageGiB }},
	{Key: KeyDBMaxAllocatedStorage, Section: "Database", Type: Integer, Default: "100",
		Doc: "Storage autoscaling ceiling, GiB; 0 turns autoscaling off.", DevProd: "dev caps the cost, prod the growth",
		Range: limits.MaxAllocatedStorageGiB,
		field: func(s *Settings) any { return &s.Database.MaxAllocatedStorageGiB }},
	{Key: KeyDBMultiAZ, Section: "Database", Type: Boolean, Default: "false",
		Doc: "A standby in a second zone that RDS fails over to.", DevProd: "prod survives the loss of a zone",
		field: func(s *Settings) any { return &s.Database.MultiAZ }},
	{Key: KeyDBDeletionProtection, Section: "Database", Type: Boolean, Default: "false",
		Doc: "RDS refuses to delete the instance.", DevProd: "prod cannot be deleted by accident",
		field: func(s *Settings) any { return &s.Database.DeletionProtection }},
	{Key: KeyDBBackupRetentionDays, Section: "Database", Type: Integer, Default: "1",
		Doc: "Days of automated backups (point-in-time restore).", DevProd: "prod can be restored two weeks back",
		Range: limits.BackupRetentionDays,
		field: func(s *Settings) any { return &s.Database.BackupRetentionDays }},
	{Key: KeyDBFinalSnapshot, Section: "Database", Type: Boolean, Default: "false",
		Doc: "Take snapshot `<instance>-final-<8 hex>` when the instance is deleted (the suffix is drawn when the instance is created, so a re-created stack's snapshot gets another name).", DevProd: "prod keeps its data when the stack is destroyed",
		field: func(s *Settings) any { return &s.Database.FinalSnapshot }},
	{Key: KeyDBPerformanceInsights, Section: "Database", Type: Boolean, Default: "false",
		Doc: "Database Insights Standard (Performance Insights API, 7 days, no charge).", DevProd: "dev's micro class has none",
		field: func(s *Settings) any { return &s.Database.PerformanceInsights }},
	{Key: KeyAppUserAuthPlugin, Section: "Database", Type: String, Default: migrations.PluginCachingSHA2,
		Doc:    "Authentication plugin the migrator creates the application user with; " + migrations.PluginNativeLegacy + " is the fallback if RDS Proxy cannot log in with the other (docs/deploying.md).",
		Values: []string{migrations.PluginCachingSHA2, migrations.PluginNativeLegacy},
		field:  func(s *Settings) any { return &s.Database.AppUserAuthPlugin }},
	{Key: KeyDBName, Section: "Database", Type: String, Default: "sluice",
		Doc: "Schema the consumer writes to.", Pattern: limits.DBNamePattern, Allowed: limits.DBNameAllowed,
		field: func(s *Settings) any { return &s.Database.Name }},
	{Key: KeyDBMasterUser, Section: "Database", Type: String, Default: "sluice_admin",
		Doc:     "RDS master user (migrations); RDS keeps its password in Secrets Manager.",
		Pattern: limits.UserPattern, Allowed: limits.UserAllowed, Check: notReserved,
		field: func(s *Settings) any { return &s.Database.MasterUser }},
	{Key: KeyDBAppUser, Section: "Database", Type: String, Default: "sluice_app",
		Doc:     "Least-privileged user the consumer connects as.",
		Pattern: limits.UserPattern, Allowed: limits.UserAllowed, Check: notReserved,
		field: func(s *Settings) any { return &s.Database.AppUser }},
	{Key: KeyAppPasswordGeneration, Section: "Database", Type: Integer, Default: "1",
		Doc: "Raise by one to rotate the application user's password (docs/operating.md).", Range: limits.Range{Min: 1, Max: 1000000},
		field: func(s *Settings) any { return &s.Database.AppPasswordGeneration }},

	// Proxy.
	{Key: KeySecretsManagerEndpoint, Section: "Proxy", Type: Boolean, Default: "false",
		Doc:   "A Secrets Manager interface VPC endpoint and 443 egress from the proxy: the fallback if the proxy cannot read its secrets (docs/deploying.md).",
		field: func(s *Settings) any { return &s.Proxy.SecretsManagerEndpoint }},
	{Key: KeyProxyIdleClientTimeout, Section: "Proxy", Type: Integer, Default: "900",
		Doc: "Seconds before the proxy closes an idle client connection.", Range: limits.ProxyIdleClientTimeoutSeconds,
		field: func(s *Settings) any { return &s.Proxy.IdleClientTimeout }, unit: time.Second},
	{Key: KeyProxyBorrowTimeout, Section: "Proxy", Type: Integer, Default: "10",
		Doc: "Seconds a client waits for a pooled connection before it gets an error.", Range: limits.ProxyBorrowTimeoutSeconds,
		field: func(s *Settings) any { return &s.Proxy.BorrowTimeout }, unit: time.Second},
	{Key: KeyProxyMaxConnectionsPercent, Section: "Proxy", Type: Integer, Default: "90",
		Doc: "Pool size, % of the database's max_connections.", Range: limits.ProxyMaxConnectionsPercent,
		field: func(s *Settings) any { return &s.Proxy.MaxConnectionsPercent }},
	{Key: KeyProxyMaxIdlePercent, Section: "Proxy", Type: Integer, Default: "50",
		Doc: "Idle connections the pool keeps, % of max_connections.", Range: limits.ProxyMaxIdlePercent,
		field: func(s *Settings) any { return &s.Proxy.MaxIdleConnectionsPercent }},

	// Queue.
	{Key: KeyVisibilityTimeout, Section: "Queue", Type: Integer,
		Derived: "6 × (functionTimeoutSeconds + batchingWindowSeconds)", Doc: "Seconds a received message stays invisible to other receivers.",
		DevProd: "follows prod's longer batching window", Range: limits.VisibilityTimeoutSeconds,
		field: func(s *Settings) any { return &s.Queue.VisibilityTimeout }, unit: time.Second,
		derive: func(s *Settings) { s.Queue.VisibilityTimeout = DefaultVisibilityTimeout(s.Consumer) }},
	{Key: KeyQueueRetention, Section: "Queue", Type: Integer, Default: "345600",
		Doc: "Seconds the queue keeps a message (4 days); the DLQ keeps it 14 days.", Range: limits.MessageRetentionSeconds,
		field: func(s *Settings) any { return &s.Queue.Retention }, unit: time.Second},
	{Key: KeyMaxReceiveCount, Section: "Queue", Type: Integer, Default: "5",
		Doc: "Receives before a message moves to the DLQ.", Range: limits.MaxReceiveCount,
		field: func(s *Settings) any { return &s.Queue.MaxReceiveCount }},

	// Consumer.
	{Key: KeyFunctionTimeout, Section: "Consumer", Type: Integer, Default: "30",
		Doc: "Consumer Lambda timeout, seconds.", Range: limits.FunctionTimeoutSeconds,
		field: func(s *Settings) any { return &s.Consumer.Timeout }, unit: time.Second},
	{Key: KeyFunctionMemory, Section: "Consumer", Type: Integer, Default: "256",
		Doc: "Consumer Lambda memory, MB (CPU follows it).", DevProd: "prod: more CPU per batch", Range: limits.FunctionMemoryMB,
		field: func(s *Settings) any { return &s.Consumer.MemoryMB }},
	{Key: KeyMaxConcurrency, Section: "Consumer", Type: Integer, Default: "2",
		Doc: "Most consumer invocations at once: the database guard.", DevProd: "prod drains a spike faster", Range: limits.MaximumConcurrency,
		field: func(s *Settings) any { return &s.Consumer.MaxConcurrency }},
	// Lambda refuses a reservation that leaves the account's unreserved
	// pool below its minimum (100, or the whole quota of a young account
	// limited to 10 or 50): docs/deploying.md, Prerequisites.
	{Key: KeyReservedConcurrency, Section: "Consumer", Type: Integer, Default: "0",
		Doc:     "Concurrency reserved for the consumer Lambda; 0: none (the account's unreserved pool). The account's quota must be at least 100 + this.",
		DevProd: "prod guarantees the consumer its capacity (quota ≥ 112); dev reserves none, so it deploys in a young account (quota 10)", Range: limits.Range{Min: 0, Max: 10000},
		field: func(s *Settings) any { return &s.Consumer.ReservedConcurrency }},
	{Key: KeyBatchSize, Section: "Consumer", Type: Integer, Default: "10",
		Doc: "Most messages per invocation, stored in one transaction.", DevProd: "prod: fewer, larger transactions", Range: limits.BatchSize,
		field: func(s *Settings) any { return &s.Consumer.BatchSize }},
	{Key: KeyBatchingWindow, Section: "Consumer", Type: Integer, Default: "0",
		Doc: "Seconds the mapping gathers a batch.", DevProd: "prod waits longer for fuller batches", Range: limits.BatchingWindowSeconds,
		field: func(s *Settings) any { return &s.Consumer.BatchingWindow }, unit: time.Second},
	{Key: KeyMaxStatementBytes, Section: "Consumer", Type: Integer, Default: strconv.Itoa(statementsize.Default),
		Doc:   "Longest INSERT the consumer sends (" + statementsize.EnvVar + "); " + strconv.Itoa(statementsize.ProxyPinning) + " keeps batches from pinning proxy sessions, at a cost in throughput.",
		Range: limits.Range{Min: statementsize.Min, Max: statementsize.Max},
		field: func(s *Settings) any { return &s.Consumer.MaxStatementBytes }},

	// API.
	{Key: KeyAPIThrottleRate, Section: "API", Type: Number, Default: "500",
		Doc: "Steady requests per second the stage accepts.", DevProd: "prod: production traffic", Max: limits.MaxThrottleRate,
		field: func(s *Settings) any { return &s.API.ThrottleRate }},
	{Key: KeyAPIThrottleBurst, Section: "API", Type: Integer, Default: "2000",
		Doc: "Token bucket of the stage: the burst it takes without 429.", DevProd: "prod: the account's default burst", Range: limits.Range{Min: 0, Max: limits.MaxThrottleBurst},
		field: func(s *Settings) any { return &s.API.ThrottleBurst }},
	{Key: KeyExpectedSpike, Section: "API", Type: Integer, Default: "1000",
		Doc: "Simultaneous POSTs the edge must accept without 429.", DevProd: "prod plans for larger spikes", Range: limits.Range{Min: 1, Max: limits.MaxThrottleBurst},
		field: func(s *Settings) any { return &s.API.ExpectedSpike }},
	{Key: KeyMaxBodyBytes, Section: "API", Type: Integer, Default: strconv.Itoa(limits.MessageBytes.Max),
		Doc: "Largest POST body; also the queue's maximum message size.", Range: limits.MessageBytes,
		field: func(s *Settings) any { return &s.API.MaxBodyBytes }},
	{Key: KeyAPIAuth, Section: "API", Type: String, Default: string(routeauth.None),
		Doc: "Authorization of " + routeauth.Submit + ".", Values: modeNames(),
		field: func(s *Settings) any { return &s.API.Auth }},
	{Key: KeyJWTIssuer, Section: "API", Type: String,
		Doc: "Issuer of the JWT authorizer (apiAuth JWT).", Allowed: "an https:// URL (the token issuer)", Check: issuer,
		field: func(s *Settings) any { return &s.API.JWTIssuer }},
	{Key: KeyJWTAudience, Section: "API", Type: List,
		Doc: "Audiences the JWT authorizer accepts (apiAuth JWT).", Pattern: nonBlank, Allowed: "a comma-separated list of audiences",
		field: func(s *Settings) any { return &s.API.JWTAudience }},
	{Key: KeyCORSAllowOrigins, Section: "API", Type: List,
		Doc: "Origins CORS allows; unset: no CORS configuration.", Pattern: limits.CORSOriginPattern,
		Allowed: "a comma-separated list of origins such as https://app.example.com, http://localhost:3000 or *",
		field:   func(s *Settings) any { return &s.API.CORSAllowOrigins }},
	{Key: KeyPublicRoutes, Section: "API", Type: List, Default: routeauth.Submit,
		Doc:    "Routes that are public on purpose; the policy pack's apigw-route-authorization accepts them without authorization.",
		Values: routeauth.Routes, Allowed: "a comma-separated list of the API's route keys (" + strings.Join(routeauth.Routes, ", ") + "), or empty for none",
		field: func(s *Settings) any { return &s.API.PublicRoutes }},

	// Observability.
	{Key: KeyAlarmEmail, Section: "Observability", Type: String,
		Doc: "Address subscribed to the alarm topic (AWS sends a confirmation e-mail).", Pattern: emailPattern, Allowed: "an email address",
		field: func(s *Settings) any { return &s.Observability.AlarmEmail }},
	{Key: KeyOldestMessageAlarm, Section: "Observability", Type: Integer, Default: "300",
		Doc: "Alarm when the oldest queued message is older than this, seconds.", Range: limits.Range{Min: 60, Max: limits.DLQRetentionSeconds},
		field: func(s *Settings) any { return &s.Observability.OldestMessageAge }, unit: time.Second},
	{Key: KeyBorrowLatencyAlarm, Section: "Observability", Type: Integer, Default: "1000",
		Doc: "Alarm when borrowing a proxy connection takes longer than this on average, ms.", Range: limits.Range{Min: 1, Max: 3600 * 1000},
		field: func(s *Settings) any { return &s.Observability.BorrowLatency }, unit: time.Millisecond},
	// The database thresholds' defaults suit the default db.t4g.micro (1 GiB,
	// max_connections about 66); a larger dbInstanceClass wants larger ones.
	{Key: KeyQuarantineAlarm, Section: "Observability", Type: Integer, Default: "10",
		Doc: "Alarm when this many records are quarantined within 5 minutes (a client sending bad data).", DevProd: "prod has more traffic, and more clients",
		Range: limits.Range{Min: 1, Max: 1000000},
		field: func(s *Settings) any { return &s.Observability.QuarantineAlarmRecords }},
	{Key: KeyDBCPUAlarm, Section: "Observability", Type: Integer, Default: "80",
		Doc: "Alarm when the database's average CPU stays above this for 15 minutes, %.", Range: limits.Range{Min: 1, Max: 100},
		field: func(s *Settings) any { return &s.Observability.DBCPUAlarmPercent }},
	{Key: KeyDBFreeStorageAlarm, Section: "Observability", Type: Integer, Default: "2",
		Doc: "Alarm when the database's free storage drops below this, GiB.", DevProd: "prod's storage is larger", Range: limits.Range{Min: 1, Max: 65536},
		field: func(s *Settings) any { return &s.Observability.DBFreeStorageAlarmGiB }},
	{Key: KeyDBFreeMemoryAlarm, Section: "Observability", Type: Integer, Default: "64",
		Doc: "Alarm when the database's freeable memory stays below this for 10 minutes, MiB.", DevProd: "prod's instance has 8 GiB, dev's 1 GiB",
		Range: limits.Range{Min: 1, Max: 1048576},
		field: func(s *Settings) any { return &s.Observability.DBFreeableMemoryAlarmMiB }},
	{Key: KeyDBConnectionsAlarm, Section: "Observability", Type: Integer, Default: "50",
		Doc: "Alarm when the database has more connections than this; keep it below max_connections.", DevProd: "max_connections follows the instance's memory",
		Range: limits.Range{Min: 1, Max: 100000},
		field: func(s *Settings) any { return &s.Observability.DBConnectionsAlarm }},
	{Key: KeyKMSDeletionWindowDays, Section: "Observability", Type: Integer, Default: "30",
		Doc: "Days the alarm topic's KMS key waits in PendingDeletion after a destroy.", DevProd: "dev is destroyed often; prod keeps the longest window to undo a mistake",
		Range: limits.KMSDeletionWindowDays,
		field: func(s *Settings) any { return &s.Observability.KMSDeletionWindowDays }},
	{Key: KeyLogRetentionDays, Section: "Observability", Type: Integer, Default: "14",
		Doc: "Days every log group keeps its events.", DevProd: "prod keeps logs longer", Values: intStrings(limits.LogRetentionDays),
		field: func(s *Settings) any { return &s.Observability.LogRetentionDays }},
}

func vpcCIDR(v string) string {
	if !limits.ValidVPCCIDR(v) {
		return "must be " + limits.VPCCIDRAllowed
	}
	return ""
}

func notReserved(v string) string {
	if limits.ReservedUser(v) {
		return "must not be one of the reserved names " + strings.Join(limits.ReservedUsers, ", ")
	}
	return ""
}

func issuer(v string) string {
	if !routeauth.ValidIssuer(v) {
		return "must be an https:// URL (the token issuer), or unset"
	}
	return ""
}

func modeNames() []string {
	out := make([]string, len(routeauth.Modes))
	for i, m := range routeauth.Modes {
		out[i] = string(m)
	}
	return out
}

func intStrings(values []int) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = strconv.Itoa(v)
	}
	return out
}
