package settings

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/sluicehq/sluice/infra/limits"
)

// rule is a check that ties keys together. It runs only when none of the
// keys it uses failed to parse, so one bad value yields one error, not a
// cascade; check returns "" when the rule holds, otherwise what the key
// allows ("must be …"). doc is how docs/configuration.md states the rule.
type rule struct {
	key   string   // the key the error names (without namespace, or RegionKey)
	uses  []string // every key check reads
	doc   string
	check func(s *Settings, set func(name string) bool) string
}

// rules are the cross-field rules, by the key each one constrains.
var rules = []rule{
	{key: KeyMaxConcurrency, uses: []string{KeyReservedConcurrency}, doc: "≤ reservedConcurrency when that is above 0",
		check: func(s *Settings, _ func(string) bool) string {
			c := s.Consumer
			if limits.ReservedCoversMaximum(c.ReservedConcurrency, c.MaxConcurrency) {
				return ""
			}
			return fmt.Sprintf("must be at most %s (%d): the event source mapping would be throttled and messages would reach the DLQ", Key(KeyReservedConcurrency), c.ReservedConcurrency)
		}},
	{key: KeyVisibilityTimeout, uses: []string{KeyFunctionTimeout, KeyBatchingWindow}, doc: "≥ 6 × (functionTimeoutSeconds + batchingWindowSeconds)",
		check: func(s *Settings, _ func(string) bool) string {
			least := DefaultVisibilityTimeout(s.Consumer)
			if s.Queue.VisibilityTimeout >= least {
				return ""
			}
			return fmt.Sprintf("must be at least %d × (%s + %s) = %d seconds",
				limits.VisibilityFactor, Key(KeyFunctionTimeout), Key(KeyBatchingWindow), int(least/time.Second))
		}},
	{key: KeyProxyBorrowTimeout, uses: []string{KeyFunctionTimeout}, doc: "< functionTimeoutSeconds",
		check: func(s *Settings, _ func(string) bool) string {
			if s.Proxy.BorrowTimeout < s.Consumer.Timeout {
				return ""
			}
			return fmt.Sprintf("must be less than %s (%d seconds), so the function fails fast and SQS retries", Key(KeyFunctionTimeout), int(s.Consumer.Timeout/time.Second))
		}},
	{key: KeyBatchingWindow, uses: []string{KeyBatchSize}, doc: fmt.Sprintf("≥ 1 when batchSize is above %d", limits.LargestBatchWithoutWindow),
		check: func(s *Settings, _ func(string) bool) string {
			c := s.Consumer
			if !limits.BatchNeedsWindow(c.BatchSize, int(c.BatchingWindow/time.Second)) {
				return ""
			}
			return fmt.Sprintf("must be at least 1 second when %s (%d) is above %d", Key(KeyBatchSize), c.BatchSize, limits.LargestBatchWithoutWindow)
		}},
	{key: KeyAPIThrottleBurst, uses: []string{KeyExpectedSpike}, doc: "≥ expectedSpike",
		check: func(s *Settings, _ func(string) bool) string {
			if s.API.ThrottleBurst >= s.API.ExpectedSpike {
				return ""
			}
			return fmt.Sprintf("must be at least %s (%d): a smaller burst answers the spike with 429", Key(KeyExpectedSpike), s.API.ExpectedSpike)
		}},
	{key: KeyProxyMaxIdlePercent, uses: []string{KeyProxyMaxConnectionsPercent}, doc: "≤ proxyMaxConnectionsPercent",
		check: func(s *Settings, _ func(string) bool) string {
			p := s.Proxy
			if limits.IdleWithinMax(p.MaxIdleConnectionsPercent, p.MaxConnectionsPercent) {
				return ""
			}
			return fmt.Sprintf("must be at most %s (%d)", Key(KeyProxyMaxConnectionsPercent), p.MaxConnectionsPercent)
		}},
	{key: KeyOldestMessageAlarm, uses: []string{KeyQueueRetention}, doc: "< queueRetentionSeconds",
		check: func(s *Settings, _ func(string) bool) string {
			if s.Observability.OldestMessageAge < s.Queue.Retention {
				return ""
			}
			return fmt.Sprintf("must be less than %s (%d seconds), or the alarm fires only after messages expired", Key(KeyQueueRetention), int(s.Queue.Retention/time.Second))
		}},
	{key: KeyDBFreeStorageAlarm, uses: []string{KeyDBAllocatedStorage}, doc: "< dbAllocatedStorageGiB",
		check: func(s *Settings, _ func(string) bool) string {
			if s.Observability.DBFreeStorageAlarmGiB < s.Database.AllocatedStorageGiB {
				return ""
			}
			return fmt.Sprintf("must be less than %s (%d GiB), or the alarm fires on an empty database", Key(KeyDBAllocatedStorage), s.Database.AllocatedStorageGiB)
		}},
	{key: KeyBorrowLatencyAlarm, uses: []string{KeyProxyBorrowTimeout}, doc: "< proxyBorrowTimeoutSeconds",
		check: func(s *Settings, _ func(string) bool) string {
			if s.Observability.BorrowLatency < s.Proxy.BorrowTimeout {
				return ""
			}
			return fmt.Sprintf("must be less than %s (%d ms): borrows fail at that point", Key(KeyProxyBorrowTimeout), s.Proxy.BorrowTimeout.Milliseconds())
		}},
	{key: KeyQueueRetention, doc: fmt.Sprintf("< the DLQ's %d", limits.DLQRetentionSeconds),
		check: func(s *Settings, _ func(string) bool) string {
			if limits.DLQOutlivesQueue(int(s.Queue.Retention/time.Second), limits.DLQRetentionSeconds) {
				return ""
			}
			return fmt.Sprintf("must be less than the DLQ's retention (%d seconds)", limits.DLQRetentionSeconds)
		}},
	{key: KeyDBMaxAllocatedStorage, uses: []string{KeyDBAllocatedStorage}, doc: "0, or > dbAllocatedStorageGiB",
		check: func(s *Settings, _ func(string) bool) string {
			d := s.Database
			if limits.ValidMaxAllocatedStorage(d.MaxAllocatedStorageGiB, d.AllocatedStorageGiB) {
				return ""
			}
			return fmt.Sprintf("must be 0 (no storage autoscaling) or more than %s (%d)", Key(KeyDBAllocatedStorage), d.AllocatedStorageGiB)
		}},
	{key: KeyDBPerformanceInsights, uses: []string{KeyDBInstanceClass}, doc: "false on " + strings.Join(limits.NoPerformanceInsights, ", "),
		check: func(s *Settings, _ func(string) bool) string {
			d := s.Database
			if !d.PerformanceInsights || limits.PerformanceInsightsAvailable(d.InstanceClass) {
				return ""
			}
			return fmt.Sprintf("must be false on %s: RDS for MySQL has no Performance Insights on %s", d.InstanceClass, strings.Join(limits.NoPerformanceInsights, ", "))
		}},
	{key: KeyDBBackupRetentionDays, uses: []string{KeyDBDeletionProtection}, doc: "≥ 1 when dbDeletionProtection is true",
		check: func(s *Settings, _ func(string) bool) string {
			if limits.RestorableWhenProtected(s.Database.DeletionProtection, s.Database.BackupRetentionDays) {
				return ""
			}
			return fmt.Sprintf("must be at least 1 when %s is true: a protected database without backups cannot be restored", Key(KeyDBDeletionProtection))
		}},
	{key: KeyDBAppUser, uses: []string{KeyDBMasterUser}, doc: "≠ dbMasterUser",
		check: func(s *Settings, _ func(string) bool) string {
			if limits.SeparateUsers(s.Database.MasterUser, s.Database.AppUser) {
				return ""
			}
			return fmt.Sprintf("must differ from %s: the application never connects as the master user", Key(KeyDBMasterUser))
		}},

	// An existing VPC replaces the new one's network and zones.
	{key: KeyExistingVpcID, uses: []string{KeyExistingSubnetIDs}, doc: "set together with existingSubnetIds",
		check: func(s *Settings, set func(string) bool) string {
			if s.Network.ExistingVpcID != "" || !set(KeyExistingSubnetIDs) {
				return ""
			}
			return fmt.Sprintf("must be set when %s is set", Key(KeyExistingSubnetIDs))
		}},
	{key: KeyExistingSubnetIDs, uses: []string{KeyExistingVpcID}, doc: fmt.Sprintf("at least %d with existingVpcId", limits.MinExistingSubnets),
		check: func(s *Settings, _ func(string) bool) string {
			n := s.Network
			if n.ExistingVpcID == "" || len(n.ExistingSubnetIDs) >= limits.MinExistingSubnets {
				return ""
			}
			return fmt.Sprintf("must list at least %d private subnets (in different zones) of %s", limits.MinExistingSubnets, n.ExistingVpcID)
		}},
	unsetWithExistingVPC(KeyVpcCIDR),
	unsetWithExistingVPC(KeyAvailabilityZones),
	{key: KeyAvailabilityZones, uses: []string{RegionKey}, doc: "zones of aws:region",
		check: func(s *Settings, _ func(string) bool) string {
			for _, z := range s.Network.AvailabilityZones {
				if !strings.HasPrefix(z, s.Region) || len(z) != len(s.Region)+1 {
					return "must list zones of " + RegionKey + " (" + s.Region + ")"
				}
			}
			return ""
		}},

	// JWT settings go with JWT authorization only.
	jwtSetting(KeyJWTIssuer, "must be an https:// URL", func(a API) bool { return a.JWTIssuer != "" }),
	jwtSetting(KeyJWTAudience, "must list at least one audience", func(a API) bool { return len(a.JWTAudience) > 0 }),
}

func unsetWithExistingVPC(name string) rule {
	return rule{key: name, uses: []string{KeyExistingVpcID, KeyExistingSubnetIDs}, doc: "unset with existingVpcId",
		check: func(s *Settings, set func(string) bool) string {
			if !set(name) || (s.Network.ExistingVpcID == "" && !set(KeyExistingSubnetIDs)) {
				return ""
			}
			return fmt.Sprintf("must be unset when %s is set: the VPC already exists", Key(KeyExistingVpcID))
		}}
}

func jwtSetting(name, required string, present func(API) bool) rule {
	return rule{key: name, uses: []string{KeyAPIAuth}, doc: "required with apiAuth JWT, unset otherwise",
		check: func(s *Settings, set func(string) bool) string {
			switch {
			case s.API.Auth.UsesJWT() && !present(s.API):
				return fmt.Sprintf("%s when %s is JWT", required, Key(KeyAPIAuth))
			case !s.API.Auth.UsesJWT() && set(name):
				return fmt.Sprintf("must be unset unless %s is JWT", Key(KeyAPIAuth))
			}
			return ""
		}}
}

// apply runs r unless a key it reads failed.
func (l *loader) apply(s *Settings, r rule) {
	for _, name := range append([]string{r.key}, r.uses...) {
		if l.failed[fullName(name)] {
			return
		}
	}
	if problem := r.check(s, l.set); problem != "" {
		l.fail(fullName(r.key), problem)
	}
}

// fullName is the full key of a rule's key name.
func fullName(name string) string {
	if strings.Contains(name, ":") {
		return name
	}
	return Key(name)
}

// ruleDocs is how docs/configuration.md states the rules on a key.
func ruleDocs(name string) []string {
	var out []string
	for _, r := range rules {
		if r.key == name && !slices.Contains(out, r.doc) {
			out = append(out, r.doc)
		}
	}
	return out
}
