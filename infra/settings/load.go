package settings

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sluicehq/sluice/consumer"
)

// Keys of the sluice namespace, without the "sluice:" prefix.
const (
	KeyVpcCIDR           = "vpcCidr"
	KeyAvailabilityZones = "availabilityZones"
	KeyExistingVpcID     = "existingVpcId"
	KeyExistingSubnetIDs = "existingSubnetIds"

	KeyDBInstanceClass       = "dbInstanceClass"
	KeyDBEngineVersion       = "dbEngineVersion"
	KeyDBAllocatedStorage    = "dbAllocatedStorageGiB"
	KeyDBMaxAllocatedStorage = "dbMaxAllocatedStorageGiB"
	KeyDBMultiAZ             = "dbMultiAz"
	KeyDBDeletionProtection  = "dbDeletionProtection"
	KeyDBBackupRetentionDays = "dbBackupRetentionDays"
	KeyDBFinalSnapshot       = "dbFinalSnapshot"
	KeyDBPerformanceInsights = "dbPerformanceInsights"
	KeyDBName                = "dbName"
	KeyDBMasterUser          = "dbMasterUser"
	KeyDBAppUser             = "dbAppUser"
	KeyAppPasswordGeneration = "appPasswordGeneration"

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

	KeyAlarmEmail          = "alarmEmail"
	KeyOldestMessageAlarm  = "oldestMessageAlarmSeconds"
	KeyBorrowLatencyAlarm  = "proxyBorrowLatencyAlarmMs"
	KeyLogRetentionDays    = "logRetentionDays"
	sqsMaxMessageBytes     = 262144 // the limit pulumi-aws v6 accepts for maxMessageSize
	sqsMinMessageBytes     = 1024
	sqsMaxVisibility       = 12 * 60 * 60
	lambdaMaxTimeout       = 900
	esmMaxBatchingWindow   = 300
	esmMinMaxConcurrency   = 2
	esmMaxMaxConcurrency   = 1000
	esmMaxBatchSize        = 10000
	esmBatchSizeNeedWindow = 10
	apiMaxBurst            = 5000  // API Gateway's account-level default burst
	apiMaxRate             = 10000 // API Gateway's account-level default rate
)

// Key returns the full config key for a sluice key name.
func Key(name string) string { return Namespace + ":" + name }

// logRetentionValues are the retention periods CloudWatch Logs accepts.
var logRetentionValues = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// piUnsupportedClasses are the instance classes on which RDS for MySQL has no
// Performance Insights.
var piUnsupportedClasses = []string{"db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small"}

var (
	regionPattern   = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]$`)
	zonePattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9][a-z]$`)
	vpcIDPattern    = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetIDPattern = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
	classPattern    = regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`)
	engine80Pattern = regexp.MustCompile(`^8\.0(\.[0-9]+)?$`)
	dbNamePattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	userPattern     = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,31}$`)
	emailPattern    = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
	originPattern   = regexp.MustCompile(`^(https://[a-z0-9.-]+(:[0-9]+)?|http://localhost(:[0-9]+)?|\*)$`)
)

// reservedUsers cannot be created or are RDS's own.
var reservedUsers = []string{"root", "rdsadmin", "rdsrepladmin", "mysql.sys", "mysql.session", "mysql.infoschema", "admin"}

// Load reads the settings through get, which looks a full key up (for example
// "sluice:batchSize" or "aws:region") the way pulumi.Context.GetConfig does.
// It applies defaults and validates every value and every cross-field rule,
// returning all problems at once (see Problems). It cannot see keys it does
// not know; LoadConfig also rejects those.
func Load(get func(key string) (string, bool)) (Settings, error) {
	s, _, err := load(get)
	return s, err
}

// LoadConfig is Load over a complete configuration map (full keys), which
// also rejects unknown keys of the sluice namespace, so a misspelt key fails
// instead of being silently replaced by its default.
func LoadConfig(config map[string]string) (Settings, error) {
	s, known, err := load(func(key string) (string, bool) {
		v, ok := config[key]
		return v, ok
	})
	var unknown []error
	for _, key := range sortedKeys(config) {
		if strings.HasPrefix(key, Namespace+":") && !known[key] {
			unknown = append(unknown, &Error{Key: key, Value: config[key], Allowed: "unknown key (misspelt?); see the configuration keys in docs/configuration.md"})
		}
	}
	if len(unknown) > 0 {
		return Settings{}, errors.Join(append(unknown, err)...)
	}
	return s, err
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func load(get func(string) (string, bool)) (Settings, map[string]bool, error) {
	r := &reader{get: get, known: map[string]bool{}, set: map[string]bool{}, failed: map[string]bool{}, values: map[string]string{}}
	var s Settings

	s.Region = r.region()

	s.Network.VpcCIDR = r.cidr(KeyVpcCIDR, "10.40.0.0/16")
	s.Network.AvailabilityZones = r.zones(KeyAvailabilityZones, s.Region)
	s.Network.ExistingVpcID = r.pattern(KeyExistingVpcID, "", vpcIDPattern, "a VPC id such as vpc-0123456789abcdef0, or unset")
	s.Network.ExistingSubnetIDs = r.list(KeyExistingSubnetIDs, subnetIDPattern, "a comma-separated list of subnet ids such as subnet-0123456789abcdef0")

	d := &s.Database
	d.InstanceClass = r.pattern(KeyDBInstanceClass, "db.t4g.micro", classPattern, "an RDS instance class such as db.t4g.micro")
	d.EngineVersion = r.pattern(KeyDBEngineVersion, "8.0", engine80Pattern, "a MySQL 8.0 version: 8.0 or 8.0.N")
	d.AllocatedStorageGiB = r.int(KeyDBAllocatedStorage, 20, 20, 65536)
	d.MaxAllocatedStorageGiB = r.int(KeyDBMaxAllocatedStorage, 100, 0, 65536)
	d.MultiAZ = r.bool(KeyDBMultiAZ, false)
	d.DeletionProtection = r.bool(KeyDBDeletionProtection, false)
	d.BackupRetentionDays = r.int(KeyDBBackupRetentionDays, 1, 0, 35)
	d.FinalSnapshot = r.bool(KeyDBFinalSnapshot, false)
	d.PerformanceInsights = r.bool(KeyDBPerformanceInsights, false)
	d.Name = r.pattern(KeyDBName, "sluice", dbNamePattern, "a MySQL schema name: a letter, then letters, digits or _ (at most 64)")
	d.MasterUser = r.user(KeyDBMasterUser, "sluice_admin")
	d.AppUser = r.user(KeyDBAppUser, "sluice_app")
	d.AppPasswordGeneration = r.int(KeyAppPasswordGeneration, 1, 1, 1000000)

	p := &s.Proxy
	p.IdleClientTimeout = r.seconds(KeyProxyIdleClientTimeout, 900, 1, 28800)
	p.BorrowTimeout = r.seconds(KeyProxyBorrowTimeout, 10, 1, 3600)
	p.MaxConnectionsPercent = r.int(KeyProxyMaxConnectionsPercent, 90, 1, 100)
	p.MaxIdleConnectionsPercent = r.int(KeyProxyMaxIdlePercent, 50, 0, 100)

	c := &s.Consumer
	c.Timeout = r.seconds(KeyFunctionTimeout, 30, 1, lambdaMaxTimeout)
	c.MemoryMB = r.int(KeyFunctionMemory, 256, 128, 10240)
	c.MaxConcurrency = r.int(KeyMaxConcurrency, 2, esmMinMaxConcurrency, esmMaxMaxConcurrency)
	c.ReservedConcurrency = r.int(KeyReservedConcurrency, c.MaxConcurrency, 1, 10000)
	c.BatchSize = r.int(KeyBatchSize, 10, 1, esmMaxBatchSize)
	c.BatchingWindow = r.seconds(KeyBatchingWindow, 0, 0, esmMaxBatchingWindow)
	c.MaxStatementBytes = r.int(KeyMaxStatementBytes, consumer.DefaultMaxStatementBytes, consumer.MinStatementBytes, consumer.MaxStatementBytes)

	q := &s.Queue
	q.VisibilityTimeout = r.seconds(KeyVisibilityTimeout, int(DefaultVisibilityTimeout(*c)/time.Second), 0, sqsMaxVisibility)
	q.Retention = r.seconds(KeyQueueRetention, 4*24*60*60, 60, int(DLQRetention/time.Second))
	q.MaxReceiveCount = r.int(KeyMaxReceiveCount, 5, 1, 1000)

	a := &s.API
	a.ThrottleRate = r.float(KeyAPIThrottleRate, 500, apiMaxRate)
	a.ThrottleBurst = r.int(KeyAPIThrottleBurst, 2000, 0, apiMaxBurst)
	a.ExpectedSpike = r.int(KeyExpectedSpike, 1000, 1, apiMaxBurst)
	a.MaxBodyBytes = r.int(KeyMaxBodyBytes, sqsMaxMessageBytes, sqsMinMessageBytes, sqsMaxMessageBytes)
	a.Auth = AuthMode(r.oneOf(KeyAPIAuth, string(AuthNone), []string{string(AuthNone), string(AuthIAM), string(AuthJWT)}, "one of "+authModes))
	a.JWTIssuer = r.pattern(KeyJWTIssuer, "", regexp.MustCompile(`^https://\S+$`), httpsLabel+" (the token issuer), or unset")
	a.JWTAudience = r.list(KeyJWTAudience, regexp.MustCompile(`^\S+$`), "a comma-separated list of audiences")
	a.CORSAllowOrigins = r.list(KeyCORSAllowOrigins, originPattern, "a comma-separated list of origins such as https://app.example.com, http://localhost:3000 or *")

	o := &s.Observability
	o.AlarmEmail = r.pattern(KeyAlarmEmail, "", emailPattern, "an email address, or unset")
	o.OldestMessageAge = r.seconds(KeyOldestMessageAlarm, 300, 60, int(DLQRetention/time.Second))
	o.BorrowLatency = time.Duration(r.int(KeyBorrowLatencyAlarm, 1000, 1, 3600*1000)) * time.Millisecond
	o.LogRetentionDays = r.oneOfInt(KeyLogRetentionDays, 14, logRetentionValues)

	r.crossField(&s)
	if len(r.errs) > 0 {
		return Settings{}, r.known, errors.Join(r.errs...)
	}
	return s, r.known, nil
}

// crossField checks the rules that tie keys together. It runs only on keys
// that parsed, so one bad value yields one error, not a cascade.
func (r *reader) crossField(s *Settings) {
	c, q, p, d, a, n := s.Consumer, s.Queue, s.Proxy, s.Database, s.API, s.Network

	if r.ok(KeyMaxConcurrency, KeyReservedConcurrency) && c.MaxConcurrency > c.ReservedConcurrency {
		r.fail(KeyMaxConcurrency, fmt.Sprintf("must be at most %s (%d): the event source mapping would be throttled and messages would reach the DLQ", Key(KeyReservedConcurrency), c.ReservedConcurrency))
	}
	if r.ok(KeyVisibilityTimeout, KeyFunctionTimeout, KeyBatchingWindow) && q.VisibilityTimeout < DefaultVisibilityTimeout(c) {
		r.fail(KeyVisibilityTimeout, fmt.Sprintf("must be at least %d × (%s + %s) = %d seconds",
			VisibilityFactor, Key(KeyFunctionTimeout), Key(KeyBatchingWindow), int(DefaultVisibilityTimeout(c)/time.Second)))
	}
	if r.ok(KeyProxyBorrowTimeout, KeyFunctionTimeout) && p.BorrowTimeout >= c.Timeout {
		r.fail(KeyProxyBorrowTimeout, fmt.Sprintf("must be less than %s (%d seconds), so the function fails fast and SQS retries", Key(KeyFunctionTimeout), int(c.Timeout/time.Second)))
	}
	if r.ok(KeyBatchSize, KeyBatchingWindow) && c.BatchSize > esmBatchSizeNeedWindow && c.BatchingWindow < time.Second {
		r.fail(KeyBatchingWindow, fmt.Sprintf("must be at least 1 second when %s (%d) is above %d", Key(KeyBatchSize), c.BatchSize, esmBatchSizeNeedWindow))
	}
	if r.ok(KeyAPIThrottleBurst, KeyExpectedSpike) && a.ThrottleBurst < a.ExpectedSpike {
		r.fail(KeyAPIThrottleBurst, fmt.Sprintf("must be at least %s (%d): a smaller burst answers the spike with 429", Key(KeyExpectedSpike), a.ExpectedSpike))
	}
	if r.ok(KeyProxyMaxIdlePercent, KeyProxyMaxConnectionsPercent) && p.MaxIdleConnectionsPercent > p.MaxConnectionsPercent {
		r.fail(KeyProxyMaxIdlePercent, fmt.Sprintf("must be at most %s (%d)", Key(KeyProxyMaxConnectionsPercent), p.MaxConnectionsPercent))
	}
	if r.ok(KeyOldestMessageAlarm, KeyQueueRetention) && s.Observability.OldestMessageAge >= q.Retention {
		r.fail(KeyOldestMessageAlarm, fmt.Sprintf("must be less than %s (%d seconds), or the alarm fires only after messages expired", Key(KeyQueueRetention), int(q.Retention/time.Second)))
	}
	if r.ok(KeyBorrowLatencyAlarm, KeyProxyBorrowTimeout) && s.Observability.BorrowLatency >= p.BorrowTimeout {
		r.fail(KeyBorrowLatencyAlarm, fmt.Sprintf("must be less than %s (%d ms): borrows fail at that point", Key(KeyProxyBorrowTimeout), p.BorrowTimeout.Milliseconds()))
	}
	if r.ok(KeyQueueRetention) && q.Retention >= DLQRetention {
		r.fail(KeyQueueRetention, fmt.Sprintf("must be less than the DLQ's retention (%d seconds)", int(DLQRetention/time.Second)))
	}
	if r.ok(KeyDBMaxAllocatedStorage, KeyDBAllocatedStorage) && d.MaxAllocatedStorageGiB != 0 && d.MaxAllocatedStorageGiB <= d.AllocatedStorageGiB {
		r.fail(KeyDBMaxAllocatedStorage, fmt.Sprintf("must be 0 (no storage autoscaling) or more than %s (%d)", Key(KeyDBAllocatedStorage), d.AllocatedStorageGiB))
	}
	if r.ok(KeyDBPerformanceInsights, KeyDBInstanceClass) && d.PerformanceInsights && slices.Contains(piUnsupportedClasses, d.InstanceClass) {
		r.fail(KeyDBPerformanceInsights, fmt.Sprintf("must be false on %s: RDS for MySQL has no Performance Insights on %s", d.InstanceClass, strings.Join(piUnsupportedClasses, ", ")))
	}
	if r.ok(KeyDBDeletionProtection, KeyDBBackupRetentionDays) && d.DeletionProtection && d.BackupRetentionDays == 0 {
		r.fail(KeyDBBackupRetentionDays, fmt.Sprintf("must be at least 1 when %s is true: a protected database without backups cannot be restored", Key(KeyDBDeletionProtection)))
	}
	if r.ok(KeyDBMasterUser, KeyDBAppUser) && strings.EqualFold(d.MasterUser, d.AppUser) {
		r.fail(KeyDBAppUser, fmt.Sprintf("must differ from %s: the application never connects as the master user", Key(KeyDBMasterUser)))
	}

	existingSet := n.ExistingVpcID != "" || len(n.ExistingSubnetIDs) > 0
	if r.ok(KeyExistingVpcID, KeyExistingSubnetIDs) && existingSet {
		switch {
		case n.ExistingVpcID == "":
			r.fail(KeyExistingVpcID, fmt.Sprintf("must be set when %s is set", Key(KeyExistingSubnetIDs)))
		case len(n.ExistingSubnetIDs) < 2:
			r.fail(KeyExistingSubnetIDs, fmt.Sprintf("must list at least 2 private subnets (in different zones) of %s", n.ExistingVpcID))
		}
		for _, k := range []string{KeyVpcCIDR, KeyAvailabilityZones} {
			if r.set[k] {
				r.fail(k, fmt.Sprintf("must be unset when %s is set: the VPC already exists", Key(KeyExistingVpcID)))
			}
		}
	}

	if r.ok(KeyAPIAuth, KeyJWTIssuer, KeyJWTAudience) {
		if a.Auth == AuthJWT {
			if a.JWTIssuer == "" {
				r.fail(KeyJWTIssuer, fmt.Sprintf("must be %s when %s is JWT", httpsLabel, Key(KeyAPIAuth)))
			}
			if len(a.JWTAudience) == 0 {
				r.fail(KeyJWTAudience, fmt.Sprintf("must list at least one audience when %s is JWT", Key(KeyAPIAuth)))
			}
		} else {
			for _, k := range []string{KeyJWTIssuer, KeyJWTAudience} {
				if r.set[k] {
					r.fail(k, fmt.Sprintf("must be unset unless %s is JWT", Key(KeyAPIAuth)))
				}
			}
		}
	}
}

// reader parses keys one by one, recording which keys it knows, which were
// set, and which failed, so that all problems are reported together.
type reader struct {
	get    func(string) (string, bool)
	known  map[string]bool
	set    map[string]bool
	failed map[string]bool
	values map[string]string
	errs   []error
}

func (r *reader) lookup(name string) (string, bool) {
	key := Key(name)
	r.known[key] = true
	v, ok := r.get(key)
	v = strings.TrimSpace(v)
	if ok {
		r.set[name] = true
		r.values[name] = v
	}
	return v, ok
}

func (r *reader) fail(name, allowed string) {
	r.failed[name] = true
	r.errs = append(r.errs, &Error{Key: Key(name), Value: r.values[name], Allowed: allowed})
}

// ok reports whether none of the named keys failed to parse.
func (r *reader) ok(names ...string) bool {
	for _, n := range names {
		if r.failed[n] {
			return false
		}
	}
	return true
}

func (r *reader) region() string {
	r.known[RegionKey] = true
	v, ok := r.get(RegionKey)
	if !ok || !regionPattern.MatchString(v) {
		r.errs = append(r.errs, &Error{Key: RegionKey, Value: v, Allowed: "required: an AWS region such as ap-northeast-1"})
	}
	return v
}

func (r *reader) int(name string, def, lo, hi int) int {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		r.fail(name, fmt.Sprintf("must be an integer from %d to %d", lo, hi))
		return def
	}
	return n
}

func (r *reader) seconds(name string, def, lo, hi int) time.Duration {
	return time.Duration(r.int(name, def, lo, hi)) * time.Second
}

func (r *reader) float(name string, def, hi float64) float64 {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || f <= 0 || f > hi {
		r.fail(name, fmt.Sprintf("must be a number above 0 and at most %g", hi))
		return def
	}
	return f
}

func (r *reader) bool(name string, def bool) bool {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	switch v {
	case "true":
		return true
	case "false":
		return false
	}
	r.fail(name, "must be true or false")
	return def
}

func (r *reader) pattern(name, def string, re *regexp.Regexp, allowed string) string {
	v, ok := r.lookup(name)
	if !ok || (v == "" && def == "") {
		return def
	}
	if !re.MatchString(v) {
		r.fail(name, "must be "+allowed)
		return def
	}
	return v
}

func (r *reader) oneOf(name, def string, values []string, allowed string) string {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	if !slices.Contains(values, v) {
		r.fail(name, "must be "+allowed)
		return def
	}
	return v
}

func (r *reader) oneOfInt(name string, def int, values []int) int {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || !slices.Contains(values, n) {
		words := make([]string, len(values))
		for i, x := range values {
			words[i] = strconv.Itoa(x)
		}
		r.fail(name, "must be one of "+strings.Join(words, ", "))
		return def
	}
	return n
}

// list parses a comma-separated list; an unset or empty key is an empty list.
func (r *reader) list(name string, re *regexp.Regexp, allowed string) []string {
	v, ok := r.lookup(name)
	if !ok || v == "" {
		return nil
	}
	var out []string
	for item := range strings.SplitSeq(v, ",") {
		item = strings.TrimSpace(item)
		if !re.MatchString(item) || slices.Contains(out, item) {
			r.fail(name, "must be "+allowed+", without duplicates")
			return nil
		}
		out = append(out, item)
	}
	return out
}

func (r *reader) user(name, def string) string {
	u := r.pattern(name, def, userPattern, "a MySQL user name: a letter, then letters, digits or _ (at most 32)")
	if slices.Contains(reservedUsers, strings.ToLower(u)) {
		r.fail(name, "must not be one of the reserved names "+strings.Join(reservedUsers, ", "))
	}
	return u
}

func (r *reader) cidr(name, def string) string {
	v, ok := r.lookup(name)
	if !ok {
		return def
	}
	p, err := netip.ParsePrefix(v)
	if err != nil || !p.Addr().Is4() || p.Bits() < 16 || p.Bits() > 24 || p.Masked() != p || !p.Addr().IsPrivate() {
		r.fail(name, "must be a private IPv4 network from /16 to /24, such as 10.40.0.0/16")
		return def
	}
	return v
}

// zones parses the availability zones of a new VPC. The default, zones a and
// c of the region, exists in ap-northeast-1 (which has no zone b for new
// accounts); other regions may need the zones named.
func (r *reader) zones(name, region string) []string {
	zs := r.list(name, zonePattern, "a comma-separated list of availability zones such as ap-northeast-1a,ap-northeast-1c")
	if r.failed[name] {
		return nil
	}
	if !r.set[name] || len(zs) == 0 {
		return []string{region + "a", region + "c"}
	}
	if len(zs) < 2 || len(zs) > 6 {
		r.fail(name, "must list 2 to 6 availability zones")
		return nil
	}
	if !regionPattern.MatchString(region) {
		return zs // the region's own error says enough
	}
	for _, z := range zs {
		if !strings.HasPrefix(z, region) || len(z) != len(region)+1 {
			r.fail(name, "must list zones of "+RegionKey+" ("+region+")")
			return nil
		}
	}
	return zs
}
